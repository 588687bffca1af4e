"""The heap settler: it freezes the heap at growing order counts, and only then."""

from __future__ import annotations

import gc

from console.heap import HeapSettler


def test_freezes_at_the_first_mark_then_only_after_growth():
    held = [10]
    settler = HeapSettler(lambda: held[0], first_at=100, growth=1.5)
    gc.unfreeze()  # whatever an earlier test froze
    try:
        assert not settler.settle_if_grown() and gc.get_freeze_count() == 0, "below the first mark nothing"
        held[0] = 120
        assert settler.settle_if_grown()
        assert gc.get_freeze_count() > 0, "the survivors are frozen"
        held[0] = 170
        assert not settler.settle_if_grown(), "the next mark is 1.5 × 120 = 180"
        held[0] = 180
        assert settler.settle_if_grown() and settler.freezes == 2
    finally:
        gc.unfreeze()  # leave the test process as it was


def test_the_console_runs_the_collector_less_often():
    from console.heap import THRESHOLDS, tune_collector

    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)  # Python's default
        tune_collector()
        assert gc.get_threshold() == THRESHOLDS and THRESHOLDS[0] > 700
    finally:
        gc.set_threshold(*before)


def test_cyclic_garbage_frozen_earlier_is_collected_at_the_next_settle():
    import weakref

    class Node:
        pass

    node = Node()
    node.me = node  # a reference cycle: only the collector frees it
    gone = weakref.ref(node)
    settler = HeapSettler(lambda: 0, first_at=10**9)
    try:
        settler.settle()
        del node
        gc.collect()
        assert gone() is not None, "frozen: the collector leaves it alone"
        settler.settle()
        assert gone() is None, "the next settle unfreezes and collects it"
    finally:
        gc.unfreeze()
