"""Instrument definitions: YAML text -> validated, typed model.

Stage one of the pipeline (load -> form -> score -> rank). Every problem is reported as a
`Problem(file, line, message)`, so an author sees `surveys/x.yaml:42: ...` and never a
traceback. Structural rules live in the pydantic models (extra keys forbidden); rules that
need the whole instrument (unique ids, show_if order, touchpoints) are in `_semantic_problems`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from . import show_if
from .item_types import REGISTRY
from .yaml_lines import Path_, Problem, pydantic_problems, read_yaml


class DefinitionError(ValueError):
    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    """Bilingual text: both languages are required."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, locale: str) -> str:
        return self.en if locale.startswith("en") else self.zh


class Option(_Strict):
    value: str = Field(min_length=1)
    text: Text
    score: float | None = Field(default=None, ge=0, le=1)


class Band(_Strict):
    max: float | None = None
    score: float = Field(ge=0, le=1)


class Item(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    type: str
    text: Text
    weight: float = Field(default=1, ge=0)
    critical: bool = False
    na: bool = False
    required: bool = True
    evidence: Literal["none", "optional", "photo"] = "none"
    help: Text | None = None
    show_if: str | None = None
    options: list[Option] | None = None
    min: float | None = None
    max: float | None = None
    bands: list[Band] | None = None
    unit: Text | None = None
    _condition: dict | None = PrivateAttr(default=None)

    @property
    def condition(self) -> dict | None:
        """The parsed show_if tree (None: always shown); parsed once, on first use."""
        if self._condition is None and self.show_if is not None:
            self._condition = show_if.parse(self.show_if)
        return self._condition

    @property
    def scale_range(self) -> tuple[int, int]:
        if self.type == "nps":
            return 0, 10
        return int(1 if self.min is None else self.min), int(5 if self.max is None else self.max)

    @property
    def scored(self) -> bool:
        kind = REGISTRY.get(self.type)
        if kind is None or not kind.scored or self.weight <= 0:
            return False
        return not (self.type == "number" and not self.bands)


class Section(_Strict):
    touchpoint: str
    weight: float = Field(default=1, ge=0)
    title: Text | None = None
    items: list[Item] = Field(min_length=1)


class Instrument(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    version: int = Field(ge=1)
    kind: Literal["mystery_shop", "customer_survey"]
    stage: Literal["sales", "aftersales"]
    title: Text
    description: Text | None = None
    outcome: str | None = None
    sections: list[Section] = Field(min_length=1)

    def items(self) -> list[Item]:
        return [item for section in self.sections for item in section.items]

    def item(self, item_id: str) -> Item | None:
        return next((i for i in self.items() if i.id == item_id), None)

    def touchpoint_weights(self) -> dict[str, float]:
        """Touchpoints in order of first appearance; a repeated section keeps the first weight."""
        weights: dict[str, float] = {}
        for section in self.sections:
            weights.setdefault(section.touchpoint, section.weight)
        return weights

    def content_hash(self) -> str:
        """Hash of the meaning, not the formatting: comments and key order don't change it."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


class Touchpoint(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    stage: Literal["sales", "aftersales"]
    label: Text
    target: float = Field(default=85, ge=0, le=100)
    description: Text | None = None


class Taxonomy(_Strict):
    touchpoints: list[Touchpoint] = Field(min_length=1)

    def ids(self) -> set[str]:
        return {t.id for t in self.touchpoints}


def _item_problems(item: Item, path: Path_) -> list[tuple[Path_, str]]:
    found: list[tuple[Path_, str]] = []
    kind = REGISTRY.get(item.type)
    if kind is None:
        known = ", ".join(REGISTRY)
        return [((*path, "type"), f"item '{item.id}': unknown type '{item.type}' (known: {known})")]
    for key in ("options", "min", "max", "bands", "unit"):
        if getattr(item, key) is not None and key not in kind.allowed:
            found.append(((*path, key), f"item '{item.id}': '{key}' does not apply to {item.type}"))
    if item.type == "choice":
        values = [o.value for o in item.options or ()]
        if len(values) < 2:
            found.append((path, f"item '{item.id}': a choice needs at least two options"))
        for value in {v for v in values if values.count(v) > 1}:
            found.append(((*path, "options"), f"item '{item.id}': option '{value}' is repeated"))
    if item.type == "scale":
        low, high = item.scale_range
        if item.min is not None and not float(item.min).is_integer():
            found.append(((*path, "min"), f"item '{item.id}': scale min must be a whole number"))
        if item.max is not None and not float(item.max).is_integer():
            found.append(((*path, "max"), f"item '{item.id}': scale max must be a whole number"))
        if low >= high:
            found.append(((*path, "min"), f"item '{item.id}': scale min ({low}) must be below max ({high})"))
    if item.type == "number":
        if item.min is not None and item.max is not None and item.min >= item.max:
            found.append(((*path, "min"), f"item '{item.id}': min must be below max"))
        bands = item.bands or []
        maxes = [b.max for b in bands]
        if any(m is None for m in maxes[:-1]):
            found.append(((*path, "bands"), f"item '{item.id}': only the last band may omit max"))
        numbered = [m for m in maxes if m is not None]
        if numbered != sorted(numbered):
            found.append(((*path, "bands"), f"item '{item.id}': band maxima must increase"))
    if item.critical and not item.scored:
        found.append(((*path, "critical"), f"item '{item.id}': critical needs a scored item"))
    return found


def _semantic_problems(instrument: Instrument, taxonomy_ids: set[str] | None) -> list[tuple[Path_, str]]:
    found: list[tuple[Path_, str]] = []
    seen: set[str] = set()
    for s, section in enumerate(instrument.sections):
        spath: Path_ = ("sections", s)
        if taxonomy_ids is not None and section.touchpoint not in taxonomy_ids:
            found.append(((*spath, "touchpoint"), f"unknown touchpoint '{section.touchpoint}'"))
        for i, item in enumerate(section.items):
            path: Path_ = (*spath, "items", i)
            if item.id in seen:
                found.append(((*path, "id"), f"duplicate item id '{item.id}'"))
            found.extend(_item_problems(item, path))
            if item.show_if is not None:
                found.extend(_show_if_problems(item, path, seen, instrument))
            seen.add(item.id)
    if instrument.outcome is not None and instrument.item(instrument.outcome) is None:
        found.append((("outcome",), f"outcome names unknown item '{instrument.outcome}'"))
    return found


def _show_if_problems(item: Item, path: Path_, earlier: set[str], instrument: Instrument):
    where = (*path, "show_if")
    try:
        tree = show_if.parse(item.show_if)
    except show_if.ShowIfError as error:
        col = error.position + 1
        return [(where, f"item '{item.id}': show_if syntax error at column {col}: {error.message}")]
    found = []
    everything = {i.id for i in instrument.items()}
    for name in show_if.names(tree):
        if name in earlier:
            continue
        if name in everything:
            found.append((where, f"item '{item.id}': show_if names '{name}', which is not an earlier item"))
        else:
            found.append((where, f"item '{item.id}': show_if names unknown item '{name}'"))
    return found


def parse_instrument(text: str, file: str = "<text>", taxonomy_ids: set[str] | None = None) -> Instrument:
    """YAML text -> Instrument, or DefinitionError with every problem found."""
    data, lines, problems = read_yaml(text, file)
    if data is None and not problems:
        problems = [Problem(file, 1, "the file is empty")]
    if problems:
        raise DefinitionError(problems)
    if not isinstance(data, dict):
        raise DefinitionError([Problem(file, 1, "an instrument must be a mapping of fields")])
    try:
        instrument = Instrument.model_validate(data)
    except ValidationError as error:
        raise DefinitionError(sorted(pydantic_problems(error, file, lines))) from None
    semantic = _semantic_problems(instrument, taxonomy_ids)
    if semantic:
        raise DefinitionError(sorted(Problem(file, lines.line(p), m) for p, m in semantic))
    return instrument


def parse_taxonomy(text: str, file: str = "<text>") -> Taxonomy:
    data, lines, problems = read_yaml(text, file)
    if problems:
        raise DefinitionError(problems)
    try:
        taxonomy = Taxonomy.model_validate(data)
    except ValidationError as error:
        raise DefinitionError(sorted(pydantic_problems(error, file, lines))) from None
    ids = [t.id for t in taxonomy.touchpoints]
    duplicates = [
        Problem(file, lines.line(("touchpoints", i, "id")), f"duplicate touchpoint id '{tid}'")
        for i, tid in enumerate(ids)
        if tid in ids[:i]
    ]
    if duplicates:
        raise DefinitionError(duplicates)
    return taxonomy


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DefinitionError([Problem(str(path), 1, "no such file")]) from None
    except UnicodeDecodeError:
        raise DefinitionError([Problem(str(path), 1, "the file is not UTF-8 text")]) from None
    except OSError as error:
        raise DefinitionError([Problem(str(path), 1, f"cannot read: {error.strerror}")]) from None


def load_taxonomy(path: Path) -> Taxonomy:
    return parse_taxonomy(_read_text(path), str(path))


def load_instrument(path: Path, taxonomy: Taxonomy | None) -> Instrument:
    ids = taxonomy.ids() if taxonomy is not None else None
    return parse_instrument(_read_text(path), str(path), ids)


TAXONOMY_FILE = "touchpoints.yaml"


def is_taxonomy_file(path: Path) -> bool:
    return path.name == TAXONOMY_FILE


def definition_files(paths: list[Path]) -> list[Path]:
    """Expand folders into their YAML files, sorted; files are kept as given."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted([*path.glob("*.yaml"), *path.glob("*.yml")]))
        else:
            files.append(path)
    return files


def check(paths: list[Path], taxonomy: Taxonomy | None) -> tuple[list[Problem], list[Instrument]]:
    """Validate every file; a touchpoints.yaml among them is checked as the taxonomy."""
    problems: list[Problem] = []
    loaded: dict[tuple[str, int], Path] = {}
    instruments: list[Instrument] = []
    for path in definition_files(paths):
        try:
            if is_taxonomy_file(path):
                load_taxonomy(path)
                continue
            instrument = load_instrument(path, taxonomy)
        except DefinitionError as error:
            problems.extend(error.problems)
            continue
        key = (instrument.id, instrument.version)
        if key in loaded:
            problems.append(Problem(str(path), 1, f"instrument '{instrument.id}' version "
                                    f"{instrument.version} is also defined in {loaded[key]}"))
            continue
        loaded[key] = path
        instruments.append(instrument)
    return problems, instruments
