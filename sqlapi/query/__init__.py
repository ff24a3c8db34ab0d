"""THE SQL builder: typed requests in, (sql, params) out. Pure: no I/O, no web framework.
The only package where SQL text is written; its modules build from the pieces in
`clauses`."""

from __future__ import annotations

from sqlapi.query.clauses import (
    EVERY_ROW,
    Query,
    RowsQuery,
    Scope,
    SortKey,
    after_clause,
    build_index_condition,
    cursor_scope,
    key_order,
    ordering,
    quote,
    row_identity,
)
from sqlapi.query.conditions import (
    ARRAY_OPERATORS,
    OPERATORS,
    PATTERN_OPERATORS,
    BoolGroup,
    Condition,
    Filter,
    Operator,
    RelatedFilter,
)
from sqlapi.query.rows import (
    RowsRequest,
    build_count_query,
    build_row_query,
    build_rows_query,
    build_values_query,
    split_page,
    values_scope,
)
from sqlapi.query.statements import (
    EPONYMOUS_TABLES,
    build_column_probe,
    build_expression_probe,
    build_named_query,
    build_open_probes,
    build_probe_query,
    build_read_probe,
    build_write_probes,
    claim_parameters,
)

__all__ = [
    "ARRAY_OPERATORS",
    "EPONYMOUS_TABLES",
    "EVERY_ROW",
    "OPERATORS",
    "PATTERN_OPERATORS",
    "BoolGroup",
    "Condition",
    "Filter",
    "Operator",
    "Query",
    "RelatedFilter",
    "RowsQuery",
    "RowsRequest",
    "Scope",
    "SortKey",
    "after_clause",
    "build_column_probe",
    "build_count_query",
    "build_expression_probe",
    "build_index_condition",
    "build_named_query",
    "build_open_probes",
    "build_probe_query",
    "build_read_probe",
    "build_row_query",
    "build_rows_query",
    "build_values_query",
    "build_write_probes",
    "claim_parameters",
    "cursor_scope",
    "key_order",
    "ordering",
    "quote",
    "row_identity",
    "split_page",
    "values_scope",
]  # fmt: skip
