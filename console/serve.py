"""``medcam-console serve``: the same console in a browser, through textual-serve."""

from __future__ import annotations

import argparse
import shlex
import sys

#: Options of the console itself that each browser session's console gets too.
_FORWARDED_FLAGS = ("no_workers", "read_only", "no_auto_start")
_FORWARDED_VALUES = ("env_file", "data_dir", "log_level", "demo_orders")


def console_command(args: argparse.Namespace) -> str:
    """The command line textual-serve runs for each browser session: this console, same options."""
    argv = [sys.executable, "-m", "console.cli"]
    for name in _FORWARDED_VALUES:
        value = getattr(args, name, None)
        if value is not None:
            argv += [f"--{name.replace('_', '-')}", str(value)]
    delays = getattr(args, "delays", None)
    if delays is not None:
        argv += ["--delays", ",".join(f"{d:g}" for d in delays)]
    argv += [f"--{name.replace('_', '-')}" for name in _FORWARDED_FLAGS if getattr(args, name, False)]
    return shlex.join(argv)


def serve(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM. Each browser tab runs its own console process; they share
    the embedded engine and shop, as several SSH logins do."""
    from textual_serve.server import Server

    url = args.public_url or f"http://{args.host}:{args.port}"
    print(f"medcam-console serve: {url} (no login of its own: put it behind an authenticating proxy)",
          file=sys.stderr, flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"medcam-console serve: warning: {args.host} is reachable from other machines and there is no "
              "login; anyone who opens the page operates the console", file=sys.stderr, flush=True)
    try:
        Server(console_command(args), host=args.host, port=args.port, title="medcam-console",
               public_url=args.public_url).serve()
    except OSError as exc:  # the address is taken or cannot be bound
        print(f"medcam-console: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0
