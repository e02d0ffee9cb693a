"""Today and now as the stores' clock shows them (TIME_ZONE, default Asia/Shanghai).

A server often runs on UTC while the stores are eight hours ahead: a shopper who visited
this morning in Shanghai must not be told the visit lies in the future because the server's
own date is still yesterday. The `NOW` setting (an ISO date-time on the stores' clock) pins
the clock, so a test or a demo can move "today" past a date without waiting for it.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_ZONE = "Asia/Shanghai"


def zone() -> ZoneInfo:
    name = current_app.config.get("TIME_ZONE") if has_app_context() else None
    return ZoneInfo(name or DEFAULT_ZONE)


def now() -> datetime:
    """The current moment on the stores' clock (timezone-aware)."""
    pinned = current_app.config.get("NOW") if has_app_context() else None
    if pinned:
        moment = pinned if isinstance(pinned, datetime) else datetime.fromisoformat(str(pinned))
        return moment if moment.tzinfo else moment.replace(tzinfo=zone())
    return datetime.now(zone())


def today() -> date:
    return now().date()
