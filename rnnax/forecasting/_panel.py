"""Panel backtests: every series of a (ragged) panel at its own rolling origins, scored per series.

:func:`backtest_panel` runs :func:`rnnax.forecasting.backtest` on each series of a panel of
series of different lengths, each with its own static covariates and its own rolling origins
(its final ``test`` segment, as :func:`rnnax.data.panel_split` cuts it, or origins you give),
and reports every metric per series and pooled over the series. The MASE of each series is
scaled by that series' own in-sample seasonal-naive error, so series of different levels and
lengths weigh alike.

The series are padded to one length and their origins to one count before the backtests, so
the panel compiles one backtest, not one per series length (the padding is never read: no
window, horizon or seasonal history reaches past a series' own end, and padded origins are
dropped).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike

from rnnax import data
from rnnax._checks import check_int
from rnnax.forecasting import _model
from rnnax.forecasting._backtest import (
    MODEL,
    BacktestResult,
    _check_inverse_transform,
    _check_origins,
    _check_series,
    backtest,
)
from rnnax.forecasting._config import ForecasterConfig


class PanelBacktestResult(NamedTuple):
    """Per-series and pooled scores of a panel backtest.

    Methods are ``"model"``, ``"naive"`` and ``"seasonal_naive"``; metrics are ``"mae"``,
    ``"rmse"``, ``"smape"`` and ``"mase"`` (each series scaled by its own in-sample
    seasonal-naive error), plus ``"coverage"`` and ``"crps"`` of a probabilistic forecaster.

    Attributes:
        series: one ``BacktestResult`` per series, in the panel's order, at that series' own
            origins (its ``origins`` index its own time axis), with host (NumPy) arrays.
        metrics: method -> metric -> ``float64 [N]``: each series' mean over its origins.
        summary: method -> metric -> the mean over the series (every series weighs the
            same, however many origins it has), a Python float.
    """

    series: tuple[BacktestResult, ...]
    metrics: dict[str, dict[str, np.ndarray]]
    summary: dict[str, dict[str, float]]

    def table(self, metrics: Sequence[str] = ("mae", "rmse", "mase"), *, label: str = MODEL) -> str:
        """The pooled summary as a plain-text table, one row per method.

        Args:
            metrics: the metric columns.
            label: the name shown for the model's row.

        Returns:
            The table, without a trailing newline (the layout of ``BacktestResult.table``).
        """
        return self.series[0]._replace(summary=self.summary).table(metrics, label=label)


def _config_of(model: _model.Forecaster | ForecasterConfig) -> ForecasterConfig:
    config = model.config if isinstance(model, _model.Forecaster) else model
    if not isinstance(config, ForecasterConfig):
        raise TypeError(
            f"model must be a Forecaster or a ForecasterConfig, got {type(model).__name__}"
        )
    return config


def _named(index: int, check: Callable[..., Any], *arguments: Any) -> Any:
    """``check(*arguments)`` for series ``index`` of the panel, naming the series in any error."""
    try:
        return check(*arguments)
    except (TypeError, ValueError) as error:
        raise type(error)(f"panel[{index}]: {error}") from None


def _panel_series(panel: object, config: ForecasterConfig) -> list[np.ndarray]:
    """The series of ``panel`` as checked float32 ``[T_i, input_size]`` arrays."""
    if isinstance(panel, (list, tuple)):
        items = list(panel)
    else:
        array = np.asarray(panel)
        if array.ndim not in (2, 3):
            raise ValueError(
                "panel must be a sequence (list or tuple) of series [T_i] or [T_i, input_size], "
                f"or an array [N, T] or [N, T, input_size], got shape {array.shape}"
            )
        items = list(array)
    if not items:
        raise ValueError("panel must hold at least one series, got none")
    return [_named(index, _check_series, item, config) for index, item in enumerate(items)]


def _panel_static(
    static_covariates: ArrayLike | None, num_series: int, config: ForecasterConfig
) -> np.ndarray | None:
    """The static covariates ``[N, num_static]`` as float32, given exactly when needed."""
    if static_covariates is None:
        if config.num_static:
            raise ValueError(
                f"static_covariates [N={num_series}, num_static={config.num_static}] of the "
                "series are required: the config has static covariates"
            )
        return None
    if not config.num_static:
        raise ValueError("static_covariates were given but the config has num_static=0")
    try:
        array = np.asarray(static_covariates)
    except (TypeError, ValueError) as error:  # ragged nested lists, for instance
        raise TypeError(
            f"static_covariates must be a real numeric array, could not convert it: {error}"
        ) from None
    if array.dtype.kind not in "fiu":
        raise TypeError(f"static_covariates must be a real numeric array, got dtype {array.dtype}")
    expected = (num_series, config.num_static)
    if array.shape != expected or not np.isfinite(array).all():
        raise ValueError(
            f"static_covariates must be finite with shape {expected} (one row per series), "
            f"got shape {array.shape}"
        )
    return array.astype(np.float32)


def _test_origins(
    length: int, test: float | int, horizon: int, first_allowed: int, stride: int
) -> np.ndarray:
    """Every ``stride``-th origin whose horizon lies in the final ``test`` segment of a series
    (as ``rnnax.data.panel_split`` cuts it), from ``first_allowed`` on."""
    start = data.split_points(length, validation=0, test=test).validation_end
    origins = np.arange(max(start, first_allowed), length - horizon + 1, stride, dtype=np.int64)
    if origins.size == 0:
        raise ValueError(
            f"the test segment [{start}, {length}) holds no forecast origin in "
            f"[{first_allowed}, {length - horizon}] (a full lookback and period before it, a "
            f"full horizon={horizon} after it); enlarge test or leave the series out"
        )
    return origins


def _panel_origins(
    lengths: list[int],
    test: float | int,
    origins: Sequence[ArrayLike] | None,
    *,
    horizon: int,
    lookback: int,
    period: int,
    stride: int,
) -> list[np.ndarray]:
    """Each series' checked origins: from its ``test`` segment, or given."""
    if origins is None:
        # The MASE scale (the history before the first origin) needs more than `period` steps.
        first_allowed = max(lookback, period + 1)
        return [
            _named(index, _test_origins, length, test, horizon, first_allowed, stride)
            for index, length in enumerate(lengths)
        ]
    if isinstance(origins, (str, bytes)) or not isinstance(origins, Sequence):
        raise TypeError(
            "origins must be a sequence of one integer array per series, got "
            f"{type(origins).__name__}"
        )
    if len(origins) != len(lengths):
        raise ValueError(
            f"origins must hold one array per series of the panel ({len(lengths)}), "
            f"got {len(origins)}"
        )
    checked = []
    for index, (given, length) in enumerate(zip(origins, lengths, strict=True)):
        array = _named(index, _check_origins, given, length, max(lookback, period), horizon)
        if array.min() <= period:
            raise ValueError(
                f"panel[{index}]: the first origin {int(array.min())} leaves no more than "
                f"period={period} steps before it for the MASE scale; start the origins after "
                f"{period}"
            )
        checked.append(array)
    return checked


def _padded(arrays: list[np.ndarray], size: int) -> np.ndarray:
    """``arrays`` stacked, each lengthened to ``size`` along axis 0 by repeating its last row."""
    return np.stack(
        [
            np.concatenate([array, np.repeat(array[-1:], size - array.shape[0], axis=0)])
            for array in arrays
        ]
    )


def _scales(
    series: list[np.ndarray],
    scale_ends: list[int],
    num_targets: int,
    period: int,
    inverse_transform: Callable[[jax.Array], jax.Array] | None,
) -> list[np.ndarray]:
    """Each series' MASE scale per target: the in-sample seasonal-naive MAE of its targets
    before ``scale_ends[i]``, in evaluation units (``rnnax.evaluation.seasonal_naive_scale``)."""
    history = [values[:end, :num_targets] for values, end in zip(series, scale_ends, strict=True)]
    targets = _padded(history, max(scale_ends))
    if inverse_transform is not None:  # one call for the panel, elementwise
        targets = np.asarray(inverse_transform(jnp.asarray(targets)))
    scales = []
    for units, end in zip(targets, scale_ends, strict=True):
        history = units[:end].astype(np.float64)
        scales.append(np.mean(np.abs(history[period:] - history[:-period]), axis=0))
    return scales


def _mase(actuals: np.ndarray, forecast: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``[O]`` MASE of ``[O, horizon, K]`` forecasts scaled per target, averaged over the
    targets, with ``rnnax.evaluation.mase``'s rule for a zero scale (0 for a perfect
    forecast, else ``+inf``)."""
    error = np.mean(np.abs(actuals.astype(np.float64) - forecast), axis=1)  # [O, K]
    zero = scale == 0
    ratio = np.where(zero, np.where(error == 0, 0.0, np.inf), error / np.where(zero, 1.0, scale))
    return np.mean(ratio, axis=-1).astype(np.float32)


def _own_result(padded: BacktestResult, origins: np.ndarray, scale: np.ndarray) -> BacktestResult:
    """A padded backtest brought to the host and cut to the series' own origins, its MASE
    rescaled by the series' own scale."""
    host = jax.device_get(padded)
    count = origins.size
    actuals = host.actuals[:count]
    forecasts = {method: forecast[:count] for method, forecast in host.forecasts.items()}
    metrics = {}
    for method, scores in host.metrics.items():
        metrics[method] = {name: value[:count] for name, value in scores.items()}
        metrics[method]["mase"] = _mase(actuals, forecasts[method], scale)
    return BacktestResult(
        origins=origins,
        actuals=actuals,
        forecasts=forecasts,
        lower=None if host.lower is None else host.lower[:count],
        upper=None if host.upper is None else host.upper[:count],
        metrics=metrics,
        summary={
            method: {name: float(np.mean(value)) for name, value in scores.items()}
            for method, scores in metrics.items()
        },
    )


def backtest_panel(
    model: _model.Forecaster | ForecasterConfig,
    params: _model.ForecasterParams,
    panel: Sequence[ArrayLike] | ArrayLike,
    *,
    lookback: int,
    test: float | int | None = None,
    origins: Sequence[ArrayLike] | None = None,
    stride: int = 1,
    period: int = 1,
    inverse_transform: Callable[[jax.Array], jax.Array] | None = None,
    interval_level: float = 0.95,
    static_covariates: ArrayLike | None = None,
) -> PanelBacktestResult:
    """Rolling-origin backtests of every series of a (ragged) panel, scored per series and pooled.

    Each series is backtested by :func:`rnnax.forecasting.backtest` at its own origins, with
    its own row of static covariates, beside the naive and seasonal-naive baselines. Its MASE
    is scaled by its own in-sample seasonal-naive error before its first origin. All series
    share one compiled backtest (they are padded to one length and one number of origins, and
    the padding is dropped), so a panel of many lengths compiles once per config, padded length
    and origin count, not once per series.

    Args:
        model: a ``Forecaster`` (or its ``ForecasterConfig``).
        params: the fitted ``ForecasterParams``.
        panel: the series in model units: a sequence (list or tuple) of ``N`` series ``[T_i]``
            or ``[T_i, input_size]`` of any lengths (targets first, as for ``backtest``), or an
            array ``[N, T]`` or ``[N, T, input_size]`` (iterated over its first axis). Every
            series is aligned at its own start.
        lookback: the window length the model reads.
        test: the final segment of each series that is forecast: a fraction of its own length
            (a float in ``[0, 1)``) or a count of steps (an int), as in
            ``rnnax.data.panel_split``; the origins are every ``stride``-th one whose whole
            horizon lies in it, from its start (or from ``max(lookback, period + 1)``, if
            later). ``test=horizon + k - 1`` gives each series its last ``k`` origins (with
            ``stride=1``). Default ``0.2`` when ``origins`` is not given.
        origins: instead of ``test``, one integer array of origins per series, each in
            ``[max(lookback, period + 1), T_i - horizon]`` of its own time axis.
        stride: steps between consecutive origins taken from ``test``.
        period: the seasonal period for the seasonal-naive baseline and the MASE scale.
        inverse_transform: as for ``backtest``: an elementwise, increasing, jit-able map from
            model units to evaluation units, shared by all series (a function, not a fresh
            lambda per call, to reuse the compile).
        interval_level: nominal level of a probabilistic forecaster's intervals.
        static_covariates: ``[N, num_static]``, one row per series, required exactly when the
            config has static covariates.

    Returns:
        A ``PanelBacktestResult``.

    Raises:
        ValueError: on an empty panel, a series with bad values or shape, no origin in a
            series' test segment, origins out of range, both ``test`` and ``origins`` given,
            or static covariates of the wrong shape (each naming the series, ``panel[i]``),
            and as ``backtest``.
        TypeError: for a model that is not a forecaster, non-integer sizes, non-numeric
            series, origins or static covariates, and as ``backtest``.

    Examples:
        >>> import jax, numpy as np
        >>> from rnnax import forecasting
        >>> model = forecasting.forecaster(forecasting.ForecasterConfig(horizon=3, hidden=4))
        >>> params = model.init(jax.random.key(0))
        >>> panel = [np.sin(np.arange(length) / 3.0) for length in (60, 45, 80)]
        >>> result = backtest_panel(model, params, panel, lookback=12, test=0.25)
        >>> [r.origins.size for r in result.series], result.metrics["model"]["mase"].shape
        ([13, 9, 18], (3,))
        >>> sorted(result.summary["model"])
        ['mae', 'mase', 'rmse', 'smape']
    """
    config = _config_of(model)
    lookback = check_int("lookback", lookback, minimum=1)
    period = check_int("period", period, minimum=1)
    stride = check_int("stride", stride, minimum=1)
    if test is not None and origins is not None:
        raise ValueError("give the origins as test (a segment of each series) or origins, not both")
    series = _panel_series(panel, config)
    if inverse_transform is not None:  # checked before the scales use it
        _check_inverse_transform(inverse_transform, series[0].dtype, config.num_targets)
    static = _panel_static(static_covariates, len(series), config)
    chosen = _panel_origins(
        [values.shape[0] for values in series],
        0.2 if test is None else test,
        origins,
        horizon=config.horizon,
        lookback=lookback,
        period=period,
        stride=stride,
    )
    longest = max(values.shape[0] for values in series)
    padded_series = _padded(series, longest)
    padded_origins = _padded(chosen, max(own.size for own in chosen))
    scales = _scales(
        series, [int(own.min()) for own in chosen], config.num_targets, period, inverse_transform
    )
    results = []
    for index in range(len(series)):
        padded = backtest(
            config,
            params,
            padded_series[index],
            padded_origins[index],
            lookback=lookback,
            period=period,
            inverse_transform=inverse_transform,
            scale_end=period + 1,  # one compile for every series; the MASE is rescaled below
            interval_level=interval_level,
            static_covariates=None if static is None else static[index],
        )
        results.append(_own_result(padded, chosen[index], scales[index]))
    metrics = {
        method: {
            name: np.array([result.summary[method][name] for result in results]) for name in scores
        }
        for method, scores in results[0].summary.items()
    }
    summary = {
        method: {name: float(np.mean(values)) for name, values in scores.items()}
        for method, scores in metrics.items()
    }
    return PanelBacktestResult(series=tuple(results), metrics=metrics, summary=summary)
