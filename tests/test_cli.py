"""The CLI contracts of DESIGN.md: surveys check, surveys score, surveys load."""

import json
from pathlib import Path

import pytest
from sqlmodel import select

from app.db import new_session
from app.models import InstrumentVersion, Touchpoint

DATA = Path(__file__).parent / "data"
CASE = DATA / "scoring-case.yaml"


def test_check_passes_valid_files(runner):
    result = runner.invoke(args=["surveys", "check", str(CASE)])
    assert result.exit_code == 0, result.output


def test_check_prints_file_line_message_and_exits_1(runner, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(CASE.read_text().replace("weight: 10", "weight: -10")
                   .replace("- touchpoint: farewell", "- touchpoint: goodbye"))
    (tmp_path / "touchpoints.yaml").write_text((DATA / "touchpoints.yaml").read_text())
    result = runner.invoke(args=["surveys", "check", str(bad)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert f"{bad}:8: sections[0].weight: must be at least 0.0, got -10" in lines
    assert "Traceback" not in result.output


def test_check_reports_semantic_problems_with_lines(runner, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(CASE.read_text().replace("- touchpoint: farewell", "- touchpoint: goodbye"))
    (tmp_path / "touchpoints.yaml").write_text((DATA / "touchpoints.yaml").read_text())
    result = runner.invoke(args=["surveys", "check", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:31: unknown touchpoint 'goodbye'" in result.output


def test_check_of_a_missing_file_is_a_message(runner, tmp_path):
    result = runner.invoke(args=["surveys", "check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1 and "no such file" in result.output


def test_check_without_paths_checks_the_shipped_surveys(runner):
    result = runner.invoke(args=["surveys", "check"])
    assert result.exit_code == 0, result.output


def test_score_prints_the_contract_json(runner, tmp_path):
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps({"greeted": "yes", "smiled": "no", "card": "no",
                                   "offer": "asked", "rating": 2, "wait": 10}))
    result = runner.invoke(args=["surveys", "score", str(CASE), str(answers)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "overall": round((10 * 60 + 5 * 43.75) / 15, 2),
        "touchpoints": {"greeting": 60.0, "test_drive": 43.75, "farewell": None},
        "critical_failed": [],
    }


def test_score_lists_critical_failures_by_touchpoint(runner, tmp_path):
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps({"greeted": "no", "card": "yes"}))  # card hidden: ignored
    result = runner.invoke(args=["surveys", "score", str(CASE), str(answers)])
    assert json.loads(result.output)["critical_failed"] == ["greeting"]


@pytest.mark.parametrize(("answers", "words"), [
    ({"nonsense": "yes"}, "'nonsense'"),
    ({"rating": "five"}, "'rating'"),
    ({"rating": 9}, "'rating'"),
    ({"greeted": "na"}, "'greeted'"),
])
def test_score_refuses_invalid_answers_naming_the_item(runner, tmp_path, answers, words):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(answers))
    result = runner.invoke(args=["surveys", "score", str(CASE), str(path)])
    assert result.exit_code == 1 and words in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", ""])
def test_score_refuses_malformed_answer_files(runner, tmp_path, content):
    path = tmp_path / "a.json"
    path.write_text(content)
    result = runner.invoke(args=["surveys", "score", str(CASE), str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_load_adds_versions_once_and_refuses_changed_content(runner, bare_app, tmp_path):
    folder = tmp_path / "surveys"
    folder.mkdir()
    (folder / "touchpoints.yaml").write_text((DATA / "touchpoints.yaml").read_text())
    (folder / "case.yaml").write_text(CASE.read_text())
    first = runner.invoke(args=["surveys", "load", str(folder)])
    assert first.exit_code == 0 and "scoring-case v1: added (draft" in first.output
    again = runner.invoke(args=["surveys", "load", str(folder)])
    assert again.exit_code == 0 and "scoring-case v1: unchanged" in again.output
    published = runner.invoke(args=["surveys", "load", "--publish", str(folder)])
    assert "scoring-case v1: published" in published.output

    (folder / "case.yaml").write_text(CASE.read_text().replace("weight: 10", "weight: 9"))
    changed = runner.invoke(args=["surveys", "load", str(folder)])
    assert changed.exit_code == 1 and "bump the version" in changed.output

    (folder / "case.yaml").write_text(CASE.read_text().replace("weight: 10", "weight: 9")
                                      .replace("version: 1", "version: 2"))
    bumped = runner.invoke(args=["surveys", "load", str(folder)])
    assert bumped.exit_code == 0 and "scoring-case v2: added" in bumped.output

    def active():
        with bare_app.app_context(), new_session() as session:
            return [(v.version, v.active) for v in session.exec(
                select(InstrumentVersion).order_by(InstrumentVersion.version))]

    assert active() == [(1, True), (2, False)]  # loading alone does not activate
    runner.invoke(args=["surveys", "load", "--publish", str(folder)])
    assert active() == [(1, False), (2, True)]
    with bare_app.app_context(), new_session() as session:
        assert session.get(Touchpoint, "greeting").target == 90
