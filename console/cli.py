"""``medcam-console``: the console, headless workers, the embedded engine, bench and screenshots."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from console.logging_setup import setup_logging
from console.settings import Settings, SettingsError, load_settings
from workers.stages import parse_delays

DESCRIPTION = """\
Operations console for order fulfillment across Medusa and Camunda 8 / Zeebe.

With no configuration it starts an embedded Zeebe-compatible engine and an embedded
Medusa-compatible shop on 127.0.0.1, creates demo orders and fulfills them. Set
ZEEBE_ADDRESS (and credentials) and MEDUSA_BACKEND_URL to use real services; see
.env.example for every variable.
"""


def _delays(text: str) -> tuple[float, ...]:
    try:
        return parse_delays(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 1")
    return value


def _positive(text: str) -> int:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _port(text: str) -> int:
    value = _non_negative(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a TCP port (0-65535)")
    return value


def build_parser() -> argparse.ArgumentParser:
    # SUPPRESS: an option given before the sub-command must not be reset by the sub-parser.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--env-file", type=Path, metavar="FILE", help="read settings from FILE (default: ./.env if present)")
    common.add_argument("--data-dir", type=Path, metavar="DIR", help="where state and logs live (MEDCAM_DATA_DIR)")
    common.add_argument("--delays", type=_delays, metavar="seed|zero|A,B,C",
                        help="stage work durations in seconds (MEDCAM_STAGE_DELAYS; seed = 2,3,1.5)")
    common.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log level (MEDCAM_LOG_LEVEL)")

    parser = argparse.ArgumentParser(
        prog="medcam-console", description=DESCRIPTION, parents=[common],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--no-workers", action="store_true",
                        help="run no job workers and start nothing automatically (a pure viewer)")
    parser.add_argument("--read-only", action="store_true",
                        help="hide every write action (start, retry, cancel, new order); no auto-start")
    parser.add_argument("--no-auto-start", action="store_true", help="do not start fulfillment for new orders (MEDCAM_AUTO_START=false)")
    parser.add_argument("--demo-orders", type=_non_negative, metavar="N",
                        help="on the embedded shop, create demo orders at start until it holds N (MEDCAM_DEMO_ORDERS, default 5)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    workers = sub.add_parser(
        "workers", parents=[common], help="run the three job workers headless (for scale-out and service managers)",
        description="Run the fulfillment job workers without the screen until SIGTERM/SIGINT. On SIGTERM, "
                    "running jobs get MEDCAM_SHUTDOWN_GRACE_S (default 30) to finish; the rest are handed back.")
    workers.add_argument("--metrics-port", type=_port, metavar="P",
                         help="serve Prometheus metrics on 127.0.0.1:P/metrics (MEDCAM_METRICS_PORT; "
                              "MEDCAM_METRICS_HOST to bind another address)")

    bench = sub.add_parser("bench", parents=[common], help="run N orders through the whole path and print figures",
                           description="Headless benchmark on a private embedded engine and shop: create instance, "
                                       "three jobs, three HTTP callbacks and metadata per order.")
    bench.add_argument("--orders", type=_positive, default=None, metavar="N",
                       help="orders to run (default 100; with --floor: calls per case, default 3000)")
    bench.add_argument("--concurrency", type=_positive, default=64, metavar="C",
                       help="orders in flight at once (default 64); each submitter starts them one after "
                            "another, as an order.placed subscriber does")
    bench.add_argument("--submitters", type=_positive, default=1, metavar="S",
                       help="order.placed subscribers starting orders side by side (default 1), "
                            "sharing the --concurrency limit")
    bench.add_argument("--process", choices=("poc", "parallel"), default="poc",
                       help="the seed's process (poc, default) or verify and reserve in parallel")
    bench.add_argument("--decline-rate", type=_rate, default=0.0, metavar="R",
                       help="share of demo orders (0 to 1) whose payment the shop declines; needs --process parallel")
    bench.add_argument("--json", action="store_true", help="print only the JSON object")
    bench.add_argument("--engine-only", action="store_true",
                       help="measure the embedded engine alone: --orders instances of a one-service-task "
                            "process with zero-work pyzeebe workers (instances/s, CPU per instance)")
    bench.add_argument("--streaming", action="store_true",
                       help="with --engine-only: workers use StreamActivatedJobs as well as polling")
    bench.add_argument("--ui", action="store_true",
                       help="measure the console's screen instead: load --orders (default 10000) through the "
                            "embedded stack, then time to first frame, keypress-to-repaint p50/p99, CPU idle "
                            "and while --flow orders run, RSS")
    bench.add_argument("--flow", type=_non_negative, default=200, metavar="K",
                       help="with --ui: orders started while CPU is measured (default 200)")
    bench.add_argument("--timeout", type=_positive, default=600, metavar="S", help="give up after S seconds (default 600)")
    bench.add_argument("--floor", action="store_true",
                       help="measure the transport floor instead: CPU per call of a trivial gRPC call, a pushed "
                            "job and an HTTP POST, client and server in separate processes, and the orders/s "
                            "they allow (python -m bench.library_floor has more options)")

    engine = sub.add_parser("engine", parents=[common], help="run the embedded engine (and shop) standalone",
                            description="Serve the embedded Zeebe-compatible engine and Medusa-compatible shop "
                                        "on 127.0.0.1 until SIGTERM.")
    engine.add_argument("--grpc-port", type=_port, default=26500, help="Zeebe gRPC port (default 26500)")
    engine.add_argument("--rest-port", type=_port, default=8080, help="Camunda REST v2 port (default 8080)")
    engine.add_argument("--shop-port", type=_port, default=9000, help="shop port (default 9000)")

    from console.commands.verbs import add_verb_parsers

    add_verb_parsers(sub, common)
    serve = sub.add_parser("serve", parents=[common], help="serve the console to a browser (textual-serve; no login)",
                           description="Serve the same console to web browsers through textual-serve. It has no "
                                       "login of its own: bind it to loopback and put an authenticating proxy in front.")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port to listen on (default 8000)")
    serve.add_argument("--public-url", metavar="URL", default=None,
                       help="the address browsers use, when behind a proxy (default http://HOST:PORT)")

    shots = sub.add_parser("screenshots", help="export the screens as SVG into screenshots/ (fixed demo data)")
    shots.add_argument("--output", type=Path, default=Path("screenshots"), metavar="DIR", help="folder (default ./screenshots)")
    return parser


def _fail(message: str) -> int:
    print(f"medcam-console: {message}", file=sys.stderr)
    return 2


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = args.data_dir
    if getattr(args, "delays", None) is not None:
        overrides["stage_delays"] = args.delays
    if getattr(args, "log_level", None):
        overrides["log_level"] = args.log_level
    if getattr(args, "no_auto_start", False):
        overrides["auto_start"] = False
    if getattr(args, "metrics_port", None) is not None:
        overrides["metrics_port"] = args.metrics_port
    if getattr(args, "demo_orders", None) is not None:
        overrides["demo_orders"] = args.demo_orders
    return load_settings(getattr(args, "env_file", None), **overrides)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "screenshots":
            from console.screenshots import export_screenshots

            for path in export_screenshots(args.output):
                print(path)
            sys.exit(0)
        settings = _settings(args)
    except SettingsError as exc:
        sys.exit(_fail(str(exc)))
    setup_logging(settings.data_dir / "console.log", settings.log_level, settings.secrets())
    handlers = {"workers": _run_workers, "bench": _run_bench, "engine": _run_engine, "serve": _run_serve, **_verbs()}
    handler = handlers.get(args.command, _run_console)
    try:
        sys.exit(handler(args, settings))
    except KeyboardInterrupt:
        sys.exit(130)


def _verbs() -> dict:
    from console.commands.verbs import VERBS, run_verb

    return dict.fromkeys(VERBS, run_verb)


def _run_console(args: argparse.Namespace, settings: Settings) -> int:
    from console.app import MedcamApp
    from console.runtime import ConsoleRuntime, StartupError

    # A viewer (--no-workers) or a read-only console never writes: no auto-start, no demo orders,
    # drift is shown but not repaired.
    writes = not (args.no_workers or args.read_only)
    # The screen opens even if Zeebe or Medusa is not up yet: the header shows them down and
    # the console connects when they answer.
    runtime = ConsoleRuntime(settings, workers=not args.no_workers, auto_start=settings.auto_start and writes,
                             wait_for_backends=True, drift_repair=writes)
    where = "embedded engine and shop" if (settings.embedded_engine or settings.embedded_shop) else "Zeebe and Medusa"
    print(f"medcam-console: connecting to {where} (data in {settings.data_dir}) …", file=sys.stderr)
    loop = asyncio.new_event_loop()
    try:
        try:
            loop.run_until_complete(runtime.start())
        except StartupError as exc:
            loop.run_until_complete(runtime.stop())
            return _fail(str(exc))
        demo = settings.demo_orders if settings.embedded_shop and writes else 0
        mode = "read-only" if args.read_only else ("viewer" if args.no_workers else "")
        app = MedcamApp(runtime, read_only=args.read_only, demo_orders=demo, mode=mode)
        asyncio.set_event_loop(loop)
        loop.run_until_complete(app.run_async())
        loop.run_until_complete(runtime.stop())
    finally:
        loop.close()
    return app.return_code or 0


def _run_workers(args: argparse.Namespace, settings: Settings) -> int:
    from console.events import WorkerStatus
    from console.runtime import ConsoleRuntime, StartupError

    async def work() -> int:
        runtime = ConsoleRuntime(settings, workers=True, auto_start=False, feeds=False)
        try:
            await runtime.start()
        except StartupError as exc:
            await runtime.stop()
            return _fail(str(exc))
        runtime.bus.subscribe(
            lambda e: print(f"workers: {e.state} {e.detail}".rstrip(), file=sys.stderr, flush=True)
            if isinstance(e, WorkerStatus) else None
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        runtime.start_background()
        if runtime.metrics is not None:
            print(f"workers: metrics on {runtime.metrics.url}", file=sys.stderr, flush=True)
        await stop.wait()
        print(f"workers: stopping (letting running jobs finish, up to {settings.shutdown_grace_s:g} s)",
              file=sys.stderr, flush=True)
        await runtime.stop()
        print(f"workers: stopped ({runtime.handed_back} job(s) handed back)", file=sys.stderr)
        return 0

    from serving.event_loop import run

    return run(work())  # uvloop when installed: the workers' gRPC and HTTP calls cost less


def _run_bench(args: argparse.Namespace, settings: Settings) -> int:
    from bench.full_path import ignored_backend_settings, run_bench
    from console.runtime import StartupError
    from serving.event_loop import run

    if args.ui:
        from bench.ui import report_text as ui_text
        from bench.ui import run_ui_bench

        try:
            result = asyncio.run(run_ui_bench(args.orders or 10_000, args.flow, timeout_s=args.timeout))
        except (StartupError, TimeoutError) as exc:
            return _fail(str(exc) or f"gave up after {args.timeout} s")
        print(json.dumps(result) if args.json else ui_text(result))
        return 0
    if args.floor:
        from bench.library_floor import report_text, run_floor

        report = run_floor(calls=args.orders or 3000)
        print(json.dumps(report) if args.json else report_text(report))
        return 0
    if args.engine_only:
        from bench.engine_only import run_engine_bench
        from console.embedded import EmbeddedError

        try:
            result = run(run_engine_bench(
                args.orders or 100, streaming=args.streaming, concurrency=args.concurrency, timeout_s=args.timeout))
        except EmbeddedError as exc:
            return _fail(str(exc))
        print(json.dumps(result, indent=None if args.json else 2))
        return 0 if result["completed"] == result["instances"] else 1
    delays = getattr(args, "delays", None) or parse_delays("seed")
    if args.decline_rate and args.process != "parallel":
        return _fail("--decline-rate needs --process parallel (the seed's process has no payment-declined path)")
    ignored = ignored_backend_settings(settings)
    if ignored:
        print(f"medcam-console bench: ignoring {', '.join(ignored)} "
              "(bench runs only on its private embedded engine and shop)", file=sys.stderr)
    try:
        result = run(run_bench(args.orders or 100, args.concurrency, delays, timeout_s=args.timeout,
                               submitters=args.submitters, process=args.process, decline_rate=args.decline_rate))
    except StartupError as exc:
        return _fail(str(exc))
    text = json.dumps(result, indent=None if args.json else 2)
    print(text)
    if args.decline_rate and result["declined"] == 0 and result["orders"] >= 20:
        print("medcam-console: note: the shop declined no payment (does it support MEDCAM_DEMO_DECLINE_RATE?)",
              file=sys.stderr)
    return 0 if result["completed"] + result["declined"] == result["orders"] else 1


def _run_serve(args: argparse.Namespace, settings: Settings) -> int:
    from console.serve import serve

    return serve(args)


def _run_engine(args: argparse.Namespace, settings: Settings) -> int:
    from console.embedded import EmbeddedError, EmbeddedServices

    async def serve() -> int:
        services = EmbeddedServices(
            settings.data_dir / "embedded", engine=True, shop=True,
            grpc_port=args.grpc_port, rest_port=args.rest_port, shop_port=args.shop_port,
            log_level=settings.log_level, callback_fail_rate=settings.demo_callback_fail_rate,
            decline_rate=settings.demo_decline_rate, demo_seed=settings.demo_seed,
        )
        try:
            found = await services.start()
        except EmbeddedError as exc:
            return _fail(str(exc))
        if services.reused:
            await services.stop()
            return _fail(f"already running: {', '.join(services.reused)} answer on the given ports")
        print(
            f"medcam-console engine: Zeebe gRPC {found.zeebe_address}, REST {found.zeebe_rest_url}/v2, "
            f"shop {found.medusa_url} (pid {services.pid}, data {services.data_dir})",
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await services.stop()
        return 0

    return asyncio.run(serve())


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
