"""show_if: a tiny, safe condition language over earlier answers.

Text is parsed once into a JSON-serialisable tree. The server evaluates that tree with
`evaluate`; the phone gets the very same tree and evaluates it in JavaScript, so the two
cannot disagree. Nothing here ever reaches `eval`.

Grammar (lowest precedence first)::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := operand (("=="|"!="|"<"|"<="|">"|">=") operand | "not"? "in" list)?
             | "(" expr ")"
    list    := "[" (literal ("," literal)*)? "]"
    operand := NAME | literal
    literal := STRING | NUMBER | "true" | "false"

Tree nodes::

    {"and": [node, ...]}   {"or": [node, ...]}   {"not": node}
    {"cmp": "==", "left": operand, "right": operand}
    {"in": operand, "values": [literal, ...]}
    {"truthy": operand}    a bare item id: answered and not "no"/"na"/0/""
    operand := {"var": "item_id"} | {"lit": value}

A comparison that involves a missing answer is false.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MAX_LENGTH = 500
MAX_DEPTH = 32
COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")
KEYWORDS = {"and", "or", "not", "in", "true", "false"}

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<op>==|!=|<=|>=|<|>)
  | (?P<punct>[()\[\],])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE,
)


class ShowIfError(ValueError):
    """A syntax error; `position` is the 0-based character offset in the expression."""

    def __init__(self, message: str, position: int = 0):
        super().__init__(message)
        self.message = message
        self.position = position


def _tokenize(text: str) -> list[tuple[str, Any, int]]:
    tokens: list[tuple[str, Any, int]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            if text[pos] in "'\"":
                raise ShowIfError("unclosed string", pos)
            raise ShowIfError(f"unexpected character {text[pos]!r}", pos)
        kind = match.lastgroup
        value = match.group()
        if kind == "number":
            tokens.append(("lit", float(value) if "." in value else int(value), pos))
        elif kind == "string":
            body = value[1:-1]
            tokens.append(("lit", re.sub(r"\\(.)", r"\1", body), pos))
        elif kind == "name":
            if value in ("true", "false"):
                tokens.append(("lit", value == "true", pos))
            elif value in KEYWORDS:
                tokens.append((value, value, pos))
            else:
                tokens.append(("name", value, pos))
        elif kind in ("op", "punct"):
            tokens.append((value, value, pos))
        pos = match.end()
    tokens.append(("end", None, len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0

    def peek(self) -> tuple[str, Any, int]:
        return self.tokens[self.index]

    def take(self, kind: str | None = None) -> tuple[str, Any, int]:
        token = self.tokens[self.index]
        if kind is not None and token[0] != kind:
            raise ShowIfError(f"expected {kind!r} but found {_describe(token)}", token[2])
        self.index += 1
        return token

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ShowIfError("expression is nested too deeply", self.peek()[2])

    def parse(self) -> dict:
        tree = self.or_()
        token = self.peek()
        if token[0] != "end":
            raise ShowIfError(f"unexpected {_describe(token)}", token[2])
        return tree

    def or_(self) -> dict:
        parts = [self.and_()]
        while self.peek()[0] == "or":
            self.take()
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else {"or": parts}

    def and_(self) -> dict:
        parts = [self.not_()]
        while self.peek()[0] == "and":
            self.take()
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else {"and": parts}

    def not_(self) -> dict:
        if self.peek()[0] == "not":
            self.take()
            self.nested()
            inner = self.not_()
            self.depth -= 1
            return {"not": inner}
        return self.compare()

    def compare(self) -> dict:
        if self.peek()[0] == "(":
            self.take()
            self.nested()
            inner = self.or_()
            self.depth -= 1
            self.take(")")
            return inner
        left = self.operand()
        kind = self.peek()[0]
        if kind in COMPARISONS:
            self.take()
            return {"cmp": kind, "left": left, "right": self.operand()}
        if kind == "in" or (kind == "not" and self.tokens[self.index + 1][0] == "in"):
            negate = kind == "not"
            if negate:
                self.take()
            self.take("in")
            node = {"in": left, "values": self.literal_list()}
            return {"not": node} if negate else node
        return {"truthy": left}

    def operand(self) -> dict:
        token = self.peek()
        if token[0] == "name":
            self.take()
            return {"var": token[1]}
        if token[0] == "lit":
            self.take()
            return {"lit": token[1]}
        raise ShowIfError(f"expected an item id or a value but found {_describe(token)}", token[2])

    def literal_list(self) -> list:
        self.take("[")
        values: list = []
        if self.peek()[0] == "]":
            self.take()
            return values
        while True:
            token = self.take("lit") if self.peek()[0] == "lit" else None
            if token is None:
                bad = self.peek()
                raise ShowIfError(f"expected a value in the list but found {_describe(bad)}", bad[2])
            values.append(token[1])
            if self.peek()[0] == ",":
                self.take()
                continue
            self.take("]")
            return values


def _describe(token: tuple[str, Any, int]) -> str:
    kind, value, _ = token
    if kind == "end":
        return "the end of the expression"
    if kind == "lit":
        return f"value {value!r}"
    if kind == "name":
        return f"name {value!r}"
    return repr(value)


def parse(text: str) -> dict:
    """Parse an expression into its tree, or raise ShowIfError."""
    if not isinstance(text, str):
        raise ShowIfError("show_if must be a text expression")
    if len(text) > MAX_LENGTH:
        raise ShowIfError(f"expression is longer than {MAX_LENGTH} characters")
    if not text.strip():
        raise ShowIfError("expression is empty")
    return _Parser(text).parse()


def names(tree: Any) -> list[str]:
    """Item ids the tree refers to, in order of first appearance."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "var" in node and len(node) == 1:
                if node["var"] not in found:
                    found.append(node["var"])
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(tree)
    return found


_MISSING = object()


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _value(operand: dict, answers: Mapping[str, Any]) -> Any:
    if "var" in operand:
        value = answers.get(operand["var"], _MISSING)
        return _MISSING if value is None else value
    return operand["lit"]


def _same(a: Any, b: Any) -> bool:
    if _number(a) and _number(b):
        return a == b
    return type(a) is type(b) and a == b


def _compare(op: str, a: Any, b: Any) -> bool:
    if a is _MISSING or b is _MISSING:
        return False
    if op == "==":
        return _same(a, b)
    if op == "!=":
        return not _same(a, b)
    comparable = (_number(a) and _number(b)) or (isinstance(a, str) and isinstance(b, str))
    if not comparable:
        return False
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def evaluate(tree: dict | None, answers: Mapping[str, Any]) -> bool:
    """True when the condition holds for these answers; no condition always holds.

    `answers` maps item ids to the answers of *shown* items; a hidden or unanswered item is
    simply absent (or None), and every comparison with it is false.
    """
    if tree is None:
        return True
    if "and" in tree:
        return all(evaluate(part, answers) for part in tree["and"])
    if "or" in tree:
        return any(evaluate(part, answers) for part in tree["or"])
    if "not" in tree:
        return not evaluate(tree["not"], answers)
    if "cmp" in tree:
        return _compare(tree["cmp"], _value(tree["left"], answers), _value(tree["right"], answers))
    if "in" in tree:
        value = _value(tree["in"], answers)
        return value is not _MISSING and any(_same(value, v) for v in tree["values"])
    if "truthy" in tree:
        value = _value(tree["truthy"], answers)
        return value not in (_MISSING, "no", "na", "", 0, False)
    raise ValueError(f"not a show_if tree: {tree!r}")
