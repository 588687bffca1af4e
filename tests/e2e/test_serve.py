"""``medcam-console serve``: the page over real HTTP, and the command each browser session runs."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys

import httpx

from console.cli import build_parser
from console.serve import console_command


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_serve_answers_get_with_the_page_then_stops(tmp_path):
    port = _free_port()
    env = {**os.environ, "MEDCAM_DATA_DIR": str(tmp_path / "data")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "console.cli", "serve", "--port", str(port),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=tmp_path,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http, asyncio.timeout(30):
            while True:
                try:
                    response = await http.get("/")
                    break
                except httpx.TransportError:
                    assert process.returncode is None, (await process.stderr.read()).decode()
                    await asyncio.sleep(0.1)
        assert response.status_code == 200
        assert "text/html" in response.headers["content-type"]
        assert "medcam-console" in response.text
        assert f"ws://127.0.0.1:{port}/ws" in response.text  # the page's terminal connects here
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    assert "no login of its own" in stderr.decode()


async def test_a_browser_session_gets_the_console_over_the_websocket(tmp_path):
    """What a browser tab does: open the page's websocket, say its size, receive the screen."""
    import json

    import aiohttp

    port = _free_port()
    env = {**os.environ, "MEDCAM_DATA_DIR": str(tmp_path / "data"), "MEDCAM_DEMO_ORDERS": "0",
           "MEDCAM_ENGINE_GRPC_PORT": str(_free_port()), "MEDCAM_ENGINE_REST_PORT": str(_free_port()),
           "MEDCAM_SHOP_PORT": str(_free_port())}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "console.cli", "--no-workers", "serve", "--port", str(port),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env, cwd=tmp_path,
    )
    screen = b""
    try:
        async with aiohttp.ClientSession() as http, asyncio.timeout(90):
            while True:
                try:
                    ws = await http.ws_connect(f"http://127.0.0.1:{port}/ws")
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            async with ws:
                await ws.send_str(json.dumps(["resize", {"width": 100, "height": 30}]))
                async for message in ws:
                    screen += message.data if isinstance(message.data, bytes) else message.data.encode()
                    if b"Orders" in screen and b"Workflow" in screen:
                        break
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            await process.communicate()
    assert b"Orders" in screen and b"Workflow" in screen  # the orders table's title and a column


def test_each_browser_session_runs_the_console_with_the_same_options():
    args = build_parser().parse_args(
        ["--read-only", "--demo-orders", "3", "serve", "--data-dir", "/srv/medcam", "--delays", "zero", "--port", "9"])
    command = console_command(args)
    assert command.startswith(f"{sys.executable} -m console.cli ")
    assert "--data-dir /srv/medcam" in command and "--demo-orders 3" in command
    assert "--read-only" in command and "--delays 0,0,0" in command
    assert "serve" not in command.split() and "--port" not in command


def test_a_bad_port_is_one_clear_line(capsys):
    import pytest

    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["serve", "--port", "70000"])
    assert exit_info.value.code == 2
    assert "70000 is not a TCP port" in capsys.readouterr().err


def test_a_port_in_use_is_one_clear_line(tmp_path):
    import subprocess

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "console.cli", "serve", "--port", str(port)],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "MEDCAM_DATA_DIR": str(tmp_path)})
    assert done.returncode == 2
    assert f"cannot serve on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
