"""The production entry point (`make serve`: gunicorn app.wsgi:app).

Only `create_app` runs at import; the server refuses a missing or short SECRET_KEY first, so a
misconfigured deployment stops here instead of signing sessions with a guessable key.
"""

import os

from . import create_app
from .config import require_production_secret

require_production_secret(os.environ)
app = create_app()
