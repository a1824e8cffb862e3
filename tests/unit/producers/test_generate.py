"""The replay driver and `driftmon generate`: event time, batching, determinism, pacing, CLI."""

from __future__ import annotations

import io

import numpy as np
import orjson
import pytest
from scipy import stats

import driftmon_cli
from producers.cli import parse_duration, parse_time
from producers.generate import JsonlSink, Plan, records, run
from producers.scenarios import SCENARIOS, DriftSchedule, default_model

pytestmark = pytest.mark.unit

START = 1_764_000_000.0


def plan(scenario: str = "sudden", seed: int = 0, **kw) -> Plan:
    args = {
        "models": (default_model(1, 0), default_model("fraud", 1)),
        "scenario": SCENARIOS[scenario],
        "schedule": DriftSchedule(drift_at=3600.0),
        "start": START,
        "duration": 7200.0,
        "rate": 5.0,
        "seed": seed,
        "batch_size": 50,
        "chunk_size": 10_000,
    }
    return Plan(**(args | kw))


def jsonl(p: Plan) -> bytes:
    out = io.BytesIO()
    run(p, JsonlSink(out))
    return out.getvalue()


def test_event_time_counts_batches_and_ids():
    p = plan()
    batches = list(records(p))
    assert {len(b) for _, b in batches} == {50}
    events = [e for _, b in batches for e in b]
    assert len(events) == p.total == 2 * 36_000
    assert len({e["event_id"] for e in events}) == len(events)
    for model in (1, "fraud"):
        ts = [e["timestamp"] for e in events if e["model_id"] == model]
        assert ts == sorted(ts) and ts[0] >= START and ts[-1] < START + 7200
    assert all(model_id == b[0]["model_id"] for model_id, b in batches)


def test_records_interleave_models_in_event_time():
    firsts = [b[0]["timestamp"] for _, b in records(plan())]
    assert max(np.diff(firsts)) < 20  # 50 events at 5/s = 10 s per record


def test_same_seed_same_bytes_other_seed_other_data():
    a, b, c = jsonl(plan(seed=3)), jsonl(plan(seed=3)), jsonl(plan(seed=4))
    assert a == b and a != c


def test_generated_stream_drifts_at_drift_at():
    events = [e for _, b in records(plan("sudden")) for e in b if e["model_id"] == 1]
    split = START + 3600.0

    def column(name: str, after: bool) -> list[float]:
        return [e["input_data"][name] for e in events if (e["timestamp"] >= split) == after]

    assert stats.ks_2samp(column("feature1", False), column("feature1", True)).pvalue < 1e-6
    assert stats.ks_2samp(column("feature3", False), column("feature3", True)).pvalue > 1e-3


def test_none_never_drifts_in_the_generated_stream():
    events = [e for _, b in records(plan("none")) for e in b if e["model_id"] == "fraud"]
    split = START + 3600.0
    for name in ("feature1", "feature2", "feature3", "feature4"):
        early = [e["input_data"][name] for e in events if e["timestamp"] < split]
        late = [e["input_data"][name] for e in events if e["timestamp"] >= split]
        assert stats.ks_2samp(early, late).pvalue > 1e-3


def test_speed_paces_event_time_against_the_wall_clock():
    now, slept = [0.0], []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    n = run(
        plan(duration=600.0), JsonlSink(io.BytesIO()), speed=60.0, clock=lambda: now[0], sleep=sleep
    )
    assert n == 2 * 3000
    assert now[0] == pytest.approx(600 / 60, abs=0.3)  # 10 minutes of event time in 10 s


def test_jsonl_lines_are_records():
    lines = jsonl(plan(duration=100.0, batch_size=7)).splitlines()
    first = orjson.loads(lines[0])
    assert isinstance(first, list) and len(first) == 7
    assert set(first[0]) == {
        "event_id",
        "model_id",
        "timestamp",
        "input_data",
        "prediction",
        "confidence",
    }
    assert set(first[0]["prediction"]) == {"class", "score"}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("26h", 93_600),
        ("90m", 5_400),
        ("1h30m", 5_400),
        ("2d", 172_800),
        ("45", 45),
        ("1.5h", 5_400),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


def test_parse_time():
    assert parse_time("2025-11-24T16:00:00Z") == 1_764_000_000.0
    assert parse_time("1764000000") == 1_764_000_000.0


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        driftmon_cli.main(["generate", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for option in (
        "--scenario",
        "--duration",
        "--rate",
        "--speed",
        "--drift-at",
        "--seed",
        "--output",
    ):
        assert option in out
    for name in SCENARIOS:
        assert name in out


def test_cli_writes_jsonl_file(tmp_path):
    out = tmp_path / "events.jsonl"
    argv = ["generate", "--scenario", "recurring", "--models", "a,b", "--duration", "10m",
            "--rate", "1", "--batch-size", "25", "--start", "2025-11-24T16:00:00Z",
            "--output", str(out), "--no-progress"]  # fmt: skip
    assert driftmon_cli.main(argv) == 0
    events = [e for line in out.read_bytes().splitlines() for e in orjson.loads(line)]
    assert len(events) == 1200 and {e["model_id"] for e in events} == {"a", "b"}
    assert min(e["timestamp"] for e in events) >= 1_764_000_000.0


def test_embedding_scenario_events_carry_valid_vectors(tmp_path):
    from drift.events import validate_event
    from producers.scenarios import embedding_model

    p = plan("embedding", models=(embedding_model(1, 0, dim=8),), duration=60.0)
    events = [e for _, batch in records(p) for e in batch]
    assert len(events) == 300
    for event in events[:20]:
        assert validate_event(event).embeddings.keys() == {"text", "image"}
        assert len(event["embeddings"]["text"]) == 8
    out = tmp_path / "events.jsonl"
    argv = ["generate", "--scenario", "embedding", "--models", "a", "--duration", "1m",
            "--rate", "1", "--embedding-dim", "16", "--start", "2025-11-24T16:00:00Z",
            "--output", str(out), "--no-progress"]  # fmt: skip
    assert driftmon_cli.main(argv) == 0
    first = orjson.loads(out.read_bytes().splitlines()[0])[0]
    assert len(first["embeddings"]["image"]) == 16


def test_labels_are_the_ground_truth_delayed_and_leave_the_events_unchanged():
    from producers.generate import chunk_labels, items

    labelled = plan(scenario="concept", label_delay=1800.0, label_share=0.5)
    assert list(records(labelled)) == list(records(plan(scenario="concept")))
    stream = list(items(labelled))
    labels = [lab for _, b, is_label in stream if is_label for lab in b]
    events = {e["event_id"]: e for _, b, is_label in stream if not is_label for e in b}
    assert len(labels) == len({lab["event_id"] for lab in labels})
    assert abs(len(labels) / len(events) - 0.5) < 0.01  # the share
    for lab in labels:
        e = events[lab["event_id"]]
        assert lab["model_id"] == e["model_id"]
        assert lab["timestamp"] == pytest.approx(e["timestamp"] + 1800.0, abs=1e-3)
    # in event-time order: a label batch comes before the first event batch after its label
    sent = [(b[0]["timestamp"], is_label) for _, b, is_label in stream]
    ends = [t for t, is_label in sent if not is_label]
    last_event = ends[-1]
    for i, (t, is_label) in enumerate(sent):
        if is_label and t <= last_event:
            later = [u for u, lab in sent[i + 1 :] if not lab]
            earlier = [u for u, lab in sent[:i] if not lab]
            assert later and later[0] >= t and (not earlier or earlier[-1] <= t + 50 / 5.0)
    # the truth is Sample.truth of the same draws: calibrated before drift_at, not after
    right = [
        (lab["label"] == events[lab["event_id"]]["prediction"]["class"], lab["timestamp"] - 1800)
        for lab in labels
    ]
    before = np.mean([r for r, t in right if t < START + 3600])
    after = np.mean([r for r, t in right if t >= START + 3600])
    assert before > after + 0.1
    assert chunk_labels(plan(), 0, 0) == []


def test_cli_label_options():
    from producers.cli import plan_from_args

    def parse(*argv: str):
        return driftmon_cli.build_parser(["generate"]).parse_args(["generate", *argv])

    p = plan_from_args(parse("--label-delay", "1d", "--label-share", "0.3"), now=START)
    assert (p.label_delay, p.label_share) == (86_400.0, 0.3)
    assert plan_from_args(parse(), now=START).label_delay is None
    with pytest.raises(SystemExit):
        plan_from_args(parse("--label-share", "2"), now=START)
