"""The child process that runs the embedded engine and shop for a console (one asyncio loop)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from pathlib import Path

from console.embedded import (
    API_KEY_ENV,
    CALLBACK_FAIL_RATE_ENV,
    CALLBACK_SECRET_ENV,
    DECLINE_RATE_ENV,
    DEMO_SEED_ENV,
)
from console.logging_setup import setup_logging
from serving.event_loop import run


def _demo_faults():
    """The shop's starting demo faults from the environment the console set."""
    from shop.faults import DemoFaults

    seed = os.environ.get(DEMO_SEED_ENV, "").strip()
    return DemoFaults(
        callback_fail_rate=float(os.environ.get(CALLBACK_FAIL_RATE_ENV) or 0),
        decline_rate=float(os.environ.get(DECLINE_RATE_ENV) or 0),
        seed=int(seed) if seed else None,
    )


async def _serve(args: argparse.Namespace) -> int:
    from engine.server import EngineServer
    from shop.server import ShopServer

    data_dir = Path(args.data_dir)
    engine = EngineServer(data_dir, grpc_port=args.grpc_port, rest_port=args.rest_port) if args.grpc_port >= 0 else None
    shop = None
    try:
        if args.shop_port >= 0:
            shop = ShopServer(
                data_dir,
                port=args.shop_port,
                callback_secret=os.environ.get(CALLBACK_SECRET_ENV) or None,
                api_key=os.environ.get(API_KEY_ENV) or None,
                faults=_demo_faults(),
            )
    except ValueError as exc:
        _say({"error": f"bad demo fault setting: {exc}"})
        return 1
    try:
        if engine is not None:
            await engine.start()
        if shop is not None:
            await shop.start()
    except OSError as exc:
        _say({"error": f"cannot bind a port: {exc.strerror or exc}"})
        return 1
    except Exception as exc:
        logging.getLogger(__name__).exception("embedded services failed to start")
        _say({"error": f"{type(exc).__name__}: {exc}"})
        return 1
    _say(
        {
            "ready": True,
            "pid": os.getpid(),
            "grpc_port": engine.grpc_port if engine else None,
            "rest_port": engine.rest_port if engine else None,
            "shop_port": shop.port if shop else None,
        }
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # The console holds our stdin open; when it exits (even killed), stdin closes and we stop.
    watcher = loop.create_task(asyncio.to_thread(sys.stdin.buffer.read))
    watcher.add_done_callback(lambda _: stop.set())
    await stop.wait()
    if shop is not None:
        await shop.stop()
    if engine is not None:
        await engine.stop()
    watcher.cancel()
    return 0


def _say(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(prog="medcam-embedded", description=__doc__)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--grpc-port", type=int, default=-1, help="-1: no engine")
    parser.add_argument("--rest-port", type=int, default=0)
    parser.add_argument("--shop-port", type=int, default=-1, help="-1: no shop")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--standby", action="store_true",
                        help="load everything, then wait for a 'start' line on stdin before serving")
    args = parser.parse_args()
    Path(args.data_dir).mkdir(parents=True, exist_ok=True)
    setup_logging(Path(args.data_dir) / "embedded.log", args.log_level)
    with contextlib.suppress(KeyboardInterrupt):
        if args.standby and not _wait_for_start():
            sys.exit(0)
        sys.exit(run(_serve(args)))


def _wait_for_start() -> bool:
    """A standby child: import the engine and shop now (most of a start's time), then wait.

    True when the console says ``start`` (its child died: take over); False when stdin
    closes first (the console stopped or died: nothing to do).
    """
    import engine.server  # noqa: F401
    import shop.server  # noqa: F401

    return sys.stdin.buffer.readline().strip() == b"start"


if __name__ == "__main__":
    main()
