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
        # rate limits of the public survey; share between processes with e.g. redis://host:6379
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        # the address printed in QR codes (else the address the admin is using)
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", ""),
        # times are stored in UTC and shown in the stores' time zone (case deadlines, answers)
        "TIME_ZONE": os.environ.get("TIME_ZONE", "Asia/Shanghai"),
    }
