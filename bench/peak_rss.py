"""``python -m bench.peak_rss -- CMD...``: run CMD and report the peak RSS of it and each descendant."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

#: How often the process tree is sampled; VmHWM is the kernel's own peak, so sampling only has
#: to catch each process before it exits.
SAMPLE_S = 0.2


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _status(pid: int) -> tuple[str, float] | None:
    """(command line, VmHWM in MiB) of a process, None once it is gone."""
    try:
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    if "VmHWM" not in fields:
        return None
    name = " ".join(a.decode(errors="replace") for a in argv[:4] if a)
    return name, round(int(fields["VmHWM"].split()[0]) / 1024, 1)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print("usage: python -m bench.peak_rss -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    process = subprocess.Popen(argv)
    peaks: dict[int, tuple[str, float]] = {}
    while process.poll() is None:
        pending = [process.pid]
        while pending:
            pid = pending.pop()
            status = _status(pid)
            if status is not None:
                peaks[pid] = (status[0], max(status[1], peaks.get(pid, ("", 0.0))[1]))
            pending += _children(pid)
        time.sleep(SAMPLE_S)
    report = [{"pid": pid, "command": name, "peak_rss_mb": mb} for pid, (name, mb) in peaks.items()]
    print(json.dumps({"peak_rss": report}), file=sys.stderr)
    return process.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
