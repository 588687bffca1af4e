"""The line-API table under the orders table: what it redraws, its cursor, keys and clicks."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from console.widgets.row_table import RowTable

COLUMNS = ("Order", "State", "Total")
WIDTHS = {"Order": 6, "State": 10, "Total": 8}


def _cells(n: int, state: str = "pending") -> tuple[Text | str, ...]:
    return (f"#{n}", Text(state, style="green"), f"{n}.00")


class _Host(App):
    def __init__(self) -> None:
        super().__init__()
        self.chosen: list[str] = []
        self.clicked: list[str] = []

    def compose(self) -> ComposeResult:
        yield RowTable(id="rows")

    def on_mount(self) -> None:
        table = self.query_one(RowTable)
        table.set_columns(COLUMNS, WIDTHS, right=("Total",))
        keys = [f"k{n}" for n in range(100)]
        table.set_rows(keys, {f"k{n}": _cells(n) for n in range(100)})
        table.focus()

    def on_row_table_row_chosen(self, event: RowTable.RowChosen) -> None:
        self.chosen.append(event.key)

    def on_row_table_header_clicked(self, event: RowTable.HeaderClicked) -> None:
        self.clicked.append(event.column)


async def test_a_changed_row_is_drawn_again_and_the_others_keep_their_drawing():
    app = _Host()
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        table = app.query_one(RowTable)
        drawn = dict(table._drawn)
        assert set(drawn) == set(table.visible_keys()) and len(drawn) < 20, "only the rows on screen were drawn"
        assert not table.update_row("k3", _cells(3)), "the same cells draw nothing"
        assert table.update_row("k3", _cells(3, "failed"))
        await pilot.pause()
        assert "failed" in table.render_line(4).text
        for key, strip in drawn.items():
            if key != "k3":
                assert table._drawn[key] is strip, f"{key} did not change and was not drawn again"
        assert table._drawn["k3"] is not drawn["k3"]


async def test_cells_are_cut_and_padded_to_their_columns():
    app = _Host()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(RowTable)
        table.update_row("k0", ("#12345678", Text("a very long state", style="red"), "1.00"))
        await pilot.pause()
        line = table.render_line(1).text
        assert line.startswith(" #1234… ") and "a very lo…" in line, line
        assert line[:table.table_width].endswith("    1.00 "), "Total is right-aligned"
        assert table.render_line(0).text.startswith(" Order   State "), "the header stays on the first line"


async def test_keys_move_the_cursor_and_keep_it_in_view():
    app = _Host()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(RowTable)
        await pilot.press("down", "down")
        assert table.cursor_key == "k2"
        await pilot.press("pagedown")
        page = table.scrollable_content_region.height - 1
        assert table.cursor_row == 2 + page and table.cursor_key in table.visible_keys()
        await pilot.press("end")
        assert table.cursor_key == "k99" and table.visible_keys()[-1] == "k99"
        await pilot.press("pageup")
        assert table.cursor_key in table.visible_keys()
        await pilot.press("home")
        assert table.cursor_key == "k0" and table.scroll_y == 0


async def test_a_click_moves_the_cursor_a_second_opens_and_the_header_names_its_column():
    app = _Host()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(RowTable)
        await pilot.click(RowTable, offset=(2, 4))  # the header is line 0: row 3
        assert table.cursor_key == "k3" and app.chosen == []
        await pilot.click(RowTable, offset=(2, 4))
        await pilot.pause()
        assert app.chosen == ["k3"]
        await pilot.click(RowTable, offset=(10, 0))
        await pilot.pause()
        assert app.clicked == ["State"]


async def test_rows_that_stay_keep_the_cursor_index_and_their_drawing():
    app = _Host()
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        table = app.query_one(RowTable)
        before = table._drawn["k5"]
        table.set_rows(["new", *table.row_keys[:50]], {"new": _cells(999)})
        await pilot.pause()
        assert table.row_count == 51 and table.row_keys[0] == "new"
        assert table._drawn["k5"] is before, "a row that moved down is not drawn again"
        assert "k60" not in table._drawn and table.virtual_size.height == 52


class _Lazy(RowTable):
    def build_cells(self, key: str) -> tuple[Text | str, ...]:
        self.built_keys.append(key)
        return _cells(int(key[1:]))


class _LazyHost(App):
    def compose(self) -> ComposeResult:
        yield _Lazy(id="rows")

    def on_mount(self) -> None:
        table = self.query_one(_Lazy)
        table.built_keys = []
        table.set_columns(COLUMNS, WIDTHS)
        table.set_rows([f"k{n}" for n in range(500)])  # no cells given: built when drawn


async def test_rows_given_without_cells_are_built_only_when_drawn():
    app = _LazyHost()
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        table = app.query_one(_Lazy)
        assert sorted(table.built_keys) == sorted(table.visible_keys()), "500 rows, only those on screen built"
        assert not table.built("k200") and not table.update_row("k999", _cells(999))
        await pilot.press("end")
        await pilot.pause()
        assert table.built("k499") and "#499" in table.render_line(table.size.height - 1).text
        assert len(table.built_keys) < 30
