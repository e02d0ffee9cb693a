"""The dealer network: regions, stores and users, their import and export, and the admin
screens that keep them (blueprint in `views.py`)."""
