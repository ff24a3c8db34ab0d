"""SQLite: hardened connections, the pool, the watcher, introspection and what is exposed."""
