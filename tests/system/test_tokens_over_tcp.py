"""A minted token, against a real server over TCP."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.servers import COMMAND, fetch, serving


@pytest.mark.slow
def test_a_minted_token_reads_ones_own_loans_over_tcp(tmp_path: Path) -> None:
    config = tmp_path / "sqlapi.toml"
    config.write_text(
        "[auth.jwt]\nsecret = '" + "d" * 48 + "'\nalgorithms = ['HS256']\n"
        "[tables.loans]\nrow_filter = { member_id = 'sub' }\n"
    )
    minted = subprocess.run(
        [*COMMAND, "token", "--config", str(config), "--claims", '{"sub": "206"}'],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    with serving("--config", str(config)) as server:
        url = f"{server.url}/api/tables/loans/rows"
        status, headers, body = fetch(url, headers={"Authorization": f"Bearer {minted}"})
        assert status == 200
        assert {r["member_id"] for r in json.loads(body)["rows"]} == {206}
        assert "Authorization" in headers.get("vary", "")
        status, headers, _ = fetch(url)
        assert status == 401 and "Bearer" in headers.get("www-authenticate", "")
