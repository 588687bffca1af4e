"""Picks the event loop the project's processes run on: uvloop when installed, else asyncio's."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

#: ``asyncio`` forces asyncio's own event loop; anything else (or unset) prefers uvloop.
EVENT_LOOP_ENV = "MEDCAM_EVENT_LOOP"


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop's loop when installed and not turned off by ``MEDCAM_EVENT_LOOP=asyncio``.

    On loopback it takes 10-20 % off the CPU of a grpc.aio call and about 10 % off a
    uvicorn request (``python -m bench.library_floor``); grpc.aio, uvicorn and the
    HTTP transport in workers.http are tested on it.
    """
    if os.environ.get(EVENT_LOOP_ENV, "").strip().lower() != "asyncio":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.new_event_loop
    return asyncio.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on the loop ``loop_factory`` picks."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
