"""A keyed table on the line API that redraws only the rows that changed or came into view."""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

#: A cell: plain text or styled text.
Cell = Text | str

#: Cells are padded by this many blanks on either side.
CELL_PAD = 1


def same_cell(before: Cell, after: Cell) -> bool:
    """Whether two cells draw alike (text, its style and its spans)."""
    if isinstance(before, Text) and isinstance(after, Text):
        return (before.plain == after.plain and before.style == after.style and before.spans == after.spans
                and before.justify == after.justify)
    return type(before) is type(after) and before == after


_COLUMN_META: dict[str, Style] = {}


def _column_meta(name: str) -> Style:
    """A style that only names the column (one object per column)."""
    return _COLUMN_META.setdefault(name, Style.from_meta({"column": name}))


class _TableMessage(Message):
    """A message from a table, which it names as its control (for ``@on`` selectors)."""

    def __init__(self, table: RowTable) -> None:
        super().__init__()
        self.table = table

    @property
    def control(self) -> RowTable:
        return self.table


class RowTable(ScrollView, can_focus=True):
    """Rows keyed by id under a fixed header line, with a row cursor.

    Unlike Textual's DataTable, a change to one row leaves every other row's drawing alone:
    each row's text is rendered once per version into a strip, and a repaint of a row that did
    not change (scrolling, the cursor passing, the zebra stripe shifting) only restyles that
    strip. A page of new rows costs one ``Text.render`` each.
    """

    DEFAULT_CSS = """
    RowTable {
        background: $surface;
        color: $foreground;
        height: 1fr;
        & > .row-table--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .row-table--header { background: ansi_bright_blue; color: ansi_default; }
        & > .row-table--even-row { background: $surface-lighten-1 50%; }
        &:dark > .row-table--even-row { background: $surface-darken-1 40%; }
        & > .row-table--odd-row { }
        & > .row-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus {
            background-tint: $foreground 5%;
            & > .row-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .row-table--header { background-tint: $foreground 5%; }
        }
    }
    """

    COMPONENT_CLASSES = {"row-table--header", "row-table--even-row", "row-table--odd-row", "row-table--cursor"}

    BINDINGS = [
        Binding("up", "cursor_up", "Row up", id="row-up", show=False),
        Binding("down", "cursor_down", "Row down", id="row-down", show=False),
        Binding("pageup", "page_up", "Page up", id="rows-page-up", show=False),
        Binding("pagedown", "page_down", "Page down", id="rows-page-down", show=False),
        Binding("home,ctrl+home", "first_row", "First row", id="first-row", show=False),
        Binding("end,ctrl+end", "last_row", "Last row", id="last-row", show=False),
        Binding("left", "scroll_left", "Scroll left", id="rows-left", show=False),
        Binding("right", "scroll_right", "Scroll right", id="rows-right", show=False),
    ]

    class RowChosen(_TableMessage):
        """A click on the row under the cursor (enter is left to the screen's own binding)."""

        def __init__(self, table: RowTable, key: str) -> None:
            super().__init__(table)
            self.key = key

    class HeaderClicked(_TableMessage):
        """A click on a column's header."""

        def __init__(self, table: RowTable, column: str) -> None:
            super().__init__(table)
            self.column = column

    def __init__(self, *, zebra_stripes: bool = True, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.zebra_stripes = zebra_stripes
        self.cursor_row = 0
        self._columns: tuple[str, ...] = ()
        self._widths: dict[str, int] = {}
        self._right: frozenset[str] = frozenset()
        self._keys: list[str] = []
        self._index: dict[str, int] = {}
        #: key -> the row's cells; None until first needed (drawn, compared or asked for).
        self._rows: dict[str, tuple[Cell, ...] | None] = {}
        #: key -> the row's text rendered once (cell styles only, no row background).
        self._drawn: dict[str, Strip] = {}
        self._header: Strip | None = None

    # ------------------------------------------------------------------ columns and rows
    def set_columns(self, columns: Sequence[str], widths: dict[str, int], *,
                    right: Sequence[str] = ()) -> None:
        """Replace the columns (and drop every row: their cells no longer fit)."""
        self._columns = tuple(columns)
        self._widths = {name: widths[name] for name in self._columns}
        self._right = frozenset(right)
        self._header = None
        self.set_rows([], {})

    @property
    def columns(self) -> tuple[str, ...]:
        return self._columns

    @property
    def table_width(self) -> int:
        """Cells across one row, padding included."""
        return sum(w + 2 * CELL_PAD for w in self._widths.values())

    def set_rows(self, keys: list[str], cells: dict[str, tuple[Cell, ...]] | None = None) -> None:
        """Show ``keys`` in this order; ``cells`` may hold the cells of rows not already here,
        the others are built by ``build_cells`` when first needed (a page of 500 rows costs
        only the rows drawn).

        Rows that stay keep their cells and drawing. The cursor stays on its row index
        (clamped): callers that want it on a given key move it after.
        """
        given = cells or {}
        self._rows = {k: self._rows[k] if k in self._rows else given.get(k) for k in keys}
        self._drawn = {k: s for k, s in self._drawn.items() if k in self._rows}
        self._keys = list(keys)
        self._index = {k: n for n, k in enumerate(self._keys)}
        self.virtual_size = Size(self.table_width, len(self._keys) + 1)
        self.cursor_row = min(self.cursor_row, max(0, len(self._keys) - 1))
        self.refresh()

    def build_cells(self, key: str) -> tuple[Cell, ...]:
        """The cells of a row given without them (a subclass that adds rows so builds them)."""
        raise KeyError(f"no cells for row {key!r}")

    def _cells(self, key: str) -> tuple[Cell, ...]:
        cells = self._rows[key]
        if cells is None:
            cells = self._rows[key] = self.build_cells(key)
        return cells

    def built(self, key: str) -> bool:
        """Whether the row's cells exist yet (rows not built need no update: built later, fresh)."""
        return self._rows.get(key) is not None

    def update_row(self, key: str, cells: tuple[Cell, ...]) -> bool:
        """Replace a row's cells; only a row that draws differently is redrawn. True if it did."""
        if key not in self._rows:
            return False
        old = self._rows[key]
        if old is not None and all(same_cell(a, b) for a, b in zip(old, cells, strict=True)):
            return False
        self._rows[key] = cells
        self._drawn.pop(key, None)
        self._refresh_row(self._index[key])
        return True

    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def row_keys(self) -> list[str]:
        """The keys of every row, in the order drawn."""
        return list(self._keys)

    def get_row(self, key: str) -> tuple[Cell, ...]:
        return self._cells(key)

    def get_cell(self, key: str, column: str) -> Cell:
        return self._cells(key)[self._columns.index(column)]

    def get_row_index(self, key: str) -> int:
        return self._index[key]

    def visible_keys(self) -> list[str]:
        """The keys of the rows on screen now."""
        first = round(self.scroll_y)
        return self._keys[first:first + max(0, self.scrollable_content_region.height - 1)]

    @property
    def cursor_key(self) -> str | None:
        return self._keys[self.cursor_row] if self._keys else None

    # ------------------------------------------------------------------ the cursor
    def move_cursor(self, row: int, *, scroll: bool = True) -> None:
        """Put the cursor on ``row`` (clamped); ``scroll`` brings it into view."""
        row = min(max(0, row), max(0, len(self._keys) - 1))
        if row != self.cursor_row:
            self._refresh_row(self.cursor_row)
            self.cursor_row = row
            self._refresh_row(row)
        if scroll:
            self._scroll_to_cursor()

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_to_cursor(self) -> None:
        page = self._page()
        top = round(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + page:
            self.scroll_to(y=self.cursor_row - page + 1, animate=False)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.scroll_to(y=max(0, round(self.scroll_y) - self._page()), animate=False)
        self.move_cursor(self.cursor_row - self._page())

    def action_page_down(self) -> None:
        self.scroll_to(y=min(self.max_scroll_y, round(self.scroll_y) + self._page()), animate=False)
        self.move_cursor(self.cursor_row + self._page())

    def action_first_row(self) -> None:
        self.move_cursor(0)

    def action_last_row(self) -> None:
        self.move_cursor(len(self._keys) - 1)

    def choose(self) -> None:
        """Post ``RowChosen`` for the row under the cursor."""
        if self._keys:
            self.post_message(self.RowChosen(self, self._keys[self.cursor_row]))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            column = self._column_at(offset.x + round(self.scroll_x))
            if column is not None:
                self.post_message(self.HeaderClicked(self, column))
            return
        row = round(self.scroll_y) + offset.y - 1
        if row >= len(self._keys):
            return
        if row == self.cursor_row:
            self.choose()
        else:
            self.move_cursor(row)

    def _column_at(self, x: int) -> str | None:
        left = 0
        for name in self._columns:
            left += self._widths[name] + 2 * CELL_PAD
            if x < left:
                return name
        return None

    # ------------------------------------------------------------------ drawing
    def _refresh_row(self, row: int) -> None:
        y = row - round(self.scroll_y) + 1
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def on_focus(self) -> None:
        self._refresh_row(self.cursor_row)

    def on_blur(self) -> None:
        self._refresh_row(self.cursor_row)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._header = None  # the theme changed: the header's colours with it

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        left = round(self.scroll_x)
        if y == 0:
            header = self._header
            if header is None:
                header = self._header = self._render(tuple(Text(n, style="bold") for n in self._columns))
            style = self.get_component_rich_style("row-table--header")
            return header.apply_style(style).crop_extend(left, left + width, style)
        row = round(self.scroll_y) + y - 1
        if row >= len(self._keys):
            return Strip.blank(width, self.rich_style)
        key = self._keys[row]
        strip = self._drawn.get(key)
        if strip is None:
            strip = self._drawn[key] = self._render(self._cells(key))
        base = self.rich_style
        if row == self.cursor_row:  # the cursor's colours over the cells' (as readable on any cell)
            style = base + self.get_component_rich_style("row-table--cursor")
            segments = Segment.apply_style(list(strip), post_style=style)
            return Strip(segments, strip.cell_length).crop_extend(left, left + width, style)
        if self.zebra_stripes and row % 2:
            style = self.get_component_rich_style("row-table--odd-row")
        else:
            style = self.get_component_rich_style("row-table--even-row" if self.zebra_stripes else "row-table--odd-row")
        return strip.apply_style(base + style).crop_extend(left, left + width, base + style)

    def _render(self, cells: tuple[Cell, ...]) -> Strip:
        """One row's cells, each padded and cut to its column, as one strip."""
        line = Text(no_wrap=True, end="")
        pad = " " * CELL_PAD
        for name, cell in zip(self._columns, cells, strict=True):
            width = self._widths[name]
            text = cell.copy() if isinstance(cell, Text) else Text(str(cell))
            text.truncate(width, overflow="ellipsis")
            gap = width - text.cell_len
            right = name in self._right or text.justify == "right"
            start = len(line)
            line.append(pad + (" " * gap if right and gap > 0 else ""))
            line.append_text(text)
            line.append((" " * gap if not right and gap > 0 else "") + pad)
            # Each cell keeps its own segments (an exported screen draws them cell by cell).
            line.stylize(_column_meta(name), start, len(line))
        segments = list(line.render(self.app.console, end=""))
        return Strip(segments, self.table_width)
