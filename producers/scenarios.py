"""Synthetic models and drift scenarios: pure numpy, event times in, sampled streams out.

Every model has four numeric inputs, two categorical inputs and a logistic classifier that
reads the numeric ones (categorical inputs are context it ignores)::

    feature1 ~ Normal(0, 1)                weight  1.0
    feature2 ~ Normal(50 + 5·index, 10)    weight  0.7
    feature3 ~ LogNormal(0, 0.5)           weight -0.5   (standardised on the log scale)
    feature4 ~ LogNormal(3, 0.25)          weight  0.3
    country  ∈ US DE FR GB IN BR           p = .35 .15 .12 .13 .15 .10
    device   ∈ mobile desktop tablet       p = .55 .35 .10
    score = sigmoid(Σ weight·z + ε), ε ~ Normal(0, 0.5); z = input standardised under the base
    prediction = {"class": "positive" if score ≥ 0.5 else "negative", "score": score}
    confidence = max(score, 1 − score)

Drift happens at ``drift_at`` (seconds after the start); ``magnitude`` scales it (1 = as below).
The drifted concept of each kind, at full intensity:

- inputs: feature1 mean +1.5σ, feature2 mean +1.0σ; through the classifier the logit rises
  by ≈2.2, so prediction.class, prediction.score and confidence shift too. feature3, feature4,
  country and device do not change.
- categorical: country → US .10 DE .15 FR .12 GB .13 IN .40 BR .10, device → mobile .25
  desktop .45 tablet .30. Nothing numeric changes and predictions do not (the classifier
  ignores these inputs).
- prediction: the model itself changes (a bad deploy): logit +1.5. Inputs unchanged;
  prediction.class, prediction.score and confidence shift.

- embedding: the ``text`` embedding's cluster mix changes (.4 .3 .2 .1 → .1 .2 .3 .4) and it
  moves 2 spreads along each of 3 fixed directions (``producers.vectors``); the ``image``
  embedding and every other stream stay. Only models with embeddings (``embedding_model``)
  carry them; on others nothing moves.

- concept: the world changes, the model does not: inputs, predictions and confidence keep
  their distributions, but the true label now follows feature1 the other way (its weight in
  the true logit flips sign), so accuracy falls while no input or prediction stream drifts.

Ground truth: ``truth`` is drawn from the true probability — the model's own score (a
calibrated model) except under concept drift — after every other draw, so the events are the
same whether labels are used or not.

Scenarios = a kind × an intensity over time w(t) ∈ [0, 1] (see ``SCENARIOS``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from producers.vectors import EmbeddingFeature, sample_embedding

Floats = NDArray[np.float64]
Kind = Literal["none", "inputs", "categorical", "prediction", "concept", "quality", "embedding"]
NEW_CATEGORY = "XX"  # the value the quality scenario introduces
MISSING_SHARE, NEW_SHARE = 0.2, 0.1  # of events after the change (quality scenario)
Timing = Literal["never", "step", "mixture", "ramp", "periodic"]
PREDICTION_STREAMS = frozenset({"prediction.class", "prediction.score", "confidence"})


@dataclass(frozen=True)
class NumericFeature:
    """A numeric input: Normal(mu, sigma) or exp(Normal(mu, sigma)); ``shift`` in σ units."""

    name: str
    kind: Literal["normal", "lognormal"]
    mu: float
    sigma: float
    weight: float
    shift: float = 0.0


@dataclass(frozen=True)
class CategoricalFeature:
    """A categorical input: base probabilities and those of the drifted concept."""

    name: str
    values: tuple[str, ...]
    probs: tuple[float, ...]
    drifted_probs: tuple[float, ...]


@dataclass(frozen=True)
class ModelSpec:
    """One synthetic model: its input distributions and classifier."""

    model_id: int | str
    numeric: tuple[NumericFeature, ...]
    categorical: tuple[CategoricalFeature, ...]
    prediction_shift: float = 1.5  # logit added by the `prediction` kind
    noise: float = 0.5
    embeddings: tuple[EmbeddingFeature, ...] = ()


def default_model(model_id: int | str, index: int = 0) -> ModelSpec:
    """The model described in the module docstring; ``index`` offsets feature2 per model."""
    return ModelSpec(
        model_id=model_id,
        numeric=(
            NumericFeature("feature1", "normal", 0.0, 1.0, weight=1.0, shift=1.5),
            NumericFeature("feature2", "normal", 50.0 + 5 * index, 10.0, weight=0.7, shift=1.0),
            NumericFeature("feature3", "lognormal", 0.0, 0.5, weight=-0.5),
            NumericFeature("feature4", "lognormal", 3.0, 0.25, weight=0.3),
        ),
        categorical=(
            CategoricalFeature(
                "country",
                ("US", "DE", "FR", "GB", "IN", "BR"),
                (0.35, 0.15, 0.12, 0.13, 0.15, 0.10),
                (0.10, 0.15, 0.12, 0.13, 0.40, 0.10),
            ),
            CategoricalFeature(
                "device", ("mobile", "desktop", "tablet"), (0.55, 0.35, 0.10), (0.25, 0.45, 0.30)
            ),
        ),
    )


def embedding_model(model_id: int | str, index: int = 0, dim: int = 384) -> ModelSpec:
    """``default_model`` with a ``text`` embedding (moved by the embedding scenario) and an
    ``image`` one (never moved), both of ``dim`` dimensions."""
    base = default_model(model_id, index)
    vectors = (
        EmbeddingFeature("text", dim, seed=1),
        EmbeddingFeature("image", dim, seed=2, drifts=False),
    )
    return ModelSpec(base.model_id, base.numeric, base.categorical, embeddings=vectors)


@dataclass(frozen=True)
class Scenario:
    """What drifts (``kind``), how it arrives over time (``timing``), and what it shifts."""

    name: str
    kind: Kind
    timing: Timing
    description: str

    def shifted_streams(self, spec: ModelSpec) -> frozenset[str]:
        """The streams of ``spec`` whose distribution changes after the drift point."""
        if self.kind == "inputs":
            return frozenset(f.name for f in spec.numeric if f.shift) | PREDICTION_STREAMS
        if self.kind == "categorical":
            return frozenset(f.name for f in spec.categorical)
        if self.kind == "prediction":
            return PREDICTION_STREAMS
        if self.kind == "quality":  # the new category moves the first categorical's mix
            return frozenset({spec.categorical[0].name})
        if self.kind == "embedding":
            return frozenset(f"embedding.{e.name}" for e in spec.embeddings if e.drifts)
        return frozenset()  # none, and concept: no monitored stream moves

    def quality_streams(self, spec: ModelSpec) -> dict[str, str]:
        """Stream -> the data-quality issue the scenario causes after the drift point."""
        if self.kind != "quality":
            return {}
        return {spec.numeric[0].name: "missing", spec.categorical[0].name: "new_category"}


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("none", "none", "never", "stationary: no stream ever shifts"),
        Scenario("sudden", "inputs", "step", "inputs drift at drift_at, all at once"),
        Scenario(
            "gradual",
            "inputs",
            "mixture",
            "from drift_at, each event comes from the drifted concept with a probability "
            "rising linearly from 0 to 1 over `transition`",
        ),
        Scenario(
            "incremental",
            "inputs",
            "ramp",
            "from drift_at, the input shift itself grows linearly from 0 to full over `transition`",
        ),
        Scenario(
            "recurring",
            "inputs",
            "periodic",
            "from drift_at, the drifted concept is on for `period`, off for `period`, and so on",
        ),
        Scenario("categorical", "categorical", "step", "country/device mix changes at drift_at"),
        Scenario(
            "prediction-only", "prediction", "step", "inputs stable; the model's output shifts"
        ),
        Scenario(
            "embedding",
            "embedding",
            "step",
            "the text embedding's cluster mix changes and it shifts along 3 directions at "
            "drift_at; the image embedding and every other stream stay (models with embeddings)",
        ),
        Scenario(
            "concept",
            "concept",
            "step",
            "inputs and predictions stable; the true label's relation to feature1 flips at "
            "drift_at, so accuracy falls (labels needed to see it)",
        ),
        Scenario(
            "quality",
            "quality",
            "step",
            f"data quality breaks at drift_at: feature1 is missing in {MISSING_SHARE:.0%} of "
            f"events and country takes a value never seen before ({NEW_CATEGORY!r}) in "
            f"{NEW_SHARE:.0%}; the other streams stay put",
        ),
    )
}


@dataclass(frozen=True)
class DriftSchedule:
    """When and how much: seconds after the start, and a multiplier of the shifts."""

    drift_at: float
    transition: float = 1800.0
    period: float = 1200.0
    magnitude: float = 1.0


def intensity(
    scenario: Scenario, t: Floats, schedule: DriftSchedule, rng: np.random.Generator
) -> Floats:
    """w(t) ∈ [0, 1] per event: how much of the drifted concept applies (t: s since start)."""
    since = t - schedule.drift_at
    after = (since >= 0).astype(np.float64)
    ramp = np.clip(since / max(schedule.transition, 1e-9), 0.0, 1.0)
    if scenario.timing == "never":
        return np.zeros_like(t)
    if scenario.timing == "step":
        return after
    if scenario.timing == "ramp":
        return ramp
    if scenario.timing == "mixture":
        return (rng.random(t.shape) < ramp).astype(np.float64)
    on = np.floor(np.maximum(since, 0.0) / max(schedule.period, 1e-9)) % 2 == 0
    return after * on


@dataclass(frozen=True)
class Sample:
    """Sampled streams of n events (arrays of length n)."""

    numeric: dict[str, Floats]
    categorical: dict[str, NDArray[np.str_]]
    score: Floats
    confidence: Floats
    truth: NDArray[np.bool_] | None = None  # the true label: positive or not
    embeddings: dict[str, Floats] = field(default_factory=dict)  # name -> (n, dim)

    @property
    def positive(self) -> NDArray[np.bool_]:
        return self.score >= 0.5

    def stream(self, name: str) -> NDArray[np.generic]:
        """A monitored stream by its name (``feature1``, ``country``, ``prediction.score``…)."""
        if name == "prediction.score":
            return self.score
        if name == "prediction.class":
            return np.where(self.positive, "positive", "negative")
        if name == "confidence":
            return self.confidence
        return self.numeric[name] if name in self.numeric else self.categorical[name]


def _categorical(
    feature: CategoricalFeature, w: Floats, rng: np.random.Generator
) -> NDArray[np.str_]:
    base = np.cumsum(feature.probs)
    drifted = np.cumsum(feature.drifted_probs)
    cum = base[None, :] + w[:, None] * (drifted - base)[None, :]
    index = (rng.random(w.shape)[:, None] > cum[:, :-1]).sum(axis=1)
    return np.asarray(feature.values)[index]


def sample(
    spec: ModelSpec,
    scenario: Scenario,
    t: Floats,
    schedule: DriftSchedule,
    rng: np.random.Generator,
) -> Sample:
    """Sample every stream of ``spec`` for events at times ``t`` (seconds since the start)."""
    w = intensity(scenario, t, schedule, rng) * schedule.magnitude
    logit = rng.normal(0.0, spec.noise, t.shape)
    numeric: dict[str, Floats] = {}
    true_logit = np.zeros_like(t)
    for i, f in enumerate(spec.numeric):
        z = rng.standard_normal(t.shape)
        if scenario.kind == "inputs":
            z = z + w * f.shift
        logit += f.weight * z
        if scenario.kind == "concept" and i == 0:
            true_logit -= 2.0 * np.clip(w, 0.0, 1.0) * f.weight * z
        value = f.mu + f.sigma * z
        numeric[f.name] = np.exp(value) if f.kind == "lognormal" else value
    mix = np.clip(w, 0.0, 1.0) if scenario.kind == "categorical" else np.zeros_like(t)
    categorical = {f.name: _categorical(f, mix, rng) for f in spec.categorical}
    if scenario.kind == "quality":
        on = w > 0
        first, cat = spec.numeric[0].name, spec.categorical[0].name
        gone = on & (rng.random(t.shape) < MISSING_SHARE)
        numeric[first] = np.where(gone, np.nan, numeric[first])
        new = on & (rng.random(t.shape) < NEW_SHARE)
        categorical[cat] = np.where(new, NEW_CATEGORY, categorical[cat])
    if scenario.kind == "prediction":
        logit += w * spec.prediction_shift
    score = 1.0 / (1.0 + np.exp(-logit))
    p_true = 1.0 / (1.0 + np.exp(-(logit + true_logit)))
    truth = rng.random(t.shape) < p_true  # earlier values do not depend on it
    mixed = w if scenario.kind == "embedding" else np.zeros_like(t)
    vectors = {e.name: sample_embedding(e, mixed, rng) for e in spec.embeddings}  # drawn last
    return Sample(numeric, categorical, score, np.maximum(score, 1.0 - score), truth, vectors)
