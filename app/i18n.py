"""Locale: the one the user picked (remembered in the session), else the browser's language
when it is Chinese or English, else Simplified Chinese."""

from __future__ import annotations

from flask import Flask, current_app, request, session
from flask_babel import Babel

babel = Babel()


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    wanted = request.args.get("lang")
    if wanted in languages:
        session["lang"] = wanted
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    # until the user picks one, the phone's or browser's own language (zh when it is neither)
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)

    @app.context_processor
    def _locale_helpers():
        from flask_babel import get_locale

        locale = str(get_locale() or "zh")
        return {"locale": locale, "html_lang": "en" if locale == "en" else "zh-CN"}

    @app.template_filter("local_time")
    def _local_time(moment, fmt: str = "%Y-%m-%d %H:%M") -> str:
        """A stored UTC time as the store's clock shows it (TIME_ZONE, default Asia/Shanghai)."""
        from datetime import UTC
        from zoneinfo import ZoneInfo

        if moment is None:
            return ""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(ZoneInfo(current_app.config["TIME_ZONE"])).strftime(fmt)

    @app.template_filter("t")
    def _bilingual(text) -> str:
        """Pick the current language from a definition's {zh, en} text."""
        from flask_babel import get_locale

        if text is None:
            return ""
        locale = str(get_locale() or "zh")
        if isinstance(text, dict):
            return text.get(locale) or text.get("zh") or ""
        return text.get(locale)
