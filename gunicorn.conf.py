"""gunicorn settings for `make serve`, all from the environment.

WEB_CONCURRENCY: worker processes (default 2 x cores + 1); GUNICORN_THREADS: threads per worker
(default 4; a request mostly waits on PostgreSQL); BIND: address (default 127.0.0.1:8000, the
reverse proxy in front terminates TLS); GUNICORN_TIMEOUT: seconds before a stuck worker is
replaced (default 60: PDFs and exports take a few seconds).
"""

import multiprocessing
import os
import sys

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 60)
graceful_timeout = 30
# the control socket has one fixed path per user: a second server on the machine would take it over
control_socket_disable = True
accesslog = "-"
errorlog = "-"


def on_starting(server):
    """Refuse to start, naming the variable, before any worker boots."""
    from app.config import InsecureSecret, require_production_secret

    try:
        require_production_secret(os.environ)
    except InsecureSecret as error:
        print(f"make serve: {error}", file=sys.stderr)
        sys.exit(1)


def post_worker_init(worker):
    """Once the app is loaded, move what its start left in memory (modules, the ORM's
    mappings, templates) out of the garbage collector's sight: full collections then scan only
    what requests make, instead of pausing a page that builds many objects (the heat map's
    1,000 cells) for tens of milliseconds now and then."""
    import gc

    gc.collect()
    gc.freeze()
