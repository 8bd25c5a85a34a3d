"""The typed results of a comparison: what the experiment measures and the report reads.

:func:`rnnax.compare._experiment.run` returns a :class:`CompareResult` (the data set, the
settings, the machine, and per cell a :class:`ModelResult`, per memory task a
:class:`MemoryTaskResult`, per cell and length a :class:`Throughput`); each claim of the
explainer's table is judged into a :class:`Row` (``rnnax.compare._claims``); a
:class:`Report` is all of it plus what the run wrote. Only ``rnnax.compare._json`` turns these
into ``report.json``'s dict (and back). Values are rounded as ``report.json`` shows them when
they are made, so a result and its JSON hold the same numbers.

Standard library only: the results can be read and judged without JAX.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

if TYPE_CHECKING:
    from rnnax.compare._config import CompareConfig

SCHEMA = "rnnax-compare/1"
"""The ``"schema"`` of ``report.json``."""

T = TypeVar("T")


class MeanCI(NamedTuple):
    """A mean over the seeds and its 95% t-interval half-width (``report.json``: a pair).

    ``mean`` is ``None`` when it is not finite; ``half`` when there is a single seed.
    """

    mean: float | None
    half: float | None


@dataclasses.dataclass(frozen=True)
class Accuracy(Generic[T]):
    """The three forecast errors, in the data's units (MASE is scaled, see ``report.md``)."""

    mae: T
    rmse: T
    mase: T


@dataclasses.dataclass(frozen=True)
class Structure:
    """A cell's structure, read off an initialized model.

    Attributes:
        gate_blocks: ``H``-wide column blocks of the gate weight, from its shape; ``None`` for
            a cell with no such weight.
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


@dataclasses.dataclass(frozen=True)
class ModelSize:
    """One cell's model, counted from one initialization.

    Attributes:
        hidden: hidden size in this run.
        layers: stacked recurrent layers.
        rnn_params: parameters of the recurrent layers.
        params: parameters of the whole forecaster (recurrent layers and head).
        flops_per_step: forward FLOPs per time step of one sequence.
        structure: gates, state and operations per step.
        description: the cell's one-line description (``rnnax.Cell.description``).
    """

    hidden: int
    layers: int
    rnn_params: int
    params: int
    flops_per_step: int
    structure: Structure
    description: str


@dataclasses.dataclass(frozen=True)
class Throughput:
    """Speed at one sequence length (batch ``throughput_batch``).

    Attributes:
        fwd_compile_s: seconds to compile the forward pass.
        fwd_seq_per_s: forward sequences per second.
        fwd_bwd_seq_per_s: forward+backward sequences per second (the median of the rounds).
        fwd_bwd_seq_per_s_rounds: at the lookback only, forward+backward sequences per second
            of every timing round; the cells are timed one after the other within a round, so
            round ``i`` of two cells is a pair (empty in the sweep).
    """

    fwd_compile_s: float
    fwd_seq_per_s: float
    fwd_bwd_seq_per_s: float
    fwd_bwd_seq_per_s_rounds: list[float] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class TrainingResult:
    """One cell's forecasting training, K seeds in parallel.

    Attributes:
        compile_s: seconds to compile the training chunk.
        train_s: training wall time, compile excluded.
        train_steps: optimizer steps trained.
        best_val_loss: the lowest seed-mean validation loss (``None`` if never finite).
        time_to_target_s: training seconds until the seed-mean validation loss first reached
            the target, ``None`` if it never did.
        steps_to_target: optimizer steps until then, ``None`` if never.
        learning_rate: the learning rate trained with (the search's choice).
        steps_to_target_per_seed: per seed, optimizer steps until its own validation loss
            first reached the target (``None`` where it never did).
        chunk_s: wall time of every chunk of ``eval_every`` steps (all seeds, validation
            included); the cells' chunks alternate, so chunk ``i`` of two cells is a pair.
    """

    compile_s: float
    train_s: float
    train_steps: int
    best_val_loss: float | None
    time_to_target_s: float | None
    steps_to_target: int | None
    learning_rate: float | None = None
    steps_to_target_per_seed: list[int | None] = dataclasses.field(default_factory=list)
    chunk_s: list[float] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class ForecastResult:
    """One cell's test scores.

    Attributes:
        test: each error as mean and 95% half-width over the seeds.
        test_per_seed: each error of every seed (``None`` where not finite).
        interval_coverage: the share of test targets inside the seed-mean forecast's 95%
            split-conformal interval.
    """

    test: Accuracy[MeanCI]
    test_per_seed: Accuracy[list[float | None]]
    interval_coverage: float


@dataclasses.dataclass(frozen=True)
class ModelResult:
    """Everything measured of one cell: its size, training, speed at the lookback (``speed``)
    and test scores."""

    size: ModelSize
    training: TrainingResult
    speed: Throughput
    forecast: ForecastResult


@dataclasses.dataclass(frozen=True)
class MemoryScore:
    """One cell on one memory task.

    Attributes:
        score: the task's metric over the seeds (mean and 95% half-width).
        per_seed: every seed's score (``None`` where not finite).
        train_s: training wall time, compile excluded.
        compile_s: seconds to compile the training chunk.
        learning_rate: the learning rate trained with (the search's choice).
        curve: the seed-mean validation loss after every chunk (the learning curve; steps in
            :attr:`MemoryTaskResult.curve_steps`).
    """

    score: MeanCI
    per_seed: list[float | None]
    train_s: float
    compile_s: float
    learning_rate: float | None = None
    curve: list[float | None] = dataclasses.field(default_factory=list)

    @property
    def still_improving(self) -> bool:
        """Whether the curve's best over its last quarter is more than ``IMPROVING`` (5%)
        below its best before: then the budget, not the cell, may limit the score."""
        return improving(self.curve)


@dataclasses.dataclass(frozen=True)
class MemoryTaskResult:
    """One memory task, every compared cell trained on it.

    Attributes:
        kind: ``"adding"`` or ``"copy"``.
        sequence_length: time steps per sequence.
        metric: what the score is (``"test MSE"``, ``"recall accuracy"``).
        higher_is_better: whether a larger score is better (copy) or worse (adding).
        trivial_score: what a memoryless model scores.
        steps: optimizer steps per cell.
        scores: every cell's score, by cell name.
        symbols: copy task only: symbols to remember.
        delay: copy task only: steps between the symbols and their recall.
        num_symbols: copy task only: the alphabet.
        curve_steps: the optimizer steps at which the curves were taken.
    """

    kind: str
    sequence_length: int
    metric: str
    higher_is_better: bool
    trivial_score: float
    steps: int
    scores: dict[str, MemoryScore]
    symbols: int | None = None
    delay: int | None = None
    num_symbols: int | None = None
    curve_steps: list[int] = dataclasses.field(default_factory=list)


IMPROVING = 0.05
"""A learning curve is "still improving" when its best over the last quarter of training is
more than this fraction below its best before."""


def improving(curve: list[float | None]) -> bool:
    """Whether a learning curve was still improving at the end (see :data:`IMPROVING`).

    Examples:
        >>> improving([1.0, 0.5, 0.4, 0.3]), improving([1.0, 0.5, 0.5, 0.49])
        (True, False)
    """
    values = [float("inf") if value is None else value for value in curve]
    split = max(1, (3 * len(values)) // 4)
    if split >= len(values):
        return False
    before, last = min(values[:split]), min(values[split:])
    return before != float("inf") and last < (1.0 - IMPROVING) * before


@dataclasses.dataclass(frozen=True)
class CountingScore:
    """One cell on one counting language.

    Attributes:
        largest_n: per seed, the largest n with every string up to it accepted.
        learning_rate: the learning rate trained with (the search's choice).
        curve: the seed-mean validation loss after every chunk.
    """

    largest_n: list[int]
    learning_rate: float | None = None
    curve: list[float | None] = dataclasses.field(default_factory=list)

    @property
    def mean(self) -> float:
        """The mean of ``largest_n`` over seeds."""
        return sum(self.largest_n) / len(self.largest_n)

    @property
    def still_improving(self) -> bool:
        """As for :class:`MemoryScore`."""
        return improving(self.curve)


@dataclasses.dataclass(frozen=True)
class CountingResult:
    """One counting language, every compared cell trained on it.

    Attributes:
        language: ``"anbn"``, ``"anbncn"`` or ``"dyck1"``.
        train_max_n: the largest count trained on (strings n = 1 .. train_max_n).
        test_max_n: the largest count tested (n = 1 .. test_max_n).
        steps: optimizer steps per cell and seed.
        scores: every cell's score, by name.
        curve_steps: the optimizer steps at which the curves were taken.
    """

    language: str
    train_max_n: int
    test_max_n: int
    steps: int
    scores: dict[str, CountingScore]
    curve_steps: list[int] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class LearningRateSearch:
    """What the learning-rate search tried and chose, per model (``rnnax.compare._lr_search``).

    Attributes:
        candidates: the rates tried, in order.
        seeds: the seeds trained at every rate.
        steps: optimizer steps per member (the final run's budget; 0: no search).
        val_loss: per model, per candidate, the mean over ``seeds`` of each seed's best
            validation loss (``None`` where a seed never had a finite one).
        chosen: per model, the candidate with the lowest ``val_loss``.
    """

    candidates: list[float]
    seeds: list[int]
    steps: int
    val_loss: dict[str, list[float | None]]
    chosen: dict[str, float]


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """The data set compared on: its length and what it measures."""

    length: int
    frequency: str
    period: int
    unit: str
    source: str
    log_transform: bool


@dataclasses.dataclass(frozen=True)
class Windows:
    """How many windows each chronological segment holds."""

    train: int
    validation: int
    test: int


@dataclasses.dataclass(frozen=True)
class Environment:
    """The machine and libraries a comparison ran on (from ``rnnax._machine``).

    Attributes:
        jax: JAX's version.
        rnnax: rnnax's version.
        python: Python's version.
        platform: the operating system (``platform.platform()``).
        backend: JAX's default backend (``"cpu"``, ``"gpu"``, ``"tpu"``).
        device: the first device; on CPU with the CPU's model in brackets.
        device_count: devices JAX sees.
        cpu_count: logical CPUs of the machine.
        load_average: 1, 5 and 15 minute load averages at the end, ``None`` where unknown.
    """

    jax: str | None
    rnnax: str | None
    python: str
    platform: str
    backend: str
    device: str
    device_count: int
    cpu_count: int | None
    load_average: list[float] | None


@dataclasses.dataclass(frozen=True)
class CompareResult:
    """Everything one comparison measured (``report.json`` without the verdicts).

    Attributes:
        dataset: the data set's name.
        dataset_info: its length, frequency, period, unit, source and transform.
        input_size: features per time step (1).
        lookback: input window length.
        horizon: forecast length.
        seeds: the seeds every model was trained with.
        windows: windows per segment.
        config: the settings (``report.json``: ``"settings"``).
        environment: the machine.
        target_val_loss: the validation loss of the time-to-target race, ``None`` if no
            finite loss was reached.
        baselines: the naive and seasonal-naive forecasts' test errors.
        models: every compared cell's results, in the compared order.
        memory_tasks: every memory task's results, by task name (empty when skipped).
        throughput_sweep: speed per cell and sequence length.
        wall_s: seconds the whole run took.
        schema: the ``report.json`` schema.
        counting: every counting language's results (``report.json``:
            ``memory_tasks.counting``; empty when skipped).
        learning_rates: the learning-rate search of every task that trains (``"forecasting"``,
            each memory task's name, ``"counting_<language>"``).
    """

    dataset: str
    dataset_info: DatasetInfo
    input_size: int
    lookback: int
    horizon: int
    seeds: list[int]
    windows: Windows
    config: CompareConfig
    environment: Environment
    target_val_loss: float | None
    baselines: dict[str, Accuracy[float]]
    models: dict[str, ModelResult]
    memory_tasks: dict[str, MemoryTaskResult]
    throughput_sweep: dict[str, dict[int, Throughput]]
    wall_s: float
    schema: str = SCHEMA
    counting: dict[str, CountingResult] = dataclasses.field(default_factory=dict)
    learning_rates: dict[str, LearningRateSearch] = dataclasses.field(default_factory=dict)

    @property
    def cells(self) -> list[str]:
        """The compared cells, in the report's order."""
        return list(self.models)


@dataclasses.dataclass(frozen=True)
class Row:
    """One claim of the explainer's table, measured and judged.

    Attributes:
        feature: the table's row (``"parameters"``).
        lstm_claim: what the explainer says of the LSTM.
        lstm_measured: what this run measured of it.
        gru_claim: what the explainer says of the GRU.
        gru_measured: what this run measured of it.
        verdict: ``"supported"``, ``"not supported"``, ``"inconclusive"`` (the interval
            allows either) or ``"not tested"``.
        rule: how the verdict was decided, with the numbers it compared.
        values: the numbers measured for the claim, per cell (and per seed or round where
            the verdict rests on an interval).
        interval: the confidence interval the verdict rests on (``estimate``, ``low``,
            ``high``, ``level``, ``n``, ``method`` and what it is of), ``None`` for a claim
            decided by exact counts.
    """

    feature: str
    lstm_claim: str
    lstm_measured: str
    gru_claim: str
    gru_measured: str
    verdict: str
    rule: str
    values: dict[str, Any] = dataclasses.field(default_factory=dict)
    interval: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Report:
    """A comparison's result with its verdicts and what the run wrote (``report.json``).

    Attributes:
        result: what was measured.
        command: the command line that ran it.
        table: the explainer's table, one judged claim per row (empty without both the LSTM
            and the GRU).
        claims_note: why the table is empty, else ``None``.
        plots: the PNG files written.
        out: the output folder.
    """

    result: CompareResult
    command: str = ""
    table: list[Row] = dataclasses.field(default_factory=list)
    claims_note: str | None = None
    plots: list[str] = dataclasses.field(default_factory=list)
    out: str | None = None
