"""UI benchmark: 10,000 orders through the embedded stack into the console; first frame,
keypress-to-repaint, CPU idle and while orders flow, RSS (``medcam-console bench --ui``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual import events

import console.app as console_app
from console.app import MedcamApp
from console.clients.errors import BackendError
from console.runtime import ConsoleRuntime
from console.settings import Settings
from console.widgets.orders_table import OrdersTable

SIZE = (120, 36)
#: What the issue asks of the console with 10,000 orders.
#: Seconds left to settle before an idle window (the feed's 2 s overlap, a heap settle).
SETTLE_S = 5.0
TARGETS = {"first_frame_ms": 1000.0, "keypress_p99_ms": 50.0, "idle_cpu_pct": 2.0, "rss_mb": 250.0}


class _TimedApp(MedcamApp):
    """The console app, noting when each frame reached the (headless) terminal."""

    CSS_PATH = str(Path(console_app.__file__).with_name(MedcamApp.CSS_PATH))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.frames: list[float] = []
        self.synced_at: float | None = None  # when the first refresh put orders in the table
        self._frame = asyncio.Event()

    def refresh_panels(self, *args: Any, **kwargs: Any) -> None:
        super().refresh_panels(*args, **kwargs)
        if self.synced_at is None and self.screen.query(OrdersTable) and self.screen.query_one(OrdersTable).row_count:
            self.synced_at = time.perf_counter()

    def post_display_hook(self) -> None:
        self.frames.append(time.perf_counter())
        self._frame.set()

    async def next_frame_after(self, start: float, within: float = 5.0) -> float:
        """Seconds from ``start`` to the first frame drawn after it."""
        async with asyncio.timeout(within):
            while not self.frames or self.frames[-1] <= start:
                self._frame.clear()
                await self._frame.wait()
        return next(f for f in self.frames if f > start) - start


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rss_mb() -> tuple[float, float]:
    """Current and peak resident set size of this process, in MB."""
    current = peak = 0.0
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                current = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    if not peak:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return round(current, 1), round(peak, 1)


def _percentiles(samples: list[float]) -> dict[str, float] | None:
    if not samples:
        return None
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered) * 1000, 2), "p99": round(p99 * 1000, 2),
            "max": round(ordered[-1] * 1000, 2), "n": len(ordered)}


async def _cpu_over(seconds: float, during: Callable[[], Awaitable[Any]] | None = None) -> tuple[float, float]:
    """CPU of this process (every thread) as % of one core over ``seconds`` of wall time."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if during is not None:
        await during()
    remaining = seconds - (time.perf_counter() - wall0)
    if remaining > 0:
        await asyncio.sleep(remaining)
    wall = time.perf_counter() - wall0
    return round((time.process_time() - cpu0) / wall * 100, 2), round(wall, 2)


async def _keypresses(app: _TimedApp, keys: list[str]) -> list[float]:
    """Post each key as the terminal would and time it to the next frame."""
    samples = []
    for key in keys:
        await asyncio.sleep(0.02)  # a fast typist, not a burst: each key gets its own frame
        character = key if len(key) == 1 else None
        start = time.perf_counter()
        app.post_message(events.Key(key, character))
        try:
            samples.append(await app.next_frame_after(start))
        except TimeoutError:
            samples.append(5.0)  # no repaint within 5 s counts as a stall
    return samples


def _has_filter(app: MedcamApp) -> bool:
    bindings = [*app.BINDINGS, *getattr(app.screen, "BINDINGS", [])]
    return any(getattr(b, "key", None) in ("slash", "/") for b in bindings)


async def _create_orders(runtime: ConsoleRuntime, count: int, concurrency: int) -> float:
    """Create ``count`` demo orders through the shop's Admin API; returns orders per second."""
    assert runtime.demo is not None
    started = time.perf_counter()
    remaining = count

    async def one_by_one() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            for attempt in range(3):
                try:
                    await runtime.demo.create()
                    break
                except BackendError:
                    if attempt == 2:
                        raise
                    await asyncio.sleep(0.2)

    await asyncio.gather(*(one_by_one() for _ in range(concurrency)))
    return round(count / (time.perf_counter() - started), 1)


async def _wait(check: Callable[[], bool], within: float, what: str) -> None:
    """Poll ``check`` (state owned by the app and runtime, which signal nothing) until it holds."""
    try:
        async with asyncio.timeout(within):
            while not check():  # noqa: ASYNC110 - no event to wait on; a benchmark may poll
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise TimeoutError(f"gave up waiting for {what} after {within:g} s") from None


async def run_ui_bench(orders: int = 10_000, flow: int = 200, *, timeout_s: float = 900,
                       delays: tuple[float, ...] = (0.0, 0.0, 0.0), idle_s: float = 10.0,
                       settle_s: float = SETTLE_S) -> dict[str, Any]:
    """Run the benchmark on a private embedded engine and shop; returns the figures.

    The console's runtime (workers, order feed, incident poller) runs from the start; the
    orders are created through the shop's Admin API and reach the console through its feed.
    Then the screen opens on them: first frame, keys, CPU idle, CPU while ``flow`` orders run.
    """
    with tempfile.TemporaryDirectory(prefix="medcam-ui-bench-") as tmp:
        grpc_port, rest_port, shop_port = _free_port(), _free_port(), _free_port()
        settings = Settings(
            data_dir=Path(tmp), engine_grpc_port=grpc_port, engine_rest_port=rest_port, shop_port=shop_port,
            stage_delays=delays, auto_start=False, demo_orders=0, poll_interval_s=1.0,
        )
        runtime = ConsoleRuntime(settings, workers=True, auto_start=False)
        await runtime.start()
        result: dict[str, Any] = {"orders": orders, "size": f"{SIZE[0]}x{SIZE[1]}"}
        try:
            async with asyncio.timeout(timeout_s):
                runtime.start_background()
                started = time.perf_counter()
                result["create_orders_per_s"] = await _create_orders(runtime, orders, concurrency=4)
                await _wait(lambda: len(runtime.state.orders) >= orders, 600, "orders in the console")
                result["load_s"] = round(time.perf_counter() - started, 1)
                # The same process without a screen: what the workers, feed and pollers cost,
                # once the feed has read its last overlap and the heap has settled.
                await asyncio.sleep(settle_s)
                result["runtime_idle_cpu_pct"], _ = await _cpu_over(idle_s)
                result |= await _screen(runtime, orders, flow, idle_s, settle_s)
                result["screen_idle_cpu_pct"] = round(result["idle_cpu_pct"] - result["runtime_idle_cpu_pct"], 2)
        finally:
            await runtime.stop()
    result["rss_mb"], result["rss_peak_mb"] = _rss_mb()
    result["targets"] = TARGETS
    result["met"] = _met(result)
    return result


async def _screen(runtime: ConsoleRuntime, orders: int, flow: int, idle_s: float,
                  settle_s: float) -> dict[str, Any]:
    """The console's screen opening on the loaded orders, then used while idle and while orders flow."""
    figures: dict[str, Any] = {}
    app = _TimedApp(runtime, background=False)  # its jobs run already (started headless)
    start = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        first = await app.next_frame_after(start, within=30)
        await _wait(lambda: app.synced_at is not None, 60, "the orders in the table")
        assert app.synced_at is not None
        filled = app.synced_at - start + await app.next_frame_after(app.synced_at, within=30)
        figures["first_frame_ms"] = round(first * 1000, 1)
        figures["first_frame_with_orders_ms"] = round(filled * 1000, 1)
        figures["rows_in_table"] = app.screen.query_one(OrdersTable).row_count
        table = app.screen.query_one(OrdersTable)
        app.screen.set_focus(table)
        await pilot.pause(settle_s)  # the screen's one heap settle after its first page is drawn

        # Idle: every order waiting, nothing changes; the refresh timer and the pollers still run.
        figures["idle_cpu_pct"], _ = await _cpu_over(idle_s)
        keys = ["down"] * 60 + ["pagedown"] * 10 + ["up"] * 30 + ["pageup"] * 10
        figures["cursor_ms"] = _percentiles(await _keypresses(app, keys))
        if _has_filter(app):
            typed = await _keypresses(app, ["slash", *"incident"])
            figures["filter_ms"] = _percentiles(typed[1:])
            await _keypresses(app, ["escape"])
        else:
            figures["filter_ms"] = None  # no filter on this build yet

        # Flow: start `flow` orders (as `s` on each would) and measure while they run.
        if flow and runtime.fulfillment is not None:
            waiting = [v.order for v in list(runtime.state.orders.values())[:flow]]
            service = runtime.fulfillment
            semaphore = asyncio.Semaphore(16)

            async def start_one(order) -> None:
                async with semaphore:
                    with contextlib.suppress(Exception):
                        await service.start(order)

            def completed() -> int:
                return sum(1 for o in waiting if runtime.state.orders[o.id].workflow_status == "completed")

            flow_started = time.perf_counter()
            starting = asyncio.gather(*(start_one(o) for o in waiting))
            figures["flow_cpu_pct"], _ = await _cpu_over(5.0)
            figures["flow_cursor_ms"] = _percentiles(await _keypresses(app, ["down", "up"] * 20))
            await starting
            await _wait(lambda: completed() >= len(waiting), 300, "flowing orders to complete")
            figures["flow_orders"] = len(waiting)
            figures["flow_s"] = round(time.perf_counter() - flow_started, 1)
        figures["frames"] = len(app.frames)
    return figures


def _met(result: dict[str, Any]) -> dict[str, bool | None]:
    cursor = result.get("cursor_ms") or {}
    filter_ = result.get("filter_ms") or {}
    return {
        "first_frame": result.get("first_frame_with_orders_ms", 1e9) < TARGETS["first_frame_ms"],
        "cursor_p99": cursor.get("p99", 1e9) < TARGETS["keypress_p99_ms"],
        "filter_p99": (filter_.get("p99", 1e9) < TARGETS["keypress_p99_ms"]) if filter_ else None,
        "idle_cpu": result.get("idle_cpu_pct", 1e9) < TARGETS["idle_cpu_pct"],
        "rss": result.get("rss_peak_mb", 1e9) < TARGETS["rss_mb"],
    }


def report_text(result: dict[str, Any]) -> str:
    """The figures as lines a person reads."""
    def ms(figure: dict[str, float] | None) -> str:
        return "n/a (no filter in this build)" if not figure else f"p50 {figure['p50']} ms, p99 {figure['p99']} ms (n={figure['n']})"
    lines = [
        f"orders loaded: {result['orders']} in {result.get('load_s')} s "
        f"(created at {result.get('create_orders_per_s')} orders/s), terminal {result['size']}",
        f"first frame: {result.get('first_frame_ms')} ms; with every order: {result.get('first_frame_with_orders_ms')} ms",
        f"cursor keypress-to-repaint: {ms(result.get('cursor_ms'))}",
        f"filter keypress-to-repaint: {ms(result.get('filter_ms'))}",
        f"CPU idle: {result.get('idle_cpu_pct')} % of a core (the same process without the screen: "
        f"{result.get('runtime_idle_cpu_pct')} %, so the screen's part is {result.get('screen_idle_cpu_pct')} %)",
        f"CPU while {result.get('flow_orders', 0)} orders flow: {result.get('flow_cpu_pct')} % of a core; "
        f"cursor then {ms(result.get('flow_cursor_ms'))}",
        f"RSS: {result.get('rss_mb')} MB now, {result.get('rss_peak_mb')} MB peak",
        "targets met: " + ", ".join(f"{k} {'yes' if v else 'no' if v is not None else 'n/a'}"
                                    for k, v in result["met"].items()),
    ]
    return "\n".join(lines)


if __name__ == "__main__":  # python -m bench.ui [orders]
    import json
    import sys

    os.environ.setdefault("MEDCAM_LOG_LEVEL", "WARNING")
    print(json.dumps(asyncio.run(run_ui_bench(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)), indent=2))
