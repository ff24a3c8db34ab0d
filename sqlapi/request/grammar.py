"""The `_or` parameter's grammar: boolean groups of filters, parsed and formatted.

    group  := "(" member ("," member)* ")"          the top level, an OR of its members
    member := ("and" | "or") group | term
    term   := key "." value                          key is col__op; or a column name
                                                     without "__", meaning col__exact
                                                     (`in_print.true`, as API.md's example)
    value  := unquoted (up to the next "," or ")") | '"' ( [^"\\] | \\" | \\\\ )* '"'

Pure and standalone (no I/O, no sqlapi imports): the caller passes the operator names and
turns a GrammarError into a 400, e.g. `_or: expected ')' at 23`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

MAX_DEPTH = 8  # the top group is depth 1
MAX_TERMS = 100  # in one `_or` value
MAX_LENGTH = 10_000  # characters in one `_or` value

_HEAD_END = re.compile(r'[,()"]')  # a key runs up to one of these
_VALUE_END = re.compile(r"[,)]")  # an unquoted value runs up to one of these
_QUOTE_OR_ESCAPE = re.compile(r'["\\]')
_SURROGATE = re.compile("[\ud800-\udfff]")
_NEEDS_QUOTES = re.compile(r'[,()"\\]')
_KEYWORDS: dict[str, Literal["and", "or"]] = {"and": "and", "or": "or"}  # lowercase only


class GrammarError(ValueError):
    """A malformed `_or` value; `position` is the 0-based index of the mistake."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at {position}")
        self.message = message
        self.position = position


@dataclass(frozen=True, slots=True)
class Term:
    """One filter, `col__op.value`: key is "col__op", value unescaped. Positions (where the
    term starts in the text) are for error messages and are not part of equality."""

    key: str
    value: str
    position: int = field(default=0, compare=False)

    @property
    def column(self) -> str:
        return self.key.rpartition("__")[0]

    @property
    def op(self) -> str:
        return self.key.rpartition("__")[2]


@dataclass(frozen=True, slots=True)
class Group:
    """An AND or OR of at least one member; position is where its `(` or keyword starts."""

    kind: Literal["and", "or"]
    members: tuple[Group | Term, ...]
    position: int = field(default=0, compare=False)


@lru_cache(maxsize=8)
def _term_pattern(operators: frozenset[str]) -> re.Pattern[str]:
    """Matches `__<op>.`; the `.` tells `gt` from `gte`, and search() finds the first one."""
    if not operators or not all(op.isalnum() for op in operators):
        raise ValueError(f"operator names must be non-empty and alphanumeric: {operators}")
    names = "|".join(re.escape(op) for op in sorted(operators))
    return re.compile(rf"__(?:{names})\.")


def parse_group(text: str, *, operators: Iterable[str]) -> Group:
    """Parse one `_or` value into its top group (kind "or"); raise GrammarError if malformed.

    Linear in the text; recursion is bounded by MAX_DEPTH, checked before descending."""
    if len(text) > MAX_LENGTH:
        raise GrammarError(f"longer than {MAX_LENGTH} characters", MAX_LENGTH)
    if found := _SURROGATE.search(text):
        raise GrammarError(f"invalid character {found.group()!r}", found.start())
    if not text.startswith("("):
        raise GrammarError("expected '('", 0)
    parser = _Parser(text, _term_pattern(frozenset(operators)))
    group, end = parser.group("or", 0, 0, 1)
    if end != len(text):
        raise GrammarError("unexpected text after the group", end)
    return group


class _Parser:
    def __init__(self, text: str, term_pattern: re.Pattern[str]) -> None:
        self.text = text
        self.term_pattern = term_pattern
        self.terms = 0

    def group(
        self, kind: Literal["and", "or"], position: int, opening: int, depth: int
    ) -> tuple[Group, int]:
        """The group whose `(` is at `opening`; returns it and the index after its `)`."""
        text = self.text
        if depth > MAX_DEPTH:
            raise GrammarError(f"nested deeper than {MAX_DEPTH}", position)
        index = opening + 1
        if text.startswith(")", index):
            raise GrammarError("empty group", position)
        members: list[Group | Term] = []
        while True:
            member, index = self.member(index, depth)
            members.append(member)
            if index >= len(text):
                raise GrammarError("expected ')'", index)
            if text[index] == ")":
                return Group(kind, tuple(members), position), index + 1
            if text[index] != ",":
                raise GrammarError("expected ',' or ')'", index)
            index += 1

    def member(self, start: int, depth: int) -> tuple[Group | Term, int]:
        """A term or a nested group starting at `start`; returns it and the index after it."""
        text = self.text
        head = _HEAD_END.search(text, start)
        head_end = head.start() if head else len(text)
        found = self.term_pattern.search(text, start, head_end)
        if found and found.start() > start:
            return self.term(start, found.end())
        if not found and head_end < len(text) and text[head_end] == "(":
            word = text[start:head_end]
            if kind := _KEYWORDS.get(word):
                return self.group(kind, start, head_end, depth + 1)
            if word.isalpha() and len(word) <= 16:
                raise GrammarError(f"unknown keyword {word!r}", start)
        dot = text.find(".", start, head_end)
        if not found and dot > start and "__" not in text[start:dot]:
            return self.term(start, dot + 1, "__exact")  # `col.value`: no operator named
        raise GrammarError("expected col__op.value", start)

    def term(self, start: int, value_start: int, implied: str = "") -> tuple[Term, int]:
        text = self.text
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise GrammarError(f"more than {MAX_TERMS} terms", start)
        key = text[start : value_start - 1] + implied
        if not text.startswith('"', value_start):
            end = _VALUE_END.search(text, value_start)
            value_end = end.start() if end else len(text)
            return Term(key, text[value_start:value_end], start), value_end
        value, index = self.quoted(value_start)
        if index < len(text) and text[index] not in ",)":
            raise GrammarError("unexpected character after quoted value", index)
        return Term(key, value, start), index

    def quoted(self, opening: int) -> tuple[str, int]:
        """The value quoted from `opening`, unescaped; returns it and the index after it."""
        text = self.text
        parts: list[str] = []
        index = opening + 1
        while special := _QUOTE_OR_ESCAPE.search(text, index):
            at = special.start()
            parts.append(text[index:at])
            if text[at] == '"':
                return "".join(parts), at + 1
            escaped = text[at + 1 : at + 2]
            if not escaped:
                break
            if escaped not in '"\\':
                raise GrammarError(f"invalid escape {text[at : at + 2]!r}", at)
            parts.append(escaped)
            index = at + 2
        raise GrammarError("unterminated quoted value", opening)


def format_group(group: Group) -> str:
    """The `_or` text of a tree, quoting values only when needed; parse_group inverts it.

    The top level is always an OR, so a top "and" group is written as `(and(...))`."""
    if group.kind == "and":
        group = Group("or", (group,))
    return _format_members(group)


def _format_members(group: Group) -> str:
    if not group.members:
        raise ValueError("a group holds at least one member")
    return "(" + ",".join(_format_member(member) for member in group.members) + ")"


def _format_member(member: Group | Term) -> str:
    if isinstance(member, Group):
        return member.kind + _format_members(member)
    if _HEAD_END.search(member.key):
        raise ValueError(f'a key cannot hold any of , ( ) ": {member.key!r}')
    value = member.value
    if _NEEDS_QUOTES.search(value):
        value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{member.key}.{value}"
