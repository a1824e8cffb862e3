"""Event decoding and validation on one core: the fast path against full validation.

Prints events/s of ``drift.decode_record`` on records of 500 events × 20 numeric inputs (the
worker's hot path), of the same events through ``validate_event`` one by one (the full path),
and the ratio. Prints figures; asserts nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import orjson

from drift import decode_record, validate_event


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
        {"model_id": "m1", "timestamp": 1.79e9 + i,
         "input_data": {f"f{j}": float(rng.normal()) for j in range(20)},
         "prediction": {"class": "a", "score": 0.5}, "confidence": 0.9}
        for i in range(500)
    ]
    raw = orjson.dumps(events)
    fast = rate(lambda: decode_record(raw, id_seed="0-1"), len(events))
    full = rate(lambda: [validate_event(e, default_id="x") for e in orjson.loads(raw)], len(events))
    print(f"decode_record (fast path)   {fast:>12,.0f} events/s")
    print(f"validate_event (full path)  {full:>12,.0f} events/s")
    print(f"ratio                       {fast / full:>12.2f}x")


if __name__ == "__main__":
    main()
