"""Logging in and out, role checks, the language switch and the role-aware home."""

from __future__ import annotations

from datetime import timedelta
from functools import wraps
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlmodel import select
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from . import db, sessions
from .extensions import limiter, login_manager
from .models import User

bp = Blueprint("auth", __name__)

HOMES = {
    "admin": "admin.index",
    "manager": "manager.index",
    "reviewer": "reviewer.index",
    "shopper": "shopper.index",
}
# A hash to check against when the user does not exist, so timing does not tell.
_DUMMY_HASH = generate_password_hash("not-a-password")


def hash_password(password: str) -> str:
    return generate_password_hash(password)


SESSION_TOKEN = "sid"  # the key in Flask's signed cookie that holds the session's token


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    """The cookie's user, only while its server-side session lives (see app/sessions.py)."""
    if not user_id.isdigit():
        return None
    user = db.session().get(User, int(user_id))
    if user is None or not user.active:
        return None
    idle = timedelta(hours=current_app.config["SESSION_IDLE_HOURS"])
    if not sessions.is_valid(db.session(), db.engine(), session.get(SESSION_TOKEN),
                             user_id=user.id, idle=idle):
        return None
    return user


def _fresh_session() -> None:
    """Forget everything the cookie held (session fixation; a new CSRF token), but the language."""
    lang = session.get("lang")
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
    if lang:
        session["lang"] = lang


def start_session(user: User) -> None:
    _fresh_session()
    session[SESSION_TOKEN] = sessions.start(db.session(), user.id)
    login_user(user)


def set_password(user: User, password: str) -> None:
    """The one way a password changes: every session of the user ends with it (the caller's
    own device is given a new one by `start_session`)."""
    s = db.session()
    user.password_hash = hash_password(password)
    s.add(user)
    sessions.end_all(s, user.id)
    s.commit()


def roles_required(*roles: str):
    """Logged in and one of `roles`, else 403 (the forbidden case is tested for every route)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for(HOMES[current_user.role]))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        user = db.session().exec(
            select(User).where(User.username == form.username.data.strip())
        ).first()
        valid = check_password_hash(user.password_hash if user else _DUMMY_HASH,
                                    form.password.data)
        if user and valid and user.active:
            start_session(user)
            return redirect(_safe_next(request.args.get("next")) or url_for(HOMES[user.role]))
        error = _("Wrong username or password.")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form, error=error), status


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=10, max=200)])
    repeat = PasswordField(_l("New password again"), validators=[
        DataRequired(), EqualTo("new", message=_l("The two new passwords differ."))])


# what a user with a one-time password may still reach before changing it
_BEFORE_CHANGE = {"auth.change_password", "auth.logout", "auth.set_language", "static"}


@bp.before_app_request
def _force_password_change():
    if (current_user.is_authenticated and current_user.must_change_password
            and request.endpoint not in _BEFORE_CHANGE):
        return redirect(url_for("auth.change_password"))
    return None


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def change_password():
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        user = db.session().get(User, current_user.id)
        if not check_password_hash(user.password_hash, form.current.data):
            form.current.errors.append(_("Wrong password."))
            status = 400
        elif form.new.data == form.current.data:
            form.new.errors.append(_("Choose a password different from the current one."))
            status = 400
        else:
            user.must_change_password = False
            set_password(user, form.new.data)  # ends every session of the user ...
            start_session(user)  # ... and gives this device a new one
            flash(_("Password changed. You were logged out everywhere else."), "ok")
            return redirect(url_for(HOMES[user.role]))
    elif request.method == "POST":
        status = 400
    return render_template("auth/password.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    sessions.end(db.session(), session.get(SESSION_TOKEN))
    logout_user()
    _fresh_session()
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>")
def set_language(code: str):
    from flask import session

    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = code
    return redirect(_safe_next(request.args.get("next")) or url_for("auth.home"))
