"""The side-by-side harness (bench/peer): same engine, sink and driver for both worker implementations."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PEER = Path(__file__).resolve().parents[2] / "bench" / "peer"


def _driver(tmp_path: Path, *args: str) -> dict:
    result = subprocess.run([sys.executable, "-m", "bench.peer.driver", "--orders", "8", "--concurrency", "8",
                             "--json", *args], capture_output=True, text=True, timeout=240,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


def test_medcam_workers_side_completes_every_order_with_three_callbacks_once(tmp_path):
    report = _driver(tmp_path, "--only", "medcam")
    side = report["medcam"]
    assert side["completed"] == side["callbacks_exactly_once"] == 8
    assert side["exit_code"] == 0 and side["peak_rss_mb"]["workers"] > 0
    assert report["active_instances_left"] == 0 and "node-sdk" not in report


@pytest.mark.skipif(not (PEER / "node_modules" / "@camunda8" / "sdk").is_dir() or not shutil.which("node"),
                    reason="@camunda8/sdk not installed (npm ci in bench/peer)")
def test_node_sdk_workers_run_against_the_embedded_engine(tmp_path):
    report = _driver(tmp_path, "--only", "node-sdk")
    side = report["node-sdk"]
    assert side["completed"] == side["callbacks_exactly_once"] == 8
    assert report["active_instances_left"] == 0
