"""Customers: the public QR survey (no login)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("public", __name__, url_prefix="/s")
