"""The embedded shop's history of order metadata writes: every change of an order, in order.

A real Medusa keeps no such history; the embedded shop does, so that tests (the chaos tier)
and an operator can check that no ``workflow_status`` ever moved backwards and that no stage
was applied twice. A SQLite trigger writes each row in the transaction of the change it
records, whichever route made it (status callback, Admin API merge, complete-order).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlite_utils import Database
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .answers import Error
from .operations import errors, path_ids, shop_router

TABLE = "metadata_history"
ROUTE = "/medcam/orders/{order_id}/metadata-history"

_TRIGGER = f"""
CREATE TRIGGER IF NOT EXISTS {TABLE}_on_change AFTER UPDATE OF metadata, status ON orders
WHEN new.is_draft = 0 AND (new.metadata IS NOT old.metadata OR new.status IS NOT old.status)
BEGIN
    INSERT INTO {TABLE} (order_id, at, workflow_status, last_updated, order_status, metadata)
    VALUES (new.id, new.updated_at, json_extract(new.metadata, '$.workflow_status'),
            json_extract(new.metadata, '$.last_updated'), new.status, new.metadata);
END
"""


def ensure_history(db: Database) -> None:
    """Create the history table, its index and the trigger that fills it, if missing."""
    with db.atomic():
        db.table(TABLE).create(
            {"seq": int, "order_id": str, "at": str, "workflow_status": str, "last_updated": str,
             "order_status": str, "metadata": str},
            pk="seq", not_null={"order_id", "at", "order_status", "metadata"}, if_not_exists=True,
        )
        db.table(TABLE).create_index(["order_id", "seq"], if_not_exists=True)
        db.execute(_TRIGGER)


def history_of(db_path: Path, order_id: str) -> list[dict] | None:
    """Every recorded change of ``order_id``, oldest first; None if there is no such order.

    Reads on a connection of its own (WAL lets it read beside the shop's writer).
    """
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5.0)
    try:
        if conn.execute("SELECT 1 FROM orders WHERE id = ? AND is_draft = 0", (order_id,)).fetchone() is None:
            return None
        rows = conn.execute(
            f"SELECT seq, at, workflow_status, last_updated, order_status, metadata FROM {TABLE} "
            "WHERE order_id = ? ORDER BY seq",
            (order_id,),
        ).fetchall()
    finally:
        conn.close()
    return [
        {"seq": seq, "at": at, "workflow_status": status, "last_updated": last_updated,
         "order_status": order_status, "metadata": json.loads(metadata)}
        for seq, at, status, last_updated, order_status, metadata in rows
    ]


class MetadataWrite(BaseModel):
    """One change of an order's metadata or status."""

    model_config = ConfigDict(extra="forbid")

    seq: int = Field(description="Order of the change in the whole shop")
    at: str = Field(description="The order's updated_at after the change")
    workflow_status: str | None
    last_updated: str | None = Field(description="Stamped by each status callback")
    order_status: str
    metadata: dict[str, Any] = Field(description="The whole metadata after the change")


class MetadataHistory(BaseModel):
    """Every recorded change of one order, oldest first."""

    model_config = ConfigDict(extra="forbid")

    order_id: str
    writes: list[MetadataWrite]


def history_router(db_path: Path) -> APIRouter:
    """``GET /medcam/orders/{id}/metadata-history``: the embedded shop's own route, not Medusa's."""
    router = shop_router()

    async def metadata_history(request: Request) -> Response:
        order_id = request.path_params["order_id"]
        writes = await asyncio.to_thread(history_of, db_path, order_id)
        if writes is None:
            return JSONResponse(
                {"type": "not_found", "message": f"Order with id: {order_id} was not found"}, status_code=404
            )
        return JSONResponse({"order_id": order_id, "writes": writes})

    router.add_api_route(
        ROUTE, metadata_history, methods=["GET"], tags=["service"],
        summary="Every change of one order's metadata or status, oldest first (embedded shop only)",
        response_model=MetadataHistory, response_description="The order's changes",
        responses=errors(Error, 404, 429),
        openapi_extra={"security": [], "parameters": path_ids("order_id")},
    )
    return router
