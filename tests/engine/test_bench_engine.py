"""The engine-only benchmark runs end to end, polling and streaming (no timing assertions)."""

from __future__ import annotations

from bench.engine_only import run_engine_bench

KEYS = {
    "instances", "completed", "handler_calls", "elapsed_s", "handled_s", "instances_per_s",
    "streaming", "workers", "concurrency", "cpu_ms_per_instance",
}


async def test_engine_bench_completes_every_instance_polling_and_streaming() -> None:
    for streaming in (False, True):
        result = await run_engine_bench(50, streaming=streaming, timeout_s=60.0)
        assert set(result) == KEYS
        assert result["instances"] == result["completed"] == 50
        assert result["handler_calls"] >= 50
        assert (result["streaming"], result["workers"], result["concurrency"]) == (streaming, 1, 128)
        assert result["elapsed_s"] > 0 and result["instances_per_s"] > 0
        assert 0 < result["handled_s"] <= result["elapsed_s"]
        cpu = result["cpu_ms_per_instance"]
        assert set(cpu) == {"client_and_workers", "engine"}
        assert all(isinstance(v, float) and v >= 0 for v in cpu.values())
