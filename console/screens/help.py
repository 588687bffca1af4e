"""The help screen: every key (from the bindings themselves), what the marks and panels mean."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from console.screens.main import MainScreen, key_name

#: A longer word on what each key does, by binding id.
DETAIL = {
    "help-keys": "this help",
    "filter": "filter: words that all must match order id, #display id, email, customer, status, "
              "stage or error; `incident`, `stuck`, `drift`, `declined`, `marked` match flags. "
              "enter keeps it, escape clears it",
    "mark": "mark / unmark the selected order",
    "mark-all": "mark every order the filter shows (again: unmark them)",
    "bulk-retry": "retry the marked orders (or the selected one): dry run first, `y` runs it",
    "bulk-cancel": "cancel the marked orders' workflows (or the selected one's): dry run first",
    "start": "start fulfillment for the selected order (if it has none, or was cancelled)",
    "retry": "retry the selected order's incident: asks how many retries to give back (3), "
             "UpdateJobRetries, ResolveIncident, then checks that the incident is gone",
    "cancel": "cancel the selected order's workflow (asks first); metadata says `cancelled`",
    "new-order": "create a demo order (draft order converted to an order)",
    "shop-down": "demo: switch \"the shop is down\" on/off on the embedded shop (every callback gets 500)",
    "sort": "sort by the next column (Order, Progress, Workflow, Medusa, Age, Customer, Email, Total)",
    "sort-reverse": "reverse the sort",
    "page-prev": "previous page of 500 orders",
    "page-next": "next page of 500 orders",
    "pause": "pause / resume live updates (events are still recorded)",
    "refresh": "refresh now: poll Medusa again and redraw every row",
    "audit-log": "the audit log: who did what, when, on which orders, and the outcome",
    "next-panel": "show the next lower panel when they are tabs (small terminals)",
    "order-detail": "the selected order's detail: its process drawn with the path taken, stage timeline, "
                    "variables, Medusa vs engine drift, callbacks, Slack, audit (`escape` goes back)",
}


def keys_table() -> str:
    rows = ["| Key | Action |", "|-----|--------|"]
    for binding in MainScreen.BINDINGS:
        assert isinstance(binding, Binding)
        key = key_name(binding)
        rows.append(f"| `{key}` | {DETAIL.get(binding.id or '', binding.description)} |")
    rows += ["| `↑ ↓ pgup pgdn home end` | choose an order; on the first row the cursor follows new orders in |", "| `ctrl+p` | command palette: every key by name |",
             "| `q` | quit (the embedded engine and shop stop with the console) |"]
    return "\n".join(rows)


HELP = f"""\
# medcam-console

Order fulfillment across **Medusa** (orders) and **Zeebe** (workflow):
verify-payment → reserve-inventory → send-notification.

{keys_table()}

**Header**: engine (embedded / SaaS / self-managed), Medusa and Slack, the workers; then orders
in flight, done, incidents, stuck and drift, completed orders per minute with a sparkline, and
any demo fault that is on.

**Orders**: one row per order, with a bar per stage: yellow moves while a stage works, green is
done, red failed (Zeebe retries the job with back-off). The `!` column: `*` marked, `I` incident,
`S` stuck (its stage runs longer than max(30 s, 3 × the stage's p95)), `D` drift (Medusa's
metadata out of step with the engine). Click a header to sort by it.

**Incidents**: a job out of retries. Fix the cause (e.g. Medusa down), then `r`, or mark and `R`.

**Callback attempts**: every status callback to Medusa (`POST /demo`): 3 attempts,
1 s then 2 s apart, 5 s timeout each; after the last, the job fails with 5 s back-off.

**Events**: what just happened, newest at the bottom.

Logs: `console.log` (JSON lines) in the data directory. Press `escape` to close.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "app.pop_screen", "Close", id="help-close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Markdown(HELP)
