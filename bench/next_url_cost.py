"""What building an embedding's `next_url`s costs in Python: `_next_urls` for the items ->
reviews embedding of `bench/big.db` and 50 calls, as a page of 50 parents that all have
more children makes them (best of 5 x 2,000). Run it once per build, alternating:

    python bench/next_url_cost.py /path/to/checkout     # its `sqlapi` is imported

Run by hand (docs/benchmarks.md reads it).
"""

from __future__ import annotations

import inspect
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

BIG = Path(__file__).resolve().parent / "big.db"


def main(checkout: str) -> None:
    sys.path.insert(0, str(Path(checkout).resolve()))
    from sqlapi.config import Settings
    from sqlapi.http import routes  # noqa: F401  (the checkout's package, first on the path)
    from sqlapi.request.relations import parse_embeddings
    from sqlapi.respond import related
    from sqlapi.store.exposure import expose

    schema = expose(Settings(database=BIG)).schema
    items = schema.table("items")
    assert items is not None
    embedding = parse_embeddings(items, ["reviews"], schema, lambda _: None, 10)[0]
    make: Callable[[], Any]
    if "by" in inspect.signature(related._next_urls).parameters:  # this round's signature
        make = lambda: related._next_urls(embedding, items.key_columns, False)  # noqa: E731
        call = lambda url, i: url((i,), (i,), (i * 10,))  # noqa: E731
    else:
        make = lambda: related._next_urls(embedding, False)  # noqa: E731
        call = lambda url, i: url((i,), (i * 10,))  # noqa: E731

    def page() -> None:
        url = make()
        for i in range(50):
            call(url, i)

    best = min(timeit.repeat(page, number=2000, repeat=5)) / 2000 * 1e6
    print(f"{checkout}: {best:.1f} µs for 50 next_urls")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
