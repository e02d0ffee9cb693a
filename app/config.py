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
        # corrective actions: days to fix per trigger, root-cause categories (seed 002's
        # 人/机/料/法/环/测 grouping), months after which an unimproved action is flagged
        "ACTION_DUE_DAYS": {"manual": 14, "red_line": 14, "below_target": 14},
        "ROOT_CAUSES": ("people", "training", "process", "equipment", "environment",
                        "management", "other"),
        "ACTION_EFFECT_DAYS": 60,  # the before and after windows of an action's effect
        "ACTION_NOT_YET_MONTHS": 2,
        # appeals: days after approval during which a store may contest a report
        "APPEAL_DAYS": int(os.environ.get("APPEAL_DAYS", "7")),
        # store grades: lowest overall score of each grade, best first (seed 003)
        "GRADES": ((90.0, "excellent"), (80.0, "pass"), (70.0, "fair"), (0.0, "fail")),
        # report batches: RQ when a queue is configured, else a thread of the dev server
        "REPORTS_DIR": os.environ.get("REPORTS_DIR", str(ROOT / "instance" / "reports")),
    }
