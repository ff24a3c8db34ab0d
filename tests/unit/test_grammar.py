"""The `_or` parameter's parser and formatter, on its own (no app, no database)."""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sqlapi.request.grammar import (
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_TERMS,
    GrammarError,
    Group,
    Term,
    format_group,
    parse_group,
)

OPERATORS = frozenset(
    ("exact", "not", "gt", "gte", "lt", "lte", "contains", "startswith", "endswith", "like",
     "glob", "in", "notin", "isnull", "notnull", "arraycontains", "arraynotcontains")
)  # fmt: skip


def parse(text: str) -> Group:
    return parse_group(text, operators=OPERATORS)


def error(text: str) -> GrammarError:
    with pytest.raises(GrammarError) as caught:
        parse(text)
    return caught.value


def located(member: Group | Term) -> list[tuple[str, int]]:
    """Every node's label and position, depth first (positions are not part of equality)."""
    if isinstance(member, Term):
        return [(member.key, member.position)]
    return [(member.kind, member.position)] + [
        pair for child in member.members for pair in located(child)
    ]


def OR(*members: Group | Term) -> Group:
    return Group("or", members)


def AND(*members: Group | Term) -> Group:
    return Group("and", members)


EXAMPLES = [
    (
        "(year__lt.1950,and(rating__gte.4.5,in_print__exact.true))",
        OR(
            Term("year__lt", "1950"),
            AND(Term("rating__gte", "4.5"), Term("in_print__exact", "true")),
        ),
    ),
    ("(a__exact.1)", OR(Term("a__exact", "1"))),
    (
        "(or(a__exact.1,and(b__gt.2,or(c__lt.3))),d__not.4)",
        OR(
            OR(Term("a__exact", "1"), AND(Term("b__gt", "2"), OR(Term("c__lt", "3")))),
            Term("d__not", "4"),
        ),
    ),
    # quoted values, with every special character and both escapes
    ('(a__exact.",")', OR(Term("a__exact", ","))),
    ('(a__exact."(")', OR(Term("a__exact", "("))),
    ('(a__exact.")")', OR(Term("a__exact", ")"))),
    ('(a__exact."\\"")', OR(Term("a__exact", '"'))),
    ('(a__exact."\\\\")', OR(Term("a__exact", "\\"))),
    ('(a__exact."x,(y)\\"z\\\\",b__exact.2)',
     OR(Term("a__exact", 'x,(y)"z\\'), Term("b__exact", "2"))),
    ('(a__exact."")', OR(Term("a__exact", ""))),
    ('(a__exact."a.b c")', OR(Term("a__exact", "a.b c"))),
    # unquoted values run to the next , or ) and keep dots, spaces and anything else
    ("(rating__gte.4.5)", OR(Term("rating__gte", "4.5"))),
    ("(a__exact. x y )", OR(Term("a__exact", " x y "))),
    ("(a__exact.x(y,b__exact.z\"w\\)", OR(Term("a__exact", "x(y"), Term("b__exact", 'z"w\\'))),
    ("(a__exact.x.__exact.y)", OR(Term("a__exact", "x.__exact.y"))),
    # empty values
    ("(name__exact.)", OR(Term("name__exact", ""))),
    ("(a__exact.,b__exact.)", OR(Term("a__exact", ""), Term("b__exact", ""))),
    ("(a__isnull.)", OR(Term("a__isnull", ""))),
    # unicode and NUL (a NUL is a character like any other, as in the plain filters)
    ("(titre__contains.été 🎉)", OR(Term("titre__contains", "été 🎉"))),
    ("(名前__exact.名)", OR(Term("名前__exact", "名"))),
    ('(a__exact."\u202e,\x00")', OR(Term("a__exact", "\u202e,\x00"))),
    ("(a__exact.\x00)", OR(Term("a__exact", "\x00"))),
    # keys: dots, arrows, double underscores; the first __<op>. ends the key
    ("(author_id.name__startswith.Ur)", OR(Term("author_id.name__startswith", "Ur"))),
    ("(meta->author.name__exact.Ada)", OR(Term("meta->author.name__exact", "Ada"))),
    ("(meta->>'$.a'__exact.1)", OR(Term("meta->>'$.a'__exact", "1"))),
    ('(a__b__in."1,2,3")', OR(Term("a__b__in", "1,2,3"))),
    ("(a__exactly__exact.1)", OR(Term("a__exactly__exact", "1"))),
    ("(___exact.1)", OR(Term("___exact", "1"))),
    ("(a____gte.1)", OR(Term("a____gte", "1"))),
    ("(a__gt.__gte.1)", OR(Term("a__gt", "__gte.1"))),
    ("(and__exact.1,or__in.2)", OR(Term("and__exact", "1"), Term("or__in", "2"))),
    ("(x__notin.1,x__notnull.,x__not.2)",
     OR(Term("x__notin", "1"), Term("x__notnull", ""), Term("x__not", "2"))),
    ("(tags__arraynotcontains.a)", OR(Term("tags__arraynotcontains", "a"))),
    ('(id__in."1,2,3",id__notin."4,5")', OR(Term("id__in", "1,2,3"), Term("id__notin", "4,5"))),
]  # fmt: skip


@pytest.mark.parametrize(("text", "tree"), EXAMPLES)
def test_examples(text: str, tree: Group) -> None:
    assert parse(text) == tree


def test_an_unquoted_list_ends_at_the_comma() -> None:
    # `__in` with several values must be quoted: here `2` is read as a second (bad) term
    assert str(error("(a__in.1,2)")) == "expected col__op.value at 9"


def test_positions() -> None:
    text = "(year__lt.1950,and(rating__gte.4.5,in_print__exact.true))"
    assert located(parse(text)) == [
        ("or", 0), ("year__lt", 1), ("and", 15), ("rating__gte", 19), ("in_print__exact", 35)
    ]  # fmt: skip
    assert text[19:].startswith("rating") and text[35:].startswith("in_print")
    assert located(parse('(a__exact."x\\"y",or(b__exact.1))')) == [
        ("or", 0), ("a__exact", 1), ("or", 17), ("b__exact", 20)
    ]  # fmt: skip


def test_column_and_op() -> None:
    terms = [
        ("author_id.name__startswith", "author_id.name", "startswith"),
        ("a__b__in", "a__b", "in"),
        ("___exact", "_", "exact"),
        ("meta->author.name__exact", "meta->author.name", "exact"),
    ]
    for key, column, op in terms:
        (term,) = parse(f"({key}.v)").members
        assert isinstance(term, Term) and (term.column, term.op) == (column, op)


def test_operators_are_a_parameter() -> None:
    assert parse_group("(a__eq.1)", operators=["eq"]) == OR(Term("a__eq", "1"))
    assert str(error("(a__eq.1)")) == "expected col__op.value at 1"
    # the longest name wins whatever the order given
    assert parse_group("(a__gte.1)", operators=("gt", "gte")) == OR(Term("a__gte", "1"))
    for bad in ([], [""], ["a.b"], ["a__b"], ["("]):
        with pytest.raises(ValueError, match="operator names"):
            parse_group("(a__exact.1)", operators=bad)


ERRORS = [
    ("", "expected '(' at 0"),
    ("year__lt.1950", "expected '(' at 0"),
    (" (a__exact.1)", "expected '(' at 0"),
    ("and(a__exact.1)", "expected '(' at 0"),
    ("(", "expected col__op.value at 1"),
    ("()", "empty group at 0"),
    ("(a__exact.1,and())", "empty group at 12"),
    ("(a__exact.1,or(b__exact.2,and()))", "empty group at 26"),
    ("(year__lt.1950,and(rating__gte.4.5", "expected ')' at 34"),
    ("(year__lt.1950,and(rating__gte.4.5)", "expected ')' at 35"),
    ("(a__exact.1", "expected ')' at 11"),
    ('(a__exact."1"', "expected ')' at 13"),
    ("(and(a__exact.1)x)", "expected ',' or ')' at 16"),
    ("(and(a__exact.1)(b__exact.2))", "expected ',' or ')' at 16"),
    ("(a__exact.1))", "unexpected text after the group at 12"),
    ("(a__exact.1),(b__exact.2)", "unexpected text after the group at 12"),
    ("(a__exact.1)x", "unexpected text after the group at 12"),
    ("(a__exact.1,)", "expected col__op.value at 12"),
    ("(,a__exact.1)", "expected col__op.value at 1"),
    ("(a__exact.1,,b__exact.2)", "expected col__op.value at 12"),
    ("(year)", "expected col__op.value at 1"),
    ("(year__lt1950)", "expected col__op.value at 1"),
    ("(year__between.1)", "expected col__op.value at 1"),
    ("(__exact.1)", "expected col__op.value at 1"),
    ("(a__exact.1,b__EXACT.2)", "expected col__op.value at 12"),
    ('(a__exact"x")', "expected col__op.value at 1"),
    ('("a__exact.1")', "expected col__op.value at 1"),
    ("((a__exact.1))", "expected col__op.value at 1"),
    ("(a__exact.1,(b__exact.2))", "expected col__op.value at 12"),
    ("(a b(c__exact.1))", "expected col__op.value at 1"),
    ("(and (a__exact.1))", "expected col__op.value at 1"),
    ("(xor(a__exact.1))", "unknown keyword 'xor' at 1"),
    ("(a__exact.1,AND(b__exact.2))", "unknown keyword 'AND' at 12"),
    ("(Or(b__exact.2))", "unknown keyword 'Or' at 1"),
    ("(not(b__exact.2))", "unknown keyword 'not' at 1"),
    ('(a__exact."abc', "unterminated quoted value at 10"),
    ('(a__exact."abc)', "unterminated quoted value at 10"),
    ('(a__exact."abc\\")', "unterminated quoted value at 10"),
    ('(a__exact.1,b__exact."\\', "unterminated quoted value at 21"),
    ('(a__exact."a\\nb")', "invalid escape '\\\\n' at 12"),
    ('(a__exact."\\x41")', "invalid escape '\\\\x' at 11"),
    ('(a__exact."a"b)', "unexpected character after quoted value at 13"),
    ('(a__exact."a" ,b__exact.1)', "unexpected character after quoted value at 13"),
    ('(a__exact."a""b")', "unexpected character after quoted value at 13"),
    ('(a__exact."a"(b))', "unexpected character after quoted value at 13"),
    ("(a__exact.\ud800)", "invalid character '\\ud800' at 10"),
    ("\udfff(a__exact.1)", "invalid character '\\udfff' at 0"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_errors_name_the_position(text: str, message: str) -> None:
    caught = error(text)
    assert str(caught) == message
    assert caught.position == int(message.rsplit(" at ", 1)[1])
    assert isinstance(caught, ValueError)


def test_bounds() -> None:
    deepest = "(" + "and(" * (MAX_DEPTH - 1) + "a__exact.1" + ")" * MAX_DEPTH
    assert located(parse(deepest))[MAX_DEPTH - 1] == ("and", 1 + 4 * (MAX_DEPTH - 2))
    too_deep = "(" + "and(" * MAX_DEPTH + "a__exact.1" + ")" * (MAX_DEPTH + 1)
    assert str(error(too_deep)) == "nested deeper than 8 at 29"
    assert str(error("(a__exact.1," + "or(" * 8 + "b__exact.1")) == "nested deeper than 8 at 33"

    most = "(" + ",".join(["a__in.1"] * MAX_TERMS) + ")"
    assert len(parse(most).members) == MAX_TERMS
    assert str(error(most[:-1] + ",b__in.2)")) == "more than 100 terms at 801"
    nested = "(" + ",".join(["and(a__in.1,b__in.2)"] * 50) + ",c__in.3)"
    assert str(error(nested)) == f"more than 100 terms at {1 + 21 * 50}"

    longest = "(a__exact." + "x" * (MAX_LENGTH - 11) + ")"
    assert len(longest) == MAX_LENGTH and parse(longest) == OR(Term("a__exact", "x" * 9989))
    assert str(error(longest[:-1] + "x)")) == "longer than 10000 characters at 10000"


@contextmanager
def shallow_stack(frames: int = 60) -> Iterator[None]:
    """Only `frames` more Python frames allowed: a parser that recursed per `(` would fail."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack(0)) + frames)
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


HOSTILE = [
    "(" + ",".join(["a__exact.1"] * 10_000) + ")",  # 10,000 terms: longer than allowed
    "(" + ",".join(["a__in."] * 1_400) + ")",  # under the length bound, over the terms bound
    "(" * 100_000,
    "(" * 9_999,
    "(" + "and(" * 2_400 + "a__exact.1" + ")" * 2_401,
    "(" + "or(" * 3_000,
    ")" * 10_000,
    "(" + "a__exact.1)" * 900,
    "(a__exact.1" + ",and(b__exact.2" * 700,
    "(" + ")" * 9_999,
    '"' * 10_000,
    '(a__exact."' + '\\"' * 4_990,
    '(a__exact."' + "\\" * 9_989,
    '(a__exact."x"' + '"' * 9_000,
    '("' + "a__exact.1" * 900,
    "(a__exact." + "x" * 9_000,
    "(" + "_" * 9_998 + ")",  # a worst case for finding the first __<op>.
    "(" + "__ex" * 2_400 + ")",
    "(" + "__exact" * 1_400 + ")",
    "\x00" * 10_000,
    "(\x00)",
    "(\x00" * 5_000,
    "(a\x00__exact.1\x00",
    "\ud800" * 10_000,
    "(a__exact." + "\udc00" * 9_000 + ")",
    "(a__exact.1,b__exact.\ud83d)",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_input_is_a_grammar_error(text: str) -> None:
    with shallow_stack(), pytest.raises(GrammarError):
        parse(text)


def test_format_quotes_only_when_needed() -> None:
    tree = OR(
        Term("year__lt", "1950"),
        AND(Term("rating__gte", "4.5"), Term("a__exact", "x y.z é")),
        Term("id__in", "1,2,3"),
        Term("s__exact", 'say "hi" \\o/ (now)'),
        Term("e__exact", ""),
    )
    text = format_group(tree)
    assert text == (
        "(year__lt.1950,and(rating__gte.4.5,a__exact.x y.z é),"
        'id__in."1,2,3",s__exact."say \\"hi\\" \\\\o/ (now)",e__exact.)'
    )
    assert parse(text) == tree


def test_format_refuses_what_cannot_be_parsed_back() -> None:
    assert format_group(AND(Term("a__exact", "1"))) == "(and(a__exact.1))"
    with pytest.raises(ValueError, match="at least one member"):
        format_group(OR())
    with pytest.raises(ValueError, match="at least one member"):
        format_group(OR(AND()))
    for key in ("a,b__exact", "f(x)__exact", 'a"__exact'):
        with pytest.raises(ValueError, match="a key cannot hold"):
            format_group(OR(Term(key, "1")))


# Round trip: random trees, formatted then parsed, come back equal (positions aside).
OPERATOR_NAMES = sorted(OPERATORS)
FIRST_OP = re.compile(r"__(?:{})\.".format("|".join(OPERATOR_NAMES)))
COLUMNS = st.text(alphabet="abzAZ09_.->é \\'$", min_size=1, max_size=12).filter(
    lambda column: not FIRST_OP.search(column)
)
VALUES = st.text(
    alphabet=st.one_of(
        st.characters(exclude_categories=["Cs"]), st.sampled_from(list(',()"\\. _'))
    ),
    max_size=20,
)
TERMS = st.builds(
    lambda column, op, value: Term(f"{column}__{op}", value),
    COLUMNS,
    st.sampled_from(OPERATOR_NAMES),
    VALUES,
)


def members(depth: int) -> st.SearchStrategy[Group | Term]:
    if depth == MAX_DEPTH:
        return TERMS
    return st.one_of(TERMS, TERMS, TERMS, groups(st.sampled_from(["and", "or"]), depth + 1))


def groups(kinds: st.SearchStrategy[str], depth: int) -> st.SearchStrategy[Group]:
    return st.builds(Group, kinds, st.lists(members(depth), min_size=1, max_size=4).map(tuple))


def count_terms(member: Group | Term) -> int:
    if isinstance(member, Term):
        return 1
    return sum(count_terms(child) for child in member.members)


@given(groups(st.just("or"), 1))
def test_round_trip(tree: Group) -> None:
    assume(count_terms(tree) <= MAX_TERMS)
    text = format_group(tree)
    assume(len(text) <= MAX_LENGTH)
    parsed = parse(text)
    assert parsed == tree
    assert format_group(parsed) == text
    for term in iter_terms(parsed):
        assert text[term.position :].startswith(term.key + ".")


def iter_terms(member: Group | Term) -> Iterator[Term]:
    if isinstance(member, Term):
        yield member
    else:
        for child in member.members:
            yield from iter_terms(child)


PIECES = st.sampled_from(
    ["(", ")", ",", '"', "\\", ".", "_", "__", "exact", "in", "gte", "and(", "or(", "a", " ",
     "\x00", "é", "\ud800", "AND("]
)  # fmt: skip


@given(st.lists(PIECES, max_size=40).map("".join))
def test_any_text_parses_or_is_a_grammar_error(text: str) -> None:
    try:
        tree = parse(text)
    except GrammarError as caught:
        assert 0 <= caught.position <= len(text)
        return
    assert parse(format_group(tree)) == tree


def test_a_column_without_an_operator_means_exact() -> None:
    """API.md's own example writes `in_print.true`: a key without `__` is col__exact."""
    group = parse("(year__lt.1950,and(rating__gte.4.5,in_print.true))")
    inner = group.members[1]
    assert isinstance(inner, Group)
    assert inner.members[1] == Term("in_print__exact", "true")
    assert parse("(year.1950)").members == (Term("year__exact", "1950"),)
    assert parse("(a.b.c)").members == (Term("a__exact", "b.c"),)
