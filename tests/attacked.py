"""The red team's database: the sample with an FTS table holding a hidden column, a
denied FTS table, statistics naming the denied table, tables whose key or generated
columns are hidden, and long texts; and its configuration (API keys, denials, hiding)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from sqlapi.auth.settings import hash_key
from sqlapi.config import sample_database

FULL_KEY, BOOKS_KEY = "full-" + "f" * 40, "books-" + "b" * 40


SECRETS = ("nightingale", "kestrel")  # words only in the hidden FTS column


PROFILE_EMAIL, TOKEN, BADGE_ID = "qz7.secret@vault.example", "tok-m-5521", 987654321


DIARY = ("marmalade", "xylophone")  # words only in the denied FTS table


CONFIG = f"""
enable_sql = true
time_limit_ms = 500
tables_deny = ["loans", "popular_books", "diary"]

[tables.members]
hidden_columns = ["email"]

[tables.notes]
hidden_columns = ["secret"]

[tables.profiles]
hidden_columns = ["email"]

[tables.tokens]
hidden_columns = ["token"]

[tables.badges]
hidden_columns = ["id"]

[queries.books_by_year]
sql = "SELECT id, title, year FROM books WHERE year = :year ORDER BY id"
params = {{ year = "integer" }}

[[api_keys]]
hash = "{hash_key(FULL_KEY)}"
[[api_keys]]
hash = "{hash_key(BOOKS_KEY)}"
tables = ["books"]
"""


def build_attacked(folder: Path) -> tuple[Path, Path]:
    """The sample plus an FTS table with a hidden column, a denied FTS table, statistics
    naming the denied table, and long text; (database, config)."""
    path = folder / "attacked.db"
    shutil.copy(sample_database(), path)
    conn = sqlite3.connect(path)
    conn.executescript(
        f"""
        CREATE VIRTUAL TABLE notes USING fts5(title, secret);
        INSERT INTO notes VALUES ('first', 'the {SECRETS[0]} sings'),
                                 ('second', 'a {SECRETS[1]} hovers');
        CREATE VIRTUAL TABLE diary USING fts5(entry);
        INSERT INTO diary VALUES ('{DIARY[0]} for breakfast'), ('a {DIARY[1]} lesson');
        CREATE TABLE essays (id INTEGER PRIMARY KEY, body TEXT);
        CREATE TABLE profiles (id INTEGER PRIMARY KEY, email TEXT,
            domain TEXT GENERATED ALWAYS AS (substr(email, instr(email, '@') + 1)) VIRTUAL);
        INSERT INTO profiles (email) VALUES ('{PROFILE_EMAIL}'), ('b@b.example');
        CREATE TABLE tokens (usr TEXT, token TEXT, note TEXT, PRIMARY KEY (usr, token))
            WITHOUT ROWID;
        INSERT INTO tokens VALUES ('alice', '{TOKEN}', 'a1');
        CREATE TABLE badges (id INTEGER PRIMARY KEY, code TEXT);
        INSERT INTO badges VALUES ({BADGE_ID}, 'gold');
        ANALYZE;
        """
    )
    conn.executemany("INSERT INTO essays (body) VALUES (?)", [("ab" * 500_000,) for _ in range(6)])
    conn.execute("CREATE TABLE drafts (id INTEGER PRIMARY KEY, body TEXT)")
    conn.executemany(  # each within what a pattern filter scans: it grinds them all
        "INSERT INTO drafts (body) VALUES (?)", [("ab" * 32_000,) for _ in range(150)]
    )
    conn.commit()
    conn.close()
    config = folder / "sqlapi.toml"
    config.write_text(CONFIG)
    return path, config
