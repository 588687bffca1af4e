"""Renders one stage's progress as a small coloured bar for a table cell."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from console.state import CANCELLED, DECLINED, DONE, FAILED, RUNNING, StageProgress

WIDTH = 9


def stage_bar(progress: StageProgress, now: datetime, width: int = WIDTH) -> Text:
    """``██████░░░░`` while running, full green when done, red when failed."""
    if progress.state == DONE:
        return Text("█" * width, style="green")
    if progress.state == FAILED:
        return Text("✖ failed"[:width].ljust(width), style="bold red")
    if progress.state == DECLINED:
        return Text("⊘ decline"[:width].ljust(width), style="magenta")
    if progress.state == CANCELLED:
        return Text("– cancel"[:width].ljust(width), style="dim")
    if progress.state == RUNNING:
        filled = max(1, round(progress.fraction(now) * width))
        bar = Text("█" * filled, style="yellow")
        bar.append("░" * (width - filled), style="dim yellow")
        return bar
    return Text("·" * width, style="dim")
