"""Engine-only benchmark: one-task instances through the embedded engine and zero-work pyzeebe workers."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx
from pyzeebe import Job, ZeebeClient, ZeebeWorker, create_insecure_channel

from console.embedded import EmbeddedServices
from workers.runner import job_task

BENCH_PROCESS = "bench"
WARMUP_PROCESS = "bench-warmup"
TASK_TYPE = "bench-task"

#: A lock long enough that no job comes back by timeout during a run (no double delivery).
JOB_TIMEOUT_MS = 300_000

_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="bench-defs"
    targetNamespace="urn:medcam:bench">
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="work"><bpmn:extensionElements>
      <zeebe:taskDefinition type="{task_type}"/>
    </bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def process_cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of a process (Linux /proc), 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class _Progress:
    """What the handlers saw (a handler runs just before pyzeebe sends its CompleteJob)."""

    target: int
    handled: set[int] = field(default_factory=set)
    warmed: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    calls: int = 0
    handled_at: float = 0.0

    def on_job(self, job: Job) -> None:
        if job.bpmn_process_id == WARMUP_PROCESS:
            self.warmed.set()
            return
        self.calls += 1
        self.handled.add(job.process_instance_key)
        if len(self.handled) == self.target and not self.done.is_set():
            self.handled_at = time.perf_counter()
            self.done.set()


def _build_worker(channel: grpc.aio.Channel, name: str, progress: _Progress,
                  streaming: bool) -> ZeebeWorker:
    worker = ZeebeWorker(
        channel,
        name=name,
        max_connection_retries=-1,
        poll_retry_delay=0.05,  # type: ignore[arg-type]  # pyzeebe annotates int; it sleeps a float
        stream_enabled=streaming,
    )

    async def handle(job: Job) -> dict[str, Any]:
        progress.on_job(job)
        return {}

    worker.task(TASK_TYPE, timeout_ms=JOB_TIMEOUT_MS, max_jobs_to_activate=32,
                max_running_jobs=256)(job_task(handle))
    return worker


async def _completed(http: httpx.AsyncClient, rest_url: str, process_id: str) -> int:
    response = await http.post(
        f"{rest_url}/v2/process-instances/search",
        json={"filter": {"state": "COMPLETED", "processDefinitionId": process_id},
              "page": {"limit": 1}},
    )
    response.raise_for_status()
    return int(response.json()["page"]["totalItems"])


async def _wait_or_fail(event: asyncio.Event, workers: list[asyncio.Task[None]],
                        others: tuple[asyncio.Future[Any], ...], timeout_s: float) -> bool:
    """Wait for ``event``; raise if a worker stops or another task fails first; False on timeout."""
    waiter = asyncio.ensure_future(event.wait())
    pending: set[asyncio.Future[Any]] = {waiter, *workers, *others}
    deadline = time.perf_counter() + timeout_s
    try:
        while not waiter.done():
            left = deadline - time.perf_counter()
            if left <= 0:
                return False
            done, pending = await asyncio.wait(pending, timeout=left,
                                               return_when=asyncio.FIRST_COMPLETED)
            for task in done - {waiter}:
                error = None if task.cancelled() else task.exception()
                if error is not None:
                    raise RuntimeError("a bench task failed") from error
                if task in workers:
                    raise RuntimeError("a pyzeebe worker stopped before the run was over")
        return True
    finally:
        waiter.cancel()


async def run_engine_bench(
    instances: int,
    *,
    streaming: bool = False,
    workers: int = 1,
    concurrency: int = 128,
    timeout_s: float = 300.0,
) -> dict[str, Any]:
    """Run ``instances`` one-task instances; time first create → last instance COMPLETED.

    The engine runs alone in a child process (free ports, temporary data dir). One warm-up
    instance of another process goes through first, so channels, polls/streams and the
    engine's caches are live before the clock starts. The handlers count what they see
    (``handler_calls``, ``handled_s``); once they have seen every instance, the engine's REST
    search is asked every 10 ms until it reports all of them COMPLETED (``completed``,
    ``elapsed_s``), so the figures rest on the engine's word, not the handlers'.
    """
    if instances < 1 or workers < 1 or concurrency < 1:
        raise ValueError("instances, workers and concurrency must be at least 1")
    with tempfile.TemporaryDirectory(prefix="medcam-bench-engine-") as tmp:
        services = EmbeddedServices(Path(tmp) / "engine", engine=True, shop=False,
                                    grpc_port=0, rest_port=0, log_level="WARNING")
        endpoints = await services.start()
        try:
            assert endpoints.zeebe_address is not None and endpoints.zeebe_rest_url is not None
            return await _measure(
                Path(tmp), endpoints.zeebe_address, endpoints.zeebe_rest_url, services.pid,
                instances, streaming, workers, concurrency, timeout_s)
        finally:
            await services.stop()


async def _measure(tmp: Path, address: str, rest_url: str, engine_pid: int | None,
                   instances: int, streaming: bool, workers: int, concurrency: int,
                   timeout_s: float) -> dict[str, Any]:
    resources = []
    for process_id in (BENCH_PROCESS, WARMUP_PROCESS):
        path = tmp / f"{process_id}.bpmn"
        path.write_text(_BPMN.format(process_id=process_id, task_type=TASK_TYPE))
        resources.append(str(path))

    progress = _Progress(target=instances)
    client_channel = create_insecure_channel(grpc_address=address)
    worker_channels = [create_insecure_channel(grpc_address=address) for _ in range(workers)]
    running: list[tuple[ZeebeWorker, asyncio.Task[None]]] = []
    http = httpx.AsyncClient(timeout=10.0)
    try:
        for channel in (client_channel, *worker_channels):
            await asyncio.wait_for(channel.channel_ready(), 10)
        client = ZeebeClient(client_channel)
        await client.deploy_resource(*resources)
        for i, channel in enumerate(worker_channels):
            worker = _build_worker(channel, f"bench-{i}", progress, streaming)
            task = asyncio.get_running_loop().create_task(worker.work(), name=f"bench-worker-{i}")
            running.append((worker, task))
        watched = [task for _, task in running]

        await client.run_process(WARMUP_PROCESS)
        if not await _wait_or_fail(progress.warmed, watched, (), 30.0):
            raise RuntimeError("the warm-up instance was not handled within 30 s")

        numbers: Iterator[int] = iter(range(instances))

        async def submitter() -> None:
            # The shared iterator hands each number to exactly one submitter.
            for _ in numbers:
                await client.run_process(BENCH_PROCESS)

        cpu_self, cpu_engine = time.process_time(), process_cpu_s(engine_pid)
        began = time.perf_counter()
        submit_task = asyncio.gather(*(submitter() for _ in range(min(concurrency, instances))))
        try:
            handled = await _wait_or_fail(progress.done, watched, (submit_task,), timeout_s)
            handled_s = (progress.handled_at if handled else time.perf_counter()) - began
        finally:
            submit_task.cancel()  # a no-op once every instance was created
            with contextlib.suppress(asyncio.CancelledError, Exception):  # raised above if so
                await submit_task

        # The last completion is the last CompleteJob the engine applied, which the handlers
        # cannot see: ask the engine (every 10 ms) until it reports all of them COMPLETED.
        completed = await _completed(http, rest_url, BENCH_PROCESS)
        while handled and completed < instances and time.perf_counter() - began < timeout_s:
            await asyncio.sleep(0.01)
            completed = await _completed(http, rest_url, BENCH_PROCESS)
        elapsed = time.perf_counter() - began
        cpu_self = time.process_time() - cpu_self
        cpu_engine = process_cpu_s(engine_pid) - cpu_engine
    finally:
        await _stop_workers(running)
        await http.aclose()
        for channel in (client_channel, *worker_channels):
            await channel.close()

    return {
        "instances": instances,
        "completed": completed,
        "handler_calls": progress.calls,
        "elapsed_s": round(elapsed, 3),
        "handled_s": round(handled_s, 3),
        "instances_per_s": round(completed / elapsed, 1) if elapsed > 0 else 0.0,
        "streaming": streaming,
        "workers": workers,
        "concurrency": concurrency,
        # CPU per instance over the timed window: this process (client, workers, gRPC
        # threads) and the engine child process.
        "cpu_ms_per_instance": {
            "client_and_workers": round(cpu_self * 1000 / instances, 3),
            "engine": round(cpu_engine * 1000 / instances, 3),
        },
    }


async def _stop_workers(running: list[tuple[ZeebeWorker, asyncio.Task[None]]]) -> None:
    for worker, task in running:
        with contextlib.suppress(Exception, TimeoutError):
            await asyncio.wait_for(worker.stop(), 5)
        if not task.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), 5)
        if not task.done():
            task.cancel()
        with contextlib.suppress(BaseException):
            await task


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.engine_only",
                                     description=__doc__)
    parser.add_argument("instances", type=int, nargs="?", default=3000)
    parser.add_argument("--streaming", action="store_true")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    result = asyncio.run(run_engine_bench(
        args.instances, streaming=args.streaming, workers=args.workers,
        concurrency=args.concurrency, timeout_s=args.timeout))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
