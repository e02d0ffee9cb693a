"""YAML with line numbers, and pydantic errors as `FILE:LINE: message` problems.

Used by `definitions` so that every problem an author makes points at its line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class Lines:
    """Maps a path inside the document to the line it starts on (1-based)."""

    def __init__(self) -> None:
        self.lines: dict[Path_, int] = {}

    def line(self, path: Path_) -> int:
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path, 1)


def read_yaml(text: str, file: str) -> tuple[Any, Lines, list[Problem]]:
    lines = Lines()
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


def dotted(loc: Path_) -> str:
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


def pydantic_problems(error: ValidationError, file: str, lines: Lines) -> list[Problem]:
    problems = []
    for detail in error.errors():
        loc = tuple(detail["loc"])
        template = _MESSAGES.get(detail["type"])
        context = {**(detail.get("ctx") or {}), "input": detail.get("input"), "where": dotted(loc)}
        try:
            message = template.format(**context) if template else None
        except (KeyError, IndexError, ValueError):
            message = None
        problems.append(Problem(file, lines.line(loc), message or f"{dotted(loc)}: {detail['msg']}"))
    return problems
