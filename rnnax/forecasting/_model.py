"""Recurrent forecasters as pure functions: ``init``, ``apply``, ``loss`` and their bundle.

A forecaster is a recurrent encoder of any cell (``rnnax.rnn_stack`` with the config's
``encoder_cell``: the LSTM, either GRU form, or a cell of your own) read by a dense head. Parameters are a ``ForecasterParams`` NamedTuple, so they go straight into optax,
``jax.jit``, ``jax.grad`` and checkpoints.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from rnnax._checks import check_key
from rnnax._layers import check_layers, rnn_stack, rnn_stack_init
from rnnax._protocol import check_params as check_cell_params
from rnnax._protocol import check_params_type, params_dtype
from rnnax.forecasting._config import ForecasterConfig
from rnnax.forecasting._heads import (
    Forecast,
    GaussianForecast,
    QuantileForecast,
    StudentTForecast,
    fed_back,
    forecast_from_raw,
    head_bias,
    head_loss,
    interval,
    point_forecast,
    quantiles,
)

__all__ = [  # the heads' names are read from here too
    "Forecast",
    "GaussianForecast",
    "QuantileForecast",
    "StudentTForecast",
    "interval",
    "point_forecast",
    "quantiles",
]


class DenseParams(NamedTuple):
    """A dense layer ``x @ w + b``.

    Attributes:
        w: weights ``[in, out]``.
        b: bias ``[out]``.
    """

    w: Float[Array, "fan_in fan_out"]
    b: Float[Array, " fan_out"]


class ForecasterParams(NamedTuple):
    """Parameters of a forecaster.

    Attributes:
        encoder: ``layers[layer][0]`` of the encoder cell's parameters (``LSTMParams``,
            ``GRUParams``, ...; the stack layout of ``rnnax.rnn_stack``).
        head: ``DenseParams`` from ``hidden`` to ``outputs_per_step`` (autoregressive) or
            ``horizon * outputs_per_step`` (direct) outputs.
    """

    encoder: list[list[Any]]
    head: DenseParams


class ForecastBatch(NamedTuple):
    """Training examples for ``loss`` (and ``rnnax.training.fit``).

    Attributes:
        inputs: ``[..., lookback, input_size]``.
        targets: ``[..., horizon, num_targets]``.
        future_covariates: ``[..., horizon, future_features]``: the values over the horizon of
            the covariates known in advance (``ForecasterConfig.future_features``), or ``None``.
        static_covariates: ``[..., num_static]`` per example, or ``None``.
    """

    inputs: Float[Array, "*batch lookback features"]
    targets: Float[Array, "*batch horizon targets"]
    future_covariates: Float[Array, "*batch horizon covariates"] | None = None
    static_covariates: Float[Array, "*batch static"] | None = None


class Forecaster(NamedTuple):
    """A forecaster's pure functions with its config bound, in the optax style.

    Attributes:
        config: the ``ForecasterConfig``.
        init: ``init(key) -> ForecasterParams``.
        apply: ``apply(params, inputs, *, key=None, future_covariates=None) -> Forecast``.
        loss: ``loss(params, batch, key=None) -> scalar``; ``batch`` is a ``ForecastBatch``,
            an ``(inputs, targets[, future_covariates])`` tuple or ``rnnax.data.Windows``.
    """

    config: ForecasterConfig
    init: Callable[[jax.Array], ForecasterParams]
    apply: Callable[..., Forecast]
    loss: Callable[..., jax.Array]

    def training_adapter(self) -> ForecasterTraining:
        """How ``rnnax.training.fit`` trains this forecaster: its loss and data adapters."""
        return ForecasterTraining(self.config)


class ForecasterTraining(NamedTuple):
    """What a ``Forecaster`` hands ``rnnax.training``: its loss, with the data unpacked into a
    ``ForecastBatch`` and the parameters checked against the config (``fit(forecaster, ...)``).

    Attributes:
        config: the forecaster's configuration.
    """

    config: ForecasterConfig

    @property
    def loss(self) -> Callable[..., jax.Array]:
        """``loss(params, batch, key)``: one object per config, so compiled epochs are reused."""
        return _training_loss(self.config)

    def prepare_batch(self, data: Any) -> ForecastBatch:
        """``rnnax.data.Windows``, a ``ForecastBatch`` or an ``(inputs, targets)`` tuple as a
        ``ForecastBatch``."""
        return _unpack_batch(data, self.config)

    def prepare_params(self, params: Any) -> ForecasterParams:
        """The parameters, checked against the config, as JAX arrays."""
        check_params(params, self.config)
        return jax.tree.map(jnp.asarray, params)


def forecaster(config: ForecasterConfig) -> Forecaster:
    """Bundles ``init``, ``apply`` and ``loss`` with ``config`` bound.

    Args:
        config: the forecaster's configuration.

    Returns:
        A ``Forecaster``.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> model = forecaster(ForecasterConfig(horizon=3, hidden=4))
        >>> params = model.init(jax.random.key(0))
        >>> model.apply(params, jnp.ones((5, 24, 1))).shape
        (5, 3, 1)
    """
    if not isinstance(config, ForecasterConfig):
        raise TypeError(f"config must be a ForecasterConfig, got {type(config).__name__}")
    return Forecaster(
        config=config,
        init=functools.partial(init, config=config),
        apply=functools.partial(apply, config=config),
        loss=functools.partial(loss, config=config),
    )


def init(key: jax.Array, config: ForecasterConfig) -> ForecasterParams:
    """Initializes a forecaster's parameters (float32).

    The encoder uses ``rnnax.rnn_stack_init(config.encoder_cell, ...)`` (for the LSTM and the
    GRU the same as ``rnnax.lstm_stack_init`` / ``rnnax.gru_stack_init``; the reset-after GRU's
    parameters are typed ``GRUResetAfterParams``); the head has LeCun-normal weights and zero
    bias, except that a probabilistic head's scale bias starts at ``softplus^-1(1)`` (a fresh
    model predicts unit scale) and a Student's t head's df at 5 (see ``_heads.head_bias``).

    Args:
        key: a PRNG key.
        config: the forecaster's configuration.

    Returns:
        ``ForecasterParams``.

    Examples:
        >>> import jax
        >>> params = init(jax.random.key(0), ForecasterConfig(horizon=3, hidden=4, num_layers=2))
        >>> len(params.encoder), params.head.w.shape
        (2, (4, 3))
    """
    if not isinstance(config, ForecasterConfig):
        raise TypeError(f"config must be a ForecasterConfig, got {type(config).__name__}")
    check_key("key", key)
    encoder_key, head_key = jax.random.split(key)
    encoder = rnn_stack_init(
        config.encoder_cell,
        encoder_key,
        config.input_size,
        config.hidden,
        num_layers=config.num_layers,
    )
    steps = config.horizon if config.strategy == "direct" else 1
    outputs = steps * config.outputs_per_step
    w = jax.random.normal(head_key, (config.head_inputs, outputs), jnp.float32) / math.sqrt(
        config.head_inputs
    )
    b = np.tile(head_bias(config), (steps, 1))
    return ForecasterParams(
        encoder=encoder, head=DenseParams(w=w, b=jnp.asarray(b.reshape(outputs)))
    )


def _dropout(x: jax.Array, key: jax.Array | None, rate: float) -> jax.Array:
    if key is None or rate == 0.0:
        return x
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / jnp.asarray(1.0 - rate, x.dtype), jnp.zeros_like(x))


def _dense(dense: DenseParams, x: jax.Array) -> jax.Array:
    # Explicit bias reshape: rnnax runs with implicit rank promotion disabled.
    return x @ dense.w + dense.b.reshape((1,) * (x.ndim - 1) + dense.b.shape)


def _check_float_array(name: str, value: Any, layout: str) -> None:
    """Raises ``TypeError`` unless ``value`` is an array (JAX, NumPy or a tracer) of a floating dtype."""
    if not isinstance(value, (jax.Array, np.ndarray)):
        raise TypeError(f"{name} must be an array {layout}, got {type(value).__name__}")
    if not jnp.issubdtype(value.dtype, jnp.floating):
        raise TypeError(
            f"{name} must have a floating dtype (float32, ...), got {jnp.dtype(value.dtype).name}"
        )


def check_params(params: Any, config: ForecasterConfig) -> None:
    """Checks that ``params`` are ``ForecasterParams`` made for ``config`` (cell, sizes, head).

    The encoder's parameters must be the config's ``encoder_cell``'s: of its parameters type,
    or of a base type that says nothing of the form (plain ``GRUParams`` run as the
    reset-after GRU when the config says so), never another registered cell's.
    """
    if not isinstance(params, ForecasterParams):
        raise TypeError(f"params must be ForecasterParams (from init), got {type(params).__name__}")
    cell = config.encoder_cell
    encoder = params.encoder
    first = (
        encoder[0][0]
        if isinstance(encoder, (list, tuple))
        and encoder
        and isinstance(encoder[0], (list, tuple))
        and encoder[0]
        else None
    )
    if first is not None:
        try:
            check_params_type(cell, first)
        except TypeError as error:
            raise TypeError(
                f"params.encoder holds {type(first).__name__} but the config has "
                f"cell={config.cell!r}{', reset_after=True' if config.reset_after else ''}: "
                f"{error}"
            ) from None
    num_directions, hidden = check_layers(encoder, cell)
    input_size, _ = check_cell_params(cell, encoder[0][0])
    layout = (len(encoder), num_directions, input_size, hidden)
    expected = (config.num_layers, 1, config.input_size, config.hidden)
    if layout != expected:
        raise ValueError(
            "params.encoder must have num_layers, directions, input_size and hidden = "
            f"{expected} (the config's), got {layout}"
        )
    head = params.head
    if not isinstance(head, DenseParams):
        raise TypeError(f"params.head must be DenseParams, got {type(head).__name__}")
    steps = config.horizon if config.strategy == "direct" else 1
    outputs = steps * config.outputs_per_step
    dtype = params_dtype(cell, encoder[0][0])
    for field, shape in (("w", (config.head_inputs, outputs)), ("b", (outputs,))):
        value = getattr(head, field)
        _check_float_array(f"params.head.{field}", value, str(list(shape)))
        if tuple(value.shape) != shape:
            raise ValueError(
                f"params.head.{field} must have shape {shape} for this config (hidden={config.hidden}"
                f"{_extra_head_inputs(config)}, {outputs} outputs), got {tuple(value.shape)}"
            )
        if jnp.dtype(value.dtype) != jnp.dtype(dtype):
            raise TypeError(
                f"params.head.{field} has dtype {jnp.dtype(value.dtype).name} but params.encoder has "
                f"dtype {jnp.dtype(dtype).name}; cast one of them so the dtypes match"
            )


def _check_inputs_dtype(params: ForecasterParams, inputs: Any, config: ForecasterConfig) -> None:
    """Inputs must have the parameters' dtype (after JAX's canonicalization: NumPy float64 is
    float32 while 64-bit mode is off)."""
    expected = jnp.dtype(params_dtype(config.encoder_cell, params.encoder[0][0]))
    got = jnp.dtype(jax.dtypes.canonicalize_dtype(inputs.dtype))
    if got != expected:
        raise TypeError(
            f"inputs has dtype {got.name} but params has dtype {expected.name}; cast one of them "
            "so the dtypes match"
        )


def _extra_head_inputs(config: ForecasterConfig) -> str:
    """What the head reads besides the hidden state, for error messages."""
    extra = config.head_inputs - config.hidden
    return f" + {extra} static and future covariate features" if extra else ""


def _check_inputs(
    config: ForecasterConfig,
    inputs: Any,
    future_covariates: Any = None,
    static_covariates: Any = None,
) -> tuple[tuple[int, ...], int]:
    """Checks shapes at trace time; returns ``(batch_shape, lookback)``."""
    _check_float_array("inputs", inputs, f"[..., lookback, {config.input_size}]")
    if inputs.ndim < 2 or inputs.shape[-1] != config.input_size:
        raise ValueError(
            f"inputs must have shape [..., lookback, input_size={config.input_size}], got {tuple(inputs.shape)}"
        )
    batch_shape, lookback = tuple(inputs.shape[:-2]), int(inputs.shape[-2])
    if lookback < 1:
        raise ValueError(
            f"inputs must have at least one time step (lookback >= 1), got shape {tuple(inputs.shape)}"
        )
    _check_future_covariates(config, inputs, future_covariates)
    if static_covariates is None:
        if config.num_static:
            raise ValueError(
                f"static_covariates [..., num_static={config.num_static}] are required: the "
                "config has static covariates"
            )
    else:
        if not config.num_static:
            raise ValueError(
                "static_covariates were given but the config has num_static=0; set "
                "ForecasterConfig.num_static to use them"
            )
        expected = (*batch_shape, config.num_static)
        _check_covariate_array(
            "static_covariates", static_covariates, inputs, expected, "num_static"
        )
    return batch_shape, lookback


def _check_future_covariates(config: ForecasterConfig, inputs: Any, future_covariates: Any) -> None:
    """``future_covariates`` must be given exactly when the config reads future values."""
    features = config.future_features
    if future_covariates is None:
        if features:
            raise ValueError(
                f"future_covariates [..., horizon={config.horizon}, {features}] are required: "
                f"this {config.strategy} forecaster reads the values over the horizon of its "
                f"last {features} covariates"
            )
        return
    if not features:
        raise ValueError(
            "future_covariates were given but this config reads none: an autoregressive "
            "forecaster reads all its covariates' future values (input_size > num_targets), a "
            "direct one those of ForecasterConfig.num_future_covariates; this config has "
            f"strategy={config.strategy!r}, {config.num_covariates} covariates and "
            f"num_future_covariates={config.num_future_covariates}"
        )
    expected = (*inputs.shape[:-2], config.horizon, features)
    _check_covariate_array(
        "future_covariates", future_covariates, inputs, expected, "horizon, num_covariates"
    )


def _check_covariate_array(
    name: str, value: Any, inputs: Any, expected: tuple[int, ...], axes: str
) -> None:
    _check_float_array(name, value, str(list(expected)))
    canonical = jax.dtypes.canonicalize_dtype
    if canonical(value.dtype) != canonical(inputs.dtype):
        raise TypeError(
            f"{name} has dtype {jnp.dtype(value.dtype).name} but inputs has dtype "
            f"{jnp.dtype(inputs.dtype).name}; cast one of them so the dtypes match"
        )
    if tuple(value.shape) != expected:
        raise ValueError(
            f"{name} must have shape {expected} (the batch shape of inputs, {axes}), "
            f"got {tuple(value.shape)}"
        )


def apply(
    params: ForecasterParams,
    inputs: Float[Array, "*batch lookback features"],
    *,
    config: ForecasterConfig,
    key: jax.Array | None = None,
    future_covariates: Float[Array, "*batch horizon covariates"] | None = None,
    static_covariates: Float[Array, "*batch static"] | None = None,
) -> Forecast:
    """Forecasts ``horizon`` steps after each input window.

    Compiled with ``jax.jit`` (``config`` is static), so repeated calls reuse one program.

    Direct strategy: encode the window, read the last hidden state, and map it with the head
    to all ``horizon`` steps. Autoregressive strategy: the head maps each hidden state to the
    next step; the prediction (its mean, location or median quantile for a probabilistic
    head) and that step's known covariates
    are fed back as the next input, carrying the recurrent state in a ``jax.lax.scan``.

    Args:
        params: ``ForecasterParams`` from ``init``.
        inputs: ``[..., lookback, input_size]`` float32 windows, targets first.
        config: the forecaster's configuration.
        key: PRNG key for dropout (training mode); ``None`` is inference (no dropout).
        future_covariates: ``[..., horizon, future_features]``, the values over the horizon of
            the covariates known in advance, required exactly when the config reads them
            (``config.future_features > 0``). Autoregressive: the covariates of step ``k`` are
            fed together with the prediction of step ``k`` (so the last row is unused). Direct:
            the head reads them flattened, beside the last hidden state.
        static_covariates: ``[..., num_static]``, required exactly when ``config.num_static >
            0``: per-series features the head reads at every step.

    Returns:
        ``[..., horizon, num_targets]`` for point forecasters, else the head's forecast
        (``GaussianForecast``, ``StudentTForecast`` or ``QuantileForecast``).

    Raises:
        ValueError: on wrong shapes, parameters made for another config, or missing/unexpected
            ``future_covariates``.
        TypeError: on non-array or non-floating inputs, parameters of the wrong type, or a
            ``key`` that is not a PRNG key.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> config = ForecasterConfig(horizon=3, hidden=4, strategy="autoregressive",
        ...                           likelihood="gaussian")
        >>> params = init(jax.random.key(0), config)
        >>> forecast = apply(params, jnp.zeros((2, 10, 1)), config=config)
        >>> forecast.mean.shape, bool((forecast.scale > 0).all())
        ((2, 3, 1), True)
    """
    # Checked here, before jit abstracts the arguments, so a bad one is named in the error.
    if not isinstance(config, ForecasterConfig):
        raise TypeError(f"config must be a ForecasterConfig, got {type(config).__name__}")
    check_params(params, config)
    _check_inputs(config, inputs, future_covariates, static_covariates)
    _check_inputs_dtype(params, inputs, config)
    if key is not None:
        check_key("key", key)
    return _apply_compiled(
        params,
        inputs,
        config=config,
        key=key,
        future_covariates=future_covariates,
        static_covariates=static_covariates,
    )


@functools.partial(jax.jit, static_argnames=("config",))
def _apply_compiled(
    params: ForecasterParams,
    inputs: jax.Array,
    *,
    config: ForecasterConfig,
    key: jax.Array | None,
    future_covariates: jax.Array | None,
    static_covariates: jax.Array | None = None,
) -> Forecast:
    batch_shape, _ = _check_inputs(config, inputs, future_covariates, static_covariates)
    num_targets = config.num_targets
    targets = inputs[..., :num_targets]
    if config.centering == "last":
        center = targets[..., -1:, :]
    elif config.centering == "mean":
        center = jnp.mean(targets, axis=-2, keepdims=True)
    else:
        center = None
    if center is not None:
        inputs = jnp.concatenate([targets - center, inputs[..., num_targets:]], axis=-1)

    encoder_key = head_key = decode_key = None
    if key is not None and config.dropout_rate > 0.0:
        encoder_key, head_key, decode_key = jax.random.split(key, 3)

    stack_options: dict[str, Any] = {"dropout_rate": config.dropout_rate}
    stack = functools.partial(rnn_stack, cell=config.encoder_cell)

    # What the head reads beside the hidden state: static covariates, and for a direct
    # forecaster the future covariates flattened over the horizon.
    extra = [] if static_covariates is None else [static_covariates]
    if config.strategy == "direct" and future_covariates is not None:
        extra.append(future_covariates.reshape(*batch_shape, -1))

    def head(hidden: jax.Array, dropout_key: jax.Array | None) -> jax.Array:
        hidden = _dropout(hidden, dropout_key, config.dropout_rate)
        return _dense(params.head, jnp.concatenate([hidden, *extra], axis=-1) if extra else hidden)

    carry, ys = stack(params.encoder, inputs, dropout_key=encoder_key, **stack_options)
    first = head(ys[..., -1, :], head_key)
    if config.strategy == "direct":
        raw = first.reshape(*batch_shape, config.horizon, config.outputs_per_step)
    else:
        raw = _decode(
            stack, stack_options, head, params, carry, first, config, future_covariates, decode_key
        )

    return forecast_from_raw(raw, config, center)


def _decode(
    stack: Callable[..., Any],
    stack_options: dict[str, Any],
    head: Callable[[jax.Array, jax.Array | None], jax.Array],
    params: ForecasterParams,
    carry: Any,
    first: jax.Array,
    config: ForecasterConfig,
    future_covariates: jax.Array | None,
    decode_key: jax.Array | None,
) -> jax.Array:
    """Autoregressive decoding: ``first`` is step 0's head output; returns ``[..., horizon, out]``."""
    num_later = config.horizon - 1
    if num_later == 0:
        return first[..., None, :]
    # The covariates of step k enter together with the prediction of step k, for step k + 1.
    covariates = (
        None
        if future_covariates is None
        else jnp.moveaxis(future_covariates[..., :num_later, :], -2, 0)
    )
    step_keys = None if decode_key is None else jax.random.split(decode_key, num_later)

    def step(
        state: tuple[Any, jax.Array], per_step: tuple[Any, Any]
    ) -> tuple[tuple[Any, jax.Array], jax.Array]:
        carry, previous = state
        covariate, step_key = per_step
        point = fed_back(previous, config)  # the mean, location or median quantile
        x = point if covariate is None else jnp.concatenate([point, covariate], axis=-1)
        stack_key = head_key = None
        if step_key is not None:
            stack_key, head_key = jax.random.split(step_key)
        carry, ys = stack(
            params.encoder, x[..., None, :], carry, dropout_key=stack_key, **stack_options
        )
        output = head(ys[..., 0, :], head_key)
        return (carry, output), output

    _, later = jax.lax.scan(step, (carry, first), (covariates, step_keys), length=num_later)
    return jnp.concatenate([first[..., None, :], jnp.moveaxis(later, 0, -2)], axis=-2)


def _unpack_batch(batch: Any, config: ForecasterConfig | None = None) -> ForecastBatch:
    """A batch as a ``ForecastBatch``; ``rnnax.data.Windows``' past covariates join the inputs
    (after the values), never dropped: with ``config``, a count that does not fit is named."""
    # Attribute access first: rnnax.data.Windows is a NamedTuple whose third field is the
    # *past* covariates, so positional unpacking would misread it.
    if hasattr(batch, "inputs") and hasattr(batch, "targets"):
        inputs = batch.inputs
        past = getattr(batch, "past_covariates", None)
        if past is not None:  # Windows: values first, then the past-only covariates
            values, extra = np.shape(inputs)[-1], np.shape(past)[-1]
            if config is not None and values + extra != config.input_size:
                raise ValueError(
                    f"the windows hold {values} value feature(s) and {extra} past covariate(s), "
                    f"{values + extra} input features in all (values first), but the config has "
                    f"input_size={config.input_size}; set input_size={values + extra} to use "
                    "the past covariates, or leave them out of sliding_windows"
                )
            inputs = np.concatenate([np.asarray(inputs), np.asarray(past)], axis=-1)
        return ForecastBatch(
            inputs,
            batch.targets,
            getattr(batch, "future_covariates", None),
            getattr(batch, "static_covariates", None),
        )
    if isinstance(batch, (tuple, list)) and len(batch) in (2, 3, 4):
        return ForecastBatch(*batch)
    raise TypeError(
        "batch must be a ForecastBatch, rnnax.data.Windows or an (inputs, targets[, "
        f"future_covariates[, static_covariates]]) tuple, got {type(batch).__name__}"
    )


@functools.lru_cache(maxsize=16)
def _training_loss(config: ForecasterConfig) -> Callable[..., jax.Array]:
    return functools.partial(loss, config=config)


def loss(
    params: ForecasterParams,
    batch: ForecastBatch | tuple[Any, ...],
    key: jax.Array | None = None,
    *,
    config: ForecasterConfig,
) -> Float[Array, ""]:
    """The training loss of a batch: mean squared error for a point head, the negative
    log-likelihood for a Gaussian or Student's t head, the mean pinball loss over the levels for
    a quantile head.

    Autoregressive forecasters are trained free-running (on their own fed-back predictions
    over the whole horizon), the same decoding they use at forecast time.

    Args:
        params: ``ForecasterParams``.
        batch: ``ForecastBatch``, ``rnnax.data.Windows`` or ``(inputs, targets[, future_covariates])``.
        key: PRNG key for dropout; ``None`` for evaluation.
        config: the forecaster's configuration.

    Returns:
        The scalar loss, averaged over examples, steps and targets.

    Raises:
        ValueError: if the targets' shape is not the forecast's.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> config = ForecasterConfig(horizon=3, hidden=4)
        >>> params = init(jax.random.key(0), config)
        >>> loss(params, (jnp.zeros((3, 5, 1)), jnp.zeros((3, 3, 1))), config=config).shape
        ()
    """
    if not isinstance(config, ForecasterConfig):
        raise TypeError(f"config must be a ForecasterConfig, got {type(config).__name__}")
    inputs, targets, future_covariates, static_covariates = _unpack_batch(batch, config)
    check_params(params, config)
    _check_inputs(config, inputs, future_covariates, static_covariates)
    _check_inputs_dtype(params, inputs, config)
    _check_float_array(
        "targets", targets, f"[..., horizon={config.horizon}, num_targets={config.num_targets}]"
    )
    if key is not None:
        check_key("key", key)
    return _loss_compiled(
        params,
        ForecastBatch(inputs, targets, future_covariates, static_covariates),
        key,
        config=config,
    )


@functools.partial(jax.jit, static_argnames=("config",))
def _loss_compiled(
    params: ForecasterParams,
    batch: ForecastBatch,
    key: jax.Array | None,
    *,
    config: ForecasterConfig,
) -> jax.Array:
    inputs, targets, future_covariates, static_covariates = batch
    forecast = _apply_compiled(
        params,
        inputs,
        config=config,
        key=key,
        future_covariates=future_covariates,
        static_covariates=static_covariates,
    )
    mean = point_forecast(forecast)
    if tuple(targets.shape) != tuple(mean.shape):
        raise ValueError(
            f"targets must have the forecast's shape {tuple(mean.shape)} ([..., horizon, num_targets]), "
            f"got {tuple(targets.shape)}"
        )
    return head_loss(forecast, targets)
