"""ASGI middleware, outermost first: stalls, compression, slashes."""
