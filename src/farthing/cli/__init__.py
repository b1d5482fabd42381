"""The `farthing` command line."""
