"""Marks a view carries, read by the API's gate and by the OpenAPI provider: documented
once per table or query, only for callers allowed every table, without ETags."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

View = TypeVar("View", bound=Callable[..., Awaitable[Any]])
DOCUMENTED_APART = "sqlapi_documented_apart"
UNSCOPED = "sqlapi_unscoped"
UNTAGGED = "sqlapi_untagged"


def documented_apart(view: View) -> View:
    """A generic view that the OpenAPI document describes once per table or query."""
    setattr(view, DOCUMENTED_APART, True)
    return view


def unscoped(view: View) -> View:
    """A view only callers allowed every table may use (it reads any table)."""
    setattr(view, UNSCOPED, True)
    return view


def untagged(view: View) -> View:
    """A view whose answers get no ETag and no 304 (endless streams)."""
    setattr(view, UNTAGGED, True)
    return view


def marks(view: object) -> tuple[bool, bool]:
    """(unscoped, untagged) of a view."""
    return getattr(view, UNSCOPED, False), getattr(view, UNTAGGED, False)
