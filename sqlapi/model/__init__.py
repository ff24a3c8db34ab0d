"""The pure model every stage shares: the schema, values, cursors, URL names, errors."""
