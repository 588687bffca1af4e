"""The help screen: what each key does and what the panels mean."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# medcam-console

Order fulfillment across **Medusa** (orders) and **Zeebe** (workflow):
verify-payment → reserve-inventory → send-notification.

| Key | Action |
|-----|--------|
| `s` | start fulfillment for the selected order (if it has none, or was cancelled) |
| `r` | retry the selected order's incident: give the job retries back, then resolve |
| `c` | cancel the selected order's workflow (asks first); metadata says `cancelled` |
| `n` | create a new demo order (draft order converted to an order) |
| `enter` | the selected order's detail: its process drawn with the path taken, stage timeline, variables, Medusa vs engine drift, callbacks, Slack, audit (`escape` goes back) |
| `↑ ↓` | choose an order |
| `tab` | move between panels |
| `?` | this help |
| `q` | quit (the embedded engine and shop stop with the console) |

**Orders**: one row per order, newest first, with a bar per stage. Yellow moves while
a stage works, green is done, red failed (the job is retried by Zeebe with back-off).

**Incidents**: a job out of retries. Fix the cause (e.g. Medusa down), then `r`.

**Callback attempts**: every status callback to Medusa (`POST /demo`): 3 attempts,
1 s then 2 s apart, 5 s timeout each; after the last, the job fails with 5 s back-off.

Logs: `console.log` (JSON lines) in the data directory. Press `escape` to close.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "app.pop_screen", "Close", id="help-close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Markdown(HELP)
