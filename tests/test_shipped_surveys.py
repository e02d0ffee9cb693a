"""The instruments in surveys/: valid, bilingual, and as large as the product promises."""

from pathlib import Path

import pytest

from app.domain.definitions import check, load_taxonomy

ROOT = Path(__file__).resolve().parent.parent
SURVEYS = ROOT / "surveys"
CONTRACT_IDS = [
    "exterior", "showroom", "promotion", "greeting", "attire", "etiquette", "attitude",
    "needs_analysis", "product_presentation", "performance_explanation", "question_resolution",
    "test_drive", "contract", "payment", "delivery", "registration_insurance", "farewell",
    "service_appointment", "service_reception", "maintenance", "repair_cost", "repair_time",
    "vehicle_return", "follow_up",
]


@pytest.fixture(scope="module")
def shipped():
    taxonomy = load_taxonomy(SURVEYS / "touchpoints.yaml")
    problems, instruments = check([SURVEYS], taxonomy)
    assert problems == []
    return taxonomy, {i.id: i for i in instruments}


def test_taxonomy_has_every_contract_id(shipped):
    taxonomy, _ = shipped
    assert [t.id for t in taxonomy.touchpoints] == CONTRACT_IDS


@pytest.mark.parametrize(("instrument_id", "kind", "stage", "least", "most"), [
    ("sales-mystery-shop", "mystery_shop", "sales", 45, 200),
    ("aftersales-mystery-shop", "mystery_shop", "aftersales", 30, 200),
    ("sales-customer-survey", "customer_survey", "sales", 3, 12),
    ("aftersales-customer-survey", "customer_survey", "aftersales", 3, 12),
])
def test_shipped_instruments(shipped, instrument_id, kind, stage, least, most):
    taxonomy, instruments = shipped
    instrument = instruments[instrument_id]
    assert (instrument.kind, instrument.stage) == (kind, stage)
    assert least <= len(instrument.items()) <= most
    if kind == "mystery_shop":
        stage_ids = {t.id for t in taxonomy.touchpoints if t.stage == stage}
        assert stage_ids <= set(instrument.touchpoint_weights())
        assert any(item.critical for item in instrument.items())
    else:
        assert instrument.outcome is not None
        assert any(item.type == "nps" for item in instrument.items())


@pytest.mark.parametrize("instrument_id", ["sales-mystery-shop", "aftersales-mystery-shop"])
def test_checklists_leave_the_visit_times_to_the_visit_form(shipped, instrument_id):
    """Arrival and leaving times are asked once, above the checklist; a checklist that asked
    them again let the two disagree."""
    _, instruments = shipped
    instrument = instruments[instrument_id]
    assert instrument.version >= 2
    assert [item.id for item in instrument.items() if item.type == "time"] == []
