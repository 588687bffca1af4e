"""bench --submitters and the transport floor (bench --floor, python -m bench.library_floor).

Figures are printed, never asserted: speed is only checked by running the bench by hand.
"""

from __future__ import annotations

import json

from .test_cli import CLI, run


def test_bench_with_several_submitters_completes_every_order(tmp_path):
    result = run(["bench", "--orders", "12", "--delays", "zero", "--submitters", "3", "--json"],
                 tmp_path, timeout=180)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert (figures["orders"], figures["completed"], figures["incidents"]) == (12, 12, 0)
    assert figures["submitters"] == 3
    assert figures["start_errors"] == []


def test_bench_floor_measures_every_case_in_two_processes(tmp_path):
    result = run(["bench", "--floor", "--orders", "40", "--json"], tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    cases = {(r["case"], r["loop"]) for r in report["results"]}
    loops = {loop for _, loop in cases}
    assert {case for case, _ in cases} == {"grpc-unary", "grpc-stream", "http-post"}
    assert "asyncio" in loops
    for row in report["results"]:
        assert row["calls"] >= 40
        assert row["client_cpu_ms"] > 0 and row["calls_per_s"] > 0
    for setup, per_order in report["floor_per_order"].items():
        assert set(per_order) == {"contract", "today (zero delays)", "today (seed delays)"}, setup
        assert per_order["contract"]["calls"] == 11


def test_floor_module_runs_a_subset_of_cases(tmp_path):
    import subprocess
    import sys

    assert CLI[0] == sys.executable
    done = subprocess.run(
        [sys.executable, "-m", "bench.library_floor", "--calls", "30", "--concurrency", "2",
         "--loop", "asyncio", "--cases", "http-post"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "http-post    asyncio" in done.stdout


def test_floor_module_measures_the_real_engine_and_shop(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "bench.library_floor", "--real", "--calls", "20", "--json"],
        capture_output=True, text=True, timeout=180, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [r["call"].split(" ")[0] + " " + r["call"].split(" ")[1] for r in rows] == [
        "POST /admin/orders/{id}", "GET /admin/orders/{id}", "POST /demo", "gRPC Topology",
        "gRPC CreateProcessInstance", "ActivateJobs, per", "gRPC CompleteJob", "gRPC UpdateJobTimeout",
    ]
    assert all(r["calls"] == 20 for r in rows)


def test_bench_parallel_process_reports_declined_and_inflation(tmp_path):
    result = run(["bench", "--orders", "8", "--delays", "0.1,0.2,0.1", "--process", "parallel",
                  "--concurrency", "8", "--json"], tmp_path, timeout=180)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["process"] == "parallel"
    assert figures["completed"] + figures["declined"] == figures["orders"] == 8
    # Latency can never beat the critical path of simulated work (0.3 s here, not 0.4 s).
    assert figures["inflation"] >= 1.0
    assert figures["latency_ms"]["p50"] >= 300


def test_bench_decline_rate_needs_the_parallel_process(tmp_path):
    result = run(["bench", "--orders", "2", "--decline-rate", "0.5"], tmp_path, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "medcam-console: --decline-rate needs --process parallel (the seed's process has no payment-declined path)")
    result = run(["bench", "--decline-rate", "1.5", "--process", "parallel"], tmp_path, timeout=60)
    assert result.returncode == 2 and "must be between 0 and 1" in result.stderr
