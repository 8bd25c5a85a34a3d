"""Rolling-origin backtests: many forecast origins, forecast and scored in one compiled call."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike

from rnnax import _sharding, evaluation
from rnnax._checks import check_int, check_real
from rnnax.forecasting import _heads, _model
from rnnax.forecasting._config import ForecasterConfig

MODEL = "model"
NAIVE = "naive"
SEASONAL_NAIVE = "seasonal_naive"
METRICS = ("mae", "rmse", "smape", "mase")


class BacktestResult(NamedTuple):
    """Forecasts and scores of a rolling-origin backtest, per origin and aggregated.

    All values are in evaluation units (after ``inverse_transform``). Methods are ``"model"``,
    ``"naive"`` and ``"seasonal_naive"``; metrics are ``"mae"``, ``"rmse"``, ``"smape"`` and
    ``"mase"``, plus, for a probabilistic forecaster (Gaussian, Student's t or quantile head),
    ``"coverage"`` of the model's interval and ``"crps"`` (the continuous ranked probability
    score, from the 99 quantiles 1%, ..., 99% of a parametric forecast or a quantile head's own
    levels, each mapped through ``inverse_transform``).

    Attributes:
        origins: ``int64 [O]``: the time index of each origin's first forecast step.
        actuals: ``[O, horizon, num_targets]``.
        forecasts: method -> point forecasts ``[O, horizon, num_targets]``.
        lower: lower bounds of the model's prediction intervals, or ``None`` (point model).
        upper: upper bounds, or ``None``.
        metrics: method -> metric -> per-origin scores ``[O]`` (averaged over the horizon
            and the targets).
        summary: method -> metric -> the mean over origins, a Python float.
    """

    origins: np.ndarray
    actuals: jax.Array
    forecasts: dict[str, jax.Array]
    lower: jax.Array | None
    upper: jax.Array | None
    metrics: dict[str, dict[str, jax.Array]]
    summary: dict[str, dict[str, float]]

    def table(self, metrics: Sequence[str] = ("mae", "rmse", "mase"), *, label: str = MODEL) -> str:
        """The summary as a plain-text table, one row per method.

        Args:
            metrics: the metric columns.
            label: the name shown for the model's row.

        Returns:
            The table, without a trailing newline.
        """
        header = f"{'method':<16}" + "".join(f"{name:>10}" for name in metrics)
        rows = [header]
        for method, scores in self.summary.items():
            shown = label if method == MODEL else method
            rows.append(
                f"{shown:<16}"
                + "".join(f"{scores.get(name, float('nan')):>10.4f}" for name in metrics)
            )
        return "\n".join(rows)


def rolling_origins(length: int, horizon: int, first: int, *, stride: int = 1) -> np.ndarray:
    """Every forecast origin from ``first`` whose whole horizon fits in a series of ``length``.

    Args:
        length: number of time steps ``T`` of the series.
        horizon: steps forecast from each origin.
        first: the first origin (time index of its first forecast step).
        stride: steps between consecutive origins.

    Returns:
        ``int64`` origins ``first, first + stride, ...`` up to ``length - horizon``.

    Examples:
        >>> rolling_origins(144, 12, 120, stride=4).tolist()
        [120, 124, 128, 132]
    """
    length = check_int("length", length, minimum=1)
    horizon = check_int("horizon", horizon, minimum=1)
    first = check_int("first", first, minimum=0)
    stride = check_int("stride", stride, minimum=1)
    if first > length - horizon:
        raise ValueError(
            f"first={first} leaves no room for a horizon of {horizon} in a series of length {length}"
        )
    return np.arange(first, length - horizon + 1, stride, dtype=np.int64)


def _check_series(series: ArrayLike, config: ForecasterConfig) -> np.ndarray:
    array = np.asarray(series)
    if array.dtype.kind not in "fiu":
        raise TypeError(f"series must be a real numeric array, got dtype {array.dtype}")
    array = array.astype(np.float32)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[1] != config.input_size:
        raise ValueError(
            f"series must have shape [T] or [T, input_size={config.input_size}] (targets first), "
            f"got {np.shape(series)}"
        )
    if array.shape[0] == 0:
        raise ValueError(
            f"series is empty (shape {np.shape(series)}); a backtest needs a history and a horizon"
        )
    bad = np.flatnonzero(~np.isfinite(array).all(axis=1))
    if bad.size:
        raise ValueError(
            f"series has non-finite values (NaN or Inf) at time positions {bad[:10].tolist()}; "
            "clean it first (see rnnax.data.handle_missing)"
        )
    return array


def _check_inverse_transform(inverse_transform: object, dtype: Any, num_targets: int) -> None:
    """Checks (by tracing, no computation) that ``inverse_transform`` keeps shapes and dtypes,
    on the targets' shape ``[..., num_targets]`` (a per-target transform broadcasts there)."""
    if not callable(inverse_transform):
        raise TypeError(
            f"inverse_transform must be a function (elementwise, jit-able), got {type(inverse_transform).__name__}"
        )
    probe = jax.ShapeDtypeStruct((2, 3, num_targets), dtype)
    try:
        out = jax.eval_shape(inverse_transform, probe)
    except Exception as error:  # any failure to trace is the user's function failing
        raise ValueError(
            f"inverse_transform must be elementwise and jit-able; tracing it failed: {error}"
        ) from error
    if not (isinstance(out, jax.ShapeDtypeStruct) and out.shape == probe.shape):
        raise ValueError(
            f"inverse_transform must be elementwise (keep the shape), but it maps shape {probe.shape} "
            f"to {getattr(out, 'shape', type(out).__name__)}"
        )


def _check_static(static_covariates: ArrayLike | None, config: ForecasterConfig) -> Any:
    """The series' static covariates ``[num_static]`` as float32, given exactly when needed."""
    if static_covariates is None:
        if config.num_static:
            raise ValueError(
                f"static_covariates [num_static={config.num_static}] of the series are required: "
                "the config has static covariates"
            )
        return None
    if not config.num_static:
        raise ValueError("static_covariates were given but the config has num_static=0")
    try:
        array = np.asarray(static_covariates)
    except ValueError:  # a ragged nested list
        raise TypeError(
            f"static_covariates must be a real numeric array of shape ({config.num_static},), "
            f"got a ragged {type(static_covariates).__name__}"
        ) from None
    if array.dtype.kind not in "fiu":
        raise TypeError(f"static_covariates must be a real numeric array, got dtype {array.dtype}")
    if array.shape != (config.num_static,) or not np.isfinite(array).all():
        raise ValueError(
            f"static_covariates must be finite with shape ({config.num_static},), got "
            f"shape {array.shape}"
        )
    return jnp.asarray(array, jnp.float32)


def _check_origins(origins: ArrayLike, length: int, first_allowed: int, horizon: int) -> np.ndarray:
    array = np.asarray(origins)
    expected = "origins must be a non-empty 1-D integer array"
    if array.size and array.dtype.kind not in "iu":
        raise TypeError(f"{expected}, got {array.dtype} array of shape {array.shape}")
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{expected}, got {array.dtype} array of shape {array.shape}")
    low, high = int(array.min()), int(array.max())
    if low < first_allowed or high > length - horizon:
        raise ValueError(
            f"origins must lie in [{first_allowed}, {length - horizon}] (a full lookback/period before, "
            f"a full horizon={horizon} after, in a series of length {length}), got values in [{low}, {high}]"
        )
    return array.astype(np.int64)


def backtest(
    model: _model.Forecaster | ForecasterConfig,
    params: _model.ForecasterParams,
    series: ArrayLike,
    origins: ArrayLike,
    *,
    lookback: int,
    period: int = 1,
    inverse_transform: Callable[[jax.Array], jax.Array] | None = None,
    scale_end: int | None = None,
    interval_level: float = 0.95,
    mesh: jax.sharding.Mesh | None = None,
    data_axis: str = "data",
    static_covariates: ArrayLike | None = None,
) -> BacktestResult:
    """Rolling-origin evaluation of a fitted forecaster beside the naive baselines.

    For every origin ``t``, the model sees ``series[t - lookback : t]`` and forecasts
    ``series[t : t + horizon, :num_targets]``; the naive and seasonal-naive baselines see the
    history before ``t``. All origins are gathered, forecast and scored in ONE ``jax.jit``
    call (a ``vmap`` over origins, no Python loop), compiled once per config and shape.

    Covariate columns of ``series`` (after the targets) are, for an autoregressive
    forecaster, read over the horizon as known future covariates.

    Args:
        model: a ``Forecaster`` (or its ``ForecasterConfig``).
        params: the fitted ``ForecasterParams``.
        series: the whole series in model units, ``[T]`` or ``[T, input_size]``.
        origins: integer time indices of the first forecast step of each origin, each in
            ``[max(lookback, period), T - horizon]`` (see ``rolling_origins``).
        lookback: the window length the model reads.
        period: the seasonal period for the seasonal-naive baseline and the MASE scale.
        inverse_transform: an elementwise, increasing, jit-able map from model units to
            evaluation units (e.g. ``lambda v: jnp.exp(data.inverse_transform(scaler, v))``),
            applied to forecasts, intervals, actuals and baseline histories before scoring.
            It must be hashable (a function, not a fresh lambda per call, to reuse the compile).
        scale_end: the MASE scale is the in-sample seasonal-naive MAE of
            ``series[:scale_end]``; defaults to the first origin, so no evaluated step
            leaks into it.
        interval_level: nominal level of the model's intervals (probabilistic forecasters; a
            quantile head must have the levels ``(1 -/+ interval_level) / 2``).
        mesh: a ``jax.sharding.Mesh`` whose ``data_axis`` splits the origins over devices
            (one slice of origins per device; the parameters and the series are copied to
            every device). When the axis size does not divide the number of origins, the
            last origin is repeated to fill the split and its copies are dropped from the
            result. ``None`` (default): no mesh.
        data_axis: the mesh axis that splits the origins.
        static_covariates: ``[num_static]``, the series' static covariates, required exactly
            when the config has them. A direct forecaster's known future covariates (the last
            ``num_future_covariates`` columns of ``series``) are read over each horizon.

    Returns:
        A ``BacktestResult``.

    Raises:
        ValueError: on non-finite values, bad shapes, origins out of range, or a
            ``data_axis`` the mesh does not have.
        TypeError: ``mesh`` is not a ``jax.sharding.Mesh``.

    Examples:
        >>> import jax, numpy as np
        >>> from rnnax import forecasting
        >>> model = forecasting.forecaster(forecasting.ForecasterConfig(horizon=3, hidden=4))
        >>> params = model.init(jax.random.key(0))
        >>> series = np.sin(np.arange(60.0) / 3)
        >>> result = backtest(model, params, series, rolling_origins(60, 3, 40), lookback=12)
        >>> result.metrics["model"]["mase"].shape, sorted(result.summary)
        ((18,), ['model', 'naive', 'seasonal_naive'])
    """
    config = model.config if isinstance(model, _model.Forecaster) else model
    if not isinstance(config, ForecasterConfig):
        raise TypeError(
            f"model must be a Forecaster or a ForecasterConfig, got {type(model).__name__}"
        )
    lookback = check_int("lookback", lookback, minimum=1)
    period = check_int("period", period, minimum=1)
    values = _check_series(series, config)
    length = values.shape[0]
    checked_origins = _check_origins(origins, length, max(lookback, period), config.horizon)
    scale_end = int(checked_origins.min()) if scale_end is None else scale_end
    scale_end = check_int("scale_end", scale_end, minimum=period + 1, maximum=length)
    interval_level = check_real(
        "interval_level", interval_level, minimum=0.0, maximum=1.0, exclusive=True
    )
    if config.likelihood == "quantile":
        _heads.check_interval_levels(config.quantiles, interval_level, "interval_level")
    if inverse_transform is not None:
        _check_inverse_transform(inverse_transform, values.dtype, config.num_targets)
    static = _check_static(static_covariates, config)

    device_series, device_origins = (
        jnp.asarray(values),
        jnp.asarray(checked_origins, dtype=jnp.int32),
    )
    constrain = None
    if mesh is not None:
        mesh = _sharding.check_mesh(mesh)
        size = _sharding.axis_size(mesh, data_axis, "data_axis")
        filler = (-checked_origins.size) % size
        padded = np.concatenate([checked_origins, np.repeat(checked_origins[-1:], filler)])
        constrain = _sharding.LeadingAxisConstraint(mesh, data_axis)
        everywhere = _sharding.replicated(mesh)
        params, device_series = jax.device_put((params, device_series), everywhere)
        device_origins = jax.device_put(
            padded.astype(np.int32), _sharding.split_leading(mesh, data_axis)
        )
    with contextlib.ExitStack() as stack:
        if mesh is not None:  # traced under the mesh, so the cores leave the split to it
            stack.enter_context(jax.set_mesh(mesh))
        outputs = _backtest_core(
            params,
            device_series,
            device_origins,
            static,
            config=config,
            lookback=int(lookback),
            period=int(period),
            scale_end=int(scale_end),
            inverse_transform=inverse_transform,
            interval_level=float(interval_level),
            constrain=constrain,
        )
    if device_origins.shape[0] != checked_origins.size:
        outputs = jax.tree.map(lambda leaf: leaf[: checked_origins.size], outputs)
    actuals, forecasts, lower, upper, metrics = outputs
    host_metrics = jax.device_get(metrics)
    summary = {
        method: {name: float(np.mean(scores)) for name, scores in per_metric.items()}
        for method, per_metric in host_metrics.items()
    }
    return BacktestResult(
        origins=checked_origins,
        actuals=actuals,
        forecasts=forecasts,
        lower=lower,
        upper=upper,
        metrics=metrics,
        summary=summary,
    )


def _per_origin(metric: Callable[..., jax.Array], *arrays: jax.Array, **options: Any) -> jax.Array:
    """Scores ``[O, time, K]`` arrays over time, then averages over the targets: ``[O]``."""
    score = metric(*(jnp.swapaxes(array, -1, -2) for array in arrays), **options)
    return jnp.mean(score, axis=-1)


@functools.partial(
    jax.jit,
    static_argnames=(
        "config",
        "lookback",
        "period",
        "scale_end",
        "inverse_transform",
        "interval_level",
        "constrain",
    ),
)
def _backtest_core(
    params: _model.ForecasterParams,
    series: jax.Array,
    origins: jax.Array,
    static_covariates: jax.Array | None,
    *,
    config: ForecasterConfig,
    lookback: int,
    period: int,
    scale_end: int,
    inverse_transform: Callable[[jax.Array], jax.Array] | None,
    interval_level: float,
    constrain: Callable[[Any], Any] | None = None,
) -> tuple[Any, ...]:
    horizon, num_targets = config.horizon, config.num_targets
    to_units = (lambda v: v) if inverse_transform is None else inverse_transform

    def cut(origin: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        window = jax.lax.dynamic_slice_in_dim(series, origin - lookback, lookback)
        future = jax.lax.dynamic_slice_in_dim(series, origin, horizon)
        recent = jax.lax.dynamic_slice_in_dim(series, origin - period, period)
        return window, future, recent

    windows, futures, recents = jax.vmap(cut)(origins)  # [O, L, D], [O, H, D], [O, m, D]
    if constrain is not None:  # each device forecasts and scores its slice of the origins
        windows, futures, recents = constrain((windows, futures, recents))
    future_covariates = None
    if config.future_features:  # the last covariates are known over the horizon
        future_covariates = futures[..., config.input_size - config.future_features :]
    if static_covariates is not None:
        static_covariates = jnp.broadcast_to(
            static_covariates, (origins.shape[0], *static_covariates.shape)
        )
    forecast = _model.apply(
        params,
        windows,
        config=config,
        future_covariates=future_covariates,
        static_covariates=static_covariates,
    )

    actuals = to_units(futures[..., :num_targets])
    history = jnp.swapaxes(to_units(recents[..., :num_targets]), -1, -2)  # [O, K, m]
    forecasts = {
        MODEL: to_units(_model.point_forecast(forecast)),
        NAIVE: jnp.swapaxes(evaluation.naive_forecast(history, horizon), -1, -2),
        SEASONAL_NAIVE: jnp.swapaxes(
            evaluation.seasonal_naive_forecast(history, horizon, period), -1, -2
        ),
    }
    train = to_units(series[:scale_end, :num_targets])  # the MASE scale's in-sample series
    train = jnp.broadcast_to(train[None], (origins.shape[0], *train.shape))  # [O, scale_end, K]

    metrics: dict[str, dict[str, jax.Array]] = {}
    for method, predicted in forecasts.items():
        metrics[method] = {
            "mae": _per_origin(evaluation.mae, actuals, predicted),
            "rmse": _per_origin(evaluation.rmse, actuals, predicted),
            "smape": _per_origin(evaluation.smape, actuals, predicted),
            "mase": _per_origin(evaluation.mase, actuals, predicted, train, period=period),
        }
    lower = upper = None
    if not isinstance(forecast, jax.Array):  # a probabilistic head: intervals and the CRPS
        low, high = _heads.interval(forecast, interval_level)
        lower, upper = to_units(low), to_units(high)
        metrics[MODEL]["coverage"] = _per_origin(evaluation.coverage, actuals, lower, upper)
        metrics[MODEL]["crps"] = jnp.mean(_heads.crps(forecast, actuals, to_units), axis=(-2, -1))
    return actuals, forecasts, lower, upper, metrics
