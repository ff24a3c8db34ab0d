from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sqlapi.model.schema import affinity_of, json_type_of
from sqlapi.store.introspect import parse_fts_options
from sqlapi.store.readonly import load_schema
from tests.fixtures import WEIRD_NAMES


def test_exposes_tables_and_views_but_not_internal_or_shadow_tables(edge_path: Path) -> None:
    names = {t.name for t in load_schema(edge_path, False).tables}
    assert {"plain", "compound", "strict_t", "gen", "values", "docs", "docs_fts", "notes"} <= names
    assert {"plain_view", "slow"} <= names
    assert set(WEIRD_NAMES) <= names
    assert not any(n.startswith("sqlite_") for n in names)
    assert (
        not {
            "docs_fts_data",
            "docs_fts_idx",
            "docs_fts_config",
            "docs_fts_docsize",
            "notes_content",
        }
        & names
    )


def test_broken_view_is_left_out_rather_than_served_as_an_error(edge_path: Path) -> None:
    assert load_schema(edge_path, False).table("broken") is None


def test_generated_columns_are_exposed_and_marked(edge_path: Path) -> None:
    gen = load_schema(edge_path, False).table("gen")
    assert gen is not None
    flags = {c.name: c.generated for c in gen.columns}
    assert flags == {"id": False, "a": False, "doubled": True, "label": True}


def test_fts_hidden_columns_are_not_columns_and_fts_is_linked(edge_path: Path) -> None:
    schema = load_schema(edge_path, False)
    notes, docs = schema.table("notes"), schema.table("docs")
    assert notes is not None and docs is not None
    assert notes.column_names == ["rowid", "title", "text"]
    assert docs.fts is not None and docs.fts.table == "docs_fts" and docs.fts.key == "id"


def test_keys_rowid_compound_and_shadowed_rowid(edge_path: Path) -> None:
    schema = load_schema(edge_path, False)
    plain, compound, shadowed = (
        schema.table("plain"),
        schema.table("compound"),
        schema.table("shadowed"),
    )
    assert plain is not None and compound is not None and shadowed is not None
    assert plain.primary_key == ("rowid",) and plain.columns[0].is_rowid
    assert compound.primary_key == ("a", "b") and compound.without_rowid
    assert shadowed.primary_key == ()  # every rowid alias is a real column: no usable key


def test_lookup_folds_ascii_case_only_like_sqlite(edge_path: Path) -> None:
    schema = load_schema(edge_path, False)
    assert schema.table("PLAIN") is schema.table("plain")
    assert schema.table("mixed case") is schema.table("Mixed Case")
    assert schema.table("ÜNÏCØDÉ 表") is None  # SQLite does not fold non-ASCII either


def test_strict_types_and_affinities(edge_path: Path) -> None:
    strict = load_schema(edge_path, False).table("strict_t")
    assert strict is not None and strict.strict
    assert [c.json_type for c in strict.columns] == [
        "integer",
        "integer",
        "number",
        "string",
        "blob",
        "any",
    ]


@pytest.mark.parametrize(
    ("declared", "affinity", "json_type"),
    [
        ("INTEGER", "INTEGER", "integer"),
        ("BIGINT", "INTEGER", "integer"),
        ("VARCHAR(20)", "TEXT", "string"),
        ("NVARCHAR", "TEXT", "string"),
        ("BLOB", "BLOB", "blob"),
        ("", "BLOB", "any"),
        ("DOUBLE PRECISION", "REAL", "number"),
        ("NUMERIC(10,2)", "NUMERIC", "number"),
        ("BOOLEAN", "NUMERIC", "boolean"),
        ("DATETIME", "NUMERIC", "string"),
    ],
)
def test_declared_type_rules(declared: str, affinity: str, json_type: str) -> None:
    assert affinity_of(declared) == affinity
    assert json_type_of(declared) == json_type


def test_fts_options_parsing() -> None:
    options = parse_fts_options(
        "CREATE VIRTUAL TABLE f USING fts5(a, b, content='my ''t''', content_rowid=\"id\")"
    )
    assert options == {"module": "fts5", "content": "my 't'", "content_rowid": "id"}
    assert parse_fts_options("CREATE VIRTUAL TABLE r USING rtree(id, x0, x1)") is None


def test_not_a_database_raises_database_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(sqlite3.DatabaseError):
        load_schema(bogus, False)


def test_chinook_introspects_every_table(chinook_path: Path) -> None:
    names = {t.name for t in load_schema(chinook_path, True).tables}
    assert {
        "Album",
        "Artist",
        "Customer",
        "Employee",
        "Genre",
        "Invoice",
        "InvoiceLine",
        "Track",
    } <= names
