"""Managers: the short board of their scope, store league, heat map, trends, drill-down and
exports. Every route reads its filters through `_filters()`, which keeps the scope inside
what the user may see (403 for another region, 404 for another region's store)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, g, make_response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from .. import actions, cases, charts, dashboard, db, exports
from .. import queries_dashboard as q
from ..auth import roles_required
from ..domain.ranking import recent_periods
from ..errors import abort_with
from ..instruments import definition
from ..models import InstrumentVersion, Response, Store
from ..responses import counts, stored_answers, stored_scores
from ..scope import region_ids_below, scope_region_ids, stores_below, visible_store_ids
from ..shopping import stored_evidence

bp = Blueprint("manager", __name__, url_prefix="/manager")


def _filters(*, lenient: bool = True) -> dashboard.Filters:
    """The request's filters. On a page (lenient), a bad value is dropped and explained next to
    its field (`g.filter_errors`, answered with 400); exports refuse it outright."""
    session = db.session()
    visible = visible_store_ids(session, current_user)
    args = request.args.copy()
    try:
        return _parse(session, args, visible)
    except dashboard.BadFilter as error:
        if not lenient:
            abort_with(400, _("These filters are not valid. Please choose them again."))
        g.filter_errors = _filter_problems(str(error), args)
        for name in g.filter_errors:
            args.pop(name, None)
        if "to" in g.filter_errors or "from" in g.filter_errors:
            args.pop("from", None), args.pop("to", None)
        try:
            return _parse(session, args, visible)
        except dashboard.BadFilter:
            abort_with(400, _("These filters are not valid. Please choose them again."))


def _parse(session, args, visible) -> dashboard.Filters:
    try:
        return dashboard.parse_filters(session, current_user, args, visible=visible,
                                       today=date.today(),
                                       default_k=current_app.config.get("SHRINKAGE_K", 5))
    except dashboard.Forbidden:
        abort(403)
    except dashboard.NotFound:
        abort(404)


def _filter_problems(code: str, args) -> dict[str, str]:
    """Which field is wrong, with what to do about it, in the manager's words."""
    if code == "k":
        return {"k": _("Enter a whole number from 0 to 1000.")}
    if code != "period":
        allowed = {"stage": dashboard.STAGES, "kind": dashboard.KINDS}
        return {name: _("Choose one of the listed values.") for name in allowed
                if args.get(name) and args.get(name) not in allowed[name]}
    if args.get("period"):
        return {"period": _("Choose a period from the list.")}
    days = {}
    for name in ("from", "to"):
        try:
            days[name] = date.fromisoformat(args.get(name) or "")
        except ValueError:
            return {name: _("Enter a date, for example 2025-03-31.")}
    if days["to"] < days["from"]:
        return {"to": _("The end date is before the start date.")}
    return {"to": _("A date range can cover at most three years.")}


TITLES = {
    "board": lambda: _("Weakest touchpoints"), "league": lambda: _("Store league"),
    "heatmap": lambda: _("Heat map"), "trends": lambda: _("Trends"),
    "touchpoint": lambda: _("Drill-down"), "item": lambda: _("Drill-down"),
    "response": lambda: _("Response"),
}


def _render(name: str, f: dashboard.Filters, **context):
    """The full page, or only the dashboard (filters + view) for htmx requests."""
    session = db.session()
    visible = visible_store_ids(session, current_user)
    stores = q.stores_with_regions(session, _store_choices(f, visible))
    context.update(
        f=f, fragment=name, title=TITLES[name](), small_n=current_app.config["SMALL_SAMPLE"],
        endpoint=request.endpoint, view_args=request.view_args or {},
        period_options=recent_periods(date.today()),
        regions=_region_choices(session, visible),
        scope_stores=sorted(stores.values(), key=lambda sr: sr[0].code),
    )
    partial = request.headers.get("HX-Request") and request.headers.get("HX-Target") == "dash"
    errors = g.get("filter_errors") or {}
    page = render_template("manager/_dash.html" if partial else "manager/page.html",
                           filter_errors=errors, **context)
    response = make_response(page, 400 if errors else 200)
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


def _store_choices(f: dashboard.Filters, visible: set[int] | None) -> set[int] | None:
    if visible is not None:
        return visible
    region_id = f.region.id if f.region else (f.store.region_id if f.store else None)
    if region_id is None:
        return set()  # the network's 2,000 stores are picked through a region first
    return stores_below(db.session(), [region_id])


def _region_choices(session, visible: set[int] | None) -> list:
    """Every region for admins; for a manager, the regions of their scope and those below."""
    regions = q.regions(session)
    if visible is None:
        return regions
    allowed = region_ids_below(session, scope_region_ids(session, current_user))
    return [r for r in regions if r.id in allowed]


MANAGERS = ("manager", "admin")


@bp.route("/")
@roles_required(*MANAGERS)
def index():
    f = _filters()
    board = dashboard.build_board(db.session(), f, small_n=current_app.config["SMALL_SAMPLE"])
    locale = _locale()
    chart = charts.board_chart([
        {"label": board.labels[r.touchpoint_id].get(locale) or r.touchpoint_id, "mean": r.mean,
         "ci": r.stats.ci90, "target": r.target, "best": r.best_quartile, "small": r.small}
        for r in board.rows], title=_("Touchpoints, weakest first"))
    weakest = next((r for r in board.rows if r.rank), None)
    weakest_stores = [board.stores[s.store_id][0].code for s in weakest.weakest_stores] if weakest else []
    open_cases = cases.counts(db.session(), _scope_store_ids(f))["open"]
    visible = visible_store_ids(db.session(), current_user)
    settings = actions.Settings.of(current_app.config)
    return _render("board", f, board=board, board_chart=chart, weakest=weakest,
                   weakest_stores=weakest_stores, open_cases=open_cases,
                   action_counts=actions.counts_by_region(db.session(), visible),
                   stale_actions=actions.stale_actions(db.session(), visible, settings=settings))


def _scope_store_ids(f: dashboard.Filters) -> set[int] | None:
    """The stores the board covers (None: the whole network)."""
    if f.scope.store_ids is not None:
        return set(f.scope.store_ids)
    if f.scope.region_id is not None:
        return stores_below(db.session(), [f.scope.region_id])
    return None


@bp.route("/league")
@roles_required(*MANAGERS)
def league():
    f = _filters()
    labels = {t.id: t for t in q.touchpoints(db.session(), f.stage)}
    tp_id = request.args.get("tp") or next(iter(labels), "")
    try:
        table, stores = dashboard.build_league(db.session(), f, tp_id,
                                               page=request.args.get("page", 1, type=int))
    except dashboard.NotFound:
        abort(404)
    return _render("league", f, table=table, stores=stores, labels=labels)


@bp.route("/heatmap")
@roles_required(*MANAGERS)
def heatmap():
    f = _filters()
    return _render("heatmap", f, heat=dashboard.build_heatmap(db.session(), f),
                   heat_class=charts.heat_class, legend=charts.legend_swatches())


@bp.route("/trends")
@roles_required(*MANAGERS)
def trends():
    f = _filters()
    rows, previous = dashboard.build_trends(db.session(), f)
    labels = {t.id: t for t in q.touchpoints(db.session(), f.stage)}
    lines = {
        t.touchpoint_id: charts.trend_chart(
            [(f"{y}-{mo:02d}", s.mean, s.n) for (y, mo), s in t.months], target=t.target,
            title=getattr(labels[t.touchpoint_id], "label_en" if _locale() == "en" else "label_zh"))
        for t in rows
    }
    return _render("trends", f, trends=rows, previous=previous, labels=labels, charts=lines)


@bp.route("/tp/<tp_id>")
@roles_required(*MANAGERS)
def touchpoint(tp_id: str):
    f = _filters()
    try:
        rows = dashboard.item_rows(db.session(), f, tp_id)
    except dashboard.NotFound:
        abort(404)
    labels = {t.id: t for t in q.touchpoints(db.session(), f.stage)}
    return _render("touchpoint", f, tp=labels[tp_id], items=rows)


@bp.route("/tp/<tp_id>/items/<item_id>")
@roles_required(*MANAGERS)
def item(tp_id: str, item_id: str):
    f = _filters()
    only_failed = request.args.get("all") != "1"
    try:
        row, answers = dashboard.item_detail(db.session(), f, tp_id, item_id,
                                             only_failed=only_failed)
    except dashboard.NotFound:
        abort(404)
    labels = {t.id: t for t in q.touchpoints(db.session(), f.stage)}
    return _render("item", f, tp=labels[tp_id], item=row, answers=answers,
                   only_failed=only_failed)


@bp.route("/r/<int:response_id>")
@roles_required(*MANAGERS)
def response(response_id: int):
    f = _filters()
    session = db.session()
    found = session.get(Response, response_id)
    store = session.get(Store, found.store_id) if found else None
    if found is None or not counts(found.kind, found.status) or not f.scope.contains(
            store.id, store.region_id):
        abort(404)
    version = session.get(InstrumentVersion, found.instrument_version_id)
    return _render("response", f, response=found, store=store, version=version,
                   instrument=definition(version), answers=stored_answers(session, found.id),
                   scores=stored_scores(session, found.id),
                   evidence=stored_evidence(session, found.id),
                   labels=dashboard_labels())


def dashboard_labels() -> dict:
    from ..queries import touchpoint_labels

    return touchpoint_labels(db.session())


@bp.route("/export/<what>.<fmt>")
@roles_required(*MANAGERS)
def export(what: str, fmt: str):
    if what not in ("ranking", "responses") or fmt not in ("csv", "xlsx"):
        abort(404)
    f = _filters(lenient=False)
    if what == "ranking":
        board = dashboard.build_board(db.session(), f, small_n=current_app.config["SMALL_SAMPLE"])
        locale = "en" if _locale() == "en" else "zh"

        def rows_of(_session):
            return exports.ranking_rows(board, locale)
    else:
        def rows_of(session):
            return exports.response_rows(q.raw_answer_rows(session, scope=f.scope, kind=f.kind,
                                                           **f.window()))
    name = f"{what}-{f.stage}-{f.kind}-{f.period.key.replace('..', '_')}.{fmt}"
    if fmt == "csv":
        return exports.csv_response(rows_of, name, engine=db.engine())
    return exports.xlsx_response(rows_of(db.session()), name, what)


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "zh")
