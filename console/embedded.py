"""Starts (or reuses) the embedded engine and shop in a child process and says where they are."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

#: The environment variables that hand the child's shop its secrets.
CALLBACK_SECRET_ENV = "MEDCAM_CALLBACK_SECRET"
API_KEY_ENV = "MEDUSA_API_KEY"

#: The environment variables that hand the child's shop its demo faults (always set, so the
#: child never takes them from the console's own environment unasked).
CALLBACK_FAIL_RATE_ENV = "MEDCAM_DEMO_CALLBACK_FAIL_RATE"
DECLINE_RATE_ENV = "MEDCAM_DEMO_DECLINE_RATE"
DEMO_SEED_ENV = "MEDCAM_DEMO_SEED"

#: How long the child may take to open its ports.
START_TIMEOUT_S = 30.0
#: Waits between attempts to start a child that died again, doubling up to the maximum.
RESTART_BACKOFF_S = (0.25, 5.0)


class EmbeddedError(Exception):
    """The embedded services could not be started; one line for the operator."""


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where the console finds Zeebe (gRPC + REST) and Medusa."""

    zeebe_address: str | None
    zeebe_rest_url: str | None
    medusa_url: str | None


async def _engine_answers(host: str, rest_port: int) -> bool:
    if rest_port <= 0:
        return False
    try:
        async with httpx.AsyncClient(timeout=1.0) as http:
            response = await http.get(f"http://{host}:{rest_port}/v2/topology")
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and "brokers" in response.text


async def _shop_answers(host: str, port: int) -> bool:
    if port <= 0:
        return False
    try:
        async with httpx.AsyncClient(timeout=1.0) as http:
            response = await http.get(f"http://{host}:{port}/demo")
    except httpx.HTTPError:
        return False
    return response.status_code == 200


async def running_endpoints(
    host: str, grpc_port: int, rest_port: int, shop_port: int
) -> Endpoints:
    """The embedded engine and shop already answering on these ports; None for a part that is not."""
    engine = await _engine_answers(host, rest_port)
    shop = await _shop_answers(host, shop_port)
    return Endpoints(
        zeebe_address=f"{host}:{grpc_port}" if engine else None,
        zeebe_rest_url=f"http://{host}:{rest_port}" if engine else None,
        medusa_url=f"http://{host}:{shop_port}" if shop else None,
    )


class EmbeddedServices:
    """The child process holding the embedded engine and/or shop.

    If the configured ports already answer like our engine and shop (another console, or
    ``medcam-console engine`` running as a service), they are reused and nothing starts.
    ``callback_fail_rate``, ``decline_rate`` and ``demo_seed`` are the demo faults a started
    shop begins with (see :mod:`shop.faults`; a reused one keeps its own).
    Port 0 always starts a private copy on free ports (tests, benchmarks).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        engine: bool,
        shop: bool,
        grpc_port: int = 26500,
        rest_port: int = 8080,
        shop_port: int = 9000,
        host: str = "127.0.0.1",
        log_level: str = "INFO",
        callback_secret: str | None = None,
        api_key: str | None = None,
        callback_fail_rate: float = 0.0,
        decline_rate: float = 0.0,
        demo_seed: int | None = None,
    ) -> None:
        self.data_dir = data_dir
        self._want_engine = engine
        self._want_shop = shop
        self._grpc_port = grpc_port
        self._rest_port = rest_port
        self._shop_port = shop_port
        self._host = host
        self._log_level = log_level
        # Passed through the environment, never the command line (which `ps` shows).
        secrets = {CALLBACK_SECRET_ENV: callback_secret, API_KEY_ENV: api_key}
        self._shop_secrets = {name: value for name, value in secrets.items() if value}
        self._shop_faults = {
            CALLBACK_FAIL_RATE_ENV: repr(float(callback_fail_rate)),
            DECLINE_RATE_ENV: repr(float(decline_rate)),
            DEMO_SEED_ENV: "" if demo_seed is None else str(demo_seed),
        }
        self._process: asyncio.subprocess.Process | None = None
        self._spawned: tuple[bool, bool] | None = None
        self._stopping = False
        self._keep_standby = False
        self._standby: asyncio.subprocess.Process | None = None
        self._standby_launch: asyncio.Task[None] | None = None
        self.reused: list[str] = []
        #: How many times the child was started again after it died.
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def start(self) -> Endpoints:
        engine_needed = self._want_engine and not await _engine_answers(self._host, self._rest_port)
        shop_needed = self._want_shop and not await _shop_answers(self._host, self._shop_port)
        if self._want_engine and not engine_needed:
            self.reused.append("engine")
        if self._want_shop and not shop_needed:
            self.reused.append("shop")
        grpc_port, rest_port, shop_port = self._grpc_port, self._rest_port, self._shop_port
        if engine_needed or shop_needed:
            ready = await self._spawn(engine_needed, shop_needed)
            if engine_needed:
                grpc_port, rest_port = ready["grpc_port"], ready["rest_port"]
            if shop_needed:
                shop_port = ready["shop_port"]
            # A restarted child must come back where the console's clients look for it.
            self._grpc_port, self._rest_port, self._shop_port = grpc_port, rest_port, shop_port
            self._spawned = (engine_needed, shop_needed)
        host = self._host
        return Endpoints(
            zeebe_address=f"{host}:{grpc_port}" if self._want_engine else None,
            zeebe_rest_url=f"http://{host}:{rest_port}" if self._want_engine else None,
            medusa_url=f"http://{host}:{shop_port}" if self._want_shop else None,
        )

    async def _spawn(self, engine: bool, shop: bool) -> dict:
        return await self._await_ready(await self._launch(engine, shop))

    async def _launch(self, engine: bool, shop: bool, *, standby: bool = False) -> asyncio.subprocess.Process:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "console.embedded_child",
            "--data-dir", str(self.data_dir),
            "--grpc-port", str(self._grpc_port if engine else -1),
            "--rest-port", str(self._rest_port),
            "--shop-port", str(self._shop_port if shop else -1),
            "--log-level", self._log_level,
            *(["--standby"] if standby else []),
        ]
        return await asyncio.create_subprocess_exec(
            *command,
            # The shop's secrets are the ones given here, never ones inherited by accident.
            env={**{k: v for k, v in os.environ.items() if k not in (CALLBACK_SECRET_ENV, API_KEY_ENV)},
                 **self._shop_secrets, **self._shop_faults},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )

    async def _await_ready(self, process: asyncio.subprocess.Process) -> dict:
        """Wait for the child's ready line; it becomes the running child (or is ended: EmbeddedError)."""
        self._process = process
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT_S)
        except TimeoutError:
            await self._end_child()
            raise EmbeddedError(f"embedded engine/shop did not start within {START_TIMEOUT_S:g} s") from None
        try:
            message = json.loads(line or b"{}")
        except ValueError:
            message = {}
        if not message.get("ready"):
            await self._end_child()
            reason = message.get("error") or f"exited with status {process.returncode}"
            log = self.data_dir / "embedded.log"
            raise EmbeddedError(f"embedded engine/shop failed to start: {reason} (see {log})")
        return message

    async def supervise(self, on_change: Callable[[bool, str], None], *, standby: bool = False) -> None:
        """Start the child again, on the same ports and data directory, whenever it dies.

        ``on_change(False, why)`` when it is gone, ``on_change(True, detail)`` when it is
        back. Returns when ``stop()`` is called, or at once if this console started no child
        (the services belong to another console or to ``medcam-console engine``).
        ``standby`` keeps a second child warm (its imports done, no port bound) that takes
        over in a fraction of a second; without it a restart pays the whole start-up.
        """
        self._keep_standby = standby
        while not self._stopping and self._spawned is not None:
            process = self._process
            if process is None:
                return
            self._warm_standby()
            code = await process.wait()
            if self._stopping or self._process is not process:
                return
            self._process = None
            on_change(False, f"embedded engine/shop exited with status {code}; starting it again")
            delay = RESTART_BACKOFF_S[0]
            while not self._stopping:
                try:
                    await self._take_over()
                except EmbeddedError as exc:
                    on_change(False, str(exc))
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, RESTART_BACKOFF_S[1])
                    continue
                self.restarts += 1
                on_change(True, f"embedded engine/shop started again (pid {self.pid})")
                break

    def _warm_standby(self) -> None:
        """Start a standby child in the background if one should be kept and none is alive."""
        if not self._keep_standby or self._spawned is None or self._stopping:
            return
        if self._standby is not None and self._standby.returncode is None:
            return
        if self._standby_launch is not None and not self._standby_launch.done():
            return

        async def launch() -> None:
            self._standby = await self._launch(*self._spawned, standby=True)  # type: ignore[misc]

        self._standby_launch = asyncio.get_running_loop().create_task(launch())

    async def _take_over(self) -> None:
        """Bring the services back: wake the standby child, or start a new one."""
        if self._standby_launch is not None:
            with contextlib.suppress(Exception):
                await self._standby_launch
        standby, self._standby = self._standby, None
        if standby is not None and standby.returncode is None and standby.stdin is not None:
            try:
                standby.stdin.write(b"start\n")
                await standby.stdin.drain()
            except (OSError, ConnectionError):
                pass
            else:
                await self._await_ready(standby)
                return
        await self._spawn(*self._spawned)  # type: ignore[misc]

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the child (it also stops by itself when this process exits and its stdin closes)."""
        self._stopping = True
        if self._standby_launch is not None:
            with contextlib.suppress(Exception):
                await self._standby_launch
        standby, self._standby = self._standby, None
        await self._end_child(timeout_s)
        if standby is not None:
            await self._end_child(timeout_s, standby)

    async def _end_child(self, timeout_s: float = 10.0, process: asyncio.subprocess.Process | None = None) -> None:
        """End ``process`` (default: the running child) by closing its stdin, then by signals."""
        if process is None:
            process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), timeout_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
