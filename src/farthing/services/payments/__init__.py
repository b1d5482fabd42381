"""Payments: the model (`model.py`), a payment's legs (`legs.py`), its event and recorded decision
(`events.py`), one at a time (`single.py`) or many in a batch (`batch.py`)."""
