"""Configuration from the environment, with defaults that work on a fresh machine."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _sqlite_default() -> str:
    return f"sqlite:///{ROOT / 'instance' / 'touchpoint.db'}"


def from_environment() -> dict:
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY", "dev-only-change-me"),
        "DATABASE_URL": os.environ.get("DATABASE_URL") or _sqlite_default(),
        "SURVEYS_DIR": os.environ.get("SURVEYS_DIR", str(ROOT / "surveys")),
        "BABEL_DEFAULT_LOCALE": "zh",
        "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "app" / "translations"),
        "LANGUAGES": ("zh", "en"),
        "WTF_CSRF_TIME_LIMIT": None,  # a shopper may keep a form open for hours
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "STORAGE_DIR": os.environ.get("STORAGE_DIR", str(ROOT / "instance" / "storage")),
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,  # whole request; a photo alone is capped lower
        "PHOTO_MAX_BYTES": 8 * 1024 * 1024,
        "SHRINKAGE_K": float(os.environ.get("SHRINKAGE_K", "5")),  # empirical-Bayes prior weight
        # password guessing: attempts per address (storage shared via RATELIMIT_STORAGE_URI)
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute;100 per hour"),
        "SMALL_SAMPLE": int(os.environ.get("SMALL_SAMPLE", "5")),
        # per-process memo of dashboard aggregates (0: off); views are fast without it
        "DASHBOARD_CACHE_SECONDS": int(os.environ.get("DASHBOARD_CACHE_SECONDS", "600")),
        # Redis makes several app processes behave as one: rate-limit counters and the job
        # queue live there. Without it (make run) limits are per process and jobs run in-process.
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI")
        or os.environ.get("REDIS_URL") or "memory://",
        # Redis down: count in this process instead of refusing customers' answers
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "JOB_QUEUE": os.environ.get("JOB_QUEUE", "touchpoint"),
        # evidence photos: s3://bucket[/prefix] (S3-compatible, endpoint from S3_ENDPOINT_URL)
        # or, when unset, the STORAGE_DIR folder
        "STORAGE_URL": os.environ.get("STORAGE_URL", ""),
        "S3_ENDPOINT_URL": os.environ.get("S3_ENDPOINT_URL", ""),
        # the address printed in QR codes (else the address the admin is using)
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", ""),
        # times are stored in UTC and shown in the stores' time zone (case deadlines, answers)
        "TIME_ZONE": os.environ.get("TIME_ZONE", "Asia/Shanghai"),
        # published rules are reviewed on a schedule (seed 001); overdue ones show on admin home
        "REVIEW_INTERVAL_DAYS": int(os.environ.get("REVIEW_INTERVAL_DAYS", "365")),
        # a reviewer sees a flag when the phone was further than this from the store
        "VISIT_DISTANCE_FLAG_M": int(os.environ.get("VISIT_DISTANCE_FLAG_M", "500")),
    } | _optional("QR_RATE_LIMIT")


def _optional(*names: str) -> dict:
    """Settings whose default lives beside the code that uses it, overridable from the environment."""
    return {name: os.environ[name] for name in names if os.environ.get(name)}


MIN_SECRET_LENGTH = 32


class InsecureSecret(RuntimeError):
    pass


def require_production_secret(config) -> None:
    """The production server signs sessions and survey codes with SECRET_KEY: refuse a missing
    or short one rather than run with a guessable key."""
    key = config.get("SECRET_KEY") or ""
    if len(key) < MIN_SECRET_LENGTH:
        raise InsecureSecret(
            f"SECRET_KEY must be set to a random value of at least {MIN_SECRET_LENGTH} characters "
            f"(it is {'unset' if not key else f'{len(key)} characters'}); for example: "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )


if __name__ == "__main__":  # `python -m app.config check-secret`: make serve's first step
    import sys

    try:
        require_production_secret(os.environ)
    except InsecureSecret as error:
        sys.exit(f"make serve: {error}")
