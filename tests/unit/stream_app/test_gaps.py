"""Holes in what faust delivered: found, held back from faust's commits, released when empty."""

from __future__ import annotations

import asyncio

import pytest
from faust.types import TP

from stream_app import gaps

pytestmark = pytest.mark.unit


def test_a_hole_counts_once_it_outlasts_a_check_with_its_lower_edge_still():
    d = gaps.Deliveries("events")
    d.note({0: [(0, 99)], 1: [(0, 10)]})
    d.note({0: [(120, 150)]})
    assert d.holes() == {(0, 100, 119)}
    assert d.lasting() == set()  # first sight: delivery may still be filling it
    d.note({0: [(100, 105)]})  # it is: the lower edge moved
    assert d.lasting() == set()
    assert d.lasting() == {(0, 106, 119)}  # stuck since the previous check
    assert d.lasting() == set()  # being read again: not before two more checks
    assert d.lasting() == {(0, 106, 119)}
    d.reset()
    assert d.holes() == set() and d.lasting() == set()


def test_faust_gaps_are_held_back_until_the_hole_is_confirmed_empty(monkeypatch):
    passed: list[tuple[TP, int, int]] = []

    async def faust_add_gap(consumer, tp, a, b):
        passed.append((tp, a, b))

    monkeypatch.setattr(gaps, "_faust_add_gap", faust_add_gap)
    d = gaps.Deliveries("events")
    events, other = TP("events", 0), TP("control", 0)

    async def scenario() -> None:
        await d.on_gap(None, other, 5, 9)  # other topics: faust's own handling
        await d.on_gap(None, events, 100, 120)  # held: the records may have been skipped
        assert passed == [(other, 5, 9)]
        await d.confirm(None, {(0, 100, 119)})  # the broker has no record there
        assert passed == [(other, 5, 9), (events, 100, 120)]
        await d.on_gap(None, events, 100, 120)  # seen again after a re-read: passed at once
        assert passed[-1] == (events, 100, 120)

    asyncio.run(scenario())
    d.note({0: [(0, 99), (120, 130)]})
    assert d.holes() == set()  # confirmed holes are not reported again


def test_commits_stop_at_the_first_open_hole_and_a_skip_at_the_start_is_a_hole():
    d = gaps.Deliveries("events")
    tp, other = TP("events", 0), TP("control", 0)
    d.start_at(frozenset({0, 1}), {tp: 2295, TP("events", 1): None, other: 7})
    d.note({0: [(2296, 2400)], 1: [(0, 49)]})  # 2295, the first record after the seek, is missing
    assert d.holes() == {(0, 2295, 2295)}
    d.start_at(frozenset({2}), {})  # no committed offset: from the start of the log
    d.note({2: [(288, 300)]})
    assert d.holes() == {(0, 2295, 2295), (2, 0, 287)}
    d.note({2: [(0, 287)]})
    assert d.clip({tp: 2401, TP("events", 1): 50, other: 9}) == {
        tp: 2295,
        TP("events", 1): 50,
        other: 9,
    }
    d.note({0: [(2295, 2295)]})  # read again
    assert d.clip({tp: 2401}) == {tp: 2401}
