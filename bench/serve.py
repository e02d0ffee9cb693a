"""The WSGI app the throughput benchmark serves with gunicorn: the production app, with the
per-address limits raised because every request of the load comes from 127.0.0.1 (in
production they come from many phones)."""

from app import create_app

app = create_app({"QR_RATE_LIMIT": "1000000 per minute", "LOGIN_RATE_LIMIT": "1000000 per minute"})
