"""The data model (SQLModel). Schema changes go through migrations in `migrations/`.

Rankings read only `TouchpointScore`: one row per response and touchpoint, carrying the store,
region, day, kind and stage of its response and whether it counts, so every short board is a
plain GROUP BY without joins to answers.
"""

from __future__ import annotations

import uuid as uuid_module
from datetime import UTC, date, datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

ROLES = ("admin", "manager", "reviewer", "shopper")
KINDS = ("mystery_shop", "customer_survey")
STAGES = ("sales", "aftersales")
# draft -> submitted -> approved | returned (-> submitted again); customer surveys are
# submitted on arrival; an admin may mark any response invalid.
RESPONSE_STATUSES = ("draft", "submitted", "returned", "approved", "invalid")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Region(SQLModel, table=True):
    """Regions nest to any depth (brand -> large region -> region); `parent_id` None is a top."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=32)
    name: str = Field(max_length=100)
    parent_id: int | None = Field(default=None, foreign_key="region.id", index=True)
    active: bool = True


class Store(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=32)
    name: str = Field(max_length=200)
    city: str = Field(default="", max_length=100)
    address: str = Field(default="", max_length=300)
    latitude: float | None = None
    longitude: float | None = None
    region_id: int = Field(foreign_key="region.id", index=True)
    active: bool = True
    # rankings leave out what a store did from this day on; its history stays
    deactivated_on: date | None = None


class User(SQLModel, table=True):
    """A person who logs in. A manager's scope is any set of regions (ManagerRegion, and the
    legacy single `region_id`) and stores (ManagerStore); a region includes every region below."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=64)
    display_name: str = Field(default="", max_length=100)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=16)
    region_id: int | None = Field(default=None, foreign_key="region.id")
    email: str = Field(default="", max_length=200)
    active: bool = True
    must_change_password: bool = False  # a one-time password from an import or a reset
    monthly_capacity: int = 0  # shoppers: visits a month the round planner may give them
    created_at: datetime = Field(default_factory=utcnow)

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class ManagerStore(SQLModel, table=True):
    __tablename__ = "manager_store"
    user_id: int = Field(foreign_key="user.id", primary_key=True)
    store_id: int = Field(foreign_key="store.id", primary_key=True)


class ManagerRegion(SQLModel, table=True):
    """A region in a manager's scope (with every region and store below it)."""

    __tablename__ = "manager_region"
    user_id: int = Field(foreign_key="user.id", primary_key=True)
    region_id: int = Field(foreign_key="region.id", primary_key=True)


class ShopperRegion(SQLModel, table=True):
    """A mystery shopper's home region: the round planner sends them to stores below it."""

    __tablename__ = "shopper_region"
    user_id: int = Field(foreign_key="user.id", primary_key=True)
    region_id: int = Field(foreign_key="region.id", primary_key=True)


class ShopperConflict(SQLModel, table=True):
    """A store a shopper must never visit (known there, relatives, former employer)."""

    __tablename__ = "shopper_conflict"
    user_id: int = Field(foreign_key="user.id", primary_key=True)
    store_id: int = Field(foreign_key="store.id", primary_key=True)


class Touchpoint(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    stage: str = Field(max_length=16)
    label_zh: str = Field(max_length=100)
    label_en: str = Field(max_length=100)
    target: float = 85.0
    position: int = 0


class InstrumentVersion(SQLModel, table=True):
    """One loaded version of an instrument; never changed once loaded (content_hash)."""

    __tablename__ = "instrument_version"
    __table_args__ = (UniqueConstraint("instrument_id", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    instrument_id: str = Field(max_length=64, index=True)
    version: int
    kind: str = Field(max_length=32)
    stage: str = Field(max_length=16)
    title_zh: str = Field(max_length=200)
    title_en: str = Field(max_length=200)
    content_hash: str = Field(max_length=64)
    definition: str = Field(sa_column=Column(Text, nullable=False))  # validated model as JSON
    # mirrors the version in use, for SQL readers; the app decides by status and effective day
    # when it reads (instruments.active_versions), so a scheduled version needs no visit
    active: bool = True
    loaded_at: datetime = Field(default_factory=utcnow)
    # draft -> published (approved by someone, effective from a day); loading never publishes
    status: str = Field(default="published", max_length=16)
    effective_on: date | None = None
    approved_by: int | None = Field(default=None, foreign_key="user.id")
    approved_at: datetime | None = None


class Assignment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    instrument_version_id: int = Field(foreign_key="instrument_version.id")
    store_id: int = Field(foreign_key="store.id", index=True)
    shopper_id: int = Field(foreign_key="user.id", index=True)
    window_start: date
    window_end: date
    note: str = Field(default="", max_length=500)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    round_id: int | None = Field(default=None, foreign_key="round.id", index=True)
    cancelled_at: datetime | None = None  # cancelled assignments leave the shopper's list


class Response(SQLModel, table=True):
    """One filled checklist or survey. `uuid` is made by the client: resubmitting it is a no-op."""

    # approvals since a moment (a stored calibration fit's "visits since"): a range look-up
    __table_args__ = (Index("ix_response_reviewed", "status", "reviewed_at"),)
    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(
        default_factory=lambda: str(uuid_module.uuid4()), unique=True, max_length=36
    )
    instrument_version_id: int = Field(foreign_key="instrument_version.id")
    kind: str = Field(max_length=32)
    stage: str = Field(max_length=16)
    channel: str = Field(max_length=16)  # shopper | qr | demo
    status: str = Field(default="draft", max_length=16, index=True)
    store_id: int = Field(foreign_key="store.id", index=True)
    region_id: int = Field(foreign_key="region.id")
    # one report per assignment, held by the database (not a check-then-insert)
    assignment_id: int | None = Field(default=None, foreign_key="assignment.id", unique=True,
                                      index=True)
    shopper_id: int | None = Field(default=None, foreign_key="user.id")
    day: date = Field(index=True)  # the visit (as the shopper gives it) or survey day
    overall: float | None = None
    visit_start: str | None = Field(default=None, max_length=5)
    visit_end: str | None = Field(default=None, max_length=5)
    # where the phone was at the start and at submission, when the shopper allowed it
    start_lat: float | None = None
    start_lon: float | None = None
    start_accuracy: float | None = None
    submit_lat: float | None = None
    submit_lon: float | None = None
    submit_accuracy: float | None = None
    review_comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    reviewed_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    submitted_at: datetime | None = None
    reviewed_at: datetime | None = None


class Answer(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("response_id", "item_id"),)
    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="response.id", index=True)
    item_id: str = Field(max_length=64)
    value: str = Field(sa_column=Column(Text, nullable=False))  # JSON of the parsed answer


class TouchpointScore(SQLModel, table=True):
    """A response's score on one touchpoint, denormalised for SQL aggregation."""

    __tablename__ = "touchpoint_score"
    __table_args__ = (
        UniqueConstraint("response_id", "touchpoint_id"),
        Index("ix_tps_rank", "counted", "kind", "stage", "day", "touchpoint_id"),
        Index("ix_tps_store", "store_id", "kind", "day"),
        Index("ix_tps_region", "region_id", "kind", "day"),
    )
    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="response.id")
    touchpoint_id: str = Field(foreign_key="touchpoint.id", max_length=64)
    store_id: int = Field(foreign_key="store.id")
    region_id: int = Field(foreign_key="region.id")
    day: date
    kind: str = Field(max_length=32)
    stage: str = Field(max_length=16)
    score: float
    critical_failed: bool = False
    counted: bool = False  # approved mystery shop, or valid customer survey
    # the response's answer to its survey's outcome item (key-driver importance pairs it with
    # `score`); None for mystery shops and unanswered outcomes
    outcome: float | None = None


# --- Summaries kept at write time (migration 0005, app/summaries.py) ----------------------


class SummaryMeasures(SQLModel):
    """Sufficient statistics of counted touchpoint scores in one cell: enough to add cells up
    (stores -> region -> network, days -> months) and to compute means, intervals and the
    score/outcome correlation without touching responses."""

    n: int = 0
    total: float = 0.0  # Σ score
    squares: float = 0.0  # Σ score²
    critical: int = 0  # red-line failures
    pairs: int = 0  # responses with an outcome answer
    pair_x: float = 0.0  # Σ score over those
    pair_y: float = 0.0  # Σ outcome
    pair_xy: float = 0.0
    pair_xx: float = 0.0
    pair_yy: float = 0.0


class StoreMonthSummary(SummaryMeasures, table=True):
    """One store's month: per-store figures (league, heat map, weakest stores) and the
    totals of a set of stores."""

    __tablename__ = "summary_store_month"
    __table_args__ = (Index("ix_ssm_store", "store_id", "kind", "stage", "month"),
                      Index("ix_ssm_region", "region_id", "kind", "stage", "month"),
                      {"sqlite_with_rowid": False})  # rows clustered by key: ranges read in order
    kind: str = Field(primary_key=True, max_length=32)
    stage: str = Field(primary_key=True, max_length=16)
    month: date = Field(primary_key=True)  # first day of the month
    store_id: int = Field(primary_key=True)
    region_id: int = Field(primary_key=True)
    touchpoint_id: str = Field(primary_key=True, max_length=64)


class RegionMonthSummary(SummaryMeasures, table=True):
    """One region's month: network and region totals over whole months (trends)."""

    __tablename__ = "summary_region_month"
    __table_args__ = {"sqlite_with_rowid": False}
    kind: str = Field(primary_key=True, max_length=32)
    stage: str = Field(primary_key=True, max_length=16)
    month: date = Field(primary_key=True)
    region_id: int = Field(primary_key=True)
    touchpoint_id: str = Field(primary_key=True, max_length=64)


class RegionDaySummary(SummaryMeasures, table=True):
    """One region's day: the ends of date ranges that do not align with months."""

    __tablename__ = "summary_region_day"
    __table_args__ = {"sqlite_with_rowid": False}
    kind: str = Field(primary_key=True, max_length=32)
    stage: str = Field(primary_key=True, max_length=16)
    day: date = Field(primary_key=True)
    region_id: int = Field(primary_key=True)
    touchpoint_id: str = Field(primary_key=True, max_length=64)


class StoreRecentSummary(SummaryMeasures, table=True):
    """One store's last `RecentWindow.days` days (the dashboard's default period): the
    network board ranks 2,000 stores from one row each per touchpoint, with no grouping.
    Kept at write time for rows inside the window; `app.recent` moves the window each day."""

    __tablename__ = "summary_store_recent"
    __table_args__ = (Index("ix_ssr_region", "region_id", "kind", "stage"),
                      {"sqlite_with_rowid": False})
    kind: str = Field(primary_key=True, max_length=32)
    stage: str = Field(primary_key=True, max_length=16)
    store_id: int = Field(primary_key=True)
    region_id: int = Field(primary_key=True)
    touchpoint_id: str = Field(primary_key=True, max_length=64)


class StoreOverallSummary(SummaryMeasures, table=True):
    """One store's month of counted responses' overall scores (`response.overall`, the
    weighted score of the whole visit): the scorecards' overall score and ranks. Only n, total
    and squares are used; the other measures stay zero."""

    __tablename__ = "summary_store_overall"
    __table_args__ = (Index("ix_sso_store", "store_id", "kind", "month"),
                      {"sqlite_with_rowid": False})
    kind: str = Field(primary_key=True, max_length=32)
    stage: str = Field(primary_key=True, max_length=16)
    month: date = Field(primary_key=True)  # first day of the month
    store_id: int = Field(primary_key=True)
    region_id: int = Field(primary_key=True)


class RecentWindow(SQLModel, table=True):
    """The one row saying which days `summary_store_recent` holds: last - days + 1 .. last."""

    __tablename__ = "summary_recent_window"
    id: int = Field(default=1, primary_key=True)
    last_day: date
    days: int


class Photo(SQLModel, table=True):
    """An evidence photo, stored once by content hash in the storage folder."""

    sha256: str = Field(primary_key=True, max_length=64)
    mime: str = Field(max_length=32)
    size: int
    width: int
    height: int
    uploaded_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class ResponseEvidence(SQLModel, table=True):
    """A photo attached to one item of a response (items with `evidence: optional|photo`)."""

    __tablename__ = "response_evidence"
    response_id: int = Field(foreign_key="response.id", primary_key=True)
    item_id: str = Field(max_length=64, primary_key=True)
    sha256: str = Field(foreign_key="photo.sha256", max_length=64)


# --- QR surveys and follow-up cases (migration 0003) -------------------------------------


class SurveyTokenBatch(SQLModel, table=True):
    """A printed sheet of single-use codes for one store and customer instrument."""

    __tablename__ = "survey_token_batch"
    id: int | None = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id", index=True)
    instrument_id: str = Field(max_length=64)
    label: str = Field(default="", max_length=200)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


class SurveyToken(SQLModel, table=True):
    """One single-use code (an order or delivery); `used_at` is set once, atomically."""

    __tablename__ = "survey_token"
    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="survey_token_batch.id", index=True)
    store_id: int = Field(foreign_key="store.id")
    instrument_id: str = Field(max_length=64)
    reference: str = Field(default="", max_length=64)  # order or delivery number
    used_at: datetime | None = None
    response_id: int | None = Field(default=None, foreign_key="response.id")


class SurveyDeviceAnswer(SQLModel, table=True):
    """Which device (a random cookie, stored hashed) answered a store-level code, and when."""

    __tablename__ = "survey_device_answer"
    __table_args__ = (Index("ix_sda_device", "device", "store_id", "instrument_id", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    device: str = Field(max_length=64)
    store_id: int = Field(foreign_key="store.id")
    instrument_id: str = Field(max_length=64)
    response_id: int = Field(foreign_key="response.id", unique=True)
    created_at: datetime = Field(default_factory=utcnow)


CASE_STATUSES = ("open", "closed")


class FollowUpCase(SQLModel, table=True):
    """An unhappy customer answer (or a call-back request) that a store must act on."""

    __tablename__ = "follow_up_case"
    __table_args__ = (Index("ix_case_store_status", "store_id", "status", "due_at"),)
    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="response.id", unique=True)
    store_id: int = Field(foreign_key="store.id")
    instrument_id: str = Field(max_length=64)
    reasons: str = Field(max_length=64)  # comma-separated: detractor, low_overall, call_back
    nps: int | None = None
    overall: int | None = None
    phone: str = Field(default="", max_length=32)  # only with the customer's consent
    status: str = Field(default="open", max_length=16)
    opened_at: datetime = Field(default_factory=utcnow)
    due_at: datetime
    contacted_at: datetime | None = None
    contacted_by: int | None = Field(default=None, foreign_key="user.id")
    contact_note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    resolution: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    closed_at: datetime | None = None
    closed_by: int | None = Field(default=None, foreign_key="user.id")


# --- sessions and the atomic repeat claim (migration 0004) --------------------------------


class UserSession(SQLModel, table=True):
    """A logged-in session, valid for every app process sharing the database.

    The cookie carries a random token; only its SHA-256 is stored, so a copy of this table
    logs nobody in. Logout and a password change delete rows; an idle one expires."""

    __tablename__ = "user_session"
    id: str = Field(primary_key=True, max_length=64)  # sha256 of the cookie's token
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)


class SurveyDeviceClaim(SQLModel, table=True):
    """A device's answers to one store's survey in the current repeat window, claimed with one
    atomic UPDATE so parallel posts from one phone cannot all pass the check."""

    __tablename__ = "survey_device_claim"
    device: str = Field(primary_key=True, max_length=64)
    store_id: int = Field(foreign_key="store.id", primary_key=True)
    instrument_id: str = Field(primary_key=True, max_length=64)
    window_start: datetime | None = None
    answers: int = 0




# --- Closing the loop: corrective actions, appeals, targets, report batches (0007) --------

ACTION_TRIGGERS = ("manual", "red_line", "below_target")
# open -> plan_submitted -> done (evidence) -> verified | reopened (-> plan_submitted again)
ACTION_STATUSES = ("open", "plan_submitted", "done", "verified", "reopened")


class CorrectiveAction(SQLModel, table=True):
    """整改: one weakness of one store (a touchpoint, maybe one item) and what is done about it.

    `trigger_key` is unique: an automatic trigger that fires twice (a retried approval, a
    monthly check run again) finds the action it already opened instead of adding another.
    """

    __tablename__ = "corrective_action"
    __table_args__ = (Index("ix_action_store_status", "store_id", "status", "due_at"),)
    id: int | None = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id")
    touchpoint_id: str = Field(foreign_key="touchpoint.id", max_length=64)
    item_id: str = Field(default="", max_length=64)
    trigger: str = Field(max_length=16)  # manual | red_line | below_target
    trigger_key: str | None = Field(default=None, unique=True, max_length=120)
    response_id: int | None = Field(default=None, foreign_key="response.id")  # the evidence
    trigger_note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    status: str = Field(default="open", max_length=16)
    owner_id: int | None = Field(default=None, foreign_key="user.id")
    opened_by: int | None = Field(default=None, foreign_key="user.id")
    opened_at: datetime = Field(default_factory=utcnow)
    due_at: datetime
    root_cause: str = Field(default="", max_length=32)
    whys: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    plan: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    done_at: datetime | None = None
    verified_at: datetime | None = None
    verified_by: int | None = Field(default=None, foreign_key="user.id")


class ActionEvent(SQLModel, table=True):
    """One change of an action, kept for its history (who, when, from which status to which)."""

    __tablename__ = "action_event"
    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(foreign_key="corrective_action.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    event: str = Field(max_length=32)
    status: str = Field(max_length=16)  # the status after the event
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class ActionPhoto(SQLModel, table=True):
    """A photo showing the fix."""

    __tablename__ = "action_photo"
    action_id: int = Field(foreign_key="corrective_action.id", primary_key=True)
    sha256: str = Field(foreign_key="photo.sha256", max_length=64, primary_key=True)
    added_at: datetime = Field(default_factory=utcnow)


APPEAL_DECISIONS = ("pending", "upheld", "overturned")


class Appeal(SQLModel, table=True):
    """申诉: a store contests item results of one approved mystery shop."""

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="response.id", index=True)
    store_id: int = Field(foreign_key="store.id", index=True)
    opened_by: int | None = Field(default=None, foreign_key="user.id")
    opened_at: datetime = Field(default_factory=utcnow)
    deadline: datetime  # the last moment it could be filed: approval + APPEAL_DAYS
    status: str = Field(default="open", max_length=16)  # open | decided
    decided_at: datetime | None = None
    decided_by: int | None = Field(default=None, foreign_key="user.id")
    overall_before: float | None = None
    overall_after: float | None = None


class AppealItem(SQLModel, table=True):
    __tablename__ = "appeal_item"
    __table_args__ = (UniqueConstraint("appeal_id", "item_id"),)
    id: int | None = Field(default=None, primary_key=True)
    appeal_id: int = Field(foreign_key="appeal.id", index=True)
    item_id: str = Field(max_length=64)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    sha256: str | None = Field(default=None, foreign_key="photo.sha256", max_length=64)
    decision: str = Field(default="pending", max_length=16)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    value_before: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    value_after: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class ResponseRevision(SQLModel, table=True):
    """A response's answers and scores as they were before a change (an overturned appeal):
    the history keeps both versions, the live rows hold the current one."""

    __tablename__ = "response_revision"
    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="response.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    reason: str = Field(max_length=64)
    answers: str = Field(sa_column=Column(Text, nullable=False))  # JSON {item: value}
    scores: str = Field(sa_column=Column(Text, nullable=False))  # JSON {tp: [score, critical]}
    overall: float | None = None


class TouchpointTarget(SQLModel, table=True):
    """A target set for one region or one store; else the touchpoint's network target."""

    __tablename__ = "touchpoint_target"
    __table_args__ = (UniqueConstraint("touchpoint_id", "region_id", "store_id"),)
    id: int | None = Field(default=None, primary_key=True)
    touchpoint_id: str = Field(foreign_key="touchpoint.id", max_length=64)
    region_id: int | None = Field(default=None, foreign_key="region.id")
    store_id: int | None = Field(default=None, foreign_key="store.id")
    target: float


class NoticeMail(SQLModel, table=True):
    """A notice e-mailed to a user: the next digest leaves it out, so none is sent twice."""

    __tablename__ = "notice_mail"
    user_id: int = Field(foreign_key="user.id", primary_key=True)
    key: str = Field(max_length=100, primary_key=True)  # app.notice_mail.notice_key
    sent_at: datetime = Field(default_factory=utcnow)


class ReportBatch(SQLModel, table=True):
    """A ZIP of every store's monthly PDF of one region, built in the background."""

    __tablename__ = "report_batch"
    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="region.id")
    month: str = Field(max_length=7)
    requested_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    status: str = Field(default="queued", max_length=16)  # queued | running | done | failed
    done: int = 0
    total: int = 0
    path: str = Field(default="", max_length=500)
# --- network administration, monthly rounds, response history (migration 0006) ----------

ROUND_STATUSES = ("planned", "committed")


class Round(SQLModel, table=True):
    """A month (or any period) of mystery shops: a quota per store, spread over the shoppers."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    period_start: date
    period_end: date
    instrument_version_id: int = Field(foreign_key="instrument_version.id")
    quota: int = 1  # shops per store in the period
    exclusion_months: int = 3  # a shopper sees the same store again only after this
    seed: int = 0  # the planner's random seed: the preview and the commit agree
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class RoundQuota(SQLModel, table=True):
    """A region's own quota in a round (applies to the stores below it)."""

    __tablename__ = "round_quota"
    round_id: int = Field(foreign_key="round.id", primary_key=True)
    region_id: int = Field(foreign_key="region.id", primary_key=True)
    quota: int


# "valid": an invalid mark undone; "appealed" / "appeal_decided": a store's appeal filed and
# decided (its items live in appeal_item)
RESPONSE_EVENTS = ("created", "autosaved", "submitted", "returned", "resubmitted", "approved",
                   "invalid", "valid", "appealed", "appeal_decided")


class ResponseEvent(SQLModel, table=True):
    """One step in a response's life, with who and when; never updated, only added."""

    __tablename__ = "response_event"
    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="response.id", index=True)
    kind: str = Field(max_length=16)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    at: datetime = Field(default_factory=utcnow)


# --- shopper calibration: stored fits (migration 0010, app/calibration/) ------------------

CALIBRATION_STAGES = ("sales", "aftersales", "all")  # all: the overall score of both stages
OVERALL = "overall"  # the measure of the overall score beside the touchpoints' ids


class CalibrationFit(SQLModel, table=True):
    """One fit of the calibration model for a stage and a period: what views read instead of
    fitting (a fit of a large network takes seconds). Replaced in place by the next fit."""

    __tablename__ = "calibration_fit"
    __table_args__ = (UniqueConstraint("stage", "period_start", "period_end"),
                      Index("ix_cfit_rolling", "stage", "rolling", "period_end"))
    id: int | None = Field(default=None, primary_key=True)
    stage: str = Field(max_length=16)
    period_start: date
    period_end: date
    rolling: bool = False  # the dashboard's default window (the days up to period_end)
    computed_at: datetime = Field(default_factory=utcnow)
    data_read_at: datetime  # visits approved after this are not in the fit
    data_stamp: str = Field(default="", max_length=120)  # what was read: unchanged -> no refit
    visits: int = 0
    stores: int = 0
    shoppers: int = 0
    seconds: float = 0.0


class CalibrationComponent(SQLModel, table=True):
    """Variance components of one measure (a touchpoint, or `overall`) in a fit, and what
    follows from them: reliability now and the visits a reliability needs."""

    __tablename__ = "calibration_component"
    fit_id: int = Field(foreign_key="calibration_fit.id", primary_key=True)
    measure: str = Field(primary_key=True, max_length=64)
    store_var: float
    shopper_var: float
    visit_var: float
    mean: float
    visits: int
    stores: int
    fallback: bool = False  # too few data: the configured split (SHRINKAGE_K) was used
    best_quartile: float | None = None  # 75th percentile of the calibrated store scores
    reliability_now: float = 0.0  # at the mean visits per store of this fit
    visits_for_70: int = 0
    visits_for_80: int = 0


class CalibrationStore(SQLModel, table=True):
    """A store's calibrated score on one measure, with its raw mean and rank interval."""

    __tablename__ = "calibration_store"
    # clustered by (fit, store): a store's lines and the heat map's rows are ranges of it
    __table_args__ = (Index("ix_cstore_order", "fit_id", "measure", "calibrated"),
                      Index("ix_cstore_weakest", "fit_id", "weakest", "measure", "calibrated"),
                      {"sqlite_with_rowid": False})
    fit_id: int = Field(foreign_key="calibration_fit.id", primary_key=True)
    store_id: int = Field(primary_key=True)
    measure: str = Field(primary_key=True, max_length=64)
    region_id: int
    visits: int
    raw_mean: float
    calibrated: float
    sd: float
    reliability: float
    rank: int  # 1 = weakest of `ranked` stores in the network
    rank_low: int  # 90% interval of the rank
    rank_high: int
    ranked: int
    region_rank: int  # among the stores of its region
    region_low: int
    region_high: int
    region_ranked: int
    separable: bool = True  # False: its shoppers visited no other store
    weakest: bool = False  # the whole rank interval lies in the network's bottom quarter


class CalibrationShopper(SQLModel, table=True):
    """A shopper's harshness on one measure: how many points below (negative) or above the
    stores' deserved scores they mark, with a 90% interval."""

    __tablename__ = "calibration_shopper"
    __table_args__ = {"sqlite_with_rowid": False}
    fit_id: int = Field(foreign_key="calibration_fit.id", primary_key=True)
    measure: str = Field(primary_key=True, max_length=64)
    shopper_id: int = Field(primary_key=True)
    visits: int
    stores: int
    harshness: float
    low: float
    high: float
    outlier: bool = False
