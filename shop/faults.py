"""Demo fault injection: status callbacks answered 500, and converted orders with declined payment.

Off by default. ``callbacks_down`` makes every ``POST /demo`` a 500 ("the shop is down");
``callback_fail_rate`` does so for that share of them; ``decline_rate`` is the share of draft
orders converted with Medusa's ``payment_status: "canceled"``. The draws come from one
``random.Random`` that a seed makes repeatable. ``/medcam/faults`` reads and switches them.
"""

from __future__ import annotations

import logging
import math
import random
import threading

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .answers import Faults
from .bodies import FaultsUpdate
from .errors import InvalidData, medusa_endpoint
from .operations import Guards, admin_operation, shop_router
from .requestbody import BodyError, read_model

log = logging.getLogger(__name__)

FAULTS_PATH = "/medcam/faults"


def _rate(name: str, value: float) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and 0 <= value <= 1):
        raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
    return float(value)


class DemoFaults:
    """The faults in force now; safe to read and change from any thread."""

    def __init__(
        self,
        *,
        callbacks_down: bool = False,
        callback_fail_rate: float = 0.0,
        decline_rate: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self.callbacks_down = bool(callbacks_down)
        self.callback_fail_rate = _rate("callback_fail_rate", callback_fail_rate)
        self.decline_rate = _rate("decline_rate", decline_rate)
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def _draw(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            return self._random.random() < rate

    def callback_failure(self) -> str | None:
        """Why this status callback is answered 500, or None to handle it."""
        if self.callbacks_down:
            return "Injected fault: the shop is down (demo fault injection)"
        if self._draw(self.callback_fail_rate):
            return "Injected fault: callback failed (demo fault injection)"
        return None

    def declines(self) -> bool:
        """Whether the order being converted now gets a declined payment."""
        return self._draw(self.decline_rate)

    def update(self, change: FaultsUpdate) -> None:
        if change.callbacks_down is not None:
            self.callbacks_down = change.callbacks_down
        if change.callback_fail_rate is not None:
            self.callback_fail_rate = _rate("callback_fail_rate", change.callback_fail_rate)
        if change.decline_rate is not None:
            self.decline_rate = _rate("decline_rate", change.decline_rate)

    def view(self) -> dict:
        return {
            "callbacks_down": self.callbacks_down,
            "callback_fail_rate": self.callback_fail_rate,
            "decline_rate": self.decline_rate,
        }


def faults_router(faults: DemoFaults, guards: Guards) -> APIRouter:
    """``GET``/``PUT /medcam/faults``, guarded like the Admin API."""
    router = shop_router()

    async def show(request: Request) -> Response:
        return JSONResponse(faults.view())

    async def change(request: Request) -> Response:
        try:
            update = read_model(
                await request.body(), FaultsUpdate,
                'a JSON object such as {"callbacks_down": true, "callback_fail_rate": 0.2}',
            )
        except BodyError as exc:
            raise InvalidData(str(exc)) from None
        faults.update(update)
        log.warning("demo faults now %s", faults.view())
        return JSONResponse(faults.view())

    for method, handler, summary, options in (
        ("GET", show, "The demo faults in force (embedded shop only)", {}),
        ("PUT", change, "Switch demo faults: fields left out keep their value (embedded shop "
         "only)", {"body": FaultsUpdate, "post": True}),
    ):
        operation = admin_operation(guards, summary, Faults, found=False, **options)
        operation["tags"] = ["demo"]
        router.add_api_route(FAULTS_PATH, medusa_endpoint(handler), methods=[method], **operation)
    return router
