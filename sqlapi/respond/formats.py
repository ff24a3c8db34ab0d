"""THE format registry: every representation an answer can take (media type, whether it
streams, how its rows are written, its file name), read by content negotiation, the
export streamer and the OpenAPI document alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from sqlapi.model.encoding import (
    Convert,
    Values,
    csv_lines,
    ndjson_lines,
    ndjson_values,
    shape_rows,
)
from sqlapi.model.schema import Column
from sqlapi.respond.related import Members, attach


@dataclass(frozen=True)
class Format:
    name: str  # what `_format` says
    media_type: str
    streams: bool  # every matching row, in batches, in constant memory

    def batch(
        self,
        names: Sequence[str],
        rows: Sequence[Values],
        convert: Convert | None,
        *,
        arrays: bool = False,
        columns: Sequence[Column] | None = None,
        members: Members | None = None,
    ) -> bytes:
        """A batch of rows as this format streams them: CSV records (`columns` say which
        cells may need converting), or NDJSON objects (arrays if `arrays`), each row with
        its related `members`."""
        if self.name == "csv":
            return csv_lines(rows, convert, columns)
        if members is None:
            return ndjson_lines(None if arrays else names, rows, convert)
        shaped = shape_rows(names, rows, "arrays" if arrays else "objects", convert)
        attach(shaped, members)
        return ndjson_values(shaped)

    def header(self, names: Sequence[str]) -> bytes:
        """What a stream of this format starts with: CSV's header record."""
        return csv_lines([list(names)], None) if self.name == "csv" else b""

    def disposition(self, name: str) -> dict[str, str]:
        """A CSV export is a file to save: `Content-Disposition` names it after `name`."""
        if self.name != "csv":
            return {}
        ascii_name = "".join(
            c if c.isascii() and (c.isalnum() or c in "-_. ") else "_" for c in name
        )
        return {
            "Content-Disposition": f'attachment; filename="{ascii_name or "rows"}.csv"; '
            f"filename*=UTF-8''{quote(name, safe='')}.csv"
        }


FORMATS: Mapping[str, Format] = {
    f.name: f
    for f in (
        Format("json", "application/json", streams=False),
        Format("ndjson", "application/x-ndjson", streams=True),
        Format("csv", "text/csv; charset=utf-8; header=present", streams=True),
    )
}
# Accept's media types for each format (NDJSON has two names in use).
ACCEPTED: Mapping[str, str] = {
    "application/json": "json",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "text/csv": "csv",
}
JSON = FORMATS["json"]
