"""Vector streams in the processor: embeddings and multivariate counted, judged, exact."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drift import DetectionPolicy, EventLimits, Hysteresis
from drift.columnar_wire import decode_columns
from drift.vectors import VectorMoments
from producers.records import encode_columnar
from stream_app.processor import HistogramSettings, Processor, RawRecord, VectorSettings
from stream_app.state import BucketRecord, ModelMeta, bucket_key, meta_key
from stream_app.windows import WindowSpec

pytestmark = pytest.mark.unit

SPEC = WindowSpec(bucket=60, recent=600, baseline=3600, lateness=0)
DIM = 24


class DictStore(dict):
    def apply(self, out) -> None:
        for key, (_, value) in out.writes.items():
            if value is None:
                self.pop(key, None)
            else:
                self[key] = value


def make(store: DictStore, vectors: VectorSettings | None = None) -> Processor:
    return Processor(
        SPEC,
        DetectionPolicy(min_recent=100, min_baseline=1000),
        Hysteresis(1, 2),
        HistogramSettings(),
        EventLimits(),
        store,
        vectors=vectors,
    )


def _centres(seed: int) -> np.ndarray:
    c = np.random.default_rng(seed).normal(size=(2, DIM))
    return c / np.linalg.norm(c, axis=1, keepdims=True)


def embedding_records(
    seconds: int, mix_after: float, change_at: int, rng, per_record: int = 10
) -> list[RawRecord]:
    """4 events a second, 10 a record: ``text`` from two clusters (share of the first 0.5,
    ``mix_after`` from ``change_at``), ``img`` and input ``x`` unchanged."""
    text_c, img_c = _centres(1), _centres(2)
    times = np.repeat(np.arange(0, seconds), 4) + 0.5
    out = []
    for i in range(0, len(times), per_record):
        batch = []
        for t in times[i : i + per_record]:
            share = mix_after if t >= change_at else 0.5
            text = text_c[int(rng.random() >= share)] + rng.normal(0, 0.3, DIM)
            img = img_c[int(rng.random() >= 0.5)] + rng.normal(0, 0.3, DIM)
            batch.append(
                {
                    "model_id": "m1",
                    "timestamp": float(t),
                    "input_data": {"x": float(rng.normal())},
                    "embeddings": {"text": text.round(5).tolist(), "img": img.round(5).tolist()},
                }
            )
        out.append(RawRecord(0, len(out), b"m1", orjson.dumps(batch), 0.0))
    return out


def run(proc: Processor, store: DictStore, recs: list[RawRecord], chunk: int = 40) -> list:
    reports = []
    for i in range(0, len(recs), chunk):
        out = proc.process(recs[i : i + chunk], now=0.0)
        assert not out.rejected, out.rejected[0].error
        store.apply(out)
        reports.extend(out.reports)
    return reports


def _last(reports: list, stream: str) -> list[str]:
    return [r for rep in reports for r in rep.results if r["stream"] == stream]


def test_a_cluster_mix_change_is_flagged_on_its_embedding_only():
    store = DictStore()
    reports = run(make(store), store, embedding_records(5400, 0.85, 4800, np.random.default_rng(5)))
    text, img = _last(reports, "embedding.text"), _last(reports, "embedding.img")
    assert {r["stream_kind"] for r in text} == {"vector"}
    before = [r for r in text if r["window_end"] <= 4800]
    assert before and all(r["status"] != "drift" for r in before)
    assert text[-1]["status"] == "drift" and text[-1]["rule"] == "calibrated"
    assert text[-1]["metrics"]["drifted_projections"] > 0
    assert {"cosine_distance", "sliced_wasserstein"} <= text[-1]["metrics"].keys()
    assert all(r["status"] != "drift" for r in img) and img[-1]["status"] == "ok"
    assert all(r["status"] != "drift" for r in _last(reports, "input.x"))
    assert not any(
        r["stream"].startswith("embedding.text.p") for rep in reports for r in rep.results
    )


def test_state_is_the_same_whatever_the_chunks_and_after_a_restart():
    recs = embedding_records(1200, 0.5, 0, np.random.default_rng(7))
    stores = []
    for chunk in (7, 40):
        store = DictStore()
        proc = make(store)
        half = len(recs) // 2
        run(proc, store, recs[:half], chunk)
        run(make(store), store, recs[half:], chunk)  # restarted from the stored state
        stores.append(store)
    assert stores[0].keys() == stores[1].keys()
    for key in stores[0]:
        if "|b|" in key:
            a, b = BucketRecord.from_bytes(stores[0][key]), BucketRecord.from_bytes(stores[1][key])
            assert a.hists == b.hists
    bucket = BucketRecord.from_bytes(stores[0][bucket_key("m1", 600)])
    moments = bucket.hists["embedding.text"]
    assert isinstance(moments, VectorMoments) and moments.count == 240 and moments.dim == DIM
    assert len([s for s in bucket.hists if s.startswith("embedding.text.p")]) == 16
    assert ModelMeta.from_bytes(stores[0][meta_key("m1")]).vector_dims == {"text": DIM, "img": DIM}


def _event(t: float, vectors: dict) -> dict:
    return {"model_id": "m1", "timestamp": t, "input_data": {"x": 1.0}, "embeddings": vectors}


def test_a_vector_of_another_dimension_is_dead_lettered():
    store = DictStore()
    proc = make(store, VectorSettings(declared={"img": 3}))
    first = [_event(1.0, {"text": [0.1, 0.2]}), _event(2.0, {"text": [0.1, 0.2, 0.3]})]
    out = proc.process([RawRecord(0, 0, b"m1", orjson.dumps(first), 0.0)], now=0.0)
    store.apply(out)
    [rejected] = out.rejected
    assert rejected.reason == "embedding_dimension" and "3 dimensions, the model's has 2" in (
        rejected.error
    )
    assert orjson.loads(rejected.value) == [first[1]]  # the DLQ copy holds only the refused one
    later = [_event(3.0, {"text": [0.5, 0.5]}), _event(4.0, {"img": [1.0, 2.0]})]
    out = make(store, VectorSettings(declared={"img": 3})).process(
        [RawRecord(0, 1, b"m1", orjson.dumps(later), 0.0)], now=0.0
    )
    assert [r.reason for r in out.rejected] == ["embedding_dimension"]  # declared: 3
    assert out.counted["m1"] == 1


@pytest.mark.parametrize("chunk", [40, 10_000])  # 10,000: the whole backfill in one batch
def test_a_correlation_flip_is_caught_by_multivariate_with_unchanged_marginals(chunk):
    rng = np.random.default_rng(11)
    store = DictStore()
    settings = VectorSettings(multivariate=True, multivariate_after=500)
    times = np.repeat(np.arange(0, 5400), 4) + 0.5
    recs = []
    for i in range(0, len(times), 10):
        batch = []
        for t in times[i : i + 10]:
            rho = -0.7 if t >= 4800 else 0.7
            a, b = rng.normal(size=2)
            y = rho * a + np.sqrt(1 - rho * rho) * b
            data = {"a": float(10 * a + 50), "b": float(y), "c": float(rng.normal())}
            batch.append({"model_id": "m1", "timestamp": float(t), "input_data": data})
        recs.append(RawRecord(0, len(recs), b"m1", orjson.dumps(batch), 0.0))
    reports = run(make(store, settings), store, recs, chunk)
    mv = _last(reports, "multivariate")
    assert mv and mv[-1]["status"] == "drift" and mv[-1]["test"] == "correlation"
    assert all(r["status"] != "drift" for r in mv if r["window_end"] <= 4800)
    for name in ("input.a", "input.b", "input.c"):
        assert all(r["status"] != "drift" for r in _last(reports, name)), name
    scales = ModelMeta.from_bytes(store[meta_key("m1")]).scales
    assert [n for n, _, _ in scales] == ["input.a", "input.b", "input.c"]
    assert scales[0][1] == pytest.approx(50, abs=1) and scales[0][2] == pytest.approx(10, rel=0.05)


def _small_records() -> list[RawRecord]:
    rng = np.random.default_rng(21)
    out = []
    for i in range(40):
        batch = [
            _event(
                float(i * 15 + j * 3),
                {"a": rng.normal(0, 1, 4).round(4).tolist(), "b": rng.normal(0, 1, 3).tolist()},
            )
            for j in range(5)
        ]
        out.append(RawRecord(0, i, b"m1", orjson.dumps(batch), 0.0))
    return out


SMALL = _small_records()


def _buckets(store: DictStore) -> dict[str, dict]:
    return {k: BucketRecord.from_bytes(v).hists for k, v in store.items() if "|b|" in k}


def _feed(records: list[RawRecord], sizes: list[int], restart_at: int | None) -> DictStore:
    store = DictStore()
    proc, i, step = make(store), 0, 0
    while i < len(records):
        if restart_at is not None and step == restart_at:
            proc = make(store)  # a restart: the state comes back from the store only
        size = sizes[step % len(sizes)]
        out = proc.process(records[i : i + size], now=0.0)
        assert not out.rejected
        store.apply(out)
        i, step = i + size, step + 1
    return store


REFERENCE = _buckets(_feed(SMALL, [len(SMALL)], None))


@settings(max_examples=12, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 12), min_size=1, max_size=6),
    order=st.randoms(use_true_random=False),
    restart_at=st.none() | st.integers(0, 8),
    again=st.lists(st.integers(0, len(SMALL) - 1), max_size=4),
)
def test_vector_state_is_independent_of_batching_order_restarts_and_redelivery(
    sizes, order, restart_at, again
):
    records = list(SMALL)
    order.shuffle(records)
    records += [SMALL[i] for i in again]  # delivered twice: counted once
    assert _buckets(_feed(records, sizes, restart_at)) == REFERENCE


def as_binary_columns(recs: list[RawRecord], every: int = 1) -> list[RawRecord]:
    """Every ``every``-th record re-encoded as the SDK sends it: a columnar record with binary
    columns (its vectors ``{"f8", "dim"}``); the others as they are (row arrays)."""
    out = []
    for i, rec in enumerate(recs):
        value = rec.value
        if i % every == 0:
            value = encode_columnar("m1", orjson.loads(rec.value))
            fast = decode_columns(value, EventLimits())
            assert fast is not None and set(fast.vectors) == {"text", "img"}  # the fast path
        out.append(RawRecord(rec.partition, rec.offset, rec.key, value, rec.timestamp))
    return out


def test_binary_vector_columns_count_and_judge_exactly_as_rows():
    recs = embedding_records(2400, 0.85, 1800, np.random.default_rng(11), per_record=20)
    results = []
    for variant in (recs, as_binary_columns(recs), as_binary_columns(recs, every=3)):
        store = DictStore()
        reports = run(make(store), store, variant)
        results.append((dict(store), [(r.results, r.alerts) for r in reports]))
    assert results[0][1] and any(r for r, _ in results[0][1])
    assert results[1] == results[0] and results[2] == results[0]


def test_a_binary_vector_column_of_another_dimension_is_dead_lettered_by_row():
    store = DictStore()
    proc = make(store)
    first = [_event(1.0, {"text": [0.1, 0.2]}), _event(2.0, {"text": [0.3, 0.4]})]
    out = proc.process([RawRecord(0, 0, b"m1", encode_columnar("m1", first), 0.0)], now=0.0)
    store.apply(out)
    assert not out.rejected and out.counted["m1"] == 2
    wider = [_event(3.0, {"text": [0.1, 0.2, 0.3]}), _event(4.0, {})]
    value = encode_columnar("m1", wider)
    assert orjson.loads(value)["columns"]["embedding.text"]["dim"] == 3
    out = make(store).process([RawRecord(0, 1, b"m1", value, 0.0)], now=0.0)
    assert [(r.reason, r.counts) for r in out.rejected] == [
        ("embedding_dimension", {"embedding_dimension": 1})
    ]
    assert out.counted["m1"] == 1
