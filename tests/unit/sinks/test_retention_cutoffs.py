"""The retention job's boundaries: exact days for the logs, an hour boundary for the roll-up,
and the day-sized steps of a first roll-up over a long history."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from sinks.retention import ROLLUP_CHUNK, cutoffs, rollup_steps

pytestmark = pytest.mark.unit

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 2, 17, 42, 13, 500_000, UTC)


def test_log_cutoff_is_exactly_the_retention_before_now():
    assert cutoffs(NOW.timestamp(), 14, 30).logs == NOW - dt.timedelta(days=14)


def test_rollup_cutoff_is_the_hour_boundary_at_or_before_the_setting():
    runs = cutoffs(NOW.timestamp(), 14, 30).runs
    assert runs == dt.datetime(2026, 11, 2, 17, 0, tzinfo=UTC)
    assert runs <= NOW - dt.timedelta(days=30) < runs + dt.timedelta(hours=1)


def test_nothing_old_enough_means_no_step():
    cut = dt.datetime(2026, 11, 2, 17, 0, tzinfo=UTC)
    assert rollup_steps(None, cut) == []
    assert rollup_steps(cut + dt.timedelta(seconds=1), cut) == []
    assert rollup_steps(cut, cut) == [cut]


def test_steps_are_a_day_apart_hour_aligned_and_end_at_the_cutoff():
    cut = dt.datetime(2026, 11, 2, 17, 0, tzinfo=UTC)
    oldest = dt.datetime(2026, 10, 20, 3, 25, tzinfo=UTC)
    steps = rollup_steps(oldest, cut)
    assert steps[-1] == cut and steps == sorted(set(steps))
    assert steps[0] > oldest and steps[0] - oldest <= ROLLUP_CHUNK
    assert all(s.minute == s.second == s.microsecond == 0 for s in steps)
    assert all(b - a <= ROLLUP_CHUNK for a, b in itertools.pairwise(steps))
    assert len(steps) == 14
