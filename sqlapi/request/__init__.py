"""Query string -> typed request. Pure: imports neither quart nor aiosqlite."""
