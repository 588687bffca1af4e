"""``bench --ui`` runs end to end on a few orders (figures are reported, never asserted)."""

from __future__ import annotations

from bench.ui import TARGETS, report_text, run_ui_bench


async def test_the_ui_benchmark_reports_every_figure():
    result = await run_ui_bench(orders=40, flow=5, idle_s=1.0, settle_s=0.5, timeout_s=300)
    assert result["orders"] == 40 and result["rows_in_table"] >= 1
    assert result["flow_orders"] == 5  # the flowing orders all completed
    for figure in ("first_frame_ms", "first_frame_with_orders_ms", "idle_cpu_pct", "runtime_idle_cpu_pct",
                   "flow_cpu_pct", "rss_mb"):
        assert isinstance(result[figure], float | int) and result[figure] >= 0, figure
    assert result["first_frame_with_orders_ms"] >= result["first_frame_ms"]
    assert result["cursor_ms"]["n"] == 110 and result["cursor_ms"]["p99"] >= result["cursor_ms"]["p50"]
    assert set(result["met"]) == {"first_frame", "cursor_p99", "filter_p99", "idle_cpu", "rss"}
    assert result["targets"] == TARGETS
    text = report_text(result)
    assert "first frame" in text and "keypress-to-repaint" in text and "RSS" in text
    assert "without the screen" in text
