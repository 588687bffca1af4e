"""`medcam-console doctor` against real loopback servers: every check OK, and each kind of FAIL."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import trustme

from shop.server import ShopServer
from tests.e2e.test_cli import CLI

SLACK_SECRET = "SLACKSECRETPATHPART"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def tls_server(ca: trustme.CA) -> AsyncIterator[int]:
    """A loopback TLS server that completes handshakes and answers nothing (it must get no post)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    received: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            received.append(await reader.read(1024))
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()
    assert not any(received), "doctor must not send anything to the webhook"


async def doctor(tmp_path: Path, env: dict[str, str]) -> tuple[int, dict, str]:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("ZEEBE_", "CAMUNDA_", "MEDUSA_", "MEDCAM_", "SLACK_", "SSL_CERT"))}
    environment.update({"MEDCAM_DATA_DIR": str(tmp_path / "doctor"), **env})
    process = await asyncio.create_subprocess_exec(
        *CLI, "doctor", "--json", cwd=tmp_path, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(90):
        out, err = await process.communicate()
    text = out.decode() + err.decode()
    return process.returncode, {c["check"]: c for c in json.loads(out)["checks"]}, text


def _configured(backends) -> dict[str, str]:
    return {"ZEEBE_ADDRESS": backends.zeebe_address, "ZEEBE_REST_ADDRESS": backends.rest_url,
            "MEDUSA_BACKEND_URL": backends.shop_url}


async def test_everything_ok_with_a_trusted_tls_webhook(tmp_path, backends):
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    async with tls_server(ca) as port:
        code, checks, text = await doctor(tmp_path, {
            **_configured(backends), "SSL_CERT_FILE": str(tmp_path / "ca.pem"),
            "SLACK_WEBHOOK_URL": f"https://localhost:{port}/services/T0/B0/{SLACK_SECRET}",
        })
    assert code == 0, text
    assert list(checks) == ["Zeebe topology", "Camunda REST v2", "Medusa reachable", "Medusa auth",
                            "Callback route", "Slack webhook"]
    assert {c["result"] for c in checks.values()} == {"OK"}
    assert "TLS handshake ok; nothing posted" in checks["Slack webhook"]["reason"]
    assert SLACK_SECRET not in text
    assert SLACK_SECRET not in (tmp_path / "doctor" / "console.log").read_text()


async def test_each_failure_has_a_reason_and_a_fix_and_no_secret(tmp_path, backends):
    shop = ShopServer(tmp_path / "keyed-shop", port=0, api_key="sk_the_right_key")
    await shop.start()
    closed = _free_port()
    try:
        async with tls_server(trustme.CA()) as untrusted:
            results = {}
            for name, slack in (("dns", "https://hooks.slack.invalid/services/"),
                                ("refused", f"https://127.0.0.1:{closed}/services/"),
                                ("untrusted", f"https://localhost:{untrusted}/services/")):
                results[name] = await doctor(tmp_path, {
                    "ZEEBE_ADDRESS": f"127.0.0.1:{closed}", "ZEEBE_REST_ADDRESS": f"http://127.0.0.1:{closed}",
                    "MEDUSA_BACKEND_URL": f"http://127.0.0.1:{shop.port}", "MEDUSA_API_KEY": "sk_wrong_key",
                    "SLACK_WEBHOOK_URL": slack + SLACK_SECRET,
                })
    finally:
        await shop.stop()
    for code, checks, text in results.values():
        assert code == 1
        assert "sk_wrong_key" not in text and SLACK_SECRET not in text and "Traceback" not in text
        assert checks["Zeebe topology"]["result"] == "FAIL"
        assert f"127.0.0.1:{closed}" in checks["Zeebe topology"]["reason"]
        assert "ZEEBE_ADDRESS" in checks["Zeebe topology"]["fix"]
        assert checks["Camunda REST v2"]["result"] == "FAIL"
        assert checks["Medusa reachable"]["result"] == "OK"
        assert checks["Medusa auth"]["result"] == "FAIL" and "401" in checks["Medusa auth"]["reason"]
        assert "MEDUSA_API_KEY" in checks["Medusa auth"]["fix"]
        assert checks["Callback route"]["result"] == "OK"
    slack = {name: result[1]["Slack webhook"] for name, result in results.items()}
    assert slack["dns"]["result"] == "FAIL" and slack["dns"]["reason"].startswith("DNS: cannot resolve hooks.slack.invalid")
    assert slack["refused"]["reason"] == f"TCP to 127.0.0.1:{closed}: connection refused"
    assert slack["untrusted"]["reason"].startswith(f"TLS to localhost:{untrusted}: certificate not trusted")


async def test_nothing_configured_checks_the_embedded_ports_and_says_they_are_not_running(tmp_path):
    grpc_port, rest_port, shop_port = _free_port(), _free_port(), _free_port()
    code, checks, text = await doctor(tmp_path, {
        "MEDCAM_ENGINE_GRPC_PORT": str(grpc_port), "MEDCAM_ENGINE_REST_PORT": str(rest_port),
        "MEDCAM_SHOP_PORT": str(shop_port)})
    assert code == 1
    assert checks["Zeebe topology"]["reason"] == (
        f"ZEEBE_ADDRESS is not set and the embedded engine is not running on 127.0.0.1:{grpc_port}")
    assert "medcam-console engine" in checks["Zeebe topology"]["fix"]
    assert checks["Medusa reachable"]["reason"].endswith(f"embedded shop is not running on http://127.0.0.1:{shop_port}")
    assert checks["Slack webhook"]["result"] == "SKIP"
    assert not (tmp_path / "doctor" / "embedded").exists()  # the doctor starts nothing


async def test_embedded_defaults_running_are_ok(tmp_path, backends):
    code, checks, text = await doctor(tmp_path, {
        "MEDCAM_ENGINE_GRPC_PORT": str(backends.engine.grpc_port),
        "MEDCAM_ENGINE_REST_PORT": str(backends.engine.rest_port),
        "MEDCAM_SHOP_PORT": str(backends.shop.port)})
    assert code == 0, text
    assert checks["Zeebe topology"]["reason"].startswith("embedded engine 127.0.0.1:")


async def test_zeebe_auth_failure_names_the_variables_not_the_secret(tmp_path, backends):
    secret = "oauth-client-secret-value"
    closed = _free_port()
    code, checks, text = await doctor(tmp_path, {
        **_configured(backends), "ZEEBE_CLIENT_ID": "console", "ZEEBE_CLIENT_SECRET": secret,
        "ZEEBE_AUTHORIZATION_SERVER_URL": f"http://127.0.0.1:{closed}/token"})
    assert code == 1
    assert checks["Zeebe auth"]["result"] == "FAIL"
    assert "ZEEBE_CLIENT_SECRET" in checks["Zeebe auth"]["fix"]
    assert secret not in text
