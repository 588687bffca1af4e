"""The transport floor: CPU per call of the libraries the fulfillment path is built on.

Each case runs a trivial server and a client in two separate processes on loopback and
reports the CPU milliseconds each side spends per call, measured from ``/proc`` over a timed
window after a warm-up:

* ``grpc-unary``   Gateway.Topology through pyzeebe's stubs, on a grpc.aio server whose
                   handler returns an empty TopologyResponse (no engine work at all);
* ``grpc-stream``  one ActivatedJob pushed on an open StreamActivatedJobs stream (how the
                   workers receive jobs from the embedded engine);
* ``http-post``    the project's BoundedAsyncClient (httpx with its own transport: httpcore,
                   anyio, h11) POSTing a small JSON body to a Starlette route on uvicorn with
                   httptools, which parses it and answers a small JSON object;

each on the standard asyncio loop and, when uvloop is installed, on uvloop in both processes.
From these it adds up the cheapest possible order (the calls the seed's contract needs, each
at the floor price) and the orders/s that would cap on this machine.

    python -m bench.library_floor [--calls N] [--concurrency 1,32] [--json]
    medcam-console bench --floor [--orders N] [--json]

``--real`` measures the same way what the real embedded engine + shop (the console's child
process) spend on each kind of call an order makes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.engine_only import process_cpu_s

CASES = ("grpc-unary", "grpc-stream", "http-post")
HTTP_CASES = ("http-post",)

#: The calls one order needs, by kind ("http" is one of HTTP_CASES). ``contract``: what the
#: seed's contract needs at the least: one metadata write, CreateProcessInstance, three job
#: activations (pushed on a stream), three CompleteJob and three status callbacks.
#: ``today``: what the console does now: the start claims the order (a metadata write and a
#: read-back), writes ``started``, creates the instance and writes ``workflow_instance``;
#: with non-zero stages each stage also checks its job (UpdateJobTimeout) before calling back.
CALLS_PER_ORDER = {
    "contract": {"http": 1 + 3, "grpc-unary": 1 + 3, "grpc-stream": 3},
    "today (zero delays)": {"http": 4 + 3, "grpc-unary": 1 + 3, "grpc-stream": 3},
    "today (seed delays)": {"http": 4 + 3, "grpc-unary": 1 + 3 + 3, "grpc-stream": 3},
}

_CALLBACK_BODY = json.dumps(
    {"orderId": "order_01JABCDEFGHJKMNPQRSTVWXYZ0", "status": "payment_verified",
     "message": "Payment verified successfully"},
    separators=(",", ":"),
).encode()

_JOB_VARIABLES = json.dumps({"orderId": "order_01JABCDEFGHJKMNPQRSTVWXYZ0"})


# --------------------------------------------------------------------------------- loops
def _run(main: Awaitable[Any], loop: str) -> Any:
    if loop == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(main)
    return asyncio.run(main)


def uvloop_available() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------------- servers
async def _serve(case: str) -> None:
    if case.startswith("grpc"):
        server, port = await _grpc_server()
    else:
        server, port = await _http_server()
    sys.stdout.write(json.dumps({"port": port, "pid": os.getpid()}) + "\n")
    sys.stdout.flush()
    # Serve until the parent closes our stdin.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.buffer.read)
    if case.startswith("grpc"):
        await server.stop(0)
    else:
        await server.stop()


async def _grpc_server() -> tuple[Any, int]:
    import grpc
    from pyzeebe.proto import gateway_pb2 as pb
    from pyzeebe.proto import gateway_pb2_grpc as pb_grpc

    class Gateway(pb_grpc.GatewayServicer):
        async def Topology(self, request: Any, context: Any) -> Any:
            return pb.TopologyResponse()

        async def StreamActivatedJobs(self, request: Any, context: Any) -> None:
            # request.timeout carries how many jobs to push (a benchmark-only convention).
            job = pb.ActivatedJob(
                key=2251799813685249, type=request.type, processInstanceKey=2251799813685248,
                bpmnProcessId="order-fulfillment-poc", processDefinitionVersion=1,
                processDefinitionKey=2251799813685247, elementId="verify-payment",
                elementInstanceKey=2251799813685250, customHeaders="{}", worker=request.worker,
                retries=3, deadline=int(time.time() * 1000) + 60_000, variables=_JOB_VARIABLES,
            )
            for _ in range(request.timeout):
                await context.write(job)

    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    pb_grpc.add_GatewayServicer_to_server(Gateway(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


async def _http_server() -> tuple[Any, int]:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from serving.asgi import HttpServer

    async def demo(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse({"success": True, "orderId": body.get("orderId")})

    server = HttpServer(Starlette(routes=[Route("/demo", demo, methods=["POST"])]),
                        "127.0.0.1", 0, "floor server")
    await server.start()
    return server, server.port


# --------------------------------------------------------------------------------- clients
async def _client(case: str, port: int, server_pid: int, calls: int, concurrency: int) -> dict[str, Any]:
    if case == "grpc-unary":
        return await _grpc_unary(port, server_pid, calls, concurrency)
    if case == "grpc-stream":
        return await _grpc_stream(port, server_pid, calls)
    return await _http_post(port, server_pid, calls, concurrency)


async def _timed(call: Callable[[], Awaitable[Any]], server_pid: int, calls: int,
                 concurrency: int) -> dict[str, Any]:
    async def callers(n: int) -> None:
        remaining = iter(range(n))

        async def one() -> None:
            for _ in remaining:
                await call()

        await asyncio.gather(*(one() for _ in range(concurrency)))

    await callers(max(200, calls // 5))  # warm-up: connections, code paths, allocator
    client0, server0, wall0 = time.process_time(), process_cpu_s(server_pid), time.perf_counter()
    await callers(calls)
    return _figures(calls, time.perf_counter() - wall0, time.process_time() - client0,
                    process_cpu_s(server_pid) - server0)


def _figures(calls: int, wall: float, client: float, server: float) -> dict[str, Any]:
    return {
        "calls": calls,
        "calls_per_s": round(calls / wall, 1),
        "client_cpu_ms": round(client * 1000 / calls, 4),
        "server_cpu_ms": round(server * 1000 / calls, 4),
    }


async def _grpc_unary(port: int, server_pid: int, calls: int, concurrency: int) -> dict[str, Any]:
    from pyzeebe import create_insecure_channel
    from pyzeebe.proto import gateway_pb2 as pb
    from pyzeebe.proto import gateway_pb2_grpc as pb_grpc

    channel = create_insecure_channel(grpc_address=f"127.0.0.1:{port}")
    stub = pb_grpc.GatewayStub(channel)
    request = pb.TopologyRequest()
    try:
        return await _timed(lambda: stub.Topology(request, timeout=30), server_pid, calls, concurrency)
    finally:
        await channel.close()


async def _grpc_stream(port: int, server_pid: int, calls: int) -> dict[str, Any]:
    from pyzeebe import create_insecure_channel
    from pyzeebe.proto import gateway_pb2 as pb
    from pyzeebe.proto import gateway_pb2_grpc as pb_grpc

    channel = create_insecure_channel(grpc_address=f"127.0.0.1:{port}")
    stub = pb_grpc.GatewayStub(channel)

    async def pushed(n: int) -> int:
        got = 0
        request = pb.StreamActivatedJobsRequest(type="verify-payment", worker="floor", timeout=n,
                                                fetchVariable=["orderId"])
        async for job in stub.StreamActivatedJobs(request):
            json.loads(job.variables)  # what pyzeebe does with every job, at the least
            got += 1
        return got

    try:
        await pushed(max(200, calls // 5))
        client0, server0, wall0 = time.process_time(), process_cpu_s(server_pid), time.perf_counter()
        got = await pushed(calls)
        return _figures(got, time.perf_counter() - wall0, time.process_time() - client0,
                        process_cpu_s(server_pid) - server0)
    finally:
        await channel.close()


async def _http_post(port: int, server_pid: int, calls: int, concurrency: int) -> dict[str, Any]:
    from workers.http import BoundedAsyncClient

    http = BoundedAsyncClient()
    url = f"http://127.0.0.1:{port}/demo"
    headers = {"Content-Type": "application/json", "X-Idempotency-Key": "order_x:payment_verified:1"}

    async def post() -> None:
        response = await http.post(url, content=_CALLBACK_BODY, headers=headers, timeout=5)
        response.raise_for_status()

    try:
        return await _timed(post, server_pid, calls, concurrency)
    finally:
        await http.aclose()


# --------------------------------------------------------------------------------- real calls
async def _real_calls(calls: int, concurrency: int) -> list[dict[str, Any]]:
    """CPU per call of the real embedded engine + shop (a child process), client here."""
    import tempfile
    from pathlib import Path

    from pyzeebe import create_insecure_channel
    from pyzeebe.proto import gateway_pb2 as pb
    from pyzeebe.proto import gateway_pb2_grpc as pb_grpc

    from bpmn import ORDER_FULFILLMENT, ORDER_PROCESS_ID
    from console.clients.medusa import MedusaAdmin
    from console.demo_orders import DemoOrderMaker
    from console.embedded import EmbeddedServices
    from workers.http import BoundedAsyncClient

    rows: list[dict[str, Any]] = []

    async def timed(label: str, n: int, call: Callable[[int], Awaitable[Any]], pid: int) -> None:
        remaining = iter(range(n))

        async def one() -> None:
            for i in remaining:
                await call(i)

        client0, server0, wall0 = time.process_time(), process_cpu_s(pid), time.perf_counter()
        await asyncio.gather(*(one() for _ in range(concurrency)))
        row = _figures(n, time.perf_counter() - wall0, time.process_time() - client0,
                       process_cpu_s(pid) - server0)
        rows.append({"call": label, **row})

    with tempfile.TemporaryDirectory(prefix="medcam-floor-") as tmp:
        services = EmbeddedServices(Path(tmp) / "embedded", engine=True, shop=True, grpc_port=0,
                                    rest_port=0, shop_port=0, log_level="WARNING")
        found = await services.start()
        pid = services.pid
        assert pid is not None and found.zeebe_address and found.medusa_url
        channel = create_insecure_channel(grpc_address=found.zeebe_address)
        stub = pb_grpc.GatewayStub(channel)
        medusa = MedusaAdmin(found.medusa_url)
        http = BoundedAsyncClient()
        try:
            await stub.DeployResource(pb.DeployResourceRequest(resources=[pb.Resource(
                name=ORDER_FULFILLMENT.name, content=ORDER_FULFILLMENT.read_bytes())]))
            maker = DemoOrderMaker(medusa)
            orders = [(await maker.create())["id"] for _ in range(calls)]
            await timed("POST /admin/orders/{id} (metadata merge)", calls, lambda i: medusa.merge_metadata(
                orders[i], {"workflow_status": "started", "workflow_started_at": "2026-01-01T00:00:00.000Z"}), pid)
            await timed("GET /admin/orders/{id}", calls, lambda i: medusa.get_order(orders[i]), pid)

            async def callback(i: int) -> None:
                body = json.dumps({"orderId": orders[i], "status": "payment_verified",
                                   "message": "Payment verified successfully"}).encode()
                answer = await http.post(found.medusa_url + "/demo", content=body, headers={
                    "Content-Type": "application/json",
                    "X-Idempotency-Key": f"{orders[i]}:payment_verified:1"})
                answer.raise_for_status()

            await timed("POST /demo (callback)", calls, callback, pid)
            await timed("gRPC Topology", calls, lambda i: stub.Topology(pb.TopologyRequest()), pid)

            async def create(i: int) -> None:
                await stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(
                    bpmnProcessId=ORDER_PROCESS_ID, version=-1,
                    variables=json.dumps({"orderId": orders[i], "timestamp": "2026-01-01T00:00:00.000Z"})))

            await timed("gRPC CreateProcessInstance", calls, create, pid)

            async def activate(job_type: str) -> list[int]:
                keys: list[int] = []
                async for answer in stub.ActivateJobs(pb.ActivateJobsRequest(
                        type=job_type, worker="floor", timeout=600_000, maxJobsToActivate=calls,
                        requestTimeout=-1, fetchVariable=["orderId"])):
                    keys.extend(job.key for job in answer.jobs)
                return keys

            client0, server0 = time.process_time(), process_cpu_s(pid)
            first = await activate("verify-payment")
            rows.append({"call": "ActivateJobs, per job (one batch)", "calls": len(first), "calls_per_s": None,
                         "client_cpu_ms": round((time.process_time() - client0) * 1000 / max(1, len(first)), 4),
                         "server_cpu_ms": round((process_cpu_s(pid) - server0) * 1000 / max(1, len(first)), 4)})
            await timed("gRPC CompleteJob (next job created)", len(first), lambda i: stub.CompleteJob(
                pb.CompleteJobRequest(jobKey=first[i], variables=json.dumps(
                    {"paymentVerified": True, "verifiedAt": "2026-01-01T00:00:00.000Z"}))), pid)
            second = await activate("reserve-inventory")
            await timed("gRPC UpdateJobTimeout", len(second), lambda i: stub.UpdateJobTimeout(
                pb.UpdateJobTimeoutRequest(jobKey=second[i], timeout=600_000)), pid)
        finally:
            await http.aclose()
            await medusa.close()
            await channel.close()
            await services.stop()
    return rows


def real_text(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'call':<42} {'calls/s':>8} {'client ms':>10} {'engine+shop ms':>15}"]
    for r in rows:
        rate = f"{r['calls_per_s']:>8.0f}" if r["calls_per_s"] else f"{'-':>8}"
        lines.append(f"{r['call']:<42} {rate} {r['client_cpu_ms']:>10.3f} {r['server_cpu_ms']:>15.3f}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------- driver
def _module_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "bench.library_floor", *args]


def measure_case(case: str, loop: str, calls: int, concurrency: int) -> dict[str, Any]:
    """One case: a server process and a client process, both on ``loop``."""
    server = subprocess.Popen(_module_command("--serve", case, "--loop", loop),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None
        hello = json.loads(server.stdout.readline() or "{}")
        if "port" not in hello:
            raise RuntimeError(f"floor server for {case} did not start")
        out = subprocess.run(
            _module_command("--client", case, "--loop", loop, "--port", str(hello["port"]),
                            "--server-pid", str(hello["pid"]), "--calls", str(calls),
                            "--concurrency", str(concurrency)),
            capture_output=True, text=True, check=True,
        ).stdout
        result = json.loads(out)
    finally:
        if server.stdin is not None:
            server.stdin.close()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    result.update(case=case, loop=loop, concurrency=1 if case == "grpc-stream" else concurrency)
    return result


def _cheapest(results: list[dict[str, Any]], case: str, loop: str) -> dict[str, Any] | None:
    """The lowest total CPU per call of ``case`` on ``loop`` over the concurrencies measured."""
    rows = [r for r in results if r["case"] == case and r["loop"] == loop]
    return min(rows, key=lambda r: r["client_cpu_ms"] + r["server_cpu_ms"]) if rows else None


def floor_per_order(results: list[dict[str, Any]], loop: str, http: str, cores: int) -> dict[str, Any]:
    """CPU per order (console side = client, engine+shop side = server) at the floor prices."""
    out: dict[str, Any] = {}
    for name, counts in CALLS_PER_ORDER.items():
        client = server = 0.0
        for case, n in counts.items():
            row = _cheapest(results, http if case == "http" else case, loop)
            if row is None:
                return {}
            client += n * row["client_cpu_ms"]
            server += n * row["server_cpu_ms"]
        total = client + server
        out[name] = {
            "calls": sum(counts.values()),
            "console_cpu_ms": round(client, 3),
            "engine_and_shop_cpu_ms": round(server, 3),
            "total_cpu_ms": round(total, 3),
            # Each side is one Python process whose event loop runs on one core at a time.
            "max_orders_per_s_one_core_each": round(1000 / max(client, server), 1),
            # Both cores fully used, work perfectly spread over them (an upper bound).
            "max_orders_per_s_all_cores": round(cores * 1000 / total, 1),
        }
    return out


def run_floor(calls: int = 3000, concurrencies: tuple[int, ...] = (1, 32),
              loops: tuple[str, ...] | None = None, cases: tuple[str, ...] = CASES) -> dict[str, Any]:
    loops = loops or (("asyncio", "uvloop") if uvloop_available() else ("asyncio",))
    results: list[dict[str, Any]] = []
    for loop in loops:
        for case in cases:
            for concurrency in ((1,) if case == "grpc-stream" else concurrencies):
                results.append(measure_case(case, loop, calls, concurrency))
    cores = os.cpu_count() or 1
    return {
        "cores": cores,
        "calls_per_case": calls,
        "results": results,
        "calls_per_order": CALLS_PER_ORDER,
        "floor_per_order": {
            f"{loop}, {http}": floor_per_order(results, loop, http, cores)
            for loop in loops for http in HTTP_CASES
        },
    }


def report_text(report: dict[str, Any]) -> str:
    lines = [f"{'case':<12} {'loop':<8} {'conc':>4} {'calls/s':>9} {'client ms':>10} {'server ms':>10}"]
    for r in report["results"]:
        lines.append(f"{r['case']:<12} {r['loop']:<8} {r['concurrency']:>4} {r['calls_per_s']:>9.0f} "
                     f"{r['client_cpu_ms']:>10.3f} {r['server_cpu_ms']:>10.3f}")
    for setup, per in report["floor_per_order"].items():
        for name, f in per.items():
            lines.append(
                f"{setup:<19} {name:<20} {f['calls']:>2} calls: console {f['console_cpu_ms']:.2f} ms + "
                f"engine/shop {f['engine_and_shop_cpu_ms']:.2f} ms = {f['total_cpu_ms']:.2f} ms/order -> "
                f"<= {f['max_orders_per_s_one_core_each']:.0f} orders/s (one core per process), "
                f"<= {f['max_orders_per_s_all_cores']:.0f} (all {report['cores']} cores)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.library_floor", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=3000, help="timed calls per case (default 3000)")
    parser.add_argument("--concurrency", default="1,32", help="calls in flight, comma-separated (default 1,32)")
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default=None,
                        help="only this event loop (default: asyncio, and uvloop when installed)")
    parser.add_argument("--cases", default=",".join(CASES),
                        help=f"comma-separated subset of {', '.join(CASES)} (default: all)")
    parser.add_argument("--real", action="store_true",
                        help="instead: CPU per call of the real embedded engine + shop (one child process) "
                             "for each call an order makes, --calls of each, 16 in flight")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    parser.add_argument("--serve", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--client", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--server-pid", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    loop = args.loop or "asyncio"
    if args.serve:
        _run(_serve(args.serve), loop)
        return
    if args.client:
        result = _run(_client(args.client, args.port, args.server_pid, args.calls,
                              int(args.concurrency)), loop)
        print(json.dumps(result))
        return
    if args.real:
        rows = _run(_real_calls(args.calls, 16), loop)
        print(json.dumps(rows, indent=None) if args.json else real_text(rows))
        return
    concurrencies = tuple(int(c) for c in args.concurrency.split(",") if c)
    cases = tuple(c for c in args.cases.split(",") if c)
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}")
    report = run_floor(args.calls, concurrencies, (args.loop,) if args.loop else None, cases)
    print(json.dumps(report, indent=None if args.json else 2) if args.json else report_text(report))


if __name__ == "__main__":
    main()
