"""Monthly rounds of mystery shops: plan (preview, commit), progress board, bulk changes.
The planning rules are the pure module app/domain/rounds.py."""
