"""Running a client's own SQL (/api/sql): on a connection of its own, under the limits of
client SQL (small values: one step of `instr` or `replace` costs the product of its
arguments' lengths), checked by its compiled program before it runs (`bytecode`), in
one read transaction, and read within the response budget."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass

from sqlapi.model.errors import ResponseTooLarge
from sqlapi.model.values import Row
from sqlapi.store.budget import Budget
from sqlapi.store.pool import Connection, Pool, executing, fetch_rows
from sqlapi.store.programs import (
    InternalSteps,
    ReadPolicy,
    calibration,
    check_program,
    opened_handles,
)
from sqlapi.store.readonly import Authorizer, Limits


@dataclass(frozen=True)
class ClientRules:
    """What a client's SQL may do: read what `policy` allows, under `authorizer` (which
    refuses writes, pragmas, denied tables and hidden columns with a clear error) and
    `limits`."""

    policy: ReadPolicy
    authorizer: Authorizer
    limits: Limits


def _lenient_text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


async def run_client_sql(
    pool: Pool,
    rules: ClientRules,
    sql: str,
    params: Mapping[str, object],
    limit: int,
    max_bytes: int,
) -> tuple[list[str], list[Row]]:
    """(column names, at most `limit` rows). A 403 problem if the statement would read
    anything not exposed; the time limit covers the check and the reading."""
    steps = InternalSteps(rules.authorizer)
    async with pool.own(steps, rules.limits) as connection:
        connection.conn.text_factory = _lenient_text  # client SQL can make any bytes
        return await pool.timed(
            connection,
            lambda: _checked_run(connection, steps, rules, sql, params, limit, max_bytes),
            "untrusted",
        )


async def _checked_run(
    connection: Connection,
    steps: InternalSteps,
    rules: ClientRules,
    sql: str,
    params: Mapping[str, object],
    limit: int,
    max_bytes: int,
) -> tuple[list[str], list[Row]]:
    conn, policy, value_bytes = connection.conn, rules.policy, rules.limits.value_bytes
    handles: frozenset[str] = frozenset()
    for statement in calibration(policy):
        try:
            handles |= opened_handles(list(await conn.execute_fetchall(statement)))
        except sqlite3.Error:
            continue  # not in this SQLite build
    steps.internal = True
    try:
        await conn.execute("BEGIN")
        await conn.execute("SELECT 1 FROM sqlite_schema LIMIT 0")  # the snapshot starts here
    finally:
        steps.internal = False
    try:
        program = await conn.execute_fetchall("EXPLAIN " + sql, params)
        check_program(list(program), policy, handles)
        async with executing(connection, sql, params) as cursor:
            names = [d[0] for d in cursor.description or ()]
            largest = max(len(names), 1) * value_bytes  # JSON escaping aside: see Budget
            budget = Budget(max_bytes, limit, largest_row=largest)
            rows = await fetch_rows(cursor, budget)
        if budget.over:
            raise ResponseTooLarge(max_bytes)
        return names, rows
    except asyncio.CancelledError:
        connection.raw.interrupt()  # before the COMMIT below queues behind the statement
        raise
    finally:
        steps.internal = True
        try:
            await conn.execute("COMMIT")
        finally:
            steps.internal = False
