"""Reading sqlapi's OpenAPI document as a client generator does: references resolved, and
a form-exploded object parameter (a table's `filters`) read as the query parameters it
stands for, one per member."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]


def resolve(document: Json, node: Json) -> Json:
    while "$ref" in node:
        _, _, kind, name = node["$ref"].split("/", 3)
        node = document["components"][kind][name]
    return node


def parameters(document: Json, operation: Json) -> list[Json]:
    """The operation's parameters as they travel: a form-exploded object is its members."""
    found: list[Json] = []
    for param in (resolve(document, p) for p in operation.get("parameters", [])):
        schema = resolve(document, param["schema"]) if "schema" in param else {}
        if param.get("style") == "form" and param.get("explode") and "properties" in schema:
            found += [
                {"name": name, "in": param["in"], "schema": member}
                for name, member in schema["properties"].items()
            ]
        else:
            found.append(param)
    return found
