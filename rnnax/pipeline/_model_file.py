"""A run's model file, ``model.rnnax``: a saved forecaster plus what the pipeline adds.

:func:`save_model` writes a :class:`~rnnax.pipeline._future.FittedModel` with
``rnnax.forecasting.save`` (config, parameters, scaler, column names, period, lookback) and keeps
the rest in its metadata: ``log`` (which columns the model reads as logarithms), ``level`` (the
interval's coverage), ``halfwidth`` (a point forecaster's conformal half-widths, model units),
``frequency`` and ``series``. :func:`load_model` reads any saved forecaster back as a
``FittedModel``; one saved without this metadata reads its columns as they are, with the
interval of its head (none for a point forecaster).

Outside the pipeline, ``rnnax.forecasting.load(path).predict(history)`` forecasts in the units
the model reads: for a model with ``metadata["log"]`` true for a column, pass
``np.log(history)`` and take ``np.exp`` of the forecast.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from rnnax import data, forecasting
from rnnax.pipeline._future import FittedModel
from rnnax.pipeline._options import DEFAULT_LEVEL
from rnnax.pipeline._transform import Transform


def save_model(
    path: Path, model: FittedModel, series: data.Series, columns: tuple[str, ...]
) -> Path:
    """Writes ``model`` to ``path`` (atomically, via ``rnnax.forecasting.save``)."""
    metadata: dict[str, Any] = {
        "log": list(model.transform.log),
        "level": model.level,
        "halfwidth": None if model.halfwidth is None else model.halfwidth.tolist(),
        "frequency": series.frequency,
        "series": series.name,
    }
    return forecasting.save(
        path,
        model.config,
        model.params,
        scaler=model.transform.scaler,
        columns=columns,
        period=series.period,
        lookback=model.lookback,
        metadata=metadata,
    )


def _transform_of(saved: forecasting.SavedForecaster, path: Path) -> Transform:
    width = saved.config.input_size
    log = saved.metadata.get("log", [False] * width)
    if not (isinstance(log, list) and len(log) == width and all(type(f) is bool for f in log)):
        raise ValueError(
            f"{path}: its metadata 'log' must be a list of {width} true/false flags, got {log!r:.80}"
        )
    if saved.scaler is None:
        return Transform(center=(0.0,) * width, scale=(1.0,) * width, log=tuple(log))
    center = np.broadcast_to(np.asarray(saved.scaler.center, np.float64), (width,))
    scale = np.broadcast_to(np.asarray(saved.scaler.scale, np.float64), (width,))
    return Transform(center=tuple(center), scale=tuple(scale), log=tuple(log))


def _level_of(saved: forecasting.SavedForecaster, path: Path) -> float:
    level = saved.metadata.get("level", DEFAULT_LEVEL)
    if type(level) is not float or not 0.0 < level < 1.0:
        raise ValueError(f"{path}: its metadata 'level' must be a number in (0, 1), got {level!r}")
    config = saved.config
    ends = (0.5 - 0.5 * level, 0.5 + 0.5 * level)
    if config.likelihood == "quantile" and not all(
        any(math.isclose(end, known, abs_tol=1e-9) for known in config.quantiles) for end in ends
    ):
        raise ValueError(
            f"{path}: its quantile levels {list(config.quantiles)} lack the ends of its "
            f"{level:g} interval, {ends[0]:g} and {ends[1]:g}"
        )
    return level


def _halfwidth_of(saved: forecasting.SavedForecaster, path: Path) -> np.ndarray | None:
    halfwidth = saved.metadata.get("halfwidth")
    if halfwidth is None:
        return None
    shape = (saved.config.horizon, saved.config.num_targets)
    try:
        array = np.asarray(halfwidth, np.float64)
    except (TypeError, ValueError):
        array = np.zeros(0)
    if array.shape != shape or not np.isfinite(array).all() or (array < 0).any():
        raise ValueError(
            f"{path}: its metadata 'halfwidth' must be [horizon, targets] = {list(shape)} "
            f"non-negative numbers, got {halfwidth!r:.80}"
        )
    return array


def _check_no_future_inputs(config: forecasting.ForecasterConfig, path: Path) -> None:
    """A forecast from a CSV's history alone: no known future covariates, no static ones."""
    future, static = config.future_features, config.num_static
    if future or static:
        raise ValueError(
            f"{path} holds a forecaster that reads known future covariates ({future}) or "
            f"static covariates ({static}); a forecast from a CSV's history alone cannot supply "
            "them: use its apply with them"
        )


def load_model(path: Path) -> tuple[FittedModel, forecasting.SavedForecaster]:
    """Reads a saved forecaster as a :class:`FittedModel` (and the ``SavedForecaster``).

    Raises:
        FileNotFoundError: if there is no file at ``path``.
        ValueError: for a file that is not a saved forecaster, is damaged, lacks the lookback,
            or has metadata the pipeline cannot read.
    """
    saved = forecasting.load(path)
    if saved.lookback is None:
        raise ValueError(
            f"{path} was saved without its lookback; save it with "
            "rnnax.forecasting.save(..., lookback=...) to forecast from it"
        )
    _check_no_future_inputs(saved.config, path)
    fitted = FittedModel(
        config=saved.config,
        params=saved.params,
        transform=_transform_of(saved, path),
        lookback=saved.lookback,
        level=_level_of(saved, path),
        halfwidth=_halfwidth_of(saved, path),
    )
    return fitted, saved
