"""Argument parsers and entry points of the CLI verbs: orders, start, retry, cancel, doctor."""

from __future__ import annotations

import argparse
import json
import sys

from console.commands.actions import ActionResult, act, orders_with_incidents
from console.commands.orders import matches, order_json, orders_table
from console.commands.session import VerbError, all_orders, resolve, verb_runtime
from console.runtime import StartupError
from console.settings import Settings

#: Exit codes: every order done; some order failed; bad usage or a backend out of reach.
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

VERBS = ("orders", "start", "retry", "cancel", "doctor")

_CONNECTS = ("Connects to the configured Zeebe and Medusa, or to the embedded engine and shop if they "
             "already run (it never starts them, nor workers). Exit 0: all done; 1: an order failed; "
             "2: bad usage or a backend out of reach.")


def add_verb_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add the four verbs to the ``medcam-console`` sub-command parser."""
    orders = sub.add_parser("orders", parents=[common], help="list orders and their workflow state",
                            description=f"List orders, newest first. {_CONNECTS}")
    orders.add_argument("--filter", metavar="TEXT",
                        help="only orders whose id, number, customer, email or status contain every word")
    orders.add_argument("--json", action="store_true", help="print one JSON object")

    start = sub.add_parser("start", parents=[common], help="start fulfillment for orders",
                           description=f"Start fulfillment (claim, create the instance, record it). {_CONNECTS}")
    start.add_argument("orders", nargs="+", metavar="ORDER", help="order id (order_…) or display id (#12 or 12)")
    start.add_argument("--json", action="store_true", help="print one JSON object")

    retry = sub.add_parser("retry", parents=[common], help="retry orders' incidents",
                           description="Give the failed job its retries back, then resolve the incident. "
                                       + _CONNECTS)
    retry.add_argument("orders", nargs="*", metavar="ORDER", help="order id or display id")
    retry.add_argument("--all-incidents", action="store_true", help="retry every open incident")
    retry.add_argument("--json", action="store_true", help="print one JSON object")

    cancel = sub.add_parser("cancel", parents=[common], help="cancel orders' workflows",
                            description="Cancel the process instance and mark the metadata cancelled. Asks "
                                        "first on a terminal; without one, --yes is required. " + _CONNECTS)
    cancel.add_argument("orders", nargs="+", metavar="ORDER", help="order id or display id")
    cancel.add_argument("--yes", action="store_true", help="do not ask")
    cancel.add_argument("--json", action="store_true", help="print one JSON object")

    doctor = sub.add_parser("doctor", parents=[common], help="check every configured endpoint",
                            description="Check Zeebe (topology, auth), Camunda REST v2, Medusa (reachability, "
                                        "auth), the callback route (GET /demo) and the Slack webhook (DNS, TLS; "
                                        "nothing is posted). With nothing configured, the embedded engine and "
                                        "shop's ports. Exit 1 if any check fails.")
    doctor.add_argument("--json", action="store_true", help="print one JSON object")


def _fail(message: str) -> int:
    print(f"medcam-console: {message}", file=sys.stderr)
    return EXIT_USAGE


def run_verb(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``args.command``; returns the exit code."""
    from serving.event_loop import run

    if args.command == "retry" and bool(args.orders) == bool(args.all_incidents):
        return _fail("retry needs ORDER... or --all-incidents (not both)")
    if args.command == "cancel" and not args.yes and not sys.stdin.isatty():
        return _fail("cancel asks for confirmation: run it on a terminal or pass --yes")
    if args.command == "doctor":
        return run(_doctor(args, settings))
    try:
        return run(_orders(args, settings) if args.command == "orders" else _act(args, settings))
    except (StartupError, VerbError) as exc:
        return _fail(str(exc))


async def _doctor(args: argparse.Namespace, settings: Settings) -> int:
    from console.doctor import FAIL, doctor_table, run_doctor

    results = await run_doctor(settings)
    failed = sum(r.result == FAIL for r in results)
    if args.json:
        print(json.dumps({"checks": [r.as_json() for r in results], "failed": failed}))
    else:
        print(doctor_table(results))
    return EXIT_FAILED if failed else EXIT_OK


async def _orders(args: argparse.Namespace, settings: Settings) -> int:
    async with verb_runtime(settings) as runtime:
        orders = [o for o in await all_orders(runtime) if matches(o, args.filter)]
    if args.json:
        print(json.dumps({"orders": [order_json(o) for o in orders], "count": len(orders)}))
    else:
        print(orders_table(orders))
    return EXIT_OK


async def _act(args: argparse.Namespace, settings: Settings) -> int:
    action = args.command
    async with verb_runtime(settings, deploy=action == "start") as runtime:
        orphans: list[ActionResult] = []
        if action == "retry" and args.all_incidents:
            orders, orphans = await orders_with_incidents(runtime)
        else:
            orders = await resolve(runtime, args.orders)
        if action == "cancel" and not args.yes and not _confirm(orders):
            print("cancel: nothing cancelled", file=sys.stderr)
            return EXIT_FAILED
        results = orphans + await act(runtime, action, orders)
    failed = sum(not r.ok for r in results)
    if args.json:
        print(json.dumps({"results": [r.as_json() for r in results], "ok": len(results) - failed, "failed": failed}))
    else:
        for result in results:
            print(result.line())
        if not results:
            print(f"{action}: nothing to do (no open incidents)")
    return EXIT_FAILED if failed else EXIT_OK


def _confirm(orders: list) -> bool:
    labels = ", ".join(o.label for o in orders)
    try:
        answer = input(f"Cancel the fulfillment of {labels}? Metadata becomes 'cancelled'. [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")
