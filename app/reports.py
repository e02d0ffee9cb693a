"""Monthly PDF reports (seed 002: 定期形成服务质量分析报告): per store, per region, per visit.

A report is the scorecard's HTML fragment in a print wrapper, rendered by WeasyPrint with the
project's CJK font (app/fonts.py); the web page includes the same fragment. Photos go in as
file URIs of their thumbnails, so a month with many photos stays small and fast.

A region's batch (every store's PDF in one ZIP) runs in the background: on the job queue when
Redis is configured (app/jobs.py, `make worker`), else in a thread of the app process. Its
progress lives in `report_batch`, so any web process can show it.
"""

from __future__ import annotations

import base64
import gc
import io
import re
import zipfile
from contextlib import contextmanager
from pathlib import Path

from flask import current_app, render_template
from markupsafe import Markup
from sqlmodel import Session, select

from . import charts, fonts, scorecards
from .config import ROOT
from .domain.ranking import Period
from .models import Region, ReportBatch, Store
from .photos import read_photo
from .storage import storage


def photo_src(sha256: str, thumb: bool = True) -> str:
    """The photo inline, always its thumbnail (a data URI, the same for folder and S3
    storage): sharp enough on paper, and a month of photos stays a small, fast PDF."""
    data = read_photo(storage(), sha256, thumb=True)
    return f"data:image/jpeg;base64,{base64.b64encode(data).decode()}" if data else ""


def _pdf_charts(svg: Markup) -> Markup:
    """SVG text in the report's CJK face (the generic sans-serif would pull in the whole
    system font, seconds per document), without the halo strokes WeasyPrint would paint
    over the letters (it ignores `paint-order`)."""
    text = str(svg).replace('font-family="sans-serif"', f'font-family="{fonts.FAMILY}, sans-serif"')
    return Markup(re.sub(r' paint-order="stroke" stroke="[^"]*" stroke-width="3"', "", text))


def render_document(template: str, *, images: dict | None = None, **context):
    """The laid-out WeasyPrint document (its `pages`; `write_pdf()` for the bytes).
    `images`: WeasyPrint's image cache, shared by the documents of one batch."""
    from weasyprint import HTML

    faces = fonts.faces()  # regular and bold subsets, so headings are truly bold
    html = render_template(template, font_faces={w: p.as_uri() for w, p in faces.items()},
                           font_family=fonts.FAMILY, pdf=True, photo_src=photo_src, **context)
    if faces:
        fonts.faces(html)  # a store name beyond GB2312 joins the subsets before WeasyPrint reads them
    with long_lived_objects_frozen():
        return HTML(string=html, base_url=str(ROOT)).render(font_config=fonts.font_config(),
                                                            cache=images)


def pdf_bytes(document) -> bytes:
    with long_lived_objects_frozen():
        return document.write_pdf()


def render(template: str, **context) -> bytes:
    return pdf_bytes(render_document(template, **context))


@contextmanager
def long_lived_objects_frozen():
    """Keep the objects that exist before a render out of the garbage collector's scans while
    WeasyPrint runs: it allocates enough to trigger full collections, each of which would
    walk the whole app again (a quarter of a report's time). Freezing and thawing are O(1);
    afterwards the objects are collectable as before, so nothing leaks. Another thread's
    thaw ends this one's freeze early, which only costs time."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def store_chart(card: scorecards.StoreCard, locale: str, *, pdf: bool) -> Markup:
    rows = [{"label": card_label(line.touchpoint, locale), "mean": line.score,
             "ci": line.ci90, "target": line.target, "best": line.network,
             "small": line.stats.n < 2} for line in card.touchpoints]
    if pdf:
        return _pdf_charts(charts.board_chart_print(rows, title=card.store.name))
    return charts.board_chart(rows, title=card.store.name)


def card_label(tp, locale: str) -> str:
    return tp.label_en if locale == "en" else tp.label_zh


def period_fits(session: Session, period: Period) -> dict:
    """The stored calibration fits of the period ({stage: fit or None}; `all`: the overall
    score), asking for the missing or stale ones to be computed."""
    from datetime import date

    from .calibration import fits
    from .models import CALIBRATION_STAGES

    return fits.for_stages(session, CALIBRATION_STAGES, period.start, period.end,
                           today=date.today())


def store_document(session: Session, store: Store, period: Period, *, locale: str = "zh",
                   images: dict | None = None):
    config = current_app.config
    card = scorecards.store_card(session, store, period, k=config["SHRINKAGE_K"],
                                 grades=config["GRADES"], with_failures=True,
                                 fits=period_fits(session, period))
    return render_document("reports/store_pdf.html", card=card,
                           chart=store_chart(card, locale, pdf=True),
                           trend=_pdf_charts(scorecards_trend(card)), images=images)


def store_pdf(session: Session, store: Store, period: Period, *, locale: str = "zh",
              images: dict | None = None) -> bytes:
    return pdf_bytes(store_document(session, store, period, locale=locale, images=images))


def scorecards_trend(card: scorecards.StoreCard) -> Markup:
    return charts.trend_chart(card.trend, target=80.0, title=card.store.name, width=520,
                              height=110)


# ---- the region batch -------------------------------------------------------------------


def start_batch(session: Session, *, region: Region, month: str,
                user_id: int | None) -> ReportBatch:
    """Record a batch and hand it to the job queue (app/jobs.py: RQ on Redis, or a thread of
    this process without one); returns at once."""
    from . import jobs

    total = len(session.exec(select(Store.id).where(Store.region_id == region.id,
                                                    Store.active)).all())
    batch = ReportBatch(region_id=region.id, month=month, requested_by=user_id, total=total)
    session.add(batch)
    session.commit()
    jobs.enqueue(build_batch, batch.id)
    return batch


def build_batch(batch_id: int) -> None:
    """Render every active store's PDF of the region into one ZIP, counting progress."""
    from . import db
    from .domain.ranking import parse_period

    with db.new_session() as session:
        batch = session.get(ReportBatch, batch_id)
        if batch is None or batch.status == "done":
            return
        batch.status, batch.done = "running", 0
        session.add(batch)
        session.commit()
        try:
            period = parse_period(batch.month, today=None)
            stores = list(session.exec(select(Store).where(
                Store.region_id == batch.region_id, Store.active).order_by(Store.code)))
            folder = Path(current_app.config["REPORTS_DIR"])
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"batch-{batch.id}.zip"
            partial = target.with_suffix(".part")
            images: dict = {}  # a photo or logo in several stores' reports is decoded once
            with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as archive:
                for number, store in enumerate(stores, start=1):
                    with current_app.test_request_context():
                        pdf = store_pdf(session, store, period, images=images)
                    archive.writestr(f"{store.code}-{batch.month}.pdf", pdf)
                    batch.done = number
                    session.add(batch)
                    session.commit()
            partial.replace(target)
            batch.status, batch.path = "done", str(target)
        except Exception:
            current_app.logger.exception("report batch %s failed", batch_id)
            session.rollback()
            batch.status = "failed"
        session.add(batch)
        session.commit()


def zip_bytes(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()
