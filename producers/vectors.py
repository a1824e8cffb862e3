"""Synthetic embeddings for the scenarios: clusters on the unit sphere, a cluster mix, and a
drifted concept (another mix, and a shift along a few fixed directions).

An embedding of ``dim`` dimensions is drawn as ``centre[c] + Normal(0, spread)`` per
dimension, ``c`` from ``probs``; the drifted concept draws ``c`` from ``drifted_probs`` and
adds ``shift · spread`` along each of ``directions`` fixed orthonormal directions. Centres
and directions come from ``seed`` alone, so every chunk and every run shares them. Values
stay far inside the schema's ±100.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class EmbeddingFeature:
    """One named embedding of a synthetic model; ``drifts``: whether the embedding scenario
    moves it."""

    name: str
    dim: int = 384
    probs: tuple[float, ...] = (0.4, 0.3, 0.2, 0.1)
    drifted_probs: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4)
    shift: float = 2.0  # per direction, in units of spread
    directions: int = 3
    spread: float = 0.05
    seed: int = 0
    drifts: bool = True


@lru_cache(maxsize=32)
def _geometry(dim: int, clusters: int, directions: int, seed: int) -> tuple[Floats, Floats]:
    rng = np.random.default_rng(np.random.SeedSequence([0x656D62, seed, dim]))
    centres = rng.normal(size=(clusters, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    q, _ = np.linalg.qr(rng.normal(size=(dim, directions)))
    return centres, q.T.sum(axis=0)


def sample_embedding(feature: EmbeddingFeature, w: Floats, rng: np.random.Generator) -> Floats:
    """(n, dim) vectors for events of drift intensity ``w`` (0: base, 1: drifted concept)."""
    w = np.clip(w, 0.0, 1.0) if feature.drifts else np.zeros_like(w)
    centres, shift = _geometry(feature.dim, len(feature.probs), feature.directions, feature.seed)
    base, drifted = np.cumsum(feature.probs), np.cumsum(feature.drifted_probs)
    cum = base[None, :] + w[:, None] * (drifted - base)[None, :]
    cluster = (rng.random(w.shape)[:, None] > cum[:, :-1]).sum(axis=1)
    x = centres[cluster] + rng.normal(0.0, feature.spread, (len(w), feature.dim))
    return x + (w * feature.shift * feature.spread)[:, None] * shift[None, :]
