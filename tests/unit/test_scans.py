"""The result cache of scanning queries: bounded in entries and bytes, least recently used
out first, and emptied whole."""

from __future__ import annotations

from sqlapi.store.scans import ResultCache


def test_least_recently_used_entries_leave_first_past_the_entry_bound() -> None:
    cache = ResultCache(max_entries=2)
    cache.put(("a",), [(1,)])
    cache.put(("b",), [(2,)])
    assert cache.get(("a",)) == [(1,)]  # "a" is now the most recently used
    cache.put(("c",), [(3,)])
    assert cache.get(("b",)) is None and cache.get(("a",)) == [(1,)] and len(cache) == 2


def test_the_byte_bound_holds_and_an_oversized_result_is_not_kept() -> None:
    cache = ResultCache(max_bytes=100_000)
    cache.put(("huge",), [("x" * 20_000,)])  # over a tenth of the bound: not kept
    assert cache.get(("huge",)) is None and cache.bytes == 0
    for n in range(100):
        cache.put((n,), [("y" * 5_000,)])
    assert 0 < cache.bytes <= 100_000
    assert cache.get((99,)) is not None and cache.get((0,)) is None


def test_clear_empties_everything() -> None:
    cache = ResultCache()
    cache.put(("q", 1), [(1, 2)])
    cache.clear()
    assert cache.get(("q", 1)) is None and cache.bytes == 0 and len(cache) == 0
