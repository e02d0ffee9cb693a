"""Forms of the admin screens for one region, store or user, and saving them."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import delete
from sqlmodel import Session, select
from wtforms import BooleanField, FloatField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from ..domain.network_file import CODE, ROLES, USERNAME
from ..models import Region, ShopperConflict, Store, User
from ..scope import region_ids_below
from .importer import current_scopes, hash_one_time, one_time_password, set_scope
from .records import set_store_active

ROLE_LABELS = {"admin": _l("Admin"), "manager": _l("Manager"), "reviewer": _l("Reviewer"),
               "shopper": _l("Mystery shopper")}


def _code_field(label):
    return StringField(label, validators=[DataRequired(), Regexp(CODE.pattern, message=_l(
        "Letters, digits, '_', '-' or '.' only, at most 32."))])


def _region_choices(session: Session, exclude: set[int] = frozenset()) -> list[SelectChoice]:
    rows = session.exec(select(Region).order_by(Region.code))
    return [SelectChoice(str(r.id), f"{r.code} · {r.name}") for r in rows if r.id not in exclude]


class RegionForm(FlaskForm):
    code = _code_field(_l("Code"))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    parent_id = SelectField(_l("Parent region"))
    active = BooleanField(_l("Active"), default=True)

    def __init__(self, session: Session, record: Region | None):
        super().__init__(obj=record)
        self.session, self.record = session, record
        below = region_ids_below(session, [record.id]) if record else set()
        # a region cannot move below itself
        self.parent_id.choices = [SelectChoice("", "—"), *_region_choices(session, below)]
        if record is not None and not self.is_submitted():
            self.parent_id.data = str(record.parent_id or "")

    def validate_code(self, field):
        clash = self.session.exec(select(Region).where(Region.code == field.data)).first()
        if clash is not None and clash is not self.record:
            raise ValidationError(_("This code is taken."))


class StoreForm(FlaskForm):
    code = _code_field(_l("Code"))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    region_id = SelectField(_l("Region"), validators=[DataRequired()])
    city = StringField(_l("City"), validators=[Length(max=100)])
    address = StringField(_l("Address"), validators=[Length(max=300)])
    latitude = FloatField(_l("Latitude"), validators=[Optional(), NumberRange(-90, 90)])
    longitude = FloatField(_l("Longitude"), validators=[Optional(), NumberRange(-180, 180)])
    active = BooleanField(_l("Active"), default=True)

    def __init__(self, session: Session, record: Store | None):
        super().__init__(obj=record)
        self.session, self.record = session, record
        self.region_id.choices = _region_choices(session)
        if record is not None and not self.is_submitted():
            self.region_id.data = str(record.region_id)

    def validate_code(self, field):
        clash = self.session.exec(select(Store).where(Store.code == field.data)).first()
        if clash is not None and clash is not self.record:
            raise ValidationError(_("This code is taken."))


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Regexp(
        USERNAME.pattern, message=_l("Letters, digits, '_', '-', '.' or '@' only."))])
    display_name = StringField(_l("Name"), validators=[Length(max=100)])
    role = SelectField(_l("Role"), choices=[SelectChoice(r, ROLE_LABELS[r]) for r in ROLES])
    email = StringField(_l("Email"), validators=[Optional(), Length(max=200), Regexp(
        r"^[^@\s]+@[^@\s]+$", message=_l("Not an email address."))])
    scope = StringField(_l("Scope (region and store codes, separated by ;)"),
                        validators=[Length(max=2000)])
    conflicts = StringField(_l("Stores this shopper must never visit (codes, separated by ;)"),
                            validators=[Length(max=2000)])
    monthly_capacity = IntegerField(_l("Visits a month (shoppers)"), default=0,
                                    validators=[Optional(), NumberRange(0, 200)])
    active = BooleanField(_l("Active (may log in)"), default=True)

    def __init__(self, session: Session, record: User | None):
        super().__init__(obj=record)
        self.session, self.record = session, record
        if record is not None and not self.is_submitted():
            self.scope.data = ";".join(sorted(current_scopes(session).get(record.id, ())))
            self.conflicts.data = ";".join(session.exec(
                select(Store.code).join(ShopperConflict, ShopperConflict.store_id == Store.id)
                .where(ShopperConflict.user_id == record.id).order_by(Store.code)))

    def validate_username(self, field):
        clash = self.session.exec(select(User).where(User.username == field.data)).first()
        if clash is not None and clash is not self.record:
            raise ValidationError(_("This username is taken."))

    def conflict_codes(self) -> list[str]:
        return [c.strip() for c in (self.conflicts.data or "").split(";") if c.strip()]

    def validate_conflicts(self, field):
        codes = self.conflict_codes()
        known = set(self.session.exec(select(Store.code).where(Store.code.in_(codes))))
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise ValidationError(_("Unknown codes: %(codes)s", codes=", ".join(unknown)))

    def codes(self) -> list[str]:
        return [c.strip() for c in (self.scope.data or "").split(";") if c.strip()]

    def validate_scope(self, field):
        codes = self.codes()
        regions = set(self.session.exec(select(Region.code).where(Region.code.in_(codes))))
        stores = set(self.session.exec(select(Store.code).where(Store.code.in_(codes))))
        unknown = [c for c in codes if c not in regions and c not in stores]
        if unknown:
            raise ValidationError(_("Unknown codes: %(codes)s", codes=", ".join(unknown)))
        if codes and self.role.data in ("admin", "reviewer"):
            raise ValidationError(_("Admins and reviewers take no scope."))
        if self.role.data == "shopper" and stores - regions:
            raise ValidationError(_("A shopper's scope lists home regions, not stores."))


FORMS = {"region": RegionForm, "store": StoreForm, "user": UserForm}


def save(session: Session, kind: str, form, record, actor_id: int) -> str | None:
    """Write the form; a new user's one-time password is returned (to be shown once)."""
    if kind == "region":
        record = record or Region(code=form.code.data, name=form.name.data)
        record.code, record.name, record.active = form.code.data, form.name.data, form.active.data
        record.parent_id = int(form.parent_id.data) if form.parent_id.data else None
        session.add(record)
        return None
    if kind == "store":
        was_active = record.active if record else True
        record = record or Store(code=form.code.data, name=form.name.data, region_id=0)
        for name in ("code", "name", "city", "address", "latitude", "longitude"):
            setattr(record, name, getattr(form, name).data)
        record.region_id = int(form.region_id.data)
        session.add(record)
        session.flush()
        if was_active != form.active.data:
            set_store_active(session, [record.id], form.active.data, date.today())
        return None
    password = None
    if record is None:
        password = one_time_password()
        record = User(username=form.username.data, role=form.role.data,
                      password_hash=hash_one_time(password), must_change_password=True)
    record.username = form.username.data
    for name in ("display_name", "role", "email", "active"):
        setattr(record, name, getattr(form, name).data)
    record.email = record.email or ""
    record.display_name = record.display_name or ""
    record.monthly_capacity = form.monthly_capacity.data or 0
    session.add(record)
    session.flush()
    region_ids = dict(session.exec(select(Region.code, Region.id)).all())
    store_ids = dict(session.exec(select(Store.code, Store.id)).all())
    set_scope(session, record, form.codes(), region_ids, store_ids)
    session.exec(delete(ShopperConflict).where(ShopperConflict.user_id == record.id))
    session.add_all(ShopperConflict(user_id=record.id, store_id=store_ids[c])
                    for c in dict.fromkeys(form.conflict_codes()))
    return password
