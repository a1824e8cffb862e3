"""Model performance from aggregates: realised metrics once labels are in, and the label-free
estimate (confidence-based performance estimation, NannyML's CBPE idea) from confidence bins.

Everything here works on counts and sums that a database ``GROUP BY`` or a mergeable histogram
yields, never on rows, so a window of 10^6 labelled inferences costs the same as one of 10^3.

Classification (``ConfusionCounts`` and ``ConfidenceBins``):

* accuracy, and per class precision, recall and F1 from the confusion matrix;
* ``log_loss``: the binary cross-entropy of ``confidence`` as the probability that the
  prediction is right, ``-mean(c ln p + (1 - c) ln(1 - p))`` (``c`` = 1 when right). For a
  binary classifier whose ``confidence`` is that of the predicted class this is exactly its log
  loss; for more classes it is the log loss of its top-1 correctness (the probability of the
  true class is unknown when the prediction is wrong);
* ``ece``: expected calibration error over equal-width confidence bins,
  ``sum_b n_b / n * |accuracy_b - mean confidence_b|``.

Regression (``ErrorSums``): MAE, RMSE and bias (mean of prediction - label).

Estimate without labels (``estimate``): on a labelled reference period the accuracy per
confidence bin (and per predicted class) is learnt, smoothed towards the bin's mean confidence
by a pseudo-count; a window's estimated accuracy is the average of those accuracies over its
own inferences' bins. For a binary classifier the expected confusion matrix follows: a
predicted positive in a bin of accuracy ``a`` adds ``a`` true and ``1 - a`` false positives.
The estimate moves when the confidence distribution moves (a prediction shift) and assumes the
relation between confidence and correctness holds (no concept drift) — the realised value,
once labels come in, checks that assumption.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from drift.calibration import calibrate

N_BINS = 10
_EPS = 1e-15


def confidence_bin(confidence: float, n_bins: int = N_BINS) -> int:
    """Equal-width bin of a confidence in [0, 1] (1.0 in the last bin), as SQL's
    ``least(width_bucket(c, 0, 1, n), n) - 1``."""
    return min(int(confidence * n_bins), n_bins - 1)


@dataclass(frozen=True, slots=True)
class ClassMetrics:
    precision: float | None
    recall: float | None
    f1: float | None
    support: int  # labelled inferences of this true class


@dataclass(frozen=True, slots=True)
class Classification:
    labelled: int
    accuracy: float
    per_class: Mapping[str, ClassMetrics]
    confusion: Mapping[str, Mapping[str, int]]  # true label -> predicted -> count
    log_loss: float | None
    ece: float | None


@dataclass
class ConfidenceBins:
    """Per confidence bin: inferences, sum of confidences, right predictions."""

    n: list[int] = field(default_factory=lambda: [0] * N_BINS)
    confidence: list[float] = field(default_factory=lambda: [0.0] * N_BINS)
    right: list[int] = field(default_factory=lambda: [0] * N_BINS)

    def add(self, bin_: int, n: int, confidence_sum: float, right: int) -> None:
        self.n[bin_] += n
        self.confidence[bin_] += confidence_sum
        self.right[bin_] += right


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def classification(
    confusion: Mapping[tuple[str, str], int],
    bins: ConfidenceBins | None = None,
    log_loss_sum: float | None = None,
) -> Classification:
    """Realised metrics from ``confusion`` {(true label, predicted): count}; ``bins`` (of the
    labelled inferences with a confidence) give the ECE, ``log_loss_sum`` (the sum of the
    per-inference losses, see the module) over ``sum(bins.n)`` inferences the log loss."""
    labelled = sum(confusion.values())
    right = sum(n for (t, p), n in confusion.items() if t == p)
    classes = sorted({t for t, _ in confusion} | {p for _, p in confusion})
    per_class = {}
    for c in classes:
        tp = confusion.get((c, c), 0)
        predicted = sum(n for (_, p), n in confusion.items() if p == c)
        actual = sum(n for (t, _), n in confusion.items() if t == c)
        precision, recall = _ratio(tp, predicted), _ratio(tp, actual)
        f1 = (
            2 * precision * recall / (precision + recall)
            if precision is not None and recall is not None and precision + recall > 0
            else None
        )
        per_class[c] = ClassMetrics(precision, recall, f1, actual)
    matrix: dict[str, dict[str, int]] = {}
    for (t, p), n in confusion.items():
        matrix.setdefault(t, {})[p] = n
    ece: float | None = None
    loss: float | None = None
    total = sum(bins.n) if bins is not None else 0
    if bins is not None and total:
        gaps = [
            abs(r - c) for n, c, r in zip(bins.n, bins.confidence, bins.right, strict=True) if n
        ]
        ece = float(sum(gaps)) / total
        if log_loss_sum is not None:
            loss = log_loss_sum / total
    return Classification(
        labelled, right / labelled if labelled else math.nan, per_class, matrix, loss, ece
    )


def log_loss_term(confidence: float, right: bool) -> float:
    """One inference's term of ``log_loss`` (clipped away from 0 and 1)."""
    p = min(max(confidence, _EPS), 1.0 - _EPS)
    return -math.log(p) if right else -math.log(1.0 - p)


@dataclass(frozen=True, slots=True)
class Regression:
    labelled: int
    mae: float
    rmse: float
    bias: float


def regression(n: int, abs_sum: float, sq_sum: float, err_sum: float) -> Regression:
    """MAE, RMSE, bias from the count and the sums of |e|, e^2 and e (e = prediction - label)."""
    if n == 0:
        return Regression(0, math.nan, math.nan, math.nan)
    return Regression(n, abs_sum / n, math.sqrt(sq_sum / n), err_sum / n)


@dataclass(frozen=True, slots=True)
class Estimate:
    """Estimated performance of a window without its labels."""

    inferences: int
    accuracy: float
    confusion: Mapping[str, float] | None  # binary: tp, fp, tn, fn (expected counts)


def calibration_table(
    reference: Mapping[tuple[str, int], tuple[int, float, int]], prior: float = 20.0
) -> dict[tuple[str, int], float]:
    """Accuracy per (predicted class, confidence bin) on the labelled reference
    {key: (inferences, sum of confidences, right)}, smoothed towards the bin's mean
    confidence with ``prior`` pseudo-inferences (a bin seen a few times is about as accurate
    as the model says)."""
    out = {}
    for key, (n, conf_sum, right) in reference.items():
        mean_conf = conf_sum / n if n else (key[1] + 0.5) / N_BINS
        out[key] = (right + prior * mean_conf) / (n + prior)
    return out


def estimate(
    window: Mapping[tuple[str, int], tuple[int, float]],
    table: Mapping[tuple[str, int], float],
    positive: str | None = None,
) -> Estimate:
    """Expected accuracy of ``window`` {(predicted class, confidence bin): (inferences, sum of
    confidences)} from the reference's ``table``; a (class, bin) the reference never had is
    taken as calibrated (its mean confidence). ``positive``: the positive class of a binary
    classifier, for the expected confusion matrix."""
    total = sum(n for n, _ in window.values())
    if total == 0:
        return Estimate(0, math.nan, None)
    expected_right = 0.0
    cm = {"tp": 0.0, "fp": 0.0, "tn": 0.0, "fn": 0.0}
    for (cls, b), (n, conf_sum) in window.items():
        acc = table.get((cls, b), conf_sum / n if n else (b + 0.5) / N_BINS)
        expected_right += n * acc
        if positive is not None:
            if cls == positive:
                cm["tp"] += n * acc
                cm["fp"] += n * (1.0 - acc)
            else:
                cm["tn"] += n * acc
                cm["fn"] += n * (1.0 - acc)
    return Estimate(total, expected_right / total, cm if positive is not None else None)


@dataclass(frozen=True, slots=True)
class PerformanceVerdict:
    """A window's realised accuracy against its baseline's."""

    status: str  # "ok" | "degraded" | "insufficient_data"
    accuracy: float | None
    baseline_accuracy: float | None
    drop: float | None  # baseline - window, in accuracy points (fraction)
    p_value: float | None  # one-sided: the accuracy fell
    subwindows: int


def performance_verdict(
    window: tuple[int, int],
    baseline: Sequence[tuple[int, int]],
    fdr: float = 0.001,
    min_drop: float = 0.02,
    min_labelled: int = 100,
) -> PerformanceVerdict:
    """Is the accuracy of ``window`` = (labelled, right) lower than that of the baseline's
    windows (each (labelled, right), e.g. the 24 hours before)? The same calibration as the
    drift verdicts: the right/wrong table's G test with its null (and the between-window
    variation of accuracy) learnt from the baseline's own windows, made one-sided; degraded
    when that p-value is at most ``fdr`` and the drop at least ``min_drop``."""
    subs = [(n, r) for n, r in baseline if n > 0]
    n_w, r_w = window
    n_b, r_b = sum(n for n, _ in subs), sum(r for _, r in subs)
    if n_w < min_labelled or n_b < min_labelled:
        acc = r_w / n_w if n_w else None
        base = r_b / n_b if n_b else None
        drop = base - acc if acc is not None and base is not None else None
        return PerformanceVerdict("insufficient_data", acc, base, drop, None, len(subs))
    acc, base = r_w / n_w, r_b / n_b
    rows = np.array([[r_w, n_w - r_w], [r_b, n_b - r_b]], np.float64)
    sub_rows = np.array([[r, n - r] for n, r in subs], np.float64).reshape(-1, 2)
    two_sided = calibrate(rows[0], rows[1], sub_rows, ordered=False, min_expected=1e-9).p_value
    p = two_sided / 2.0 if acc < base else 1.0 - two_sided / 2.0
    degraded = p <= fdr and base - acc >= min_drop
    return PerformanceVerdict("degraded" if degraded else "ok", acc, base, base - acc, p, len(subs))
