"""What an object reveals is decided by what it reads (sqlapi/reads.py): every way around a
denied table, a hidden column or a row policy that an attacker found, closed — a second
full-text index, an index of a view, a view reading through USING, NATURAL JOIN or
count(*), a generated column, a table filled by triggers, a claim spelled another way."""

from __future__ import annotations

import base64
import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from sqlapi.auth.tokens import mint_token
from sqlapi.config import Settings
from tests.fixtures import LiveApp

pytestmark = pytest.mark.both_sqlites  # .ci/run runs these on a current SQLite too

SECRET = "exposure-tests-secret-" * 3
SCHEMA = """
CREATE TABLE members (id INTEGER PRIMARY KEY, name TEXT, email TEXT, team TEXT);
CREATE TABLE loans (id INTEGER PRIMARY KEY, member_id INTEGER, note TEXT);
CREATE TABLE salaries (id INTEGER PRIMARY KEY, member_id INTEGER, amount INTEGER, memo TEXT);
CREATE VIRTUAL TABLE loans_fts USING fts5(note, content='loans', content_rowid='id');
CREATE VIRTUAL TABLE loans_fts2 USING fts5(note, content='loans', content_rowid='id');
CREATE VIEW loan_notes AS SELECT id, note FROM loans;
CREATE VIRTUAL TABLE loan_notes_fts USING fts5(note, content='loan_notes', content_rowid='id');
CREATE VIRTUAL TABLE salaries_fts USING fts5(memo, content='salaries', content_rowid='id');
CREATE VIRTUAL TABLE members_fts USING fts5(name, email, content='members', content_rowid='id');
CREATE VIRTUAL TABLE members_names USING fts5(name, content='members', content_rowid='id');
CREATE VIEW loans_using AS SELECT m.name FROM members AS m JOIN loans AS l USING (id);
CREATE VIEW loans_natural AS SELECT name FROM members NATURAL JOIN loans;
CREATE VIEW loans_counted AS SELECT count(*) AS n FROM loans;
CREATE VIEW salaries_counted AS SELECT count(*) AS n FROM salaries;
CREATE VIEW salaries_using AS SELECT m.name FROM members AS m
    JOIN salaries AS s ON s.member_id = m.id;
CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT);
CREATE VIEW by_email AS SELECT m.id, m.name FROM members AS m JOIN contacts USING (email);
CREATE TABLE profiles (id INTEGER PRIMARY KEY, email TEXT,
    lowered TEXT GENERATED ALWAYS AS (lower(email)) VIRTUAL,
    domain TEXT GENERATED ALWAYS AS (substr(lowered, instr(lowered, '@') + 1)) STORED,
    shown TEXT GENERATED ALWAYS AS ('#' || id) VIRTUAL);
CREATE TABLE email_log (id INTEGER PRIMARY KEY, what TEXT);
CREATE TABLE salary_log (id INTEGER PRIMARY KEY, what TEXT);
CREATE TRIGGER members_logged AFTER INSERT ON members BEGIN
    INSERT INTO email_log (what) VALUES (new.email);
END;
CREATE TRIGGER salaries_logged AFTER INSERT ON salaries BEGIN
    INSERT INTO salary_log (what) VALUES (new.memo);
END;
"""
MEMBERS = [(1001, "ada", "ada@secret.example", "red"), (2002, "bo", "bo@secret.example", "blue")]
LOANS = [(1, 1001, "kestrel atlas"), (2, 2002, "nightingale map"), (3, 1001, "kestrel globe")]
SALARIES = [(1, 1001, 5000, "bonusword"), (2, 2002, 7000, "raiseword")]


def build(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    conn.executemany("INSERT INTO members VALUES (?, ?, ?, ?)", MEMBERS)
    conn.executemany("INSERT INTO loans VALUES (?, ?, ?)", LOANS)
    conn.executemany("INSERT INTO salaries VALUES (?, ?, ?, ?)", SALARIES)
    conn.executemany("INSERT INTO contacts (email) VALUES (?)", [(m[2],) for m in MEMBERS])
    conn.execute("INSERT INTO profiles (email) VALUES ('Ada@Secret.Example')")
    for index in ("loans_fts", "loans_fts2", "loan_notes_fts", "salaries_fts", "members_fts",
                  "members_names"):  # fmt: skip
        conn.execute(f"INSERT INTO {index}({index}) VALUES ('rebuild')")
    conn.commit()
    conn.close()
    return path


@pytest.fixture(scope="module")
def path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("exposure") / "exposure.db")


@pytest.fixture(scope="module")
def live(path: Path) -> Iterator[LiveApp]:
    settings = Settings.model_validate(
        {
            "database": path,
            "enable_sql": True,
            "tables_deny": ["salaries"],
            "auth": {
                "jwt": {"secret": SECRET, "algorithms": ["HS256"]},
                "roles": {"member": {}, "reader": {"tables": ["members", "members_names"]}},
            },
            "tables": {
                "members": {"hidden_columns": ["email"]},
                "profiles": {"hidden_columns": ["email"]},
                "loans": {"row_filter": {"member_id": "sub"}},
            },
        }
    )
    app = LiveApp(settings)
    yield app
    app.close()


def get(live: LiveApp, url: str, sub: str = "1001", role: str = "member") -> Any:
    bearer = mint_token(SECRET, {"sub": sub, "role": role})
    return live.get(url, {"Authorization": f"Bearer {bearer}"})


def body(live: LiveApp, url: str, **who: str) -> Any:
    response = get(live, url, **who)
    assert response.status == 200, (url, response.status, response.body[:300])
    return response.json()


def skipped(live: LiveApp) -> dict[str, str]:
    return {s["name"]: s["reason"] for s in body(live, "/api")["skipped"]}


def test_every_full_text_index_of_a_filtered_table_shows_only_the_callers_rows(
    live: LiveApp,
) -> None:
    for index in ("loans_fts", "loans_fts2"):
        rows = body(live, f"/api/tables/{index}/rows")["rows"]
        assert sorted(r["rowid"] for r in rows) == [1, 3]
        assert body(live, f"/api/tables/{index}/rows?_search=nightingale")["rows"] == []
        counted = body(live, f"/api/tables/{index}/aggregate?_search=kestrel")["rows"]
        assert counted == [{"count": 2}]
        assert body(live, f"/api/tables/{index}/aggregate?_search=nightingale")["rows"] == [
            {"count": 0}
        ]
        theirs = body(live, f"/api/tables/{index}/rows?_search=nightingale", sub="2002")["rows"]
        assert [r["rowid"] for r in theirs] == [2]
    assert body(live, "/api/tables/loans/rows?_search=nightingale")["rows"] == []


def test_what_reads_a_filtered_table_unfiltered_answers_403_naming_it(live: LiveApp) -> None:
    for name in ("loan_notes", "loan_notes_fts", "loans_using", "loans_natural", "loans_counted"):
        refused = get(live, f"/api/tables/{name}/rows")
        assert refused.status == 403, (name, refused.body[:200])
        assert "'loans'" in refused.json()["detail"]
        assert get(live, f"/api/tables/{name}/aggregate").status == 403
    listed = {t["name"] for t in body(live, "/api/tables")["tables"]}
    assert not listed & {"loan_notes", "loan_notes_fts", "loans_using", "loans_counted"}
    assert {"loans", "loans_fts", "loans_fts2"} <= listed


def test_what_reads_a_denied_table_is_not_served_and_says_why(live: LiveApp) -> None:
    reasons = skipped(live)
    for name in ("salaries_fts", "salaries_counted", "salaries_using", "salary_log"):
        assert reasons[name] == "reads a table the configuration does not expose", name
        assert get(live, f"/api/tables/{name}/rows").status == 404
    assert "salaries" not in reasons  # denied by name: it appears nowhere
    everything = str(body(live, "/api")) + str(body(live, "/api/tables"))
    assert "salaries'" not in everything and '"salaries"' not in everything
    assert get(live, "/api/tables/salaries_fts/aggregate?_search=bonusword").status == 404


def test_hidden_columns_stay_hidden_through_every_copy_and_computation(live: LiveApp) -> None:
    reasons = skipped(live)
    assert reasons["by_email"] == "reads a hidden column"  # USING (email)
    assert reasons["email_log"] == "filled by triggers that read a hidden column"
    index = body(live, "/api/tables/members_fts")
    assert [c["name"] for c in index["columns"]] == ["rowid", "name"]
    assert get(live, "/api/tables/members_fts/rows?_search=secret").status == 400
    assert body(live, "/api/tables/members")["fts"]["table"] == "members_names"
    assert body(live, "/api/tables/members/rows?_search=secret")["rows"] == []
    profile = body(live, "/api/tables/profiles/rows/1")["row"]
    assert profile == {"id": 1, "shown": "#1"}  # lowered and domain are computed from email
    text = str(body(live, "/api/tables/members_fts/rows")) + str(
        body(live, "/api/tables/profiles/rows")
    )
    assert "secret" not in text.lower()


def test_roles_govern_every_object_that_reads_their_tables(live: LiveApp) -> None:
    listed = {t["name"] for t in body(live, "/api/tables", role="reader")["tables"]}
    assert listed == {"members", "members_names"}
    assert get(live, "/api/tables/members_fts/rows", role="reader").status == 403  # not listed
    assert get(live, "/api/tables/loans_using/rows", role="reader").status == 403


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM loans_fts2 WHERE loans_fts2 MATCH 'nightingale'",
        "SELECT count(*) FROM loan_notes_fts",
        "SELECT * FROM loans_natural",
        "SELECT n FROM loans_counted",
        "SELECT rtreecheck('x')",
        "SELECT load_extension('x')",
        "SELECT fts5(NULL)",
    ],
)
def test_client_sql_refuses_what_reads_a_filtered_table_and_functions_off_the_list(
    live: LiveApp, statement: str
) -> None:
    response = get(live, "/api/sql?" + urlencode({"sql": statement}))
    assert response.status in (400, 403), (statement, response.body[:200])


# --- claims ---------------------------------------------------------------------------------

CLAIMED = """
CREATE TABLE typed (id INTEGER PRIMARY KEY, s STRING, n NUMERIC, d DECIMAL(10, 2),
                    i INTEGER, r REAL, t TEXT, b BLOB, u);
"""


@pytest.fixture(scope="module")
def claimed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    path = tmp_path_factory.mktemp("claims") / "claims.db"
    conn = sqlite3.connect(path)
    conn.executescript(CLAIMED)
    rows = [(1001, "1001", 1001, 1001, 1001, 1001.0, "1001", b"A", 1001), (7, "7", 7, 7, 7, 7.5,
            "7", b"\x00", "x")]  # fmt: skip
    conn.executemany("INSERT INTO typed VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    tables = {f"typed_{c}": c for c in "sndirtbu"}
    conn = sqlite3.connect(path)
    for view, column in tables.items():
        conn.execute(f"CREATE VIEW {view} AS SELECT * FROM typed")
        del column
    conn.commit()
    conn.close()
    settings = Settings.model_validate(
        {
            "database": path,
            "auth": {"jwt": {"secret": SECRET, "algorithms": ["HS256"]}},
            "tables": {view: {"row_filter": {column: "sub"}} for view, column in tables.items()},
        }
    )
    app = LiveApp(settings)
    yield app
    app.close()


@pytest.mark.parametrize(
    ("column", "canonical", "others"),
    [
        ("s", "1001", ["01001", "1001.0", " 1001", "+1001", "1.001e3", "1001 "]),
        ("n", "1001", ["01001", "1001.0", " 1001", "+1001", "1.001e3"]),
        ("d", "1001", ["01001", "1001.00", " 1001", "+1001", "1.001E3"]),
        ("i", "1001", ["01001", " 1001", "+1001"]),
        ("r", "1001.0", ["1001", "01001.0", "1.001e3", " 1001.0"]),
        ("t", "1001", []),
        ("u", "1001", ["01001", "+1001", "1001.0"]),
        ("b", base64.b64encode(b"A").decode(), ["QR==", "QQ", " QQ=="]),
    ],
)
def test_two_spellings_of_a_claim_never_read_the_same_rows(
    claimed: LiveApp, column: str, canonical: str, others: list[str]
) -> None:
    def ids(sub: str) -> list[int]:
        bearer = mint_token(SECRET, {"sub": sub})
        response = claimed.get(
            f"/api/tables/typed_{column}/rows", {"Authorization": f"Bearer {bearer}"}
        )
        assert response.status == 200, response.body[:200]
        return [r["id"] for r in response.json()["rows"]]

    assert ids(canonical) == [1001]
    for other in others:
        assert ids(other) == [], other


def test_an_object_calling_a_function_off_the_list_or_unknown_is_skipped_saying_which(
    tmp_path: Path,
) -> None:
    path = tmp_path / "udf.db"
    conn = sqlite3.connect(path)
    conn.create_function("shout", 1, lambda v: str(v).upper(), deterministic=True)
    conn.executescript(
        """
        CREATE TABLE loud (id INTEGER PRIMARY KEY, v TEXT, up TEXT GENERATED ALWAYS AS (shout(v)));
        CREATE TABLE quiet (id INTEGER PRIMARY KEY, v TEXT);
        CREATE VIEW debug AS SELECT rtreenode(2, x'00') AS node;
        INSERT INTO quiet (v) VALUES ('a');
        """
    )
    conn.commit()
    conn.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    live = LiveApp(Settings(database=path))
    try:
        reasons = {s["name"]: s["reason"] for s in live.json("/api")["skipped"]}
        assert reasons == {
            "loud": "unknown function: shout()",  # the writer's own: not in this process
            "debug": "calls rtreenode(), which sqlapi does not run",
        }
        assert live.json("/api/tables/quiet/rows")["rows"] == [{"id": 1, "v": "a"}]
    finally:
        live.close()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


# --- an outside attack on the first version (each was a leak, a 500 or a refused file) ------


def serve_file(path: Path, **settings: Any) -> LiveApp:
    return LiveApp(Settings.model_validate({"database": path, **settings}))


def built(tmp_path: Path, script: str, *, udf: bool = False) -> Path:
    path = tmp_path / "attacked.db"
    conn = sqlite3.connect(path)
    if udf:
        conn.create_function("myfn", 0, lambda: 1)
    conn.executescript(script)
    conn.commit()
    conn.close()
    return path


@pytest.mark.parametrize(
    "script",
    [
        # an INSTEAD OF trigger on a view fills a table from the denied one
        """CREATE VIEW target AS SELECT 1 AS k; CREATE TABLE log (x TEXT);
        CREATE TRIGGER t INSTEAD OF INSERT ON target BEGIN
            INSERT INTO log SELECT s FROM secret; END;
        INSERT INTO target VALUES (1);""",
        # a trigger on a full-text index's own table copies what the index was given
        """CREATE VIRTUAL TABLE sf USING fts4(s); CREATE TABLE log (x TEXT);
        CREATE TRIGGER t AFTER INSERT ON sf_content BEGIN INSERT INTO log VALUES (new.c0s); END;
        INSERT INTO sf (docid, s) SELECT id, s FROM secret;""",
        # a trigger SQLite cannot compile here (a function of the writer's): fails closed
        """CREATE TABLE log (x TEXT);
        CREATE TRIGGER t1 AFTER INSERT ON secret BEGIN INSERT INTO log VALUES (new.s); END;
        CREATE TRIGGER t2 AFTER INSERT ON secret WHEN myfn() BEGIN SELECT 1; END;""",
    ],
)
def test_a_table_triggers_fill_from_a_denied_table_is_not_served(
    tmp_path: Path, script: str
) -> None:
    path = built(
        tmp_path,
        "CREATE TABLE secret (id INTEGER PRIMARY KEY, s TEXT);" + script
        + "INSERT INTO secret VALUES (1, 'topsecret');",
        udf=True,
    )  # fmt: skip
    live = serve_file(path, tables_deny=["secret", "sf"] if "sf" in script else ["secret"])
    try:
        reasons = {s["name"]: s["reason"] for s in live.json("/api")["skipped"]}
        assert reasons["log"] == "reads a table the configuration does not expose"
        assert live.get("/api/tables/log/rows").status == 404
    finally:
        live.close()


def test_a_vocabulary_table_of_an_index_with_a_hidden_column_is_not_served(
    tmp_path: Path,
) -> None:
    path = built(
        tmp_path,
        """CREATE VIRTUAL TABLE docs USING fts5(title, body);
        INSERT INTO docs VALUES ('t1', 'body secretword');
        CREATE VIRTUAL TABLE docs_terms USING fts5vocab('docs', 'col');
        CREATE TABLE pub (id INTEGER PRIMARY KEY, a TEXT, email TEXT);
        INSERT INTO pub VALUES (1, 'x', 'alice@example.org');
        CREATE VIRTUAL TABLE pub_fts USING fts4(a, email, content='pub');
        INSERT INTO pub_fts (docid, a, email) SELECT id, a, email FROM pub;
        CREATE VIRTUAL TABLE pub_terms USING fts4aux(pub_fts);""",
    )
    live = serve_file(
        path,
        enable_sql=True,
        tables={"docs": {"hidden_columns": ["body"]}, "pub": {"hidden_columns": ["email"]}},
    )
    try:
        reasons = {s["name"]: s["reason"] for s in live.json("/api")["skipped"]}
        assert reasons["docs_terms"] == "lists the words of a hidden column"
        assert reasons["pub_terms"] == "lists the words of a hidden column"
        refused = live.get("/api/sql?sql=" + quote("SELECT term FROM pub_terms"))
        assert refused.status == 403
    finally:
        live.close()


def test_a_table_declared_over_another_objects_storage_is_not_served(tmp_path: Path) -> None:
    path = built(
        tmp_path,
        """CREATE TABLE pub (id INTEGER PRIMARY KEY, a TEXT, email TEXT);
        CREATE INDEX pub_email ON pub (email);
        INSERT INTO pub VALUES (1, 'a', 'alice@example.org');
        CREATE TABLE ix_alias (email TEXT, id INTEGER, PRIMARY KEY (email, id)) WITHOUT ROWID;
        CREATE TABLE alias_pub (id INTEGER PRIMARY KEY, a TEXT, email TEXT);""",
    )
    conn = sqlite3.connect(path)
    roots = dict(conn.execute("SELECT name, rootpage FROM sqlite_master"))
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "UPDATE sqlite_master SET rootpage = ? WHERE name = 'ix_alias'", (roots["pub_email"],)
    )
    conn.execute("UPDATE sqlite_master SET rootpage = ? WHERE name = 'alias_pub'", (roots["pub"],))
    conn.commit()
    conn.close()
    live = serve_file(path, enable_sql=True, tables={"pub": {"hidden_columns": ["email"]}})
    try:
        reasons = {s["name"]: s["reason"] for s in live.json("/api")["skipped"]}
        # two tables on one b-tree: which one's columns are right cannot be told
        assert set(reasons) == {"ix_alias", "alias_pub", "pub"}
        assert all("a schema edited by hand" in r for r in reasons.values())
        for sql in ("SELECT * FROM ix_alias", "SELECT * FROM alias_pub", "SELECT a FROM pub"):
            assert live.get("/api/sql?sql=" + quote(sql)).status in (400, 403)
    finally:
        live.close()


def test_an_index_whose_rowids_are_not_its_contents_keys_is_refused_to_policies(
    tmp_path: Path,
) -> None:
    """`content_rowid` a column many rows share: the index's row is not one content row,
    so a policy cannot be applied to it exactly, and the table does not search through it."""
    path = built(
        tmp_path,
        """CREATE TABLE loans (id INTEGER PRIMARY KEY, member_id INTEGER, book_id INTEGER,
                               note TEXT);
        INSERT INTO loans VALUES (1, 1, 10, 'mine apple'), (2, 2, 10, 'theirs banana secret'),
                                 (3, 2, 11, 'theirs cherry'), (4, 1, 12, 'mine date banana');
        CREATE VIRTUAL TABLE lf USING fts5(note, content='loans', content_rowid='book_id');
        INSERT INTO lf (lf) VALUES ('rebuild');""",
    )
    live = serve_file(
        path,
        auth={"jwt": {"secret": SECRET, "algorithms": ["HS256"]}},
        tables={"loans": {"row_filter": {"member_id": "sub"}}},
    )
    try:
        headers = {"Authorization": "Bearer " + mint_token(SECRET, {"sub": "1"})}
        refused = live.get("/api/tables/lf/rows", headers)
        assert refused.status == 403 and "'loans'" in refused.json()["detail"]
        assert live.get("/api/tables/loans/rows?_search=secret", headers).status == 400
    finally:
        live.close()


def test_a_table_whose_key_is_hidden_is_ordered_by_what_it_shows(tmp_path: Path) -> None:
    path = built(
        tmp_path,
        """CREATE TABLE users (email TEXT PRIMARY KEY, name TEXT) WITHOUT ROWID;
        INSERT INTO users VALUES ('zoe@x.org', 'b first'), ('adam@x.org', 'c second'),
                                 ('mia@x.org', 'a third');
        CREATE TABLE acct (id INTEGER PRIMARY KEY, name TEXT);
        INSERT INTO acct VALUES (900, 'b first'), (5, 'c second'), (300, 'a third');""",
    )
    live = serve_file(
        path,
        tables={"users": {"hidden_columns": ["email"]}, "acct": {"hidden_columns": ["id"]}},
    )
    try:
        for table in ("users", "acct"):
            rows = live.json(f"/api/tables/{table}/rows")["rows"]
            assert [r["name"] for r in rows] == ["a third", "b first", "c second"], table
    finally:
        live.close()


def test_a_real_zero_has_one_spelling(tmp_path: Path) -> None:
    path = built(
        tmp_path, "CREATE TABLE r (id INTEGER PRIMARY KEY, c REAL); INSERT INTO r VALUES (1, 0.0);"
    )
    live = serve_file(
        path,
        auth={"jwt": {"secret": SECRET, "algorithms": ["HS256"]}},
        tables={"r": {"row_filter": {"c": "sub"}}},
    )
    try:

        def ids(sub: str) -> list[int]:
            headers = {"Authorization": "Bearer " + mint_token(SECRET, {"sub": sub})}
            return [r["id"] for r in live.get("/api/tables/r/rows", headers).json()["rows"]]

        assert ids("0.0") == [1]
        assert ids("-0.0") == [] and ids("0") == []
    finally:
        live.close()


def test_a_view_nested_past_what_sqlite_will_allocate_is_a_400_or_skipped(tmp_path: Path) -> None:
    script = ["CREATE TABLE t (a); INSERT INTO t VALUES (1); CREATE VIEW v0 AS SELECT a FROM t;"]
    for level in range(1, 16):
        below = f"SELECT a FROM v{level - 1}"
        script.append(f"CREATE VIEW v{level} AS {below} UNION ALL {below};")
    script.append("CREATE VIEW w0 AS SELECT a + 0 AS a FROM v15;")
    path = built(tmp_path, "\n".join(script))
    live = serve_file(path, time_limit_ms=3000)
    try:
        assert live.json("/api/tables/t/rows")["rows"] == [{"rowid": 1, "a": 1}]
        skipped = {s["name"] for s in live.json("/api")["skipped"]}
        for view in ("v15", "w0"):
            if view not in skipped:
                answer = live.get(f"/api/tables/{view}/rows?_limit=1")
                assert answer.status in (200, 400), (view, answer.status, answer.body[:200])
    finally:
        live.close()


def test_a_table_calling_sqlapis_own_function_is_skipped_and_the_file_served(
    tmp_path: Path,
) -> None:
    path = tmp_path / "own.db"
    conn = sqlite3.connect(path)
    conn.create_function("sqlapi_json_value", 1, str, deterministic=True)
    conn.executescript(
        """CREATE TABLE a (id INTEGER PRIMARY KEY, x TEXT); INSERT INTO a VALUES (1, 'fine');
        CREATE TABLE gen (id INTEGER PRIMARY KEY, x TEXT,
                          g TEXT GENERATED ALWAYS AS (sqlapi_json_value(x)) VIRTUAL);"""
    )
    conn.commit()
    conn.close()
    live = serve_file(path)
    try:
        assert live.json("/api/tables/a/rows")["rows"] == [{"id": 1, "x": "fine"}]
        reasons = {s["name"]: s["reason"] for s in live.json("/api")["skipped"]}
        assert list(reasons) == ["gen"] and "sqlapi_json_value" in reasons["gen"]
    finally:
        live.close()
