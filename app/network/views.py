"""Admin screens for the network: import (preview, then apply), export, and the lists and
forms of regions, stores and users."""

from __future__ import annotations

import base64
import binascii
import hashlib

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField
from wtforms.validators import DataRequired

from .. import db
from ..auth import roles_required
from ..domain.network_file import ROLES
from ..exports import XLSX_MIME
from ..models import Region, Store, User
from . import forms, records
from .exporter import store_rows, table_bytes, user_rows
from .importer import hash_one_time, import_network, one_time_password

bp = Blueprint("network", __name__, url_prefix="/admin/network")

MAX_IMPORT_BYTES = 5 * 1024 * 1024


class UploadForm(FlaskForm):
    file = FileField(validators=[FileRequired()])
    deactivate_missing = BooleanField()


class ApplyForm(FlaskForm):
    # the previewed file travels back with the form; it is checked again before anything is
    # written, so an altered copy is refused like any other file
    content = HiddenField(validators=[DataRequired()])
    filename = HiddenField(validators=[DataRequired()])
    digest = HiddenField(validators=[DataRequired()])
    deactivate_missing = HiddenField()


@bp.route("/")
@roles_required("admin")
def index():
    return render_template("network/index.html", form=UploadForm())


@bp.route("/import", methods=["POST"])
@roles_required("admin")
def preview():
    form = UploadForm()
    if not form.validate_on_submit():
        return render_template("network/index.html", form=form,
                               error=_("Choose a CSV or XLSX file.")), 400
    upload = form.file.data
    data = upload.read(MAX_IMPORT_BYTES + 1)
    filename = (upload.filename or "network.csv").rsplit("/", 1)[-1]
    if len(data) > MAX_IMPORT_BYTES:
        return render_template("network/index.html", form=form,
                               error=_("The file is larger than 5 MB.")), 413
    result = import_network(db.session(), data, filename, dry_run=True,
                            deactivate_missing=form.deactivate_missing.data)
    apply = ApplyForm(content=base64.b64encode(data).decode(), filename=filename,
                      digest=hashlib.sha256(data).hexdigest(),
                      deactivate_missing="1" if form.deactivate_missing.data else "")
    return render_template("network/preview.html", result=result, filename=filename,
                           apply=apply, problems=_problems(result)), (200 if result.ok else 422)


@bp.route("/import/apply", methods=["POST"])
@roles_required("admin")
def apply():
    form = ApplyForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        data = base64.b64decode(form.content.data, validate=True)
    except (binascii.Error, ValueError):
        abort(400)
    if hashlib.sha256(data).hexdigest() != form.digest.data:
        abort(400)
    result = import_network(db.session(), data, form.filename.data,
                            deactivate_missing=form.deactivate_missing.data == "1")
    return render_template("network/applied.html", result=result, filename=form.filename.data,
                           problems=_problems(result)), (200 if result.ok else 422)


def _problems(result) -> list[tuple[int, str]]:
    """(row, message in the user's language), as the CLI prints them."""
    return [(p.row, p.text(_)) for p in result.file.problems]


@bp.route("/export/<kind>.<fmt>")
@roles_required("admin")
def export(kind: str, fmt: str):
    if kind not in ("stores", "users") or fmt not in ("csv", "xlsx"):
        abort(404)
    rows = list((store_rows if kind == "stores" else user_rows)(db.session()))
    body = table_bytes(rows, xlsx=fmt == "xlsx", title=kind)
    mime = XLSX_MIME if fmt == "xlsx" else "text/csv; charset=utf-8"
    return body, 200, {"Content-Type": mime,
                       "Content-Disposition": f'attachment; filename="{kind}.{fmt}"'}


# ---- regions, stores and users ----------------------------------------------------------


def _page_args() -> tuple[str, int]:
    q = (request.args.get("q") or "").strip()[:100]
    page = request.args.get("page", "1")
    return q, int(page) if page.isdigit() else 1


@bp.route("/regions")
@roles_required("admin")
def regions():
    q, page = _page_args()
    return render_template("network/regions.html", page=records.list_regions(db.session(), q,
                                                                              page), q=q)


@bp.route("/stores")
@roles_required("admin")
def stores():
    q, page = _page_args()
    return render_template("network/stores.html", page=records.list_stores(db.session(), q,
                                                                            page), q=q)


@bp.route("/users")
@roles_required("admin")
def users():
    q, page = _page_args()
    role = request.args.get("role", "")
    role = role if role in ROLES else ""
    return render_template("network/users.html", role=role, roles=ROLES, q=q,
                           page=records.list_users(db.session(), q, role, page))


def _edit(kind: str, record_id: int | None):
    session = db.session()
    model = {"region": Region, "store": Store, "user": User}[kind]
    record = None
    if record_id is not None:
        record = session.get(model, record_id)
        if record is None:
            abort(404)
    form = forms.FORMS[kind](session, record)
    if form.validate_on_submit():
        password = forms.save(session, kind, form, record, current_user.id)
        session.commit()
        if password:  # shown once, here
            return render_template("network/password.html", username=form.username.data
                                   if record is None else record.username, password=password)
        flash(_("Saved."))
        return redirect(url_for(f"network.{kind}s"))
    status = 400 if form.is_submitted() else 200
    return render_template("network/edit.html", form=form, kind=kind, record=record), status


@bp.route("/regions/new", methods=["GET", "POST"])
@bp.route("/regions/<int:record_id>", methods=["GET", "POST"])
@roles_required("admin")
def region(record_id: int | None = None):
    return _edit("region", record_id)


@bp.route("/stores/new", methods=["GET", "POST"])
@bp.route("/stores/<int:record_id>", methods=["GET", "POST"])
@roles_required("admin")
def store(record_id: int | None = None):
    return _edit("store", record_id)


@bp.route("/users/new", methods=["GET", "POST"])
@bp.route("/users/<int:record_id>", methods=["GET", "POST"])
@roles_required("admin")
def user(record_id: int | None = None):
    return _edit("user", record_id)


@bp.route("/users/<int:record_id>/password", methods=["POST"])
@roles_required("admin")
def reset_password(record_id: int):
    session = db.session()
    target = session.get(User, record_id)
    if target is None or not FlaskForm().validate_on_submit():
        abort(404 if target is None else 400)
    password = one_time_password()
    target.password_hash = hash_one_time(password)
    target.must_change_password = True
    session.commit()
    return render_template("network/password.html", username=target.username, password=password)
