"""What SQL may call: the functions and virtual-table modules a statement (sqlapi's own, a
view's body, a generated column, a client's SQL) may reach, and whether the file's schema
may be trusted with them.

One list decides it. SQLite's own functions are on it, but for those that load code
(`load_extension`), hand out pointers (`fts3_tokenizer`, `fts5`), write to the log or
debug internals (`sqlite_log`, `rtree*`, `geopoly_debug`, FTS3's `optimize`). Nothing
else is: a function a SQLite build or an extension registers beside them is refused by
every connection's authorizer (views, client SQL) and makes an object whose program
calls it (a generated column) unserved, with the reason.

`trusted_schema=OFF` exists to keep a schema from calling functions and virtual tables
that are not marked harmless; SQLite 3.40 marks neither its JSON functions nor R*Tree so,
and refuses files that use them in an index, a generated column or a view. With the list
above deciding instead, trusting the schema reaches nothing the list does not allow, so
sqlapi trusts it, but only where SQLite's library registers nothing outside its own
catalog that trust would unlock (`trust_schema`): a build that does keeps
`trusted_schema=OFF`, and SQLite refuses such functions in schemas itself.
"""

from __future__ import annotations

import functools
import sqlite3


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


ALLOWED_FUNCTIONS = _words(
    """
    abs changes char coalesce concat concat_ws format glob hex if ifnull iif instr
    last_insert_rowid length like likelihood likely lower ltrim max min nullif octet_length
    printf quote random randomblob replace round rtrim sign soundex sqlite_compileoption_get
    sqlite_compileoption_used sqlite_offset sqlite_source_id sqlite_version substr substring
    subtype total_changes trim typeof unhex unicode unistr unistr_quote unlikely upper zeroblob
    date time datetime julianday unixepoch strftime timediff current_date current_time
    current_timestamp
    acos acosh asin asinh atan atan2 atanh ceil ceiling cos cosh degrees exp floor ln log
    log10 log2 mod pi pow power radians sin sinh sqrt tan tanh trunc
    avg count group_concat string_agg sum total median percentile percentile_cont
    percentile_disc
    row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value
    nth_value
    -> ->> json json_array json_array_length json_error_position json_extract
    json_group_array json_group_object json_insert json_object json_patch json_pretty
    json_quote json_remove json_replace json_set json_type json_valid jsonb jsonb_array
    jsonb_extract jsonb_group_array jsonb_group_object jsonb_insert jsonb_object jsonb_patch
    jsonb_remove jsonb_replace jsonb_set
    match snippet highlight bm25 offsets matchinfo fts5_source_id fts5_get_locale
    fts5_locale fts5_insttoken
    geopoly_area geopoly_bbox geopoly_blob geopoly_ccw geopoly_contains_point
    geopoly_group_bbox geopoly_json geopoly_overlap geopoly_regular geopoly_svg
    geopoly_within geopoly_xform
    """
)
# SQLite's own, and refused: they load code, hand out pointers, write to the log or read a
# virtual table's internals.
REFUSED_FUNCTIONS = _words(
    """
    load_extension fts3_tokenizer fts5 sqlite_log optimize rtreecheck rtreedepth rtreenode
    geopoly_debug readfile writefile edit
    """
)
# Modules whose virtual tables may be read: full-text indexes, spatial indexes, and the
# eponymous JSON tables. Anything else (dbstat, sqlite_dbpage, a module an extension
# adds) reads the file in ways no exposure rule governs.
ALLOWED_MODULES = frozenset(
    {"fts3", "fts4", "fts5", "fts5vocab", "fts4aux", "rtree", "rtree_i32", "geopoly"}
)
EPONYMOUS_MODULES = frozenset({"json_each", "json_tree"})

_INNOCUOUS = 0x200000  # SQLITE_INNOCUOUS: SQLite lets any schema call it
_DIRECT_ONLY = 0x080000  # SQLITE_DIRECTONLY: no schema may call it, trusted or not


def allowed_function(name: str) -> bool:
    return name.lower() in ALLOWED_FUNCTIONS


@functools.cache
def trust_schema() -> bool:
    """Whether `trusted_schema=ON` unlocks only SQLite's own functions in this process's
    SQLite library: those it flags neither innocuous nor direct-only are all in its
    catalog. (sqlapi's own function is not the library's: its authorizers refuse it to
    schemas, and an object whose program calls it is not served.)"""
    known = ALLOWED_FUNCTIONS | REFUSED_FUNCTIONS
    conn = sqlite3.connect(":memory:")
    try:
        listed = conn.execute("SELECT name, flags FROM pragma_function_list").fetchall()
    except sqlite3.Error:
        return False  # cannot tell: SQLite's own caution
    finally:
        conn.close()
    unlocked = [name for name, flags in listed if not flags & (_INNOCUOUS | _DIRECT_ONLY)]
    return all(name.lower() in known for name in unlocked)
