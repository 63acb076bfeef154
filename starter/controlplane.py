"""A reference control plane: the stand-in for a team's own, over Postgres.

It implements the endpoints the operations runbook names, and honours
``Idempotency-Key``: the first request with a key acts and stores its answer
in the same transaction; any later request with that key gets the stored
answer and acts again never. Point Warroom at your own control plane with
``WARROOM_CONTROL_PLANE_URL``; this is the HTTP contract it must keep.

Run it alone with ``python -m starter.controlplane`` (``CONTROL_PLANE_ADDR``,
``DATABASE_URL``); `warroom up` starts it for the demo.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

import asyncpg
from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from activities.pool import LazyPool
from settings import EnvSettings, SettingsError
from settings.fields import host_port, split_host_port

SCHEMA = """
CREATE TABLE IF NOT EXISTS cp_deployments (
    id text PRIMARY KEY, version text NOT NULL, stable_version text NOT NULL,
    autonomy_tier text NOT NULL DEFAULT 'L3', promotion_frozen boolean NOT NULL DEFAULT false);
CREATE TABLE IF NOT EXISTS cp_triggers (
    id text PRIMARY KEY, org text NOT NULL, is_enabled boolean NOT NULL DEFAULT true);
CREATE TABLE IF NOT EXISTS cp_orgs (
    id text PRIMARY KEY, denylist_active boolean NOT NULL DEFAULT false,
    scheduled_paused boolean NOT NULL DEFAULT false,
    autonomy_tier text NOT NULL DEFAULT 'L3');
CREATE TABLE IF NOT EXISTS cp_idempotency (
    key text PRIMARY KEY, status integer NOT NULL, body jsonb NOT NULL,
    at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS cp_effects (
    id bigserial PRIMARY KEY, key text NOT NULL, action text NOT NULL, target text NOT NULL,
    at timestamptz NOT NULL DEFAULT now());
"""

SAMPLE = """
INSERT INTO cp_deployments (id, version, stable_version) VALUES
    ('agents-api', 'v42', 'v41'), ('agents-runner', 'v17', 'v16') ON CONFLICT DO NOTHING;
INSERT INTO cp_triggers (id, org) VALUES
    ('nightly-digest', 'acme'), ('crm-sync', 'acme') ON CONFLICT DO NOTHING;
INSERT INTO cp_orgs (id) VALUES ('acme'), ('globex') ON CONFLICT DO NOTHING;
"""


class Rollback(BaseModel):
    """Roll back to ``target_version``, or to the last known good version."""

    target_version: str | None = None


class TriggerPatch(BaseModel):
    """Enable or disable a trigger."""

    is_enabled: bool


class Denylist(BaseModel):
    """Activate or lift the org's emergency denylist."""

    active: bool


class Autonomy(BaseModel):
    """Set a deployment's autonomy tier (L1 is recommendation-only)."""

    tier: str


class QualityGate(BaseModel):
    """Freeze or unfreeze a deployment's promotion."""

    deployment_id: str
    promotion_frozen: bool


Effect = Callable[[asyncpg.Connection], Awaitable[dict[str, Any]]]


def create_control_plane(database_url: str, *, token: str | None = None) -> FastAPI:
    """The app: the runbook's endpoints over ``database_url``; ``token`` makes them ask for it."""

    async def prepare(conn: asyncpg.Connection) -> None:
        await conn.execute(SCHEMA)
        await conn.execute(SAMPLE)

    # Opened once by the first request, the others waiting: two first requests at once
    # (a rollback and a trigger approved together) must not both create the tables.
    pool = LazyPool(database_url, min_size=1, max_size=4, check=prepare)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await pool.close()  # before the database goes away

    app = FastAPI(title="Warroom reference control plane", version="1", lifespan=lifespan)

    async def db() -> asyncpg.Pool:
        return await pool.get()

    async def once(
        request: Request, key: str | None, action: str, target: str, effect: Effect
    ) -> JSONResponse:
        if token and request.headers.get("authorization") != f"Bearer {token}":
            raise HTTPException(401, "bearer token required")
        if not key:
            raise HTTPException(400, "Idempotency-Key header required")
        async with (await db()).acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", key)
            stored = await conn.fetchrow(
                "SELECT status, body FROM cp_idempotency WHERE key = $1", key
            )
            if stored is not None:
                body = json.loads(stored["body"])
                return JSONResponse({**body, "replayed": True}, status_code=stored["status"])
            body = await effect(conn)
            await conn.execute(
                "INSERT INTO cp_effects (key, action, target) VALUES ($1,$2,$3)",
                key,
                action,
                target,
            )
            await conn.execute(
                "INSERT INTO cp_idempotency (key, status, body) VALUES ($1,200,$2)",
                key,
                json.dumps(body),
            )
        return JSONResponse(body)

    async def require(conn: asyncpg.Connection, table: str, id_: str, what: str) -> asyncpg.Record:
        row = await conn.fetchrow(f"SELECT * FROM {table} WHERE id = $1 FOR UPDATE", id_)
        if row is None:
            raise HTTPException(404, f"no {what} {id_!r}")
        return row

    @app.post("/api/v1/agents/deployments/{deployment}/rollback")
    async def rollback(
        deployment: str,
        payload: Rollback,
        request: Request,
        idempotency_key: str | None = Header(default=None),
    ) -> JSONResponse:
        """Roll the deployment back to its last known good (or the given) version."""

        async def effect(conn: asyncpg.Connection) -> dict[str, Any]:
            row = await require(conn, "cp_deployments", deployment, "deployment")
            target = payload.target_version or row["stable_version"]
            await conn.execute(
                "UPDATE cp_deployments SET version = $2 WHERE id = $1", deployment, target
            )
            return {
                "detail": f"{deployment} rolled back {row['version']} → {target}",
                "previous": row["version"],
            }

        return await once(request, idempotency_key, "rollback", deployment, effect)

    @app.patch("/api/v1/agents/triggers/{trigger}")
    async def patch_trigger(
        trigger: str,
        payload: TriggerPatch,
        request: Request,
        idempotency_key: str | None = Header(default=None),
    ) -> JSONResponse:
        """Enable or disable a trigger."""

        async def effect(conn: asyncpg.Connection) -> dict[str, Any]:
            await require(conn, "cp_triggers", trigger, "trigger")
            await conn.execute(
                "UPDATE cp_triggers SET is_enabled = $2 WHERE id = $1", trigger, payload.is_enabled
            )
            state = "enabled" if payload.is_enabled else "disabled"
            return {"detail": f"trigger {trigger} {state}"}

        return await once(request, idempotency_key, "trigger", trigger, effect)

    @app.put("/api/v1/orgs/{org}/emergency-denylist")
    async def denylist(
        org: str,
        payload: Denylist,
        request: Request,
        idempotency_key: str | None = Header(default=None),
    ) -> JSONResponse:
        """Activate or lift the org's emergency denylist (blocks external side effects)."""

        async def effect(conn: asyncpg.Connection) -> dict[str, Any]:
            await require(conn, "cp_orgs", org, "org")
            await conn.execute(
                "UPDATE cp_orgs SET denylist_active = $2 WHERE id = $1", org, payload.active
            )
            return {
                "detail": f"emergency denylist {'active' if payload.active else 'lifted'} for {org}"
            }

        return await once(request, idempotency_key, "denylist", org, effect)

    @app.post("/api/v1/orgs/{org}/scheduled-triggers/{verb}")
    async def scheduled(
        org: str, verb: str, request: Request, idempotency_key: str | None = Header(default=None)
    ) -> JSONResponse:
        """Pause or resume the org's autonomous scheduled triggers."""
        if verb not in ("pause", "resume"):
            raise HTTPException(404, f"no such operation {verb!r}")

        async def effect(conn: asyncpg.Connection) -> dict[str, Any]:
            await require(conn, "cp_orgs", org, "org")
            await conn.execute(
                "UPDATE cp_orgs SET scheduled_paused = $2 WHERE id = $1", org, verb == "pause"
            )
            return {"detail": f"scheduled triggers {verb}d for {org}"}

        return await once(request, idempotency_key, f"scheduled-{verb}", org, effect)

    @app.put("/api/v1/agents/deployments/{deployment}/autonomy")
    async def autonomy(
        deployment: str,
        payload: Autonomy,
        request: Request,
        idempotency_key: str | None = Header(default=None),
    ) -> JSONResponse:
        """Set the deployment's autonomy tier; answers the tier it replaced."""

        async def effect(conn: asyncpg.Connection) -> dict[str, Any]:
            row = await require(conn, "cp_deployments", deployment, "deployment")
            await conn.execute(
                "UPDATE cp_deployments SET autonomy_tier = $2 WHERE id = $1",
                deployment,
                payload.tier,
            )
            return {
                "detail": f"{deployment} autonomy {row['autonomy_tier']} → {payload.tier}",
                "previous": row["autonomy_tier"],
            }

        return await once(request, idempotency_key, "autonomy", deployment, effect)

    @app.put("/api/v1/orgs/{org}/autonomy")
    async def org_autonomy(
        org: str,
        payload: Autonomy,
        request: Request,
        idempotency_key: str | None = Header(default=None),
    ) -> JSONResponse:
        """Set the autonomy tier of every deployment of an org; answers the tier it replaced."""

        async def effect(conn: asyncpg.Connection) -> dict[str, Any]:
            row = await require(conn, "cp_orgs", org, "org")
            await conn.execute(
                "UPDATE cp_orgs SET autonomy_tier = $2 WHERE id = $1", org, payload.tier
            )
            return {
                "detail": f"org {org} autonomy {row['autonomy_tier']} → {payload.tier}",
                "previous": row["autonomy_tier"],
            }

        return await once(request, idempotency_key, "org-autonomy", org, effect)

    @app.post("/api/v1/agents/quality/gates")
    async def quality_gate(
        payload: QualityGate, request: Request, idempotency_key: str | None = Header(default=None)
    ) -> JSONResponse:
        """Freeze or unfreeze promotion of a deployment (the regression gate)."""

        async def effect(conn: asyncpg.Connection) -> dict[str, Any]:
            await require(conn, "cp_deployments", payload.deployment_id, "deployment")
            await conn.execute(
                "UPDATE cp_deployments SET promotion_frozen = $2 WHERE id = $1",
                payload.deployment_id,
                payload.promotion_frozen,
            )
            state = "frozen" if payload.promotion_frozen else "unfrozen"
            return {"detail": f"promotion of {payload.deployment_id} {state}"}

        return await once(request, idempotency_key, "quality-gate", payload.deployment_id, effect)

    @app.get("/api/v1/state")
    async def state() -> dict[str, Any]:
        """Every deployment, trigger and org, and how many effects were applied."""
        async with (await db()).acquire() as conn:
            return {
                "deployments": [
                    dict(r) for r in await conn.fetch("SELECT * FROM cp_deployments ORDER BY id")
                ],
                "triggers": [
                    dict(r) for r in await conn.fetch("SELECT * FROM cp_triggers ORDER BY id")
                ],
                "orgs": [dict(r) for r in await conn.fetch("SELECT * FROM cp_orgs ORDER BY id")],
                "effects": [
                    dict(r) | {"at": r["at"].isoformat()}
                    for r in await conn.fetch(
                        "SELECT key, action, target, at FROM cp_effects ORDER BY id"
                    )
                ],
            }

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Up and able to reach its database."""
        async with (await db()).acquire() as conn:
            await conn.fetchval("SELECT 1")
        return {"status": "ok"}

    return app


DEFAULT_ADDR = "127.0.0.1:8090"


class ControlPlaneSettings(EnvSettings):
    """Where the reference control plane listens, its database, and the token it asks for."""

    address: Annotated[str, host_port(DEFAULT_ADDR)] = Field(
        DEFAULT_ADDR, validation_alias="CONTROL_PLANE_ADDR"
    )
    database_url: str = Field(repr=False, validation_alias="DATABASE_URL")
    token: str | None = Field(None, repr=False, validation_alias="CONTROL_PLANE_TOKEN")


def main() -> int:
    """Entry point: serve on CONTROL_PLANE_ADDR (default 127.0.0.1:8090)."""
    import uvicorn

    try:
        settings = ControlPlaneSettings.from_env()
    except SettingsError as err:
        print(f"control plane: {err}", file=sys.stderr)
        return 2
    host, port = split_host_port(settings.address, example=DEFAULT_ADDR)
    app = create_control_plane(settings.database_url, token=settings.token)
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
