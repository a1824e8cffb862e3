"""GET /models/{model_id}/performance: realised and estimated performance per window."""

from __future__ import annotations

from fastapi import APIRouter

from api import queries
from api.core.encoding import FastJSON
from api.deps import ReaderDep, SettingsDep
from api.params import Limit, ModelIdPath, Since, Until
from api.schemas.common import errors
from api.schemas.performance import PerformanceHistory

router = APIRouter(prefix="/models", tags=["performance"], responses=errors(401, 422, 503))


@router.get(
    "/{model_id}/performance",
    response_model=PerformanceHistory,
    summary="Realised and estimated performance per window",
)
async def performance(
    model_id: ModelIdPath,
    pool: ReaderDep,
    settings: SettingsDep,
    since: Since = None,
    until: Until = None,
    limit: Limit = None,
) -> FastJSON:
    """The model's performance windows (by inference event time) in the range, oldest first:
    accuracy, per-class precision/recall/F1, confusion matrix, log loss and calibration error
    from labels (classification) or MAE/RMSE/bias (regression), with the labelled share that
    says how complete each window is, and the label-free estimate (CBPE) beside the realised
    accuracy. Windows are re-computed as late labels arrive. An unknown model or one without
    labels yet gives an empty list."""
    size = min(limit or settings.page_limit_default, settings.page_limit_max)
    rows = await queries.performance_windows(pool, model_id, since, until, size)
    return FastJSON({"model_id": model_id, "items": rows})
