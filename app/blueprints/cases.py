"""Follow-up cases opened by unhappy customer answers (closed loop)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("cases", __name__, url_prefix="/cases")
