"""Event decoding on one core: the worker's typed path, the fast path and full validation.

On records of 500 events × 20 numeric inputs prints events/s of

* ``drift.wire.decode_streams`` + ``to_columns``: the worker's path (msgspec typed structs, inputs
  to one numpy matrix),
* ``drift.decode_record`` + ``to_columns``: the same through per-event validation (the path the
  worker took before, and still takes for what the typed tiers refuse),
* ``decode_record`` alone (the API and the inference-log sink) and ``validate_event`` one by one,

and the ratios against ``decode_record`` + ``to_columns``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import orjson

from drift import decode_record, to_columns, validate_event
from drift.wire import decode_streams


def rate(fn: Callable[[], object], per_call: int, seconds: float = 1.0, repeats: int = 5) -> float:
    """Best events/s over ``repeats`` runs of about ``seconds`` each."""
    best = 0.0
    for _ in range(repeats):
        start, n = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:
            fn()
            n += per_call
        best = max(best, n / (time.perf_counter() - start))
    return best


def main() -> None:
    rng = np.random.default_rng(0)
    events = [
        {
            "model_id": "m1",
            "timestamp": 1.79e9 + i,
            "input_data": {f"f{j}": float(rng.normal()) for j in range(20)},
            "prediction": {"class": "a", "score": 0.5},
            "confidence": 0.9,
        }
        for i in range(500)
    ]
    raw = orjson.dumps(events)
    nan = float("nan")

    def typed() -> object:
        decoded = decode_streams(raw, id_seed="0-1")
        return to_columns(decoded.events, nan, numeric_names=decoded.numeric_names)

    n = len(events)
    worker = rate(typed, n)
    before = rate(lambda: to_columns(decode_record(raw, id_seed="0-1").events, nan), n)
    fast = rate(lambda: decode_record(raw, id_seed="0-1"), n)
    full = rate(lambda: [validate_event(e, default_id="x") for e in orjson.loads(raw)], n)
    print(
        f"decode_streams + to_columns (worker) {worker:>12,.0f} events/s  {worker / before:5.2f}x"
    )
    print(f"decode_record + to_columns           {before:>12,.0f} events/s  1.00x")
    print(f"decode_record (fast path)            {fast:>12,.0f} events/s")
    print(
        f"validate_event (full path)           {full:>12,.0f} events/s  "
        f"decode_record is {fast / full:.2f}x"
    )


if __name__ == "__main__":
    main()
