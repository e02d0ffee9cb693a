"""Configuration from the environment, with defaults that work on a fresh machine.

There is no built-in secret. `SECRET_KEY` comes from the environment; without it a development
app uses a random key made once in `instance/secret_key` (git-ignored), and a production app
(`PRODUCTION=1`, what `make serve` sets) refuses to start.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"
MIN_SECRET_LENGTH = 32


class ConfigError(RuntimeError):
    """The app must not start with this configuration; the message says what to set."""


def _sqlite_default() -> str:
    return f"sqlite:///{INSTANCE / 'touchpoint.db'}"


def _months(name: str, default: int) -> int:
    """A whole number of months from the environment, at least 1 (else the app refuses to
    start, naming the variable)."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"{name} must be a whole number of months, at least 1 (got {text!r})")
    return int(text)


def _flag(name: str, default: str = "") -> bool:
    return os.environ.get(name, default).strip().lower() in ("1", "true", "yes", "on")


def from_environment() -> dict:
    https = os.environ.get("PREFERRED_URL_SCHEME", "http") == "https"
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY") or None,  # None: see dev_secret_key()
        "PRODUCTION": _flag("PRODUCTION"),
        "DATABASE_URL": os.environ.get("DATABASE_URL") or _sqlite_default(),
        "SURVEYS_DIR": os.environ.get("SURVEYS_DIR", str(ROOT / "surveys")),
        "BABEL_DEFAULT_LOCALE": "zh",
        "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "app" / "translations"),
        "LANGUAGES": ("zh", "en"),
        "WTF_CSRF_TIME_LIMIT": None,  # a shopper may keep a form open for hours
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "PREFERRED_URL_SCHEME": "https" if https else "http",
        # Secure cookies and HSTS: on with https, or behind a proxy that says the request was
        # https (PROXY_COUNT trusted X-Forwarded-* hops, werkzeug ProxyFix)
        "SESSION_COOKIE_SECURE": https or _flag("SESSION_COOKIE_SECURE"),
        # over https the cookie is bound to this exact host, never sent over http (ASVS 3.3.1)
        "SESSION_COOKIE_NAME": "__Host-session" if https else "session",
        "PROXY_COUNT": int(os.environ.get("PROXY_COUNT", "0")),
        # a logged-in session ends after this long without a request (shoppers need hours)
        "SESSION_IDLE_HOURS": float(os.environ.get("SESSION_IDLE_HOURS", "12")),
        "STORAGE_DIR": os.environ.get("STORAGE_DIR", str(INSTANCE / "storage")),
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,  # whole request; a photo alone is capped lower
        "PHOTO_MAX_BYTES": 8 * 1024 * 1024,
        # shrinkage of store scores toward the network mean: estimated from the data by the
        # shopper calibration (app/calibration/); SHRINKAGE_K is the fallback for thin data
        # and for views before the first fit, SHRINKAGE_K_OVERRIDE (unset) fixes it for fits
        "SHRINKAGE_K": float(os.environ.get("SHRINKAGE_K", "5")),
        "SHRINKAGE_K_OVERRIDE": float(os.environ["SHRINKAGE_K_OVERRIDE"])
        if os.environ.get("SHRINKAGE_K_OVERRIDE") else None,
        # fits run in the background when data change or a page asks for a period (off: only
        # `flask --app app calibration fit` computes them)
        "CALIBRATION_AUTO": _flag("CALIBRATION_AUTO", "1"),
        # password guessing: attempts per address (storage shared via RATELIMIT_STORAGE_URI)
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute;100 per hour"),
        "SMALL_SAMPLE": int(os.environ.get("SMALL_SAMPLE", "5")),
        # per-process memo of dashboard aggregates (0: off); views are fast without it
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
        # notices by e-mail (`flask notices mail`): MAIL_SERVER host[:port] turns it on
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "touchpoint@localhost"),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_STARTTLS": _flag("MAIL_STARTTLS"),
        # the address printed in QR codes (else the address the admin is using)
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", ""),
        # times are stored in UTC and shown in the stores' time zone (case deadlines, answers)
        "TIME_ZONE": os.environ.get("TIME_ZONE", "Asia/Shanghai"),
        # a pinned moment on the stores' clock (ISO date-time) for tests and demos; empty: the
        # real clock (app/clock.py)
        "NOW": "",
        # corrective actions: days to fix per trigger, root-cause categories (seed 002's
        # 人/机/料/法/环/测 grouping), months after which an unimproved action is flagged
        "ACTION_DUE_DAYS": {"manual": 14, "red_line": 14, "below_target": 14},
        "ROOT_CAUSES": ("people", "training", "process", "equipment", "environment",
                        "management", "other"),
        # whole months before an action was opened and after it was done that its effect
        # compares; an action still "not yet" this many months after done is flagged
        "ACTION_EFFECT_MONTHS": _months("ACTION_EFFECT_MONTHS", 2),
        "ACTION_NOT_YET_MONTHS": _months("ACTION_NOT_YET_MONTHS", 2),
        # appeals: days after approval during which a store may contest a report
        "APPEAL_DAYS": int(os.environ.get("APPEAL_DAYS", "7")),
        # store grades: lowest overall score of each grade, best first (seed 003)
        "GRADES": ((90.0, "excellent"), (80.0, "pass"), (70.0, "fair"), (0.0, "fail")),
        # report batches: RQ when a queue is configured, else a thread of the dev server
        "REPORTS_DIR": os.environ.get("REPORTS_DIR", str(ROOT / "instance" / "reports")),
        # published rules are reviewed on a schedule (seed 001); overdue ones show on admin home
        "REVIEW_INTERVAL_DAYS": int(os.environ.get("REVIEW_INTERVAL_DAYS", "365")),
        # a reviewer sees a flag when the phone was further than this from the store
        "VISIT_DISTANCE_FLAG_M": int(os.environ.get("VISIT_DISTANCE_FLAG_M", "500")),
    } | _optional("QR_RATE_LIMIT")


def _optional(*names: str) -> dict:
    """Settings whose default lives beside the code that uses it, overridable from the environment."""
    return {name: os.environ[name] for name in names if os.environ.get(name)}


class InsecureSecret(ConfigError):
    """No SECRET_KEY, or one too short to be secret."""


def require_production_secret(config) -> None:
    """Refuse to serve in production without a real secret (InsecureSecret names SECRET_KEY).

    Anyone who knows the key signs session cookies and survey codes, so a short or missing
    key is as good as no login at all."""
    key = config.get("SECRET_KEY") or ""
    if len(key) < MIN_SECRET_LENGTH:
        raise InsecureSecret(
            f"SECRET_KEY must be set to a random value of at least {MIN_SECRET_LENGTH} characters "
            f"(it is {'unset' if not key else f'{len(key)} characters'}); for example: "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )


check_production = require_production_secret  # what create_app calls when PRODUCTION is set


def dev_secret_key(folder: Path = INSTANCE) -> str:
    """The development key: random, made once in `folder/secret_key` (mode 600), then reused so
    logins survive restarts. Two processes starting at once agree on the first one written."""
    path = folder / "secret_key"
    folder.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = folder / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(tmp, path)  # atomic, and never replaces a key another process wrote first
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = path.read_text().strip()
    if len(key) < MIN_SECRET_LENGTH:
        raise ConfigError(f"{path} is damaged: delete it to make a new development SECRET_KEY")
    return key


if __name__ == "__main__":  # `python -m app.config check-secret`: make serve's first step
    import sys

    try:
        require_production_secret(os.environ)
    except InsecureSecret as error:
        sys.exit(f"make serve: {error}")
