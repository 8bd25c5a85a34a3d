"""The LSTM-versus-GRU experiment behind ``rnnax compare``.

One call of :func:`run` measures everything the explainer's table claims, for both cells under
identical settings: structure (gates, state, operations per step), exact parameter and FLOP
counts, forward and forward+backward throughput, compile time, seed-parallel training curves
(K seeds in one jit via ``vmap``), test accuracy beside the naive baselines, and the memory
tasks. It returns the report as a JSON-ready dict; :mod:`rnnax.compare._report` turns it into
the table, the verdicts and the files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal, cast, get_args

import jax
import jax.numpy as jnp
import numpy as np

import rnnax
from rnnax import data, forecasting
from rnnax.compare import _memory_tasks
from rnnax.compare._seeds import SeedRun, SeedTrainer, take_seed
from rnnax.compare._stats import finite, mean_ci

CELLS = ("lstm", "gru")
Cell = Literal["lstm", "gru"]


def _cell(cell: str) -> Cell:
    """``cell`` as the type the library takes, after checking it is one."""
    if cell not in get_args(Cell):
        raise ValueError(f"cell must be one of {get_args(Cell)}, got {cell!r}")
    return cast(Cell, cell)


MATCH_CHOICES = ("hidden", "params")
DEFAULT_DATASET = "airline_passengers"

# (lookback, horizon) per shipped data set; other data sets: horizon = period (5 without
# seasonality) and lookback = twice the larger of period and horizon.
DATASET_WINDOWS = {
    "airline_passengers": (24, 12),
    "co2": (104, 52),
    "sunspots_monthly": (48, 12),
    "sunspots_yearly": (22, 5),
}


@dataclasses.dataclass(frozen=True)
class CompareConfig:
    """Settings of one comparison (the ``rnnax compare`` options).

    Attributes:
        dataset: a name from ``rnnax.data.available()``.
        hidden: hidden size of the LSTM (and of the GRU with ``match="hidden"``).
        layers: stacked recurrent layers of both models.
        seeds: K, the number of seeds trained in parallel per model.
        steps: optimizer steps of the forecasting training.
        match: ``"hidden"`` (same hidden size) or ``"params"`` (the GRU's hidden size is chosen
            so its total parameter count is closest to the LSTM's).
        lookback: input window length (default per data set, see ``DATASET_WINDOWS``).
        horizon: forecast length (default per data set).
        batch_size: minibatch size of every training.
        learning_rate: Adam's learning rate for forecasting.
        eval_every: optimizer steps between validation evaluations.
        target_loss: the validation loss both models race to; ``None``: 1.1 times the larger of
            the two models' best seed-mean validation losses, so both reach it.
        memory_steps: optimizer steps per memory task (0 skips the memory tasks).
        memory_lengths: adding-problem lengths ``T``.
        copy_symbols: symbols to remember in the copy task (0 skips it).
        copy_delay: steps between the last symbol and the recall in the copy task.
        memory_learning_rate: Adam's learning rate for the memory tasks.
        sweep_lengths: sequence lengths of the throughput sweep (the lookback is always added).
        throughput_batch: sequences per call when timing throughput.
        progress: show tqdm progress bars.
        plots: write PNG plots (needs matplotlib).
        seed_devices: split every model's seeds over the first ``seed_devices`` devices (a mesh
            with one ``"ensemble"`` axis; ``seeds`` must be a multiple of it), or ``None``
            (default): all seeds on one device. Each seed's numbers are the same either way,
            to float32 rounding.
    """

    dataset: str = DEFAULT_DATASET
    hidden: int = 32
    layers: int = 1
    seeds: int = 5
    steps: int = 600
    match: str = "hidden"
    lookback: int | None = None
    horizon: int | None = None
    batch_size: int = 32
    learning_rate: float = 3e-3
    eval_every: int = 20
    target_loss: float | None = None
    memory_steps: int = 400
    memory_lengths: tuple[int, ...] = (50, 100, 200)
    copy_symbols: int = 5
    copy_delay: int = 20
    memory_learning_rate: float = 1e-2
    sweep_lengths: tuple[int, ...] = (16, 64, 256)
    throughput_batch: int = 64
    progress: bool = True
    plots: bool = True
    seed_devices: int | None = None

    def __post_init__(self) -> None:
        if self.dataset not in data.available():
            raise ValueError(
                f"unknown data set {self.dataset!r}; valid names are {', '.join(data.available())}"
            )
        for name in (
            "hidden",
            "layers",
            "seeds",
            "steps",
            "batch_size",
            "eval_every",
            "throughput_batch",
        ):
            _check_int(name, getattr(self, name), 1)
        for name in ("lookback", "horizon", "seed_devices"):
            if getattr(self, name) is not None:
                _check_int(name, getattr(self, name), 1)
        if self.seed_devices is not None and self.seeds % self.seed_devices != 0:
            raise ValueError(
                f"seeds={self.seeds} is not divisible by seed_devices={self.seed_devices}: every "
                "device must train the same number of seeds"
            )
        for name in ("memory_steps", "copy_symbols"):
            _check_int(name, getattr(self, name), 0)
        _check_int("copy_delay", self.copy_delay, 1)
        for length in self.memory_lengths:
            _check_int("memory_lengths", length, 2)
        for length in self.sweep_lengths:
            _check_int("sweep_lengths", length, 1)
        if self.match not in MATCH_CHOICES:
            raise ValueError(f"match must be one of {', '.join(MATCH_CHOICES)}, got {self.match!r}")
        for name in ("learning_rate", "memory_learning_rate"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if self.target_loss is not None and not (
            math.isfinite(self.target_loss) and self.target_loss > 0
        ):
            raise ValueError(f"target_loss must be a positive number, got {self.target_loss!r}")

    @property
    def memory_tasks(self) -> list[_memory_tasks.MemoryTask]:
        if self.memory_steps == 0:
            return []
        tasks = [_memory_tasks.adding(length) for length in self.memory_lengths]
        if self.copy_symbols > 0:
            tasks.append(_memory_tasks.copy(self.copy_symbols, self.copy_delay))
        return tasks


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


# ------------------------------------------------------------------------------------------------
# Progress bars (tqdm when installed and wanted; a silent stand-in otherwise)
# ------------------------------------------------------------------------------------------------
class _Silent:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def update(self, count: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


@contextlib.contextmanager
def progress_bar(enabled: bool, **kwargs: Any) -> Iterator[Any]:
    """A tqdm bar on stderr, or a silent stand-in (progress off, or tqdm not installed)."""
    bar: Any = _Silent()
    if enabled:
        try:
            from tqdm import tqdm
        except ImportError:  # pragma: no cover - tqdm is a dependency of the command
            pass
        else:
            bar = tqdm(file=sys.stderr, dynamic_ncols=True, leave=True, **kwargs)
    try:
        yield bar
    finally:
        bar.close()


# ------------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------------
class _Inverse:
    """Model units -> original units: undo the standard scaling, then the log if one was taken.

    Hashable by value, so ``forecasting.backtest`` compiles once for every seed and model.
    """

    def __init__(self, center: float, scale: float, log: bool) -> None:
        self.center, self.scale, self.log = float(center), float(scale), bool(log)

    def __call__(self, values: Any) -> Any:
        xp = jnp if isinstance(values, jax.Array) else np
        dtype = values.dtype
        out = values * xp.asarray(self.scale, dtype) + xp.asarray(self.center, dtype)
        return xp.exp(out) if self.log else out

    def __hash__(self) -> int:
        return hash((self.center, self.scale, self.log))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Inverse) and (self.center, self.scale, self.log) == (
            other.center,
            other.scale,
            other.log,
        )


@dataclasses.dataclass
class Prepared:
    """The data set, its transform and its chronological split."""

    series: data.Series
    lookback: int
    horizon: int
    log: bool
    scaled: np.ndarray  # float32 [T], model units
    split: data.Split
    inverse: _Inverse


def windows_for(series: data.Series, lookback: int | None, horizon: int | None) -> tuple[int, int]:
    default_lookback, default_horizon = DATASET_WINDOWS.get(series.name, (None, None))
    if horizon is None:
        horizon = default_horizon or (series.period if series.period > 1 else 5)
    if lookback is None:
        lookback = default_lookback or 2 * max(series.period, horizon)
    return lookback, horizon


def prepare(config: CompareConfig) -> Prepared:
    """Loads the data set, log-transforms it when strictly positive, scales it on the training
    segment only and cuts leak-free windows; validation and test each take the larger of
    ``2 * horizon`` steps and 15% of the series."""
    series = data.load(config.dataset)
    values = np.asarray(series.values, np.float64)
    if values.ndim != 1:
        values = values[:, 0]
    lookback, horizon = windows_for(series, config.lookback, config.horizon)
    length = values.shape[0]
    segment = max(2 * horizon, round(0.15 * length))
    if length - 2 * segment < lookback + horizon:
        raise ValueError(
            f"data set {series.name!r} has {length} steps: too short for lookback={lookback} and "
            f"horizon={horizon} with validation and test segments of {segment} steps each; use a "
            "smaller --lookback or --horizon"
        )
    log = bool(np.all(values > 0))
    transformed = np.log(values) if log else values
    points = data.split_points(length, validation=segment, test=segment)
    scaler = data.fit_standard_scaler(transformed[: points.train_end])
    scaled = np.asarray(data.transform(scaler, transformed), np.float32)
    split = data.chronological_split(
        scaled, lookback, horizon, validation=segment, test=segment, name=series.name
    )
    inverse = _Inverse(float(scaler.center), float(scaler.scale), log)
    return Prepared(
        series=series,
        lookback=lookback,
        horizon=horizon,
        log=log,
        scaled=scaled,
        split=split,
        inverse=inverse,
    )


# ------------------------------------------------------------------------------------------------
# Models: sizes, structure, counts
# ------------------------------------------------------------------------------------------------
def forecaster_config(
    cell: str, hidden: int, layers: int, horizon: int
) -> forecasting.ForecasterConfig:
    """The forecaster both cells use: a direct multi-step head on the last hidden state, trained
    on squared error, with each window centred on its last value."""
    return forecasting.ForecasterConfig(
        horizon=horizon,
        input_size=1,
        cell=_cell(cell),
        hidden=hidden,
        num_layers=layers,
        centering="last",
    )


def total_params(cell: str, hidden: int, layers: int, horizon: int) -> int:
    """Recurrent layers plus the dense head (``hidden * horizon`` weights, ``horizon`` biases)."""
    return (
        rnnax.count_params(_cell(cell), 1, hidden, num_layers=layers) + hidden * horizon + horizon
    )


def matched_gru_hidden(lstm_hidden: int, layers: int, horizon: int) -> int:
    """The GRU hidden size whose total parameter count is closest to the LSTM's (ties: smaller)."""
    budget = total_params("lstm", lstm_hidden, layers, horizon)
    candidates = range(1, 2 * lstm_hidden + 2)
    return min(candidates, key=lambda h: (abs(total_params("gru", h, layers, horizon) - budget), h))


def _cell_fn(cell: str) -> Callable[..., Any]:
    return rnnax.lstm_cell if cell == "lstm" else rnnax.gru_cell


def structure(cell: str, params: forecasting.ForecasterParams, hidden: int) -> dict[str, Any]:
    """Gates, state and per-step operations, read off the model itself.

    Gate blocks are the column blocks of the first layer's ``w_h`` (``w_h.shape[1] / hidden``);
    the state is the final carry the stack returns; operations are the primitives of one
    cell step's jaxpr, and matrix products its ``dot_general`` equations.
    """
    layer = params.encoder[0][0]
    blocks = int(layer.w_h.shape[-1]) // hidden
    stack = rnnax.lstm_stack if cell == "lstm" else rnnax.gru_stack
    finals, _ = stack(params.encoder, jnp.zeros((1, 1), jnp.float32))
    carry = finals[0][0]
    state_names = list(carry._fields) if hasattr(carry, "_fields") else ["h"]
    state_vectors = len(jax.tree.leaves(carry))
    x = jnp.zeros((int(layer.w_x.shape[0]),), jnp.float32)
    jaxpr = jax.make_jaxpr(_cell_fn(cell))(layer, carry, x)
    primitives = [eqn.primitive.name for eqn in jaxpr.eqns]
    names = (
        ["input i", "forget f", "candidate g", "output o"]
        if cell == "lstm"
        else ["update z", "reset r", "candidate n"]
    )
    gates = [name for name in names if not name.startswith("candidate")]
    return {
        "gate_blocks": blocks,
        "gates": gates if blocks == len(names) else [f"{blocks} blocks"],
        "num_gates": len(gates) if blocks == len(names) else blocks,
        "state": state_names,
        "state_vectors": state_vectors,
        "ops_per_step": len(primitives),
        "matmuls_per_step": primitives.count("dot_general"),
    }


# ------------------------------------------------------------------------------------------------
# Throughput and compile time
# ------------------------------------------------------------------------------------------------
def _median_times(
    calls: dict[str, Callable[[], Any]], budget_s: float, min_reps: int = 3, max_reps: int = 30
) -> dict[str, float]:
    """Times every call round-robin (interleaved, so load changes hit all alike); medians."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    start = time.perf_counter()
    rounds = 0
    while rounds < max_reps and (rounds < min_reps or time.perf_counter() - start < budget_s):
        order = names[rounds % len(names) :] + names[: rounds % len(names)]
        for name in order:
            begin = time.perf_counter()
            jax.block_until_ready(calls[name]())
            samples[name].append(time.perf_counter() - begin)
        rounds += 1
    return {name: statistics.median(values) for name, values in samples.items()}


def throughput(
    configs: dict[str, forecasting.ForecasterConfig],
    params: dict[str, Any],
    lengths: Sequence[int],
    batch: int,
    bar: Any,
    budget_s: float = 0.6,
) -> dict[str, dict[int, dict[str, float]]]:
    """Forward and forward+backward sequences/s per model and length, and forward compile time.

    Forward is ``forecasting.apply``; forward+backward is the gradient of ``forecasting.loss``
    with respect to the parameters. Both are compiled ahead of time, warmed up once and timed
    to ``block_until_ready``; each value is the median over interleaved repeats.
    """
    results: dict[str, dict[int, dict[str, float]]] = {cell: {} for cell in configs}
    rng = np.random.default_rng(0)
    for length in lengths:
        inputs = jnp.asarray(rng.standard_normal((batch, length, 1)), jnp.float32)
        calls: dict[str, Callable[[], Any]] = {}
        for cell, config in configs.items():
            targets = jnp.zeros((batch, config.horizon, 1), jnp.float32)
            forward = jax.jit(functools.partial(forecasting.apply, config=config))
            gradient = jax.jit(
                jax.grad(lambda p, x, y, config=config: forecasting.loss(p, (x, y), config=config))
            )
            begin = time.perf_counter()
            forward_compiled = forward.lower(params[cell], inputs).compile()
            compile_s = time.perf_counter() - begin
            gradient_compiled = gradient.lower(params[cell], inputs, targets).compile()
            jax.block_until_ready(forward_compiled(params[cell], inputs))
            jax.block_until_ready(gradient_compiled(params[cell], inputs, targets))
            calls[f"{cell}/fwd"] = functools.partial(forward_compiled, params[cell], inputs)
            calls[f"{cell}/fwd_bwd"] = functools.partial(
                gradient_compiled, params[cell], inputs, targets
            )
            results[cell][length] = {"fwd_compile_s": compile_s}
        medians = _median_times(calls, budget_s)
        for cell in configs:
            results[cell][length]["fwd_seq_per_s"] = batch / medians[f"{cell}/fwd"]
            results[cell][length]["fwd_bwd_seq_per_s"] = batch / medians[f"{cell}/fwd_bwd"]
        bar.update(1)
    return results


# ------------------------------------------------------------------------------------------------
# Training (seed-parallel, the two models interleaved chunk by chunk)
# ------------------------------------------------------------------------------------------------
def train_interleaved(trainers: dict[str, SeedTrainer], steps: int, bar: Any) -> dict[str, SeedRun]:
    """Trains every model's K seeds for ``steps`` steps, alternating compiled chunks between the
    models so that load changes on the machine hit both alike. Compile time is excluded from
    the wall times and recorded separately."""
    states = {name: trainer.init() for name, trainer in trainers.items()}
    runs = {name: trainer.start(states[name]) for name, trainer in trainers.items()}
    for name, trainer in trainers.items():
        runs[name].compile_s = trainer.compile(states[name])
    chunks = -(-steps // next(iter(trainers.values())).eval_every)
    for index in range(chunks):
        order = list(trainers) if index % 2 == 0 else list(reversed(list(trainers)))
        for name in order:
            states[name] = trainers[name].advance(states[name], runs[name])
        bar.update(1)
        bar.set_postfix_str(
            " ".join(f"{name}={np.nanmean(runs[name].val_loss[-1]):.4g}" for name in trainers)
        )
    return {name: trainers[name].finish(states[name], runs[name]) for name in trainers}


def reach(run: SeedRun, target: float) -> tuple[int | None, float | None]:
    """First (steps, seconds) at which the seed-mean validation loss is at or below ``target``."""
    curve = np.nanmean(run.val_matrix(), axis=0)
    hits = np.flatnonzero(curve <= target)
    if hits.size == 0:
        return None, None
    first = int(hits[0])
    return run.steps[first], run.seconds[first]


# ------------------------------------------------------------------------------------------------
# Evaluation
# ------------------------------------------------------------------------------------------------
def _tail_origins(prepared: Prepared) -> np.ndarray:
    """Non-overlapping origins that tile the test tail, ending exactly at the last step."""
    points = prepared.split.points
    last = points.length - prepared.horizon
    origins = list(range(last, points.validation_end - 1, -prepared.horizon))
    return np.asarray(sorted(origins), np.int64)


def evaluate(
    prepared: Prepared, config: forecasting.ForecasterConfig, run: SeedRun
) -> dict[str, Any]:
    """Test scores of every seed (``forecasting.backtest`` at every test window's origin), the
    baselines, and the seed-mean forecast of the test tail with a 95% split-conformal interval
    (per horizon step, from the absolute residuals of the seed-mean forecast on validation)."""
    split = prepared.split
    period = prepared.series.period
    origins = split.test.target_start
    per_seed: dict[str, list[float]] = {"mae": [], "rmse": [], "mase": []}
    baselines: dict[str, dict[str, float]] = {}
    for index in range(len(run.seeds)):
        result = forecasting.backtest(
            config,
            take_seed(run.best_params, index),
            prepared.scaled,
            origins,
            lookback=prepared.lookback,
            period=period,
            inverse_transform=prepared.inverse,
            scale_end=split.points.train_end,
        )
        for metric in per_seed:
            per_seed[metric].append(result.summary["model"][metric])
        baselines = {
            method: {metric: result.summary[method][metric] for metric in per_seed}
            for method in ("naive", "seasonal_naive")
        }

    ensemble = jax.jit(
        jax.vmap(functools.partial(forecasting.apply, config=config), in_axes=(0, None))
    )

    def seed_mean(inputs: np.ndarray) -> np.ndarray:
        return np.asarray(ensemble(run.best_params, jnp.asarray(inputs))).mean(axis=0)  # [W, H, 1]

    residuals = np.abs(split.validation.targets - seed_mean(split.validation.inputs))[..., 0]
    quantile = np.quantile(residuals, 0.95, axis=0, method="higher")  # [H]

    def banded(inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mean = seed_mean(inputs)[..., 0]
        inverse = prepared.inverse
        return inverse(mean), inverse(mean - quantile), inverse(mean + quantile)

    _, low, high = banded(split.test.inputs)
    truth = prepared.inverse(split.test.targets[..., 0])
    coverage = float(np.mean((truth >= low) & (truth <= high)))

    tail = _tail_origins(prepared)
    tail_inputs = np.stack([prepared.scaled[o - prepared.lookback : o] for o in tail])[..., None]
    mean, low, high = banded(tail_inputs)
    return {
        "per_seed": per_seed,
        "baselines": baselines,
        "coverage": coverage,
        "tail": {
            "origins": tail.tolist(),
            "mean": mean.tolist(),
            "low": low.tolist(),
            "high": high.tolist(),
        },
    }


# ------------------------------------------------------------------------------------------------
# The whole experiment
# ------------------------------------------------------------------------------------------------
def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def environment() -> dict[str, Any]:
    device = jax.devices()[0]
    load = [round(value, 2) for value in os.getloadavg()] if hasattr(os, "getloadavg") else None
    return {
        "jax": jax.__version__,
        "rnnax": rnnax.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "backend": jax.default_backend(),
        "device": str(device)
        if device.platform != "cpu"
        else f"{device} ({_cpu_model() or 'cpu'})",
        "device_count": jax.device_count(),
        "cpu_count": os.cpu_count(),
        "load_average": load,
    }


def seed_mesh(config: CompareConfig) -> jax.sharding.Mesh | None:
    """The mesh that splits the seeds (``config.seed_devices`` devices), or ``None``."""
    if config.seed_devices is None:
        return None
    devices = jax.devices()
    if config.seed_devices > len(devices):
        raise ValueError(
            f"seed_devices={config.seed_devices}, but JAX sees {len(devices)} device(s); on CPU "
            "expose more with rnnax.set_cpu_device_count (or JAX_NUM_CPU_DEVICES) before JAX starts"
        )
    return jax.make_mesh(
        (config.seed_devices,),
        ("ensemble",),
        axis_types=(jax.sharding.AxisType.Auto,),
        devices=devices[: config.seed_devices],
    )


def _log(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


def run(config: CompareConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """Runs the comparison; returns ``(report, extras)``.

    ``report`` is JSON-ready (see ``rnnax compare --help`` and the README for its keys);
    ``extras`` holds what only the plots need (loss curves, the test tail, the sweep).
    """
    wall_start = time.perf_counter()
    prepared = prepare(config)
    seeds = list(range(config.seeds))
    hidden = {
        "lstm": config.hidden,
        "gru": config.hidden
        if config.match == "hidden"
        else matched_gru_hidden(config.hidden, config.layers, prepared.horizon),
    }
    configs = {
        cell: forecaster_config(cell, hidden[cell], config.layers, prepared.horizon)
        for cell in CELLS
    }
    split = prepared.split
    _log(
        config.progress,
        f"rnnax compare: {prepared.series.name} ({len(prepared.series)} steps), "
        f"lookback {prepared.lookback}, horizon {prepared.horizon}, "
        f"{split.train.inputs.shape[0]}/{split.validation.inputs.shape[0]}/"
        f"{split.test.inputs.shape[0]} train/validation/test windows; "
        f"LSTM hidden {hidden['lstm']}, "
        f"GRU hidden {hidden['gru']}, {config.layers} layer(s), {config.seeds} seeds in parallel",
    )

    # Structure and counts, from one initialization of each model.
    single = {cell: forecasting.init(jax.random.key(0), configs[cell]) for cell in CELLS}
    models: dict[str, dict[str, Any]] = {}
    for cell in CELLS:
        counted = rnnax.count_params(_cell(cell), 1, hidden[cell], num_layers=config.layers)
        measured = rnnax.param_count(single[cell].encoder)
        if counted != measured:  # pragma: no cover - a library bug, not a user error
            raise RuntimeError(
                f"{cell}: count_params says {counted}, the initialized encoder has {measured}"
            )
        models[cell] = {
            "hidden": hidden[cell],
            "layers": config.layers,
            "rnn_params": counted,
            "params": rnnax.param_count(single[cell]),
            "flops_per_step": rnnax.flops_per_step(
                _cell(cell), 1, hidden[cell], num_layers=config.layers
            ),
            "structure": structure(cell, single[cell], hidden[cell]),
        }

    # Forecasting: K seeds per model, seed-parallel, interleaved.
    trainers = {
        cell: SeedTrainer(
            functools.partial(forecasting.init, config=configs[cell]),
            functools.partial(_forecast_loss, config=configs[cell]),
            (split.train.inputs, split.train.targets),
            (split.validation.inputs, split.validation.targets),
            seeds,
            batch_size=config.batch_size,
            learning_rate=config.learning_rate,
            eval_every=config.eval_every,
            mesh=seed_mesh(config),
        )
        for cell in CELLS
    }
    chunks = -(-config.steps // config.eval_every)
    with progress_bar(
        config.progress, total=chunks, desc="forecasting (LSTM+GRU)", unit="chunk"
    ) as bar:
        runs = train_interleaved(trainers, config.steps, bar)
    best_means = {
        cell: float(np.nanmin(np.nanmean(runs[cell].val_matrix(), axis=0))) for cell in CELLS
    }
    target = (
        config.target_loss if config.target_loss is not None else 1.1 * max(best_means.values())
    )

    evaluations = {cell: evaluate(prepared, configs[cell], runs[cell]) for cell in CELLS}

    # Throughput sweep (the lookback first: that is the reported value).
    lengths = [prepared.lookback, *sorted(set(config.sweep_lengths) - {prepared.lookback})]
    with progress_bar(config.progress, total=len(lengths), desc="throughput", unit="length") as bar:
        speeds = throughput(configs, single, lengths, config.throughput_batch, bar)

    # Memory tasks.
    memory = run_memory_tasks(config, hidden)

    for cell in CELLS:
        steps_to, seconds_to = reach(runs[cell], target)
        scores = evaluations[cell]["per_seed"]
        at_lookback = speeds[cell][prepared.lookback]
        models[cell].update(
            {
                "compile_s": round(runs[cell].compile_s, 4),
                "fwd_compile_s": round(at_lookback["fwd_compile_s"], 4),
                "train_s": round(runs[cell].train_s, 4),
                "train_steps": runs[cell].steps[-1],
                "fwd_seq_per_s": round(at_lookback["fwd_seq_per_s"], 2),
                "fwd_bwd_seq_per_s": round(at_lookback["fwd_bwd_seq_per_s"], 2),
                "best_val_loss": round(best_means[cell], 6),
                "time_to_target_s": None if seconds_to is None else round(seconds_to, 4),
                "steps_to_target": steps_to,
                "test": {metric: mean_ci(values) for metric, values in scores.items()},
                "test_per_seed": {
                    metric: [round(v, 6) for v in values] for metric, values in scores.items()
                },
                "interval_coverage": round(evaluations[cell]["coverage"], 4),
                "memory_tasks": {name: result[cell]["score"][0] for name, result in memory.items()},
            }
        )

    baselines = {
        method: {metric: round(value, 6) for metric, value in scores.items()}
        for method, scores in evaluations["lstm"]["baselines"].items()
    }
    report: dict[str, Any] = {
        "schema": "rnnax-compare/1",
        "dataset": prepared.series.name,
        "dataset_info": {
            "length": len(prepared.series),
            "frequency": prepared.series.frequency,
            "period": prepared.series.period,
            "unit": prepared.series.unit,
            "source": prepared.series.source,
            "log_transform": prepared.log,
        },
        "input_size": 1,
        "lookback": prepared.lookback,
        "horizon": prepared.horizon,
        "seeds": seeds,
        "windows": {
            "train": int(split.train.inputs.shape[0]),
            "validation": int(split.validation.inputs.shape[0]),
            "test": int(split.test.inputs.shape[0]),
        },
        "settings": {
            **{
                key: value
                for key, value in dataclasses.asdict(config).items()
                if key not in ("progress", "plots")
            },
            "memory_lengths": list(config.memory_lengths),
            "sweep_lengths": list(config.sweep_lengths),
        },
        "environment": environment(),
        "target_val_loss": round(target, 6),
        "baselines": baselines,
        "models": models,
        "memory_tasks": {
            name: {key: value for key, value in result.items()} for name, result in memory.items()
        },
        "throughput_sweep": {
            cell: {
                str(length): {k: round(v, 4) for k, v in values.items()}
                for length, values in sorted(speeds[cell].items())
            }
            for cell in CELLS
        },
    }
    report["wall_s"] = round(time.perf_counter() - wall_start, 2)
    extras = {
        "runs": runs,
        "tail": {cell: evaluations[cell]["tail"] for cell in CELLS},
        "prepared": prepared,
    }
    return report, extras


def _forecast_loss(params: Any, batch: Any, *, config: forecasting.ForecasterConfig) -> jax.Array:
    return forecasting.loss(params, batch, config=config)


def run_memory_tasks(config: CompareConfig, hidden: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Trains both cells on every memory task (K seeds each, seed-parallel, interleaved) and
    scores each seed's best-validation parameters on a held-out test set."""
    tasks = config.memory_tasks
    results: dict[str, dict[str, Any]] = {}
    if not tasks:
        return results
    eval_every = max(1, min(config.memory_steps, 50))
    chunks = -(-config.memory_steps // eval_every)
    seeds = list(range(config.seeds))
    with progress_bar(
        config.progress, total=chunks * len(tasks), desc="memory tasks", unit="chunk"
    ) as bar:
        for task in tasks:
            task_data = _memory_tasks.make_data(task, num_train=2048, num_eval=256)
            trainers = {
                cell: _memory_tasks.trainer(
                    task,
                    cell,
                    hidden[cell],
                    config.layers,
                    task_data,
                    seeds,
                    batch_size=config.batch_size,
                    learning_rate=config.memory_learning_rate,
                    eval_every=eval_every,
                )
                for cell in CELLS
            }
            mesh = seed_mesh(config)
            if mesh is not None:
                for task_trainer in trainers.values():
                    task_trainer.shard_seeds(mesh)
            bar.set_postfix_str(task.name)
            runs = train_interleaved(trainers, config.memory_steps, bar)
            entry: dict[str, Any] = {
                "kind": task.kind,
                "sequence_length": task.sequence_length,
                "metric": task.metric,
                "higher_is_better": task.higher_is_better,
                "trivial_score": round(task.trivial_score, 6),
                "steps": config.memory_steps,
            }
            if task.kind == "copy":
                entry.update(symbols=task.length, delay=task.delay, num_symbols=task.num_symbols)
            for cell in CELLS:
                scores = _memory_tasks.score(task, cell, runs[cell].best_params, task_data.test)
                entry[cell] = {
                    "score": mean_ci(scores.tolist()),
                    "per_seed": [finite(round(float(s), 6)) for s in scores],
                    "train_s": round(runs[cell].train_s, 3),
                    "compile_s": round(runs[cell].compile_s, 3),
                }
            results[task.name] = entry
    return results
