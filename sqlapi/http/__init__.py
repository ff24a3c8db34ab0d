"""The HTTP layer: ASGI middleware, the Quart connection, the API's gate, the routes."""
