"""Real SQLite files written by the tools that write them in the wild (Django's migrate,
sqlite-utils), two that came with the project (PROJ's proj.db, chinook), and files of our
own with every construct the others leave out: JSON functions in indexes, generated
columns and views; R*Tree; several full-text indexes of one table; a module SQLite does
not have; triggers that copy rows; an MBTiles tile set."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

DJANGO = textwrap.dedent(
    """
    import sys
    import django
    from django.conf import settings
    settings.configure(
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": sys.argv[1]}},
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes",
                        "django.contrib.sessions", "django.contrib.admin",
                        "django.contrib.messages"],
        USE_TZ=True,
    )
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import Group, User
    editors = Group.objects.create(name="editors")
    for n in range(12):
        user = User.objects.create_user(f"user{n}", f"u{n}@example.org", "pw", is_staff=n % 2)
        user.groups.add(editors)
    """
)


def build_django(path: Path) -> Path:
    """The contrib apps' tables as `manage.py migrate` writes them, with a few users (in a
    process of its own: Django's settings are global)."""
    subprocess.run([sys.executable, "-c", DJANGO, str(path)], check=True, timeout=120)
    return path


def build_sqlite_utils(path: Path) -> Path:
    """A sqlite-utils database: rows inserted from Python objects (nested ones stored as
    JSON text), a foreign key, an FTS5 index kept current by triggers, a view."""
    import sqlite_utils

    db = sqlite_utils.Database(path)
    db["authors"].insert_all(
        [{"id": i, "name": f"Author {i}", "born": 1900 + i * 7} for i in range(1, 6)], pk="id"
    )
    db["books"].insert_all(
        [
            {
                "id": i,
                "title": f"Book of {['rivers', 'glass', 'salt', 'wind'][i % 4]} {i}",
                "author_id": i % 5 + 1,
                "tags": ["fiction", "sea"] if i % 2 else ["essay"],
                "meta": {"pages": 100 + i, "isbn": f"978-{i:06d}"},
                "cover": bytes([i, 255 - i]),
                "price": 9.5 + i,
            }
            for i in range(1, 41)
        ],
        pk="id",
        foreign_keys=[("author_id", "authors", "id")],
    )
    db["books"].enable_fts(["title"], create_triggers=True)
    db["books"].insert({"id": 41, "title": "A late arrival", "author_id": 1, "tags": []})
    db.create_view(
        "book_authors",
        "select books.id, title, name from books join authors on authors.id = author_id",
    )
    db.conn.close()
    return path


MODERN = """
CREATE TABLE docs (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    title TEXT GENERATED ALWAYS AS (json_extract(body, '$.title')) VIRTUAL,
    summary TEXT GENERATED ALWAYS AS (json_object('t', json_extract(body, '$.title'))) STORED
);
CREATE INDEX docs_kind ON docs (json_extract(body, '$.kind'));
CREATE INDEX docs_valid ON docs (id) WHERE json_valid(body);
CREATE VIEW doc_kinds AS SELECT id, json_extract(body, '$.kind') AS kind FROM docs;
CREATE VIEW doc_tags AS SELECT docs.id, tags.value AS tag
    FROM docs, json_each(docs.body, '$.tags') AS tags;
CREATE VIRTUAL TABLE places USING rtree(id, min_x, max_x, min_y, max_y);
CREATE VIRTUAL TABLE places_i USING rtree_i32(id, x0, x1, +label);
CREATE VIEW place_sizes AS SELECT id, (max_x - min_x) * (max_y - min_y) AS area FROM places;
CREATE VIRTUAL TABLE docs_fts USING fts5(title, content='docs', content_rowid='id');
CREATE VIRTUAL TABLE docs_fts_again USING fts5(body, content='docs', content_rowid='id');
CREATE VIEW doc_texts AS SELECT id, body FROM docs;
CREATE VIRTUAL TABLE doc_texts_fts USING fts5(body, content='doc_texts', content_rowid='id');
CREATE VIRTUAL TABLE words USING fts5vocab(docs_fts_again, 'row');
CREATE VIRTUAL TABLE notes USING fts4(note);
CREATE TABLE audit (id INTEGER PRIMARY KEY, doc_id INTEGER, copied TEXT);
CREATE TRIGGER docs_copied AFTER INSERT ON docs BEGIN
    INSERT INTO audit (doc_id, copied) VALUES (new.id, new.body);
    INSERT INTO docs_fts (rowid, title) VALUES (new.id, new.title);
    INSERT INTO docs_fts_again (rowid, body) VALUES (new.id, new.body);
END;
CREATE TABLE sizes (id INTEGER PRIMARY KEY, n INTEGER, half REAL GENERATED ALWAYS AS (n / 2.0));
CREATE TABLE gone (x);
CREATE VIEW broken AS SELECT x FROM gone;
"""


def build_modern(path: Path) -> Path:
    """A file of constructs the real files leave out (see MODERN), plus a virtual table
    of a module no SQLite here has, and a table of SQLite's page statistics."""
    conn = sqlite3.connect(path)
    conn.executescript(MODERN)
    conn.execute("DROP TABLE gone")
    for i in range(1, 31):
        body = {"title": f"note {i}", "kind": ["memo", "letter"][i % 2], "tags": ["a", f"t{i % 3}"]}
        conn.execute("INSERT INTO docs (body) VALUES (?)", (json.dumps(body),))
        conn.execute(
            "INSERT INTO places VALUES (?, ?, ?, ?, ?)", (i, i * 0.5, i * 0.5 + 2, -i, -i + 1.25)
        )
        conn.execute("INSERT INTO places_i VALUES (?, ?, ?, ?)", (i, i, i + 3, f"p{i}"))
        conn.execute("INSERT INTO sizes (n) VALUES (?)", (i * 3,))
        conn.execute("INSERT INTO notes VALUES (?)", (f"note number {i}",))
    conn.execute("INSERT INTO doc_texts_fts(doc_texts_fts) VALUES ('rebuild')")
    conn.execute("CREATE VIRTUAL TABLE pages USING dbstat")
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES "
        "('table', 'geo', 'geo', 0, 'CREATE VIRTUAL TABLE geo USING spatialite_index(a, b)')"
    )
    conn.execute("CREATE TABLE geo_node (nodeno INTEGER PRIMARY KEY, data BLOB)")
    conn.commit()
    conn.close()
    return path


def build_mbtiles(path: Path) -> Path:
    """An MBTiles tile set (the spec's normalised form): tiles as a view over map and
    images, metadata as name/value rows, tiles as BLOBs."""
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE metadata (name TEXT, value TEXT);
        CREATE UNIQUE INDEX name ON metadata (name);
        CREATE TABLE map (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_id TEXT);
        CREATE UNIQUE INDEX map_index ON map (zoom_level, tile_column, tile_row);
        CREATE TABLE images (tile_data BLOB, tile_id TEXT);
        CREATE UNIQUE INDEX images_id ON images (tile_id);
        CREATE VIEW tiles AS SELECT map.zoom_level AS zoom_level, map.tile_column AS tile_column,
            map.tile_row AS tile_row, images.tile_data AS tile_data
            FROM map JOIN images ON images.tile_id = map.tile_id;
        """
    )
    conn.executemany(
        "INSERT INTO metadata VALUES (?, ?)",
        [("name", "test"), ("format", "png"), ("bounds", "-180,-85,180,85"), ("minzoom", "0")],
    )
    for z in range(3):
        for x in range(2**z):
            for y in range(2**z):
                tile = f"{z}/{x}/{y}"
                conn.execute("INSERT INTO map VALUES (?, ?, ?, ?)", (z, x, y, tile))
                conn.execute(
                    "INSERT INTO images VALUES (?, ?)", (b"\x89PNG\r\n" + tile.encode(), tile)
                )
    conn.commit()
    conn.close()
    return path
