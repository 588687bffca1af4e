"""Real medcam-console processes for the chaos tier: started in their own session, always reaped."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
from collections.abc import Iterator
from pathlib import Path

#: Settings a test must never inherit from the developer's shell or .env.
_FOREIGN = ("ZEEBE_", "CAMUNDA_", "MEDUSA_", "SLACK_", "MEDCAM_")


def free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports (held open together while choosing)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def console_env(data_dir: Path, **values: object) -> dict[str, str]:
    """The environment of a child medcam-console: ours minus backend settings, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN)}
    env.update({"MEDCAM_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1", "MEDCAM_LOG_LEVEL": "INFO"})
    env.update({k: str(v) for k, v in values.items()})
    return env


class Process:
    """A ``medcam-console`` command in a session of its own, so its children die with it."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, *, terminal: bool = False) -> None:
        self.args = args
        command = [sys.executable, "-m", "console.cli", *args]
        self._drain: threading.Thread | None = None
        self._master: int | None = None
        if terminal:
            # The TUI needs a terminal: a pseudo-terminal of 120x36 whose output is read and dropped.
            master, slave = pty.openpty()
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
            env = {**env, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "36"}
            self.popen = subprocess.Popen(
                command, env=env, cwd=cwd, stdin=slave, stdout=slave, stderr=slave, start_new_session=True
            )
            os.close(slave)
            self._master = master
            self._drain = threading.Thread(target=self._read_terminal, daemon=True)
            self._drain.start()
        else:
            log = open(cwd / f"{args[0] if args else 'console'}-{os.getpid()}.out", "ab")  # noqa: SIM115
            self.popen = subprocess.Popen(
                command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
            log.close()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def sigkill(self) -> None:
        """SIGKILL this process only (its children notice their closed pipe and exit)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def sigkill_group(self) -> None:
        """SIGKILL the process and every child in its session at once: nothing shuts down cleanly."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, timeout_s: float = 20.0) -> int | None:
        """SIGTERM, then SIGKILL of the whole session if it does not end in time."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)
        if self._master is not None:
            with contextlib.suppress(OSError):
                os.close(self._master)
            self._master = None
        return self.popen.returncode

    def _read_terminal(self) -> None:
        while self._master is not None:
            try:
                if not os.read(self._master, 65536):
                    return
            except OSError:
                return


@contextlib.contextmanager
def reaped() -> Iterator[list[Process]]:
    """Collects processes; every one is stopped (and its session killed) on the way out."""
    processes: list[Process] = []
    try:
        yield processes
    finally:
        for process in reversed(processes):
            process.stop(timeout_s=10)
