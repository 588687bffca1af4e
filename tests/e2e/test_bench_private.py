"""``bench`` runs only on its private embedded engine and shop, whatever the environment says."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.e2e.test_cli import run


class _Recording(BaseHTTPRequestHandler):
    hits: list[str] = []

    def _record(self) -> None:
        self.hits.append(f"{self.command} {self.path}")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = _record

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on loopback that answers 200 to anything and remembers each request."""
    hits: list[str] = []
    handler = type("Handler", (_Recording,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def test_bench_ignores_backend_settings_from_env_and_dotenv(tmp_path, recorder):
    url, hits = recorder
    (tmp_path / ".env").write_text(
        f"MEDUSA_BACKEND_URL={url}\nSLACK_WEBHOOK_URL={url}/hooks/s3cr3t-hook\nZEEBE_REST_ADDRESS={url}\n"
    )
    env = {"ZEEBE_ADDRESS": "127.0.0.1:9", "MEDUSA_API_KEY": "sk_should_not_show"}
    result = run(["bench", "--orders", "3", "--delays", "zero", "--json"], tmp_path, env, timeout=180)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["orders"], report["completed"]) == (3, 3)
    assert hits == [], "nothing reached the configured Medusa, REST address or Slack"
    notice = [line for line in result.stderr.splitlines() if "ignoring" in line]
    assert len(notice) == 1
    for name in ("ZEEBE_ADDRESS", "ZEEBE_REST_ADDRESS", "MEDUSA_BACKEND_URL", "MEDUSA_API_KEY", "SLACK_WEBHOOK_URL"):
        assert name in notice[0]
    assert "s3cr3t-hook" not in result.stderr and "sk_should_not_show" not in result.stderr


def test_bench_without_backend_settings_says_nothing_about_them(tmp_path):
    result = run(["bench", "--orders", "2", "--delays", "zero", "--json"], tmp_path, timeout=180)
    assert result.returncode == 0, result.stderr
    assert "ignoring" not in result.stderr
