"""``python -m bench.peer.driver``: the seed's Node SDK workers and ``medcam-console workers`` side by side.

One run: one embedded engine (child process), one callback sink and one driver (this process).
For each implementation in turn the driver starts its worker process, creates ``--orders``
instances of order-fulfillment-poc with at most ``--concurrency`` in flight, and times each from
CreateProcessInstance to the sink receiving its ``completed`` callback. It reports latency,
throughput, worker CPU and peak RSS, and checks that every order got its three callbacks once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from pyzeebe import ZeebeClient, create_insecure_channel

from bench.engine_only import process_cpu_s
from bench.full_path import _percentile
from bench.peer.sink import CallbackSink
from bpmn import ORDER_FULFILLMENT, ORDER_PROCESS_ID
from console.embedded import EmbeddedServices
from serving.asgi import bind_socket
from workers.stages import STAGES, parse_delays

HERE = Path(__file__).resolve().parent
IMPLEMENTATIONS = ("node-sdk", "medcam")
STATUSES = [stage.status for stage in STAGES]
READY_TIMEOUT_S = 60.0


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident set (VmHWM), in MiB; None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = ""
    try:
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    except OSError:
        pass
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip() if shutil.which("node") else None
    return {"cpus": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "python": platform.python_version(), "node": node}


class SinkServer:
    """The sink on uvicorn with a long keep-alive (75 s, as nginx's default), so an idle
    connection between two stages is not closed under a client about to reuse it."""

    def __init__(self, sink: CallbackSink) -> None:
        self._sock = bind_socket("127.0.0.1", 0, "callback sink")
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        config = uvicorn.Config(sink, log_level="warning", access_log=False, lifespan="off",
                                timeout_keep_alive=75, backlog=4096)
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._server.serve(sockets=[self._sock]))
        while not self._server.started:
            if self._task.done():
                raise RuntimeError(f"callback sink failed to start: {self._task.exception()!r}")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
        self._sock.close()


class WorkerProcess:
    """One implementation's worker process, started against the engine and the sink."""

    def __init__(self, kind: str, zeebe_address: str, sink_url: str, delays: tuple[float, ...],
                 capacity: int, data_dir: Path) -> None:
        self.kind = kind
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("ZEEBE_", "CAMUNDA_", "MEDUSA_", "MEDCAM_", "SLACK_"))}
        self.log = data_dir / f"{kind}.log"
        if kind == "node-sdk":
            self.command = ["node", str(HERE / "workers.js")]
            env.update({"ZEEBE_GRPC_ADDRESS": f"grpc://{zeebe_address}", "MEDUSA_BACKEND_URL": sink_url,
                        "PEER_DELAYS": ",".join(f"{d:g}" for d in delays), "PEER_CAPACITY": str(capacity)})
        else:
            self.command = [sys.executable, "-m", "console.cli", "workers"]
            env.update({"ZEEBE_ADDRESS": zeebe_address, "MEDUSA_BACKEND_URL": sink_url,
                        "MEDCAM_DATA_DIR": str(data_dir / "medcam"),
                        "MEDCAM_STAGE_DELAYS": ",".join(f"{d:g}" for d in delays),
                        # Where per-task concurrency is configurable, the same capacity as the Node side.
                        "MEDCAM_TASK_CONCURRENCY": str(capacity)})
        self.env = env
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> int:
        if self.kind == "node-sdk" and not (HERE / "node_modules" / "@camunda8" / "sdk").is_dir():
            raise RuntimeError(f"@camunda8/sdk is not installed: run `npm ci` in {HERE}")
        log = self.log.open("wb")
        self.process = await asyncio.create_subprocess_exec(
            *self.command, env=self.env, stdout=asyncio.subprocess.PIPE, stderr=log)
        log.close()
        async with asyncio.timeout(READY_TIMEOUT_S):
            await self._ready()
        return self.process.pid

    async def _ready(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        if self.kind == "node-sdk":
            line = await self.process.stdout.readline()
            if not json.loads(line or b"{}").get("ready"):
                raise RuntimeError(f"Node SDK workers did not start: {line.decode().strip() or self.tail()}")
            return
        while "workers: running" not in self.log.read_text():  # the headless workers' status line
            if self.process.returncode is not None:
                raise RuntimeError(f"medcam-console workers exited: {self.tail()}")
            await asyncio.sleep(0.1)

    def tail(self, lines: int = 5) -> str:
        try:
            return " | ".join(self.log.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return ""

    async def stop(self) -> int | None:
        if self.process is None or self.process.returncode is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(60):
                return await self.process.wait()
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()


async def _measure(kind: str, client: ZeebeClient, sink: CallbackSink, orders: int, concurrency: int,
                   delays: tuple[float, ...], worker_pid: int, engine_pid: int | None,
                   timeout_s: float) -> dict[str, Any]:
    limit = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    creations: list[float] = []
    ids = [f"{kind}-{n:06d}" for n in range(orders)]

    async def one(order_id: str) -> None:
        async with limit:
            began = time.perf_counter()
            await client.run_process(ORDER_PROCESS_ID, {"orderId": order_id, "timestamp": "bench"})
            creations.append(time.perf_counter() - began)
            latencies.append(await sink.finished(order_id) - began)

    cpu_worker, cpu_engine, cpu_driver = process_cpu_s(worker_pid), process_cpu_s(engine_pid), time.process_time()
    began = time.perf_counter()
    runs = asyncio.gather(*(one(order_id) for order_id in ids))
    try:
        await asyncio.wait_for(runs, timeout_s)
    except TimeoutError:
        pass
    elapsed = time.perf_counter() - began
    cpu_worker = process_cpu_s(worker_pid) - cpu_worker
    cpu_engine = process_cpu_s(engine_pid) - cpu_engine
    cpu_driver = time.process_time() - cpu_driver
    exactly_once = sum(sorted(s for s, _ in sink.callbacks.get(o, [])) == sorted(STATUSES) for o in ids)
    ms = [lat * 1000 for lat in latencies]
    work_ms = sum(delays) * 1000
    return {
        "completed": len(latencies),
        "callbacks_exactly_once": exactly_once,
        "elapsed_s": round(elapsed, 3),
        "orders_per_s": round(len(latencies) / elapsed, 1) if elapsed > 0 else 0.0,
        "latency_ms": {q: round(_percentile(ms, int(q[1:])), 1) for q in ("p50", "p95", "p99")},
        "create_instance_ms": {q: round(_percentile([c * 1000 for c in creations], int(q[1:])), 1)
                               for q in ("p50", "p99")},
        "overhead_ms": {q: round(max(0.0, _percentile(ms, int(q[1:])) - work_ms), 1) for q in ("p50", "p99")},
        "cpu_ms_per_order": {"workers": round(cpu_worker * 1000 / orders, 2),
                             "engine": round(cpu_engine * 1000 / orders, 2),
                             "driver_and_sink": round(cpu_driver * 1000 / orders, 2)},
        "peak_rss_mb": {"workers": peak_rss_mb(worker_pid)},
    }


async def run_peer(orders: int, concurrency: int, delays: tuple[float, ...], capacity: int,
                   which: tuple[str, ...] = IMPLEMENTATIONS, timeout_s: float = 600.0) -> dict[str, Any]:
    """Both implementations against one engine, one sink and this driver; the figures as a dict."""
    with tempfile.TemporaryDirectory(prefix="medcam-peer-") as tmp:
        data_dir = Path(tmp)
        engine = EmbeddedServices(data_dir / "engine", engine=True, shop=False, grpc_port=0, rest_port=0)
        found = await engine.start()
        assert found.zeebe_address is not None
        sink = CallbackSink()
        server = SinkServer(sink)
        await server.start()
        channel = create_insecure_channel(found.zeebe_address)
        report: dict[str, Any] = {"machine": machine(), "orders": orders, "concurrency": concurrency,
                                  "delays_s": list(delays), "worker_capacity": capacity}
        try:
            client = ZeebeClient(channel)
            await client.deploy_resource(str(ORDER_FULFILLMENT))
            for kind in which:
                workers = WorkerProcess(kind, found.zeebe_address, server.url, delays, capacity, data_dir)
                try:
                    pid = await workers.start()
                    report[kind] = await _measure(kind, client, sink, orders, concurrency, delays, pid,
                                                  engine.pid, timeout_s)
                except RuntimeError as exc:
                    report[kind] = {"error": str(exc)}
                finally:
                    code = await workers.stop()
                    report[kind]["exit_code"] = code
                    report[kind]["log_tail"] = workers.tail(3)
            report["active_instances_left"] = await _active_instances(found.zeebe_rest_url)
            report["engine_peak_rss_mb"] = peak_rss_mb(engine.pid) if engine.pid else None
        finally:
            await channel.close()
            await server.stop()
            await engine.stop()
    return report


async def _active_instances(rest_url: str | None) -> int | None:
    if rest_url is None:
        return None
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(f"{rest_url}/v2/process-instances/search",
                                   json={"filter": {"state": "ACTIVE"}, "page": {"limit": 1}})
    return int(response.json()["page"]["totalItems"])


def report_text(report: dict[str, Any]) -> str:
    """The figures as a small table."""
    rows = [("", "orders/s", "p50 ms", "p99 ms", "overhead p50/p99 ms", "CPU ms/order (workers, engine)",
             "peak RSS MiB", "exactly once")]
    for kind in IMPLEMENTATIONS:
        r = report.get(kind)
        if not r:
            continue
        if "error" in r:
            rows.append((kind, "error: " + r["error"], "", "", "", "", "", ""))
            continue
        rows.append((kind, str(r["orders_per_s"]), str(r["latency_ms"]["p50"]), str(r["latency_ms"]["p99"]),
                     f"{r['overhead_ms']['p50']} / {r['overhead_ms']['p99']}",
                     f"{r['cpu_ms_per_order']['workers']}, {r['cpu_ms_per_order']['engine']}",
                     str(r["peak_rss_mb"]["workers"]), f"{r['callbacks_exactly_once']}/{report['orders']}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    m = report["machine"]
    lines.append(f"{report['orders']} orders, {report['concurrency']} in flight, delays {report['delays_s']} s, "
                 f"capacity {report['worker_capacity']} jobs per task; engine peak RSS "
                 f"{report['engine_peak_rss_mb']} MiB; {m['cpus']} CPUs ({m['cpu_model']}), node {m['node']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peer.driver", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200, help="orders per implementation (default 200)")
    parser.add_argument("--concurrency", type=int, default=200, help="orders in flight (default 200)")
    parser.add_argument("--delays", default="zero", help="stage work: seed, zero or A,B,C (default zero)")
    parser.add_argument("--capacity", type=int, default=128,
                        help="jobs each worker of either side holds at once (default 128: medcam-console's "
                             "max_running_jobs; passed to it as MEDCAM_TASK_CONCURRENCY where supported). "
                             "The Node SDK stops polling above 30 %% of it: use >= 3.4 x --concurrency")
    parser.add_argument("--only", choices=IMPLEMENTATIONS, help="run one implementation only")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per implementation (default 600)")
    parser.add_argument("--json", action="store_true", help="print the JSON object only")
    args = parser.parse_args(argv)
    if args.orders < 1 or args.concurrency < 1 or args.capacity < 1:
        parser.error("--orders, --concurrency and --capacity must be at least 1")
    try:
        delays = parse_delays(args.delays)
    except ValueError as exc:
        parser.error(str(exc))
    which = (args.only,) if args.only else IMPLEMENTATIONS
    report = asyncio.run(run_peer(args.orders, args.concurrency, delays, args.capacity, which, args.timeout))
    print(json.dumps(report) if args.json else json.dumps(report, indent=2) + "\n\n" + report_text(report))
    complete = all(report[k].get("callbacks_exactly_once") == args.orders for k in which)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
