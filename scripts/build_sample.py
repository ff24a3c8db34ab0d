"""Build sqlapi/sample.db: a small lending library worth exploring. Deterministic.

    python scripts/build_sample.py            # writes sqlapi/sample.db

Same script, same bytes: the random generator is seeded and nothing reads the clock.
"""

from __future__ import annotations

import random
import sqlite3
import sys
from datetime import date, timedelta
from pathlib import Path

TARGET = Path(__file__).resolve().parent.parent / "sqlapi" / "sample.db"

SCHEMA = """
CREATE TABLE authors (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    born INTEGER,
    country TEXT
);
CREATE TABLE genres (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE books (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    author_id INTEGER NOT NULL REFERENCES authors(id),
    year INTEGER,
    pages INTEGER,
    rating REAL,
    isbn TEXT UNIQUE,
    in_print BOOLEAN NOT NULL DEFAULT 1,
    description TEXT
);
CREATE INDEX books_author ON books(author_id);
CREATE INDEX books_year ON books(year);
CREATE TABLE book_genres (
    book_id INTEGER NOT NULL REFERENCES books(id),
    genre_id INTEGER NOT NULL REFERENCES genres(id),
    PRIMARY KEY (book_id, genre_id)
) WITHOUT ROWID;
CREATE TABLE members (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    joined TEXT NOT NULL,
    city TEXT
);
CREATE TABLE loans (
    id INTEGER PRIMARY KEY,
    book_id INTEGER NOT NULL REFERENCES books(id),
    member_id INTEGER NOT NULL REFERENCES members(id),
    borrowed TEXT NOT NULL,
    returned TEXT,
    days_out INTEGER GENERATED ALWAYS AS (julianday(returned) - julianday(borrowed)) VIRTUAL
);
CREATE INDEX loans_member ON loans(member_id);
CREATE INDEX loans_book ON loans(book_id);
CREATE VIRTUAL TABLE books_fts USING fts5(title, description, content='books', content_rowid='id');
CREATE VIEW books_with_authors AS
    SELECT books.id, books.title, authors.name AS author, books.year, books.rating
    FROM books JOIN authors ON authors.id = books.author_id;
CREATE VIEW popular_books AS
    SELECT books.id, books.title, count(loans.id) AS loans
    FROM books JOIN loans ON loans.book_id = books.id
    GROUP BY books.id ORDER BY loans DESC;
"""

FIRST = [
    "Ada",
    "Alan",
    "Amara",
    "Anika",
    "Ben",
    "Bruno",
    "Carmen",
    "Chen",
    "Clara",
    "Dmitri",
    "Elena",
    "Emeka",
    "Farah",
    "Felix",
    "Grace",
    "Hana",
    "Hugo",
    "Ines",
    "Ivan",
    "Jonas",
    "Keiko",
    "Lars",
    "Leila",
    "Luca",
    "Maya",
    "Mateo",
    "Nadia",
    "Noor",
    "Omar",
    "Olga",
    "Pablo",
    "Priya",
    "Quinn",
    "Rafael",
    "Rosa",
    "Sami",
    "Sofia",
    "Tariq",
    "Tomas",
    "Uma",
    "Vera",
    "Wei",
    "Yara",
    "Zoe",
]
LAST = [
    "Abe",
    "Alvarez",
    "Berg",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jansen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Nakamura",
    "Novak",
    "Okafor",
    "Petrov",
    "Quispe",
    "Rossi",
    "Sato",
    "Schmidt",
    "Silva",
    "Tanaka",
    "Ueda",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhang",
]
COUNTRIES = [
    "Argentina",
    "Brazil",
    "Canada",
    "Chile",
    "Egypt",
    "France",
    "Germany",
    "India",
    "Italy",
    "Japan",
    "Kenya",
    "Mexico",
    "Netherlands",
    "Nigeria",
    "Norway",
    "Peru",
    "Poland",
    "Portugal",
    "Spain",
    "Sweden",
    "Turkey",
]
CITIES = [
    "Lisbon",
    "Oslo",
    "Kyoto",
    "Lagos",
    "Lima",
    "Lyon",
    "Porto",
    "Seville",
    "Turin",
    "Utrecht",
    "Valparaiso",
    "Gdansk",
    "Izmir",
    "Nairobi",
    "Pune",
]
GENRES = [
    "Fiction",
    "Mystery",
    "Science-fiction",
    "Fantasy",
    "History",
    "Biography",
    "Poetry",
    "Travel",
    "Cooking",
    "Philosophy",
    "Romance",
    "Thriller",
    "Children",
    "Science",
    "Essays",
]
ADJECTIVES = [
    "Silent",
    "Hidden",
    "Last",
    "Burning",
    "Quiet",
    "Broken",
    "Golden",
    "Distant",
    "Forgotten",
    "Secret",
    "Endless",
    "Winter",
    "Paper",
    "Glass",
    "Salt",
    "Iron",
    "Little",
    "Second",
    "Bright",
    "Northern",
]
NOUNS = [
    "River",
    "Garden",
    "Library",
    "Harbour",
    "Orchard",
    "Mountain",
    "Letters",
    "Archive",
    "Island",
    "Cartographer",
    "Lighthouse",
    "Clockmaker",
    "Kingdom",
    "Atlas",
    "Tide",
    "Forest",
    "Cathedral",
    "Map",
    "Voyage",
    "Inheritance",
]
PHRASES = [
    "a story of {n} and {m}",
    "set in {c} during a long summer",
    "follows a {a} {n} across three generations",
    "an inquiry into the {a} nature of {m}",
    "told in letters between two strangers",
    "where every chapter opens a new {n}",
]


def build(target: Path) -> None:
    rng = random.Random(20261124)
    if target.exists():
        target.unlink()
    conn = sqlite3.connect(target)
    conn.executescript(SCHEMA)

    authors = []
    for i in range(1, 241):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        born = rng.randint(1850, 1995) if rng.random() > 0.05 else None
        authors.append((i, name, born, rng.choice(COUNTRIES)))
    conn.executemany("INSERT INTO authors VALUES (?, ?, ?, ?)", authors)
    conn.executemany("INSERT INTO genres VALUES (?, ?)", list(enumerate(GENRES, 1)))

    books = []
    for i in range(1, 1801):
        adjective, noun = rng.choice(ADJECTIVES), rng.choice(NOUNS)
        title = rng.choice(
            [f"The {adjective} {noun}", f"{noun} of {rng.choice(NOUNS)}s", f"{adjective} {noun}"]
        )
        author = rng.choice(authors)
        year = None if rng.random() < 0.03 else rng.randint(max(author[2] or 1870, 1870) + 18, 2026)
        description = ". ".join(
            rng.choice(PHRASES).format(
                n=rng.choice(NOUNS).lower(), m=rng.choice(NOUNS).lower() + "s",
                c=rng.choice(CITIES), a=rng.choice(ADJECTIVES).lower(),
            ).capitalize()
            for _ in range(rng.randint(1, 3))
        ) + "."  # fmt: skip
        books.append((
            i, title, author[0], year, rng.randint(64, 900),
            None if rng.random() < 0.1 else round(rng.uniform(1.5, 5.0), 1),
            f"978-{rng.randint(0, 9)}-{rng.randint(1000, 9999)}-{i:04d}-{rng.randint(0, 9)}",
            1 if rng.random() < 0.8 else 0, description,
        ))  # fmt: skip
    conn.executemany("INSERT INTO books VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", books)
    conn.executemany(
        "INSERT INTO book_genres VALUES (?, ?)",
        sorted(
            {
                (b[0], g)
                for b in books
                for g in rng.sample(range(1, len(GENRES) + 1), rng.randint(1, 3))
            }
        ),
    )
    conn.execute("INSERT INTO books_fts(books_fts) VALUES ('rebuild')")

    start = date(2019, 1, 1)
    members = []
    for i in range(1, 601):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        joined = start + timedelta(days=rng.randint(0, 1800))
        city = rng.choice(CITIES) if rng.random() > 0.1 else None
        members.append(
            (
                i,
                f"{first} {last}",
                f"{first}.{last}.{i}@example.org".lower(),
                joined.isoformat(),
                city,
            )
        )
    conn.executemany("INSERT INTO members VALUES (?, ?, ?, ?, ?)", members)

    loans = []
    for i in range(1, 4001):
        member = rng.choice(members)
        borrowed = date.fromisoformat(member[3]) + timedelta(days=rng.randint(0, 600))
        returned = borrowed + timedelta(days=rng.randint(1, 60)) if rng.random() < 0.92 else None
        loans.append(
            (
                i,
                rng.randint(1, len(books)),
                member[0],
                borrowed.isoformat(),
                returned and returned.isoformat(),
            )
        )
    conn.executemany(
        "INSERT INTO loans (id, book_id, member_id, borrowed, returned) VALUES (?, ?, ?, ?, ?)",
        loans,
    )
    conn.commit()
    conn.execute("VACUUM")
    conn.close()


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else TARGET)
    print(f"wrote {TARGET if len(sys.argv) < 2 else sys.argv[1]}")
