"""The order's BPMN process drawn in the terminal, its path coloured by how far the instance got."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

from console.diagram import Canvas, Diagram, draw
from console.process_path import ACTIVE, DONE, INCIDENT, TAKEN, PathState


class ProcessDiagram(Widget):
    """Redrawn to the width it is given; styles come from the component classes in medcam.tcss."""

    COMPONENT_CLASSES = {
        "process-diagram--done",
        "process-diagram--active",
        "process-diagram--incident",
        "process-diagram--pending",
    }

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self._diagram: Diagram | None = None
        self._path = PathState()
        self._canvas: tuple[int, Canvas] | None = None

    def show(self, diagram: Diagram | None, path: PathState) -> None:
        """Draw ``diagram`` with ``path`` highlighted (a no-op when nothing changed)."""
        if diagram is self._diagram and path == self._path:
            return
        relayout = diagram is not self._diagram
        self._diagram, self._path = diagram, path
        if relayout:
            self._canvas = None
        self.refresh(layout=relayout)

    def canvas(self, width: int) -> Canvas | None:
        if self._diagram is None:
            return None
        if self._canvas is None or self._canvas[0] != width:
            self._canvas = (width, draw(self._diagram, width))
        return self._canvas[1]

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return container.width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        canvas = self.canvas(width)
        return canvas.height if canvas is not None else 1

    def render(self) -> Text:
        canvas = self.canvas(self.content_size.width)
        if canvas is None:
            return Text("no diagram", style="dim")
        styles = {
            name: self.get_component_rich_style(f"process-diagram--{name}")
            for name in (DONE, ACTIVE, INCIDENT, "pending")
        }
        styles[TAKEN] = styles[DONE]
        text = Text(no_wrap=True, overflow="crop")
        for row, (chars, owners) in enumerate(zip(canvas.chars, canvas.owners, strict=True)):
            if row:
                text.append("\n")
            run, run_style = "", None
            for char, owner in zip(chars, owners, strict=True):
                style = styles.get(self._path.of(owner), styles["pending"]) if owner else Style.null()
                if style != run_style and run:
                    text.append(run, run_style)
                    run = ""
                run, run_style = run + char, style
            text.append(run.rstrip(), run_style)
        return text
