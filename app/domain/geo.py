"""Distances on the earth, for checking where a phone was during a visit."""

from __future__ import annotations

from math import asin, cos, radians, sin, sqrt

EARTH_RADIUS_M = 6_371_008.8


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = radians(lat1), radians(lat2)
    dp, dl = p2 - p1, radians(lon2 - lon1)
    a = sin(dp / 2) ** 2 + cos(p1) * cos(p2) * sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * asin(min(1.0, sqrt(a)))


def parse_position(lat: str | None, lon: str | None, accuracy: str | None
                   ) -> tuple[float, float, float | None] | None:
    """A position posted by a phone, or None when missing or not a real position (a refused
    or failed location never blocks a report, it is simply absent)."""
    try:
        la, lo = float(lat or ""), float(lon or "")
    except ValueError:
        return None
    if not (-90 <= la <= 90 and -180 <= lo <= 180):
        return None
    try:
        acc = float(accuracy) if accuracy else None
    except ValueError:
        acc = None
    return la, lo, acc if acc is None or 0 <= acc < 1e6 else None
