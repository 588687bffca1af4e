"""The key line at the foot of the main screen: one drawn line, redrawn only when the keys change."""

from __future__ import annotations

from itertools import groupby

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

#: One hint: the keys' signs, the label, whether the keys apply now, and the keys.
Hint = tuple[str, str, bool, tuple[str, ...]]


class KeyBar(Widget):
    """The keys that apply where the focus is, as Textual's footer lists them (pairs that
    share a group under one label, ``^p palette`` at the right), drawn as one line of text.

    Textual's footer rebuilds a widget per key whenever the bindings may have changed (every
    focus change), which at 10,000 orders costs a keystroke typed right behind ``/`` some
    30 ms; this line only redraws, and only when what it shows changed. (Keys are pressed,
    not clicked: the line has no mouse targets.)
    """

    DEFAULT_CSS = """
    KeyBar {
        height: 1;
        dock: bottom;
        background: $footer-background;
        color: $footer-foreground;
    }
    KeyBar > .key-bar--key { color: $footer-key-foreground; text-style: bold; }
    KeyBar > .key-bar--disabled { color: $text-disabled; }
    """

    COMPONENT_CLASSES = {"key-bar--key", "key-bar--disabled"}

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.hints: tuple[Hint, ...] = ()
        self.palette: Hint | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def _bindings_changed(self, screen: Screen) -> None:
        if screen is not self.screen:
            return
        hints, palette = self._collect()
        if (hints, palette) != (self.hints, self.palette):
            self.hints, self.palette = hints, palette
            self.refresh()

    def _collect(self) -> tuple[tuple[Hint, ...], Hint | None]:
        """What the line shows: one hint per action (its first key), groups joined."""
        by_action: dict[str, tuple[Binding, bool]] = {}
        palette: Hint | None = None
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if binding.key == self.app.COMMAND_PALETTE_BINDING and self.app.ENABLE_COMMAND_PALETTE:
                palette = (self.app.get_key_display(binding), "palette", enabled, (binding.key,))
            elif binding.show and binding.action not in by_action:
                by_action[binding.action] = (binding, enabled)
        hints: list[Hint] = []
        for group, members in groupby(by_action.values(), lambda pair: pair[0].group):
            pairs = list(members)
            if group is not None and len(pairs) > 1:
                signs = "".join(self.app.get_key_display(b) for b, _ in pairs)
                hints.append((signs, group.description, any(e for _, e in pairs), tuple(b.key for b, _ in pairs)))
            else:
                hints.extend((self.app.get_key_display(b), b.description, e, (b.key,)) for b, e in pairs)
        return tuple(hints), palette

    def render(self) -> Text:
        """The hints that fit whole, most needed first (as the bindings are ordered), then the
        palette's key at the right edge."""
        key_style = self.get_component_rich_style("key-bar--key")
        off_style = self.get_component_rich_style("key-bar--disabled")
        tail = Text(end="")
        if self.palette is not None:
            signs, label, _enabled, _keys = self.palette
            tail = Text.assemble((signs, key_style), f" {label}", end="")
        room = self.size.width - tail.cell_len - 1
        line = Text(no_wrap=True, overflow="crop", end="")
        for signs, label, enabled, _keys in self.hints:
            width = cell_len(signs) + cell_len(label) + 1
            if line.cell_len + width > room:
                break  # a hint is shown whole or not at all; `?` and ctrl+p list every key
            line.append(signs, key_style if enabled else off_style)
            line.append(f" {label}  ", None if enabled else off_style)
        line.pad_right(max(0, room - line.cell_len) + 1)
        line.append_text(tail)
        return line
