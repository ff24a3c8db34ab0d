"""THE SQL builder: typed requests in, (sql, params) out. Pure: no I/O, no web framework.
The only package where SQL text is written; its modules build from the pieces in
`clauses` and `conditions`."""
