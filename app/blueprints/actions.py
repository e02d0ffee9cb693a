"""Corrective actions (整改): lists, opening one by hand, and the status flow.

Managers see the actions of their stores (app/scope.py), admins all: another store's action
is a 404. Verifying or reopening is for the region's manager (or an admin): a store's own
manager gets 403. Every POST is a form with a CSRF token.
"""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import select
from wtforms.fields.choices import SelectChoice

from .. import actions, db
from ..auth import roles_required
from ..forms.actions import (
    ROOT_CAUSE_LABELS,
    DoneForm,
    NewActionForm,
    PhotoForm,
    PlanForm,
    VerifyForm,
)
from ..models import Photo, Response, Store, Touchpoint
from ..photos import PhotoError, read_photo, store_photo
from ..queries import stores_in_scope, touchpoint_labels
from ..scope import visible_store_ids
from ..storage import storage

bp = Blueprint("actions", __name__, url_prefix="/actions")
MANAGERS = ("admin", "manager")


def _scope():
    return visible_store_ids(db.session(), current_user)


def _settings() -> actions.Settings:
    return actions.Settings.of(current_app.config)


def get_action_or_404(action_id: int) -> actions.ActionRow:
    """An action in the user's scope; another store's action is a 404 (no existence leak)."""
    row = actions.get(db.session(), action_id, _scope())
    if row is None:
        abort(404)
    return row


@bp.route("/")
@roles_required(*MANAGERS)
def index():
    session = db.session()
    status = "closed" if request.args.get("status") == "closed" else "active"
    mine = request.args.get("mine") == "1"
    rows = actions.listing(session, _scope(), status=status,
                           owner_id=current_user.id if mine else None)
    return render_template("actions/index.html", rows=rows, status=status, mine=mine,
                           counts=actions.counts_by_region(session, _scope()))


@bp.route("/notices")
@roles_required(*MANAGERS)
def notices():
    """What needs the manager's attention in their scope."""
    from .. import notices as found

    return render_template("notices/index.html",
                           notices=found.for_scope(db.session(), _scope()))


def _new_form() -> NewActionForm:
    session = db.session()
    form = NewActionForm(request.form if request.method == "POST" else request.args)
    form.store.choices = [SelectChoice(s.code, f"{s.code} {s.name}")
                          for s, _r in stores_in_scope(session, _scope())]
    form.touchpoint.choices = [
        SelectChoice(tp.id, tp.label_en if _locale() == "en" else tp.label_zh)
        for tp in session.exec(select(Touchpoint).order_by(Touchpoint.stage,
                                                           Touchpoint.position))]
    return form


@bp.route("/new")
@roles_required(*MANAGERS)
def new():
    """The form, prefilled from where it was opened (short board, heat map, drill-down,
    response): ?store=CODE&tp=ID&item=ID&response=ID."""
    form = _new_form()
    form.store.data = request.args.get("store") or form.store.data
    form.touchpoint.data = request.args.get("tp") or form.touchpoint.data
    form.item_id.data = request.args.get("item", "")
    form.response_id.data = request.args.get("response", "")
    return render_template("actions/new.html", form=form, response=_linked_response())


def _linked_response() -> Response | None:
    raw = (request.form if request.method == "POST" else request.args).get(
        "response_id" if request.method == "POST" else "response", "")
    if not raw.isdigit():
        return None
    found = db.session().get(Response, int(raw))
    scope = _scope()
    if found is None or (scope is not None and found.store_id not in scope):
        return None
    return found


@bp.route("/", methods=["POST"])
@roles_required(*MANAGERS)
def create():
    session = db.session()
    form = _new_form()
    if not form.validate():
        if any(form.store.errors) and request.form.get("store"):
            abort(404)  # a store outside the scope looks like no store at all
        return render_template("actions/new.html", form=form,
                               response=_linked_response()), 400
    store = session.exec(select(Store).where(Store.code == form.store.data)).one()
    linked = _linked_response()
    action = actions.open_by_hand(
        session, settings=_settings(), user=current_user, store=store,
        touchpoint_id=form.touchpoint.data, item_id=form.item_id.data or "",
        response_id=linked.id if linked else None, note=form.note.data)
    flash(_("Corrective action opened."), "ok")
    return redirect(url_for("actions.show", action_id=action.id), 303)


def _show(row: actions.ActionRow, *, status: int = 200, **forms):
    session = db.session()
    settings = _settings()
    plan = forms.get("plan") or PlanForm(formdata=None, root_cause=row.action.root_cause,
                                          plan=row.action.plan)
    plan.root_cause.choices = [SelectChoice(c, str(ROOT_CAUSE_LABELS.get(c, c)))
                               for c in settings.root_causes]
    whys = json.loads(row.action.whys) if row.action.whys else []
    if "plan" not in forms:
        for n, text in enumerate(whys[:5], start=1):
            getattr(plan, f"why{n}").data = text
    effect = actions.effect_of(session, row.action, settings=settings)
    return render_template(
        "actions/show.html", row=row, action=row.action, whys=whys, effect=effect,
        windows=actions.windows_of(row.action, settings), months=settings.effect_months,
        item_text=actions.item_text(session, row.action),
        stale=actions.stale(row.action, effect, settings), history=actions.history(
            session, row.action.id), photos=actions.photos(session, row.action.id),
        labels=touchpoint_labels(session), causes=ROOT_CAUSE_LABELS,
        may_verify=actions.is_region_manager(current_user),
        plan_form=plan, photo_form=forms.get("photo") or PhotoForm(formdata=None),
        done_form=forms.get("done") or DoneForm(formdata=None),
        verify_form=forms.get("verify") or VerifyForm(formdata=None),
        error=forms.get("error"),
    ), status


@bp.route("/<int:action_id>")
@roles_required(*MANAGERS)
def show(action_id: int):
    return _show(get_action_or_404(action_id))


def _refused(row, code: str, **forms):
    messages = {
        "status": (_("This step is not possible in the action's current state."), 409),
        "empty": (_("Please fill in what is asked."), 400),
        "cause": (_("Please choose a root cause from the list."), 400),
        "evidence": (_("Add at least one photo of the fix before marking it done."), 400),
    }
    message, status = messages[code]
    return _show(row, status=status, error=message, **forms)


@bp.route("/<int:action_id>/plan", methods=["POST"])
@roles_required(*MANAGERS)
def plan(action_id: int):
    row = get_action_or_404(action_id)
    form = PlanForm()
    form.root_cause.choices = [SelectChoice(c, c) for c in _settings().root_causes]
    if not form.validate():
        return _refused(row, "cause" if form.root_cause.errors else "empty", plan=form)
    try:
        actions.submit_plan(db.session(), row.action, current_user, settings=_settings(),
                            root_cause=form.root_cause.data, whys=form.whys(),
                            plan=form.plan.data)
    except actions.ActionError as error:
        db.session().rollback()
        return _refused(row, error.code, plan=form)
    flash(_("Plan submitted."), "ok")
    return redirect(url_for("actions.show", action_id=action_id), 303)


@bp.route("/<int:action_id>/photos", methods=["POST"])
@roles_required(*MANAGERS)
def add_photo(action_id: int):
    row = get_action_or_404(action_id)
    form = PhotoForm()
    if not form.validate():
        return _refused(row, "empty", photo=form)
    session = db.session()
    try:
        stored = store_photo(session, data=form.photo.data.read(), storage=storage(),
                             max_bytes=current_app.config["PHOTO_MAX_BYTES"],
                             uploaded_by=current_user.id)
        actions.add_photo(session, row.action, current_user, stored.sha256)
    except PhotoError as error:
        session.rollback()
        message = {"too_large": _("The photo is too large."),
                   "too_big_dimensions": _("The photo is too large."),
                   "bad_type": _("Only JPEG, PNG or WebP photos are accepted.")}.get(
            error.code, _("This file is not a photo."))
        return _show(row, status=413 if "large" in error.code or "big" in error.code else 415,
                     error=message)
    except actions.ActionError as error:
        session.rollback()
        return _refused(row, error.code)
    flash(_("Photo added."), "ok")
    return redirect(url_for("actions.show", action_id=action_id), 303)


@bp.route("/<int:action_id>/done", methods=["POST"])
@roles_required(*MANAGERS)
def done(action_id: int):
    row = get_action_or_404(action_id)
    form = DoneForm()
    if not form.validate():
        return _refused(row, "empty", done=form)
    try:
        actions.mark_done(db.session(), row.action, current_user, form.note.data or "")
    except actions.ActionError as error:
        db.session().rollback()
        return _refused(row, error.code, done=form)
    flash(_("Marked done: the region's manager will verify it."), "ok")
    return redirect(url_for("actions.show", action_id=action_id), 303)


@bp.route("/<int:action_id>/verify", methods=["POST"])
@roles_required(*MANAGERS)
def verify(action_id: int):
    row = get_action_or_404(action_id)
    if not actions.is_region_manager(current_user):
        abort(403)
    form = VerifyForm()
    if not form.validate():
        return _refused(row, "empty", verify=form)
    try:
        actions.verify(db.session(), row.action, current_user,
                       accept=form.decision.data == "verify", note=form.note.data or "")
    except actions.ActionError as error:
        db.session().rollback()
        return _refused(row, error.code, verify=form)
    flash(_("Action verified.") if form.decision.data == "verify" else _("Action reopened."),
          "ok")
    return redirect(url_for("actions.show", action_id=action_id), 303)


@bp.route("/<int:action_id>/photos/<sha256>")
@roles_required(*MANAGERS)
def photo(action_id: int, sha256: str):
    get_action_or_404(action_id)
    if sha256 not in actions.photos(db.session(), action_id):
        abort(404)
    thumb = request.args.get("thumb") == "1"
    data = read_photo(storage(), sha256, thumb=thumb)
    if data is None:
        abort(404)
    mime = "image/jpeg" if thumb else db.session().get(Photo, sha256).mime
    response = current_app.response_class(data, mimetype=mime)
    response.headers["Cache-Control"] = "private, max-age=86400"  # content-addressed
    return response


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "zh")
