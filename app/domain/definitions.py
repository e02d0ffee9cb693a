"""Instrument definitions: YAML text -> validated, typed model.

Stage one of the pipeline (load -> form -> score -> rank). Every problem is reported as a
`Problem(file, line, message)`, so an author sees `surveys/x.yaml:42: ...` and never a
traceback. Structural rules live in the pydantic models (extra keys forbidden); rules that
need the whole instrument (unique ids, show_if order, touchpoints) are in `_semantic_problems`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from . import show_if
from .item_types import REGISTRY

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


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


# --- YAML with line numbers -------------------------------------------------------------


class _Lines:
    """Maps a path inside the document to the line it starts on (1-based)."""

    def __init__(self) -> None:
        self.lines: dict[Path_, int] = {}

    def line(self, path: Path_) -> int:
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path, 1)


def _read_yaml(text: str, file: str) -> tuple[Any, _Lines, list[Problem]]:
    lines = _Lines()
    problems: list[Problem] = []
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as error:
        line = text[: error.position].count("\n") + 1
        return None, lines, [Problem(file, line, f"YAML syntax error: {error.reason} "
                                                 f"(character #x{error.character:04x})")]
    try:
        root = loader.get_single_node()
        if root is None:
            return None, lines, [Problem(file, 1, "the file is empty")]

        budget = [20_000]  # aliases can multiply nodes ("billion laughs"): stop early

        def build(node: yaml.Node, path: Path_) -> Any:
            budget[0] -= 1
            if budget[0] < 0:
                raise yaml.YAMLError("the document is too large (too many nodes or aliases)")
            lines.lines[path] = node.start_mark.line + 1
            if isinstance(node, yaml.MappingNode):
                loader.flatten_mapping(node)
                result: dict[str, Any] = {}
                for key_node, value_node in node.value:
                    key = loader.construct_object(key_node, deep=True)
                    if not isinstance(key, str):
                        key = str(key)
                    if key in result:
                        problems.append(
                            Problem(file, key_node.start_mark.line + 1, f"duplicate key '{key}'")
                        )
                    result[key] = build(value_node, (*path, key))
                    lines.lines[(*path, key)] = key_node.start_mark.line + 1
                return result
            if isinstance(node, yaml.SequenceNode):
                return [build(child, (*path, i)) for i, child in enumerate(node.value)]
            return loader.construct_object(node, deep=True)

        return build(root, ()), lines, problems
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        reason = error.problem or error.context or "invalid YAML"
        return None, lines, [Problem(file, line, f"YAML syntax error: {reason}")]
    except yaml.reader.ReaderError as error:
        line = text[: error.position].count("\n") + 1
        return None, lines, [Problem(file, line, f"YAML syntax error: {error.reason}")]
    except yaml.YAMLError as error:
        return None, lines, [Problem(file, 1, f"YAML syntax error: {error}")]
    except RecursionError:
        return None, lines, [Problem(file, 1, "YAML is nested too deeply")]
    finally:
        loader.dispose()


def _dotted(loc: Path_) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "document"


_MESSAGES = {
    "missing": "{where}: required field is missing",
    "extra_forbidden": "{where}: unknown field",
    "string_type": "{where}: must be text (put it in quotes)",
    "string_too_short": "{where}: must not be empty",
    "greater_than_equal": "{where}: must be at least {ge}, got {input}",
    "less_than_equal": "{where}: must be at most {le}, got {input}",
    "literal_error": "{where}: must be one of {expected}, got {input!r}",
    "string_pattern_mismatch": "{where}: {input!r} is not a valid id "
    "(lower-case letters, digits and '_' or '-')",
    "too_short": "{where}: must have at least one entry",
    "int_type": "{where}: must be a whole number, got {input!r}",
    "int_parsing": "{where}: must be a whole number, got {input!r}",
    "float_parsing": "{where}: must be a number, got {input!r}",
    "float_type": "{where}: must be a number, got {input!r}",
    "bool_type": "{where}: must be true or false, got {input!r}",
    "bool_parsing": "{where}: must be true or false, got {input!r}",
    "model_type": "{where}: must be a mapping of fields",
    "list_type": "{where}: must be a list",
}


def _pydantic_problems(error: ValidationError, file: str, lines: _Lines) -> list[Problem]:
    problems = []
    for detail in error.errors():
        loc = tuple(detail["loc"])
        template = _MESSAGES.get(detail["type"])
        context = {**(detail.get("ctx") or {}), "input": detail.get("input"), "where": _dotted(loc)}
        try:
            message = template.format(**context) if template else None
        except (KeyError, IndexError, ValueError):
            message = None
        problems.append(Problem(file, lines.line(loc), message or f"{_dotted(loc)}: {detail['msg']}"))
    return problems


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
    data, lines, problems = _read_yaml(text, file)
    if data is None and not problems:
        problems = [Problem(file, 1, "the file is empty")]
    if problems:
        raise DefinitionError(problems)
    if not isinstance(data, dict):
        raise DefinitionError([Problem(file, 1, "an instrument must be a mapping of fields")])
    try:
        instrument = Instrument.model_validate(data)
    except ValidationError as error:
        raise DefinitionError(sorted(_pydantic_problems(error, file, lines))) from None
    semantic = _semantic_problems(instrument, taxonomy_ids)
    if semantic:
        raise DefinitionError(sorted(Problem(file, lines.line(p), m) for p, m in semantic))
    return instrument


def parse_taxonomy(text: str, file: str = "<text>") -> Taxonomy:
    data, lines, problems = _read_yaml(text, file)
    if problems:
        raise DefinitionError(problems)
    try:
        taxonomy = Taxonomy.model_validate(data)
    except ValidationError as error:
        raise DefinitionError(sorted(_pydantic_problems(error, file, lines))) from None
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
