"""The command line as an operator meets it: help, bad input, unreachable services, bench."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "console.cli"]


def run(args: list[str], tmp_path: Path, env: dict[str, str] | None = None, timeout: float = 120):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ZEEBE_", "CAMUNDA_", "MEDUSA_", "MEDCAM_", "SLACK_"))}
    environment.update({"MEDCAM_DATA_DIR": str(tmp_path / "data"), **(env or {})})
    return subprocess.run(CLI + args, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=timeout)


def test_help_documents_every_option(tmp_path):
    result = run(["--help"], tmp_path)
    assert result.returncode == 0
    for option in ("--no-workers", "--read-only", "--no-auto-start", "--demo-orders", "--delays", "--data-dir",
                   "--env-file", "workers", "bench", "engine", "screenshots", "doctor", "orders", "start",
                   "retry", "cancel"):
        assert option in result.stdout


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["--bogus"], {}, "unrecognized arguments: --bogus"),
        (["bench", "--orders", "0"], {}, "must be at least 1"),
        (["--delays", "1,2"], {}, "comma-separated"),
        ([], {"MEDCAM_DEMO_ORDERS": "many"}, "bad setting MEDCAM_DEMO_ORDERS"),
        ([], {"MEDUSA_BACKEND_URL": "localhost:9000"}, "must start with http"),
        (["--env-file", "missing.env"], {}, "does not exist"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path, args, env, needle):
    result = run(args, tmp_path, env)
    assert result.returncode == 2
    assert needle in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_env_file_value_is_reported(tmp_path):
    (tmp_path / ".env").write_text("MEDCAM_STAGE_DELAYS=fast\nZEEBE_CLIENT_SECRET=s3cr3t-value\n")
    result = run(["workers"], tmp_path)
    assert result.returncode == 2
    assert "MEDCAM_STAGE_DELAYS" in result.stderr and "Traceback" not in result.stderr
    assert "s3cr3t-value" not in result.stderr


def test_unreachable_zeebe_is_one_line(tmp_path):
    env = {"ZEEBE_ADDRESS": "127.0.0.1:9", "MEDUSA_BACKEND_URL": "http://127.0.0.1:9"}
    result = run(["workers"], tmp_path, env)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("medcam-console: cannot reach Zeebe at 127.0.0.1:9")
    assert "Traceback" not in result.stderr


def test_bench_runs_orders_through_the_whole_path(tmp_path):
    result = run(["bench", "--orders", "5", "--delays", "zero", "--json"], tmp_path, timeout=180)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["orders"] == 5 and figures["completed"] == 5 and figures["incidents"] == 0
    assert figures["latency_ms"]["p50"] > 0
    assert set(figures["overhead_ms"]) == {"p50", "p99"}


def test_engine_command_serves_and_stops_on_sigterm(tmp_path):
    import signal

    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ZEEBE_", "MEDUSA_", "MEDCAM_"))}
    environment["MEDCAM_DATA_DIR"] = str(tmp_path / "data")
    process = subprocess.Popen(
        CLI + ["engine", "--grpc-port", "0", "--rest-port", "0", "--shop-port", "0"],
        cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        banner = process.stdout.readline()
        assert banner.startswith("medcam-console engine: Zeebe gRPC 127.0.0.1:"), banner
        rest = banner.split("REST ")[1].split(",")[0]
        import httpx

        topology = httpx.get(f"{rest}/topology", timeout=5).json()
        assert topology["brokers"][0]["partitions"][0]["role"].upper() == "LEADER"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert "Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()


def test_bench_engine_only(tmp_path):
    result = run(["bench", "--engine-only", "--orders", "30", "--json"], tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["instances"] == figures["completed"] == 30
    assert set(figures["cpu_ms_per_instance"]) == {"client_and_workers", "engine"}


async def test_embedded_shop_gets_its_secrets_through_the_environment(tmp_path):
    import httpx

    from console.embedded import EmbeddedServices

    services = EmbeddedServices(tmp_path, engine=False, shop=True, shop_port=0,
                                callback_secret="cb-secret", api_key="sk_embedded")
    found = await services.start()
    try:
        async with httpx.AsyncClient(base_url=found.medusa_url) as http:
            unsigned = await http.post("/demo", json={"orderId": "x", "status": "s"})
            anonymous = await http.get("/admin/orders")
            keyed = await http.get("/admin/orders", auth=("sk_embedded", ""))
        assert (unsigned.status_code, anonymous.status_code, keyed.status_code) == (401, 401, 200)
        command_line = Path(f"/proc/{services.pid}/cmdline").read_bytes()  # noqa: ASYNC240
        assert b"sk_embedded" not in command_line and b"cb-secret" not in command_line
    finally:
        await services.stop()
