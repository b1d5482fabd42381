"""Adapters: the I/O edges (stores, migrations). They implement protocols declared by the code that uses them."""
