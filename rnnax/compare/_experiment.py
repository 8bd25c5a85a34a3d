"""The experiment behind ``rnnax compare``: the LSTM, the GRU and any other registered cells.

One call of :func:`run` measures everything the explainer's table claims, for every cell under
identical settings: structure (gates, state, operations per step), exact parameter and FLOP
counts, forward and forward+backward throughput, compile time, seed-parallel training curves
(K seeds in one jit via ``vmap``), test accuracy beside the naive baselines, and the memory
tasks. Every cell is reached through the cell protocol (``rnnax.get_cell``,
``rnnax.rnn_stack``, ``rnnax.count_params``), so a newly registered cell needs nothing here.
It returns the report as a JSON-ready dict; :mod:`rnnax.compare._report` turns it into the
table, the verdicts and the files.
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
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import rnnax
from rnnax import data, forecasting
from rnnax.compare import _memory_tasks
from rnnax.compare._cells import (
    CLAIM_CELLS,
    DEFAULT_CELLS,
    check_cells,
    claims_testable,
    label,
    reference_cell,
)
from rnnax.compare._seeds import SeedRun, SeedTrainer, take_seed
from rnnax.compare._stats import finite, mean_ci

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
        hidden: hidden size of the reference cell (the LSTM when it is compared, else the
            first of ``cells``), and of every cell with ``match="hidden"``.
        layers: stacked recurrent layers of every model.
        seeds: K, the number of seeds trained in parallel per model.
        steps: optimizer steps of the forecasting training.
        match: ``"hidden"`` (same hidden size) or ``"params"`` (every other cell's hidden
            size is chosen so its total parameter count is closest to the reference cell's).
        lookback: input window length (default per data set, see ``DATASET_WINDOWS``).
        horizon: forecast length (default per data set).
        batch_size: minibatch size of every training.
        learning_rate: Adam's learning rate for forecasting.
        eval_every: optimizer steps between validation evaluations.
        target_loss: the validation loss the models race to; ``None``: 1.1 times the larger of
            the LSTM's and the GRU's best seed-mean validation losses, so both reach it (of
            every cell's, when the two are not both compared).
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
        cells: the registered cells to compare (``rnnax.registered_cells()``), in the order
            the reports show them. The explainer's table needs ``"lstm"`` and ``"gru"``; every
            other cell is measured beside them (its own table in ``report.md``).
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
    cells: tuple[str, ...] = DEFAULT_CELLS

    def __post_init__(self) -> None:
        # A list is accepted and kept as a tuple: the config stays hashable.
        object.__setattr__(self, "cells", check_cells(self.cells))
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
    """The forecaster every cell uses: a direct multi-step head on the last hidden state,
    trained on squared error, with each window centred on its last value."""
    return forecasting.ForecasterConfig(
        horizon=horizon,
        input_size=1,
        cell=cell,  # any registered cell name
        hidden=hidden,
        num_layers=layers,
        centering="last",
    )


def total_params(cell: str, hidden: int, layers: int, horizon: int) -> int:
    """Recurrent layers plus the dense head (``hidden * horizon`` weights, ``horizon`` biases)."""
    return rnnax.count_params(cell, 1, hidden, num_layers=layers) + hidden * horizon + horizon


# The largest hidden size ``matched_hidden`` considers: far beyond what a comparison runs.
_MAX_MATCHED_HIDDEN = 1 << 20


def matched_hidden(
    cell: str, reference: str, reference_hidden: int, layers: int, horizon: int
) -> int:
    """The hidden size of ``cell`` whose total parameter count is closest to that of
    ``reference`` at ``reference_hidden`` (ties: the smaller).

    A parameter count grows with the hidden size, so the closest size is one of the two
    around the budget, found by doubling and bisection: cells without recurrent weights
    (minGRU, minLSTM) may need many times the reference's hidden size.
    """
    budget = total_params(reference, reference_hidden, layers, horizon)

    def count(hidden: int) -> int:
        return total_params(cell, hidden, layers, horizon)

    high = 1
    while count(high) < budget and high < _MAX_MATCHED_HIDDEN:
        high *= 2
    low = high // 2  # count(low) < budget, or low == 0
    while high - low > 1:  # the smallest size at or over the budget
        middle = (low + high) // 2
        low, high = (middle, high) if count(middle) < budget else (low, middle)
    candidates = [size for size in (high - 1, high) if size >= 1]
    return min(candidates, key=lambda size: (abs(count(size) - budget), size))


def hidden_sizes(config: CompareConfig, horizon: int) -> dict[str, int]:
    """Every compared cell's hidden size: ``config.hidden`` for the reference cell (and for
    all with ``match="hidden"``), the parameter-matched size otherwise."""
    reference = reference_cell(config.cells)
    return {
        cell: config.hidden
        if config.match == "hidden" or cell == reference
        else matched_hidden(cell, reference, config.hidden, config.layers, horizon)
        for cell in config.cells
    }


# The explainer's names for the column blocks of the LSTM's and the GRU's weights. Other cells
# report their block count only: what a block means is the cell's own business.
_BLOCK_NAMES = {
    "lstm": ("input i", "forget f", "candidate g", "output o"),
    "gru": ("update z", "reset r", "candidate n"),
    "gru_reset_after": ("update z", "reset r", "candidate n"),
}


def _block_field(cell: rnnax.Cell) -> str | None:
    """The weight whose column blocks are the cell's gates: the recurrent weight ``[H, kH]``
    where the cell has one, else the input weight ``[I, kH]``; ``None`` if neither."""
    for first in ("H", "I"):
        for field, spec in cell.layout.items():
            if len(spec) == 2 and spec[0] == first and spec[1].endswith("H"):
                return field
    return None


@dataclasses.dataclass(frozen=True)
class Structure:
    """A cell's structure, read off an initialized model.

    Attributes:
        gate_blocks: ``H``-wide column blocks of the gate weight (``_block_field``), from
            its shape; ``None`` for a cell with no such weight.
        gates: the gates' names (the explainer's cells), else ``None``.
        num_gates: the number of gates (blocks other than the candidate), else ``None``.
        state: the names of the carry's parts (``["h", "c"]``; ``["h"]`` for one array).
        state_vectors: arrays in the carry.
        ops_per_step: primitive operations (jaxpr equations) of one cell step.
        matmuls_per_step: the ``dot_general`` equations among them.
    """

    gate_blocks: int | None
    gates: list[str] | None
    num_gates: int | None
    state: list[str]
    state_vectors: int
    ops_per_step: int
    matmuls_per_step: int

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def structure(cell_name: str, params: forecasting.ForecasterParams, hidden: int) -> Structure:
    """Gates, state and per-step operations, read off the model itself.

    Gate blocks are the column blocks of the first layer's gate weight (``w_h`` for the LSTM
    and the GRU); the state is the final carry the stack returns; operations are the
    primitives of one cell step's jaxpr (``Cell.step``), and matrix products its
    ``dot_general`` equations.
    """
    cell = rnnax.get_cell(cell_name)
    layer = params.encoder[0][0]
    field = _block_field(cell)
    blocks = None if field is None else int(getattr(layer, field).shape[-1]) // hidden
    finals, _ = rnnax.rnn_stack(params.encoder, jnp.zeros((1, 1), jnp.float32), cell=cell)
    carry = finals[0][0]
    x = jnp.zeros((1,), jnp.float32)  # the forecaster's first layer reads one feature
    primitives = [eqn.primitive.name for eqn in jax.make_jaxpr(cell.step)(layer, carry, x).eqns]
    names = _BLOCK_NAMES.get(cell.name)
    gates = None
    if names is not None and blocks == len(names):
        gates = [name for name in names if not name.startswith("candidate")]
    return Structure(
        gate_blocks=blocks,
        gates=gates,
        num_gates=None if gates is None else len(gates),
        state=list(carry._fields) if hasattr(carry, "_fields") else ["h"],
        state_vectors=len(jax.tree.leaves(carry)),
        ops_per_step=len(primitives),
        matmuls_per_step=primitives.count("dot_general"),
    )


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


def count_model(
    cell: str, params: forecasting.ForecasterParams, hidden: int, layers: int
) -> dict[str, Any]:
    """Sizes, counts and structure of one initialized model.

    Raises:
        RuntimeError: ``rnnax.count_params`` disagrees with the initialized encoder (a bug in
            the cell's layout, not a user error).
    """
    counted = rnnax.count_params(cell, 1, hidden, num_layers=layers)
    measured = rnnax.param_count(params.encoder)
    if counted != measured:
        raise RuntimeError(
            f"{cell}: count_params says {counted}, the initialized encoder has {measured}"
        )
    return {
        "hidden": hidden,
        "layers": layers,
        "rnn_params": counted,
        "params": rnnax.param_count(params),
        "flops_per_step": rnnax.flops_per_step(cell, 1, hidden, num_layers=layers),
        "structure": structure(cell, params, hidden).as_dict(),
        "description": rnnax.get_cell(cell).description,
    }


def target_loss(config: CompareConfig, best_means: dict[str, float]) -> float | None:
    """The validation loss for time-to-target: ``config.target_loss``, else 1.1 times the
    larger of the LSTM's and the GRU's best seed-mean losses (so the explainer's two cells
    race as they would alone; every cell's when the two are not both compared). Losses that
    are not finite (a diverged cell) are left out; ``None`` when none is finite."""
    if config.target_loss is not None:
        return config.target_loss
    racing = CLAIM_CELLS if claims_testable(config.cells) else config.cells
    losses = [best_means[cell] for cell in racing if math.isfinite(best_means[cell])]
    return 1.1 * max(losses) if losses else None


def _best_mean(run: SeedRun) -> float:
    """The lowest seed-mean validation loss of a run (NaN when every evaluation was NaN)."""
    curve = np.nanmean(run.val_matrix(), axis=0)
    return float(np.nanmin(curve)) if np.isfinite(curve).any() else math.nan


def run(config: CompareConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """Runs the comparison; returns ``(report, extras)``.

    ``report`` is JSON-ready (see ``rnnax compare --help`` and the README for its keys);
    ``extras`` holds what only the plots need (loss curves, the test tail, the sweep).
    """
    wall_start = time.perf_counter()
    prepared = prepare(config)
    cells = config.cells
    seeds = list(range(config.seeds))
    hidden = hidden_sizes(config, prepared.horizon)
    configs = {
        cell: forecaster_config(cell, hidden[cell], config.layers, prepared.horizon)
        for cell in cells
    }
    split = prepared.split
    _log(
        config.progress,
        f"rnnax compare: {prepared.series.name} ({len(prepared.series)} steps), "
        f"lookback {prepared.lookback}, horizon {prepared.horizon}, "
        f"{split.train.inputs.shape[0]}/{split.validation.inputs.shape[0]}/"
        f"{split.test.inputs.shape[0]} train/validation/test windows; "
        + ", ".join(f"{label(cell)} hidden {hidden[cell]}" for cell in cells)
        + f", {config.layers} layer(s), {config.seeds} seeds in parallel",
    )

    # Structure and counts, from one initialization of each model.
    single = {cell: forecasting.init(jax.random.key(0), configs[cell]) for cell in cells}
    models = {cell: count_model(cell, single[cell], hidden[cell], config.layers) for cell in cells}

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
        for cell in cells
    }
    chunks = -(-config.steps // config.eval_every)
    with progress_bar(
        config.progress,
        total=chunks,
        desc=f"forecasting ({'+'.join(map(label, cells))})",
        unit="chunk",
    ) as bar:
        runs = train_interleaved(trainers, config.steps, bar)
    best_means = {cell: _best_mean(runs[cell]) for cell in cells}
    target = target_loss(config, best_means)

    evaluations = {cell: evaluate(prepared, configs[cell], runs[cell]) for cell in cells}

    # Throughput sweep (the lookback first: that is the reported value).
    lengths = [prepared.lookback, *sorted(set(config.sweep_lengths) - {prepared.lookback})]
    with progress_bar(config.progress, total=len(lengths), desc="throughput", unit="length") as bar:
        speeds = throughput(configs, single, lengths, config.throughput_batch, bar)

    # Memory tasks.
    memory = run_memory_tasks(config, hidden)

    for cell in cells:
        steps_to, seconds_to = (None, None) if target is None else reach(runs[cell], target)
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
                "best_val_loss": finite(round(best_means[cell], 6)),
                "time_to_target_s": None if seconds_to is None else round(seconds_to, 4),
                "steps_to_target": steps_to,
                "test": {metric: mean_ci(values) for metric, values in scores.items()},
                "test_per_seed": {
                    metric: [finite(round(v, 6)) for v in values]
                    for metric, values in scores.items()
                },
                "interval_coverage": round(evaluations[cell]["coverage"], 4),
                "memory_tasks": {name: result[cell]["score"][0] for name, result in memory.items()},
            }
        )

    baselines = {
        method: {metric: round(value, 6) for metric, value in scores.items()}
        for method, scores in evaluations[cells[0]]["baselines"].items()
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
            "cells": list(cells),
        },
        "environment": environment(),
        "target_val_loss": None if target is None else round(target, 6),
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
            for cell in cells
        },
    }
    report["wall_s"] = round(time.perf_counter() - wall_start, 2)
    extras = {
        "runs": runs,
        "tail": {cell: evaluations[cell]["tail"] for cell in cells},
        "prepared": prepared,
    }
    return report, extras


def _forecast_loss(params: Any, batch: Any, *, config: forecasting.ForecasterConfig) -> jax.Array:
    return forecasting.loss(params, batch, config=config)


def run_memory_tasks(config: CompareConfig, hidden: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Trains every compared cell on every memory task (K seeds each, seed-parallel,
    interleaved) and scores each seed's best-validation parameters on a held-out test set."""
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
                for cell in config.cells
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
            for cell in config.cells:
                scores = _memory_tasks.score(task, cell, runs[cell].best_params, task_data.test)
                entry[cell] = {
                    "score": mean_ci(scores.tolist()),
                    "per_seed": [finite(round(float(s), 6)) for s in scores],
                    "train_s": round(runs[cell].train_s, 3),
                    "compile_s": round(runs[cell].compile_s, 3),
                }
            results[task.name] = entry
    return results
