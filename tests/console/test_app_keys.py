"""Pilot tests of every main-screen key on the pinned demo data (no backend behind it)."""

from __future__ import annotations

from datetime import timedelta

from textual.binding import Binding

from console.app import MedcamApp
from console.events import JobActivated
from console.screens.help import HELP
from console.screens.main import MainScreen, key_name
from console.screenshots import FROZEN_NOW, SMALL, demo_app, demo_state
from console.widgets.orders_table import OrdersTable
from console.widgets.panel_tabs import PanelTabs

SIZE = (120, 36)


def _table(app: MedcamApp) -> OrdersTable:
    return app.screen.query_one(OrdersTable)


def _labels(app: MedcamApp) -> list[int]:
    return [app.state.orders[i].order.display_id for i in _table(app).shown]


def _title(app: MedcamApp) -> str:
    return str(app.screen.query_one("#orders-title").render())


async def test_filter_narrows_keeps_and_clears():
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert len(_labels(app)) == 10
        await pilot.press("slash", *"incident")
        await pilot.pause()
        assert sorted(_labels(app)) == [1005, 1009]
        assert _table(app).row_count == 2, "only the shown rows are handed to the table"
        assert "filter “incident”" in _title(app)
        await pilot.press("enter")
        assert app.focused is _table(app), "enter keeps the filter and goes back to the table"
        assert app.order_query.text == "incident"
        await pilot.press("slash", "escape")
        await pilot.pause()
        assert app.order_query.text == "" and len(_labels(app)) == 10


async def test_typing_in_the_filter_does_not_trigger_keys():
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"stuck cancel", "enter")
        await pilot.pause()
        assert type(app.screen) is MainScreen, "c and n went into the filter, not to cancel/new order"
        assert app.order_query.text == "stuck cancel"


async def test_sort_cycles_columns_and_reverses():
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert _labels(app)[0] == 1010
        await pilot.press("O")
        await pilot.pause()
        assert _labels(app)[0] == 1001 and "sort Order ↑" in _title(app)
        await pilot.press("o")  # next column: Progress, most done first
        await pilot.pause()
        assert app.order_query.sort == "Progress"
        first = app.state.orders[_table(app).shown[0]]
        assert all(s.state == "done" for s in first.stages)
        assert _table(app).row_keys == _table(app).shown, "drawn in that order"
        assert _table(app).selected_order_id == "order_01JGDEMO0009", "the cursor stays on its order"


async def test_space_marks_and_star_marks_every_shown_order():
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        first = _table(app).selected_order_id
        await pilot.press("space")
        await pilot.pause()
        assert app.marked == {first}
        assert str(_table(app).get_cell(first, "Order")).startswith("*")
        await pilot.press("slash", *"incident", "enter", "asterisk")
        await pilot.pause()
        assert app.marked == {first, "order_01JGDEMO0004", "order_01JGDEMO0008"}
        await pilot.press("asterisk")  # all shown are marked: unmark them
        await pilot.pause()
        assert app.marked == {first}


async def test_bulk_retry_dry_run_then_back_out_or_run():
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"#100", "enter", "asterisk", "R")
        await pilot.pause()
        dialog = app.screen
        assert type(dialog).__name__ == "BulkDialog"
        assert "Retry 2 orders (7 of 9 skipped)" in str(dialog.query_one("#bulk-title").render())
        plans = {item.label: item.plan for item in dialog.items}
        assert plans["#1005"] == "Inventory: give 3 retries, resolve"
        assert plans["#1001"] == "skip: no open incident"
        await pilot.press("plus", "plus", "minus")
        assert dialog.retries == 4
        assert {item.plan for item in dialog.items if item.runnable} == {"Inventory: give 4 retries, resolve"}
        await pilot.press("n")
        await pilot.pause()
        assert type(app.screen) is MainScreen and dialog.outcomes is None
        await pilot.press("R", "y")
        await pilot.pause()
        dialog = app.screen
        assert [o.ok for o in dialog.outcomes] == [True, True]
        assert "Done: 2 ok" in str(dialog.query_one("#bulk-hint").render())


async def test_retry_and_cancel_act_on_the_selected_order_when_nothing_is_marked():
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("down")  # #1009, which has an incident
        await pilot.press("r")
        await pilot.pause()
        assert [item.label for item in app.screen.items] == ["#1009"]
        await pilot.press("escape", "c")
        await pilot.pause()
        assert [item.label for item in app.screen.items] == ["#1009"]
        assert app.screen.items[0].runnable and app.screen.action == "cancel"


async def test_pause_holds_the_table_until_resumed():
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("p")
        app.state.apply(JobActivated(at=FROZEN_NOW - timedelta(seconds=1), order_id="order_01JGDEMO0005",
                                     stage="verify-payment", job_key=1, process_instance_key=2, retries=3, delay_s=2))
        app.refresh_panels()
        await pilot.pause()
        assert "·" in str(_table(app).get_cell("order_01JGDEMO0005", "Payment")), "paused: not drawn yet"
        assert "PAUSED" in str(app.screen.query_one("#pulse-bar").render())
        await pilot.press("p")
        await pilot.pause()
        assert "█" in str(_table(app).get_cell("order_01JGDEMO0005", "Payment"))


async def test_ctrl_r_redraws_every_row():
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        view = app.state.orders["order_01JGDEMO0000"]
        view.note = "changed behind the table's back"  # no event: only a forced refresh shows it
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert "changed behind" in str(_table(app).get_cell("order_01JGDEMO0000", "Note"))


async def test_audit_log_lists_who_did_what():
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await pilot.pause()
        table = app.screen.query_one("#audit-table")
        assert table.row_count == 6
        first = [str(c) for c in table.get_row_at(0)]
        assert first[1:5] == ["ops@ops-host:4242", "bulk-retry", "—", "2 ok"]
        await pilot.press("escape")
        assert type(app.screen) is MainScreen


async def test_panels_are_tabs_when_small_and_side_by_side_when_wide():
    app = demo_app()
    async with app.run_test(size=SMALL) as pilot:
        panels = app.screen.query_one(PanelTabs)
        assert panels.has_class("tabbed")
        assert [p.display for p in panels.panels] == [True, False, False]
        await pilot.press("t")
        assert [p.display for p in panels.panels] == [False, True, False]
        await pilot.resize_terminal(200, 50)
        await pilot.pause()
        assert not panels.has_class("tabbed") and all(p.display for p in panels.panels)


async def test_small_terminal_keeps_the_stages_and_status_in_view():
    app = demo_app()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        table = _table(app)
        header = table.render_line(0).text
        for name in ("Payment", "Inventory", "Notify", "Workflow", "Medusa"):
            assert name in header, f"{name} is drawn at {SMALL[0]} columns: {header!r}"
        assert table.table_width <= SMALL[0] - 2, "nothing beside the scrollbar to scroll to"


async def test_the_table_has_only_the_columns_the_terminal_shows():
    """A column scrolled out of view would still be drawn on every repaint: none is added."""
    app = demo_app()
    async with app.run_test(size=SMALL) as pilot:
        for width, height, extra in ((80, 24, []), (120, 36, ["Age", "Note"]),
                                     (200, 50, ["Age", "Customer", "Email", "Total", "Note"])):
            await pilot.resize_terminal(width, height)
            await pilot.pause(0.3)
            table = _table(app)
            assert table.columns == ("Order", "Payment", "Inventory", "Notify", "Workflow", "Medusa", *extra)
            used = table.table_width
            assert used <= width - 2, f"{used} columns of table at {width}: nothing to scroll to"
            assert table.row_count == 10, "rebuilt with every row"
        row = table.get_row("order_01JGDEMO0004")
        assert "incident" in str(row[-1]), "the note says what is wrong"


async def test_help_and_palette_list_every_key():
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        commands = [command.title for command in app.get_system_commands(app.screen)]
        for binding in MainScreen.BINDINGS:
            assert isinstance(binding, Binding) and binding.id
            key = key_name(binding)
            assert f"| `{key}` |" in HELP
            assert binding.id and binding.show
            if binding.action.startswith("page"):  # ten orders fit one page
                assert f"{binding.description} ({key})" not in commands, "listed only where it applies"
            else:
                assert f"{binding.description} ({key})" in commands


async def test_page_and_panel_keys_appear_where_they_apply():
    from console.widgets.key_bar import KeyBar

    def footer_keys(app: MedcamApp) -> set[str]:
        return {key for *_, keys in app.screen.query_one(KeyBar).hints for key in keys}

    async def until(check, pilot) -> bool:
        """The key line follows the bindings after they change: wait for it (5 s at most)."""
        for _ in range(100):
            if check():
                return True
            await pilot.pause(0.05)
        return check()

    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        assert await until(lambda: "t" in footer_keys(app), pilot), "at 80 columns the panels are tabs"
        assert "left_square_bracket" not in footer_keys(app), "ten orders fit one page"
        await pilot.resize_terminal(160, 48)
        assert await until(lambda: "t" not in footer_keys(app), pilot), "side by side: no tabs to switch"
    state, app = _live_app(range(1, 502))
    async with app.run_test(size=SIZE) as pilot:
        assert await until(lambda: {"left_square_bracket", "right_square_bracket"} <= footer_keys(app), pilot), \
            "501 orders: two pages"


async def test_read_only_hides_write_keys():
    app = MedcamApp(state=demo_state(), read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        enabled = {a.binding.action for a in app.screen.active_bindings.values() if a.enabled}
        assert {"start", "retry", "cancel", "new_order", "bulk_retry", "bulk_cancel", "shop_down"}.isdisjoint(enabled)
        await pilot.press("R", "C", "r", "c")
        await pilot.pause()
        assert type(app.screen) is MainScreen
        commands = " ".join(c.title for c in app.get_system_commands(app.screen))
        assert "Retry marked" not in commands and "Filter" in commands


async def test_pages_bound_the_rows_handed_to_the_table():
    state, app = _live_app(range(1, 1201))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = _table(app)
        assert table.row_count == 500 and len(table.shown) == 1200
        assert _title(app).startswith("Orders 1-500 of 1,200")
        await pilot.press("right_square_bracket", "right_square_bracket", "right_square_bracket")
        await pilot.pause()
        assert table.row_count == 200 and _title(app).startswith("Orders 1001-1200 of 1,200")
        assert table.row_keys[0] == "order_00200", "newest first: the last page holds the oldest"
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert table.row_count == 500 and _title(app).startswith("Orders 501-1000")


async def test_keys_typed_in_one_burst_after_slash_reach_the_filter():
    """Over SSH a pasted or fast-typed `/incident` arrives in one read: none of it may act as a key."""
    from textual import events

    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for character in "/incident":
            app.post_message(events.Key("slash" if character == "/" else character, character))
        await pilot.pause(0.3)
        assert app.order_query.text == "incident"
        assert type(app.screen) is MainScreen, "the c and n in 'incident' opened nothing"
        await pilot.press("escape")
        await pilot.pause()
        names = {"/": "slash", "\r": "enter", "*": "asterisk"}
        for character in "/incident\r*R":  # the whole outage sequence in one read
            app.post_message(events.Key(names.get(character, character), character))
        await pilot.pause(0.5)
        assert type(app.screen).__name__ == "BulkDialog"
        assert sorted(item.label for item in app.screen.items) == ["#1005", "#1009"], "only what the filter shows"


def _arrive(state, numbers) -> None:
    from console.events import OrderSeen
    from console.orders import OrderSummary

    for n in numbers:
        state.apply(OrderSeen(at=FROZEN_NOW, order=OrderSummary(
            id=f"order_{n:05d}", display_id=n, status="pending", email="a@b", customer="A B", total=1.0,
            currency="EUR", item_count=1, created_at=FROZEN_NOW.isoformat(), updated_at="")))


async def test_a_cursor_on_the_first_row_follows_new_orders_in():
    """Found by hand with 1,000 demo orders: the cursor kept to the first order it was on, so the
    view slid down with it and the newest orders were above the screen."""
    state, app = _live_app(range(1, 4))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        table = _table(app)
        assert table.selected_order_id == "order_00003"
        for start in range(4, 600, 37):  # batches, as the feed publishes them (to #632)
            _arrive(state, range(start, start + 37))
            await pilot.pause(0.3)
        assert table.row_keys[0] == "order_00632"
        assert table.selected_order_id == "order_00632" and table.scroll_y == 0, "the newest order is in view"


async def test_a_cursor_below_the_first_row_stays_on_its_order_and_home_end_move_it():
    state, app = _live_app(range(1, 21))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = _table(app)
        await pilot.press("down", "down")
        assert table.selected_order_id == "order_00018"
        _arrive(state, range(21, 31))
        await pilot.pause(0.3)
        assert table.row_keys[0] == "order_00030"
        assert table.selected_order_id == "order_00018", "the order being looked at stays chosen"
        await pilot.press("end")
        assert table.selected_order_id == "order_00001"
        await pilot.press("home")
        assert table.selected_order_id == "order_00030"


async def test_the_filter_sees_an_order_change_after_its_text_was_cached():
    """The filter keeps each order's searched text until the order changes: a change must show."""
    from console.events import OrderSeen
    from console.orders import OrderSummary
    state, app = _live_app(range(1, 6))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"reserved", "enter")
        await pilot.pause()
        assert _table(app).shown == [], "no inventory is reserved yet (and each order's text is now cached)"
        state.apply(OrderSeen(at=FROZEN_NOW, order=OrderSummary(  # Medusa's own status stays pending
            id="order_00003", display_id=3, status="pending", email="a@b", customer="A B", total=1.0,
            currency="EUR", item_count=1, created_at=FROZEN_NOW.isoformat(), updated_at="later",
            metadata={"workflow_status": "inventory_reserved", "workflow_instance": "42"})))
        await pilot.pause(0.4)
        assert _table(app).shown == ["order_00003"]


async def test_typing_on_in_the_filter_still_finds_an_order_that_changed_meanwhile():
    """Typing on looks only at the orders shown before, and at every order that changed."""
    from console.events import OrderSeen
    from console.orders import OrderSummary
    state, app = _live_app(range(1, 6))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"inv")
        await pilot.pause()
        assert _table(app).shown == []
        state.apply(OrderSeen(at=FROZEN_NOW, order=OrderSummary(
            id="order_00004", display_id=4, status="pending", email="a@b", customer="A B", total=1.0,
            currency="EUR", item_count=1, created_at=FROZEN_NOW.isoformat(), updated_at="later",
            metadata={"workflow_status": "inventory_reserved", "workflow_instance": "42"})))
        await pilot.press(*"ento")
        await pilot.pause(0.3)
        assert _table(app).shown == ["order_00004"]


def _live_app(numbers):
    """A state holding orders #numbers, and the app over it (no backends)."""
    from console.state import ConsoleState

    state = ConsoleState()
    _arrive(state, numbers)
    return state, MedcamApp(state=state, clock=lambda: FROZEN_NOW)


async def test_rows_scrolled_into_view_show_their_age_at_the_next_refresh():
    """Rows are built when first drawn; ages of rows off screen are not kept up, and a row that
    scrolls back in catches up at once."""
    from datetime import timedelta

    now = [FROZEN_NOW]
    state, _ = _live_app(range(1, 201))
    app = MedcamApp(state=state, clock=lambda: now[0])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = _table(app)
        below = table.row_keys[120]
        assert not table.built(below), "a row never drawn has no cells yet"
        table.move_cursor(120)
        await pilot.pause()
        assert table.built(below) and str(table.get_cell(below, "Age")) == "0s"
        table.move_cursor(0)
        await pilot.pause()
        now[0] = FROZEN_NOW + timedelta(minutes=7)
        app.refresh_panels()  # the ages step: every row on screen is rebuilt
        await pilot.pause()
        assert str(table.get_cell(table.row_keys[0], "Age")) == "7m"
        assert str(table.get_cell(below, "Age")) == "0s", "off screen: left as it was"
        now[0] += timedelta(seconds=1)  # inside the 5 s step: only moving or new rows
        table.move_cursor(120)
        await pilot.pause()
        app.refresh_panels()
        await pilot.pause()
        assert str(table.get_cell(below, "Age")) == "7m"


async def test_the_key_line_shows_whole_hints_and_follows_the_focus():
    from console.widgets.key_bar import KeyBar

    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        bar = app.screen.query_one(KeyBar)
        line = bar.render().plain
        assert line.startswith("⏎ Detail  ? Help  / Filter") and line.endswith("^p palette"), line
        assert "…" not in line and len(line) == 80, "a hint is shown whole or not at all"
        before = bar.hints
        app.screen.refresh_bindings()  # nothing changed: nothing to draw again
        await pilot.pause()
        assert bar.hints is before
        await pilot.press("slash")
        await pilot.pause()
        labels = [label for _, label, _, _ in bar.hints]
        assert "Keep filter" in labels and "Clear filter" in labels, labels
        await pilot.press("escape")
        await pilot.pause()
        assert "Keep filter" not in [label for _, label, _, _ in bar.hints]


async def test_filter_texts_are_built_ahead_while_idle_and_kept_when_the_filter_is_cleared():
    """A console with nothing moving skips its refreshes; it still builds the filter's texts
    ahead, so the first key typed finds them ready. Leaving the filter keeps them."""
    state, app = _live_app(range(1, 6001))  # a frozen clock: every refresh after the first is skipped
    async with app.run_test(size=SIZE) as pilot:
        table = _table(app)

        async def warm() -> bool:
            for _ in range(100):
                await pilot.pause(0.05)
                if table.row_count and not table._texts.cold(state):
                    return True
            return False

        assert await warm(), "6,000 texts built within 5 s of idle"
        await pilot.press("slash", *"00123", "escape")
        await pilot.pause()
        assert app.order_query.text == "" and not table._texts.cold(state), "escape rebuilt nothing"


async def test_a_click_on_a_column_header_sorts_by_it():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        table = _table(app)
        header = table.render_line(0).text
        await pilot.click(OrdersTable, offset=(header.index("Workflow") + 1, 0))
        await pilot.pause()
        assert app.order_query.sort == "Workflow"
        await pilot.click(OrdersTable, offset=(header.index("Inventory") + 1, 0))
        await pilot.pause()
        assert app.order_query.sort == "Progress", "a stage column sorts by progress"
        await pilot.click(OrdersTable, offset=(header.index("Note") + 1, 0))
        await pilot.pause()
        assert app.order_query.sort == "Progress", "the note is not a sort"
