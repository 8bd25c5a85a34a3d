"""Seeded synthetic series and sequence-memory tasks, generated with numpy.

Every generator takes ``seed``: an ``int`` (a fresh
``numpy.random.default_rng(seed)``, so equal seeds give equal data) or a
``numpy.random.Generator`` (which is advanced, for drawing several data sets
from one stream). Forecasting series come back as ``float64`` arrays; the memory
tasks come back as :class:`SequenceTask` tuples of ``float32`` inputs and
targets (integer targets for the classification-style copy task).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from rnnax._checks import check_int, check_positive_real, check_real

Seed = int | np.random.Generator


class SequenceTask(NamedTuple):
    """Inputs and targets of a synthetic sequence task.

    Attributes:
        inputs: ``float32`` array ``[N, T, input_features]``.
        targets: Target array; its shape and dtype are stated by each generator.
    """

    inputs: np.ndarray
    targets: np.ndarray


class SyntheticPanel(NamedTuple):
    """A panel of synthetic series and the components they are the sum of.

    Attributes:
        values: ``float64 [N, T]``, equal to ``trend + seasonality + noise``.
        trend: ``float64 [N, T]``, linear trend of each series.
        seasonality: ``float64 [N, T]``, periodic component of each series.
        noise: ``float64 [N, T]``, Gaussian noise.
    """

    values: np.ndarray
    trend: np.ndarray
    seasonality: np.ndarray
    noise: np.ndarray


# The Runge-Kutta loop runs in Python at about a microsecond per step: 10**8 steps are minutes,
# and more is a request that would look like a hang (and its float64 buffer gigabytes).
_MAX_INTEGRATION_STEPS = 10**8


def _generator(seed: Seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int or a numpy.random.Generator, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be an int >= 0 or a numpy.random.Generator, got {seed}")
    return np.random.default_rng(int(seed))


def _real_vector(name: str, values: object) -> np.ndarray:
    """``values`` as a 1-D float64 array of finite numbers."""
    try:
        array = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of numbers, got {values!r:.80}") from None
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must hold finite numbers, got {values!r:.80}")
    return array


def noisy_sines(
    length: int,
    *,
    periods: Sequence[float] = (12.0, 50.0),
    amplitudes: Sequence[float] | None = None,
    noise_std: float = 0.1,
    seed: Seed = 0,
) -> np.ndarray:
    """A sum of sine waves with random phases plus Gaussian noise.

    ``y[t] = sum_k amplitudes[k] * sin(2 pi t / periods[k] + phase_k) + noise_std * e[t]``
    with phases uniform in ``[0, 2 pi)`` and ``e[t]`` standard normal.

    Args:
        length: Number of time steps ``T`` (>= 1).
        periods: Period of each sine in time steps (each > 0).
        amplitudes: Amplitude of each sine; all 1 by default.
        noise_std: Standard deviation of the additive noise (>= 0).
        seed: ``int`` or ``numpy.random.Generator``.

    Returns:
        ``float64`` array of shape ``[T]``.

    Raises:
        ValueError: If ``length < 1``, a period is not positive, the numbers of
            periods and amplitudes differ, or ``noise_std < 0``.

    Examples:
        >>> y = noisy_sines(100, periods=(10.0,), noise_std=0.0, seed=0)
        >>> y.shape, bool(np.allclose(y[:10], y[10:20]))
        ((100,), True)
    """
    length = check_int("length", length, minimum=1)
    if periods is None:
        raise TypeError(
            f"periods must be a non-empty sequence of positive numbers, got {periods!r}"
        )
    period_array = _real_vector("periods", periods)
    if period_array.size == 0 or not np.all(period_array > 0):
        raise ValueError(
            f"periods must be a non-empty sequence of positive numbers, got {periods!r}"
        )
    if amplitudes is None:
        amplitude_array = np.ones_like(period_array)
    else:
        amplitude_array = _real_vector("amplitudes", amplitudes)
        if amplitude_array.shape != period_array.shape:
            raise ValueError(
                f"amplitudes must have one entry per period ({period_array.size}), got {amplitude_array.size}"
            )
    noise_std = check_real("noise_std", noise_std, minimum=0.0)
    rng = _generator(seed)
    phases = rng.uniform(0.0, 2.0 * np.pi, size=period_array.size)
    time = np.arange(length, dtype=np.float64)
    waves = amplitude_array[:, None] * np.sin(
        2.0 * np.pi * time[None, :] / period_array[:, None] + phases[:, None]
    )
    return waves.sum(axis=0) + noise_std * rng.standard_normal(length)


def mackey_glass(
    length: int,
    *,
    tau: float = 17.0,
    beta: float = 0.2,
    gamma: float = 0.1,
    exponent: float = 10.0,
    initial_value: float = 1.2,
    initial_noise: float = 0.01,
    step_size: float = 0.1,
    sample_every: float = 1.0,
    discard: int = 300,
    seed: Seed = 0,
) -> np.ndarray:
    """The Mackey-Glass chaotic delay-differential series (``tau=17`` is the standard benchmark).

    Integrates ``dx/dt = beta * x(t - tau) / (1 + x(t - tau) ** exponent) - gamma * x(t)``
    with the fourth-order Runge-Kutta method and step ``step_size``; the delayed
    term at half steps is the mean of its neighbouring stored values. The history
    on ``[-tau, 0]`` is ``initial_value`` plus uniform noise in
    ``[-initial_noise, initial_noise]`` drawn from ``seed``, so different seeds
    give different trajectories. The first ``discard`` samples (the transient)
    are dropped; samples are ``sample_every`` time units apart.

    Args:
        length: Number of returned samples ``T`` (>= 1).
        tau: Delay (> 0); chaotic for ``tau >= 17``.
        beta: Production coefficient.
        gamma: Decay coefficient.
        exponent: Nonlinearity exponent ``n``.
        initial_value: Constant history level.
        initial_noise: Half-width of the uniform perturbation of the history (>= 0).
        step_size: Integration step (> 0); ``tau`` and ``sample_every`` must be
            whole multiples of it.
        sample_every: Time between returned samples.
        discard: Number of initial samples dropped (>= 0).
        seed: ``int`` or ``numpy.random.Generator``.

    Returns:
        ``float64`` array of shape ``[T]``; for the defaults the values stay
        within about ``[0.2, 1.4]``.

    Raises:
        ValueError: For non-positive ``tau``/``step_size``/``sample_every``, or
            if ``tau`` or ``sample_every`` is not a multiple of ``step_size``.

    Examples:
        >>> x = mackey_glass(500, seed=0)
        >>> x.shape, bool(0.1 < x.min() < x.max() < 1.5)
        ((500,), True)
    """
    length = check_int("length", length, minimum=1)
    discard = check_int("discard", discard, minimum=0)
    for argument, value in (("tau", tau), ("step_size", step_size), ("sample_every", sample_every)):
        check_positive_real(argument, value)
    for argument, value in (
        ("beta", beta),
        ("gamma", gamma),
        ("exponent", exponent),
        ("initial_value", initial_value),
    ):
        check_real(argument, value)
    initial_noise = check_real("initial_noise", initial_noise, minimum=0.0)
    delay_steps = _whole_steps("tau", tau, step_size)
    steps_per_sample = _whole_steps("sample_every", sample_every, step_size)
    total_steps = (length + discard) * steps_per_sample
    if delay_steps + total_steps > _MAX_INTEGRATION_STEPS:
        raise ValueError(
            f"mackey_glass would integrate {delay_steps + total_steps:.3g} steps (length={length}, "
            f"discard={discard}, tau={tau}, sample_every={sample_every}, step_size={step_size}); "
            f"at most {_MAX_INTEGRATION_STEPS} are allowed: use a larger step_size or fewer samples"
        )
    rng = _generator(seed)

    # x[i] holds x(t) at t = (i - delay_steps) * step_size: the history, then the solution.
    x = np.empty(delay_steps + total_steps + 1, dtype=np.float64)
    x[: delay_steps + 1] = initial_value + rng.uniform(
        -initial_noise, initial_noise, size=delay_steps + 1
    )

    def slope(current: float, delayed: float) -> float:
        return beta * delayed / (1.0 + delayed**exponent) - gamma * current

    _runge_kutta(x, slope, delay_steps, step_size)
    samples = x[delay_steps + steps_per_sample :: steps_per_sample]
    return samples[discard : discard + length].copy()


def _whole_steps(name: str, duration: float, step_size: float) -> int:
    """``duration / step_size``, checked to be a whole number of at least one step."""
    count = round(duration / step_size)
    if count < 1 or not np.isclose(count * step_size, duration):
        raise ValueError(f"{name}={duration} must be a whole multiple of step_size={step_size}")
    return count


def _runge_kutta(
    x: np.ndarray, slope: Callable[[float, float], float], delay_steps: int, h: float
) -> None:
    """Integrates the delay equation in place: ``x[delay_steps + 1 :]`` from the history before.

    The delayed term at half steps is the mean of its neighbouring stored values.
    """
    for i in range(delay_steps, x.shape[0] - 1):
        delayed_now, delayed_next = x[i - delay_steps], x[i - delay_steps + 1]
        delayed_half = 0.5 * (delayed_now + delayed_next)
        k1 = slope(x[i], delayed_now)
        k2 = slope(x[i] + 0.5 * h * k1, delayed_half)
        k3 = slope(x[i] + 0.5 * h * k2, delayed_half)
        k4 = slope(x[i] + h * k3, delayed_next)
        x[i + 1] = x[i] + h * (k1 + 2.0 * k2 + 2.0 * k3 + k4) / 6.0


def trend_seasonal_panel(
    num_series: int,
    length: int,
    *,
    period: int = 12,
    level_std: float = 1.0,
    slope_std: float = 0.02,
    seasonal_amplitude: float = 1.0,
    noise_std: float = 0.2,
    seed: Seed = 0,
) -> SyntheticPanel:
    """A panel of series, each a random linear trend plus a random seasonal shape plus noise.

    For series ``i``: ``trend[i, t] = level_i + slope_i * t`` with
    ``level_i ~ N(0, level_std^2)`` and ``slope_i ~ N(0, slope_std^2)``;
    ``seasonality[i, t] = s_i[t mod period]`` where ``s_i`` is a random pattern
    of ``period`` values, centred to mean zero and scaled to maximum absolute
    value ``seasonal_amplitude`` (zero when ``period == 1``); and
    ``noise[i, t] ~ N(0, noise_std^2)``.

    Args:
        num_series: Number of series ``N`` (>= 1).
        length: Number of time steps ``T`` (>= 1).
        period: Seasonal period (>= 1).
        level_std: Spread of the series' levels (>= 0).
        slope_std: Spread of the series' slopes per step (>= 0).
        seasonal_amplitude: Largest absolute seasonal effect (>= 0).
        noise_std: Standard deviation of the noise (>= 0).
        seed: ``int`` or ``numpy.random.Generator``.

    Returns:
        A :class:`SyntheticPanel` of ``float64 [N, T]`` arrays.

    Examples:
        >>> panel = trend_seasonal_panel(3, 48, period=12, noise_std=0.0, seed=1)
        >>> panel.values.shape
        (3, 48)
        >>> bool(np.allclose(panel.seasonality[:, :12], panel.seasonality[:, 12:24]))
        True
    """
    num_series = check_int("num_series", num_series, minimum=1)
    length = check_int("length", length, minimum=1)
    period = check_int("period", period, minimum=1)
    level_std = check_real("level_std", level_std, minimum=0.0)
    slope_std = check_real("slope_std", slope_std, minimum=0.0)
    seasonal_amplitude = check_real("seasonal_amplitude", seasonal_amplitude, minimum=0.0)
    noise_std = check_real("noise_std", noise_std, minimum=0.0)
    rng = _generator(seed)

    levels = level_std * rng.standard_normal(num_series)
    slopes = slope_std * rng.standard_normal(num_series)
    time = np.arange(length, dtype=np.float64)
    trend = levels[:, None] + slopes[:, None] * time[None, :]

    patterns = rng.standard_normal((num_series, period))
    patterns -= patterns.mean(axis=1, keepdims=True)
    peak = np.abs(patterns).max(axis=1, keepdims=True)
    # A period of 1 leaves an all-zero pattern after centring: no seasonality.
    patterns = (
        np.divide(patterns, peak, out=np.zeros_like(patterns), where=peak > 0) * seasonal_amplitude
    )
    seasonality = patterns[:, np.arange(length) % period]

    noise = noise_std * rng.standard_normal((num_series, length))
    return SyntheticPanel(
        values=trend + seasonality + noise, trend=trend, seasonality=seasonality, noise=noise
    )


def adding_problem(num_samples: int, length: int, *, seed: Seed = 0) -> SequenceTask:
    """The adding problem of Hochreiter & Schmidhuber (1997).

    Channel 0 of the inputs holds values uniform in ``[0, 1)``; channel 1 is a
    marker that is 1 at exactly two steps, one drawn uniformly from the first
    half of the sequence and one from the second half, and 0 elsewhere. The
    target is the sum of the two marked values. Always predicting 1.0 gives a
    mean squared error of ``Var(U + U') = 1/6 ~ 0.167``; a model must beat that
    to show it remembers across ``length`` steps.

    Args:
        num_samples: Number of sequences ``N`` (>= 1).
        length: Sequence length ``T`` (>= 2).
        seed: ``int`` or ``numpy.random.Generator``.

    Returns:
        :class:`SequenceTask` with ``inputs`` ``float32 [N, T, 2]`` and
        ``targets`` ``float32 [N, 1]``.

    Examples:
        >>> task = adding_problem(4, 10, seed=0)
        >>> task.inputs.shape, task.targets.shape, task.inputs[:, :, 1].sum(axis=1).tolist()
        ((4, 10, 2), (4, 1), [2.0, 2.0, 2.0, 2.0])
    """
    num_samples = check_int("num_samples", num_samples, minimum=1)
    length = check_int("length", length, minimum=2)
    rng = _generator(seed)
    numbers_channel = rng.uniform(0.0, 1.0, size=(num_samples, length))
    half = length // 2
    first_marker = rng.integers(0, half, size=num_samples)
    second_marker = rng.integers(half, length, size=num_samples)
    markers = np.zeros((num_samples, length))
    rows = np.arange(num_samples)
    markers[rows, first_marker] = 1.0
    markers[rows, second_marker] = 1.0
    targets = numbers_channel[rows, first_marker] + numbers_channel[rows, second_marker]
    inputs = np.stack([numbers_channel, markers], axis=-1).astype(np.float32)
    return SequenceTask(inputs=inputs, targets=targets.astype(np.float32)[:, None])


def copy_task(
    num_samples: int,
    sequence_length: int,
    delay: int,
    *,
    num_symbols: int = 8,
    seed: Seed = 0,
) -> SequenceTask:
    """The copy (memory) task: read ``K`` symbols, wait, then reproduce them on cue.

    Categories ``0 .. num_symbols - 1`` are data symbols, ``blank = num_symbols``
    and ``cue = num_symbols + 1``. With ``K = sequence_length`` the total length
    is ``T = K + delay + K``:

    * inputs: ``K`` random data symbols, then ``delay - 1`` blanks, then the cue,
      then ``K`` blanks;
    * targets: blank for the first ``K + delay`` steps, then the ``K`` data symbols
      in their original order.

    A memoryless model that outputs blanks and then guesses uniformly reaches a
    mean cross-entropy of ``K * log(num_symbols) / T`` per step.

    Args:
        num_samples: Number of sequences ``N`` (>= 1).
        sequence_length: Number of symbols to remember, ``K`` (>= 1).
        delay: Steps from the end of the symbols to the start of the recall,
            cue included (>= 1).
        num_symbols: Size of the data alphabet (>= 1).
        seed: ``int`` or ``numpy.random.Generator``.

    Returns:
        :class:`SequenceTask` with one-hot ``inputs`` ``float32 [N, T, num_symbols + 2]``
        and integer class ``targets`` ``int32 [N, T]`` (values in ``[0, num_symbols]``).

    Examples:
        >>> task = copy_task(1, sequence_length=3, delay=2, num_symbols=4, seed=0)
        >>> task.inputs.shape
        (1, 8, 6)
        >>> task.inputs[0].argmax(axis=-1)[3:].tolist(), task.targets[0, :5].tolist()
        ([4, 5, 4, 4, 4], [4, 4, 4, 4, 4])
        >>> bool((task.targets[0, 5:] == task.inputs[0, :3].argmax(axis=-1)).all())
        True
    """
    num_samples = check_int("num_samples", num_samples, minimum=1)
    sequence_length = check_int("sequence_length", sequence_length, minimum=1)
    delay = check_int("delay", delay, minimum=1)
    num_symbols = check_int("num_symbols", num_symbols, minimum=1)
    rng = _generator(seed)
    blank, cue = num_symbols, num_symbols + 1
    total_length = 2 * sequence_length + delay
    symbols = rng.integers(0, num_symbols, size=(num_samples, sequence_length))

    input_classes = np.full((num_samples, total_length), blank, dtype=np.int64)
    input_classes[:, :sequence_length] = symbols
    input_classes[:, sequence_length + delay - 1] = cue
    targets = np.full((num_samples, total_length), blank, dtype=np.int32)
    targets[:, sequence_length + delay :] = symbols
    inputs = np.eye(num_symbols + 2, dtype=np.float32)[input_classes]
    return SequenceTask(inputs=inputs, targets=targets)


def delayed_recall(
    num_samples: int,
    length: int,
    delay: int,
    *,
    num_features: int = 1,
    seed: Seed = 0,
) -> SequenceTask:
    """Output at every step the input seen ``delay`` steps earlier.

    Inputs are standard normal. ``targets[:, t] = inputs[:, t - delay]`` for
    ``t >= delay``; the first ``delay`` target steps have no such input and are
    0 (exclude them from a loss, e.g. ``loss(targets[:, delay:], ...)``). The
    best memoryless predictor (always 0) has mean squared error 1 on the
    remaining steps.

    Args:
        num_samples: Number of sequences ``N`` (>= 1).
        length: Sequence length ``T``, greater than ``delay``.
        delay: How many steps back to recall (>= 0; 0 is the identity).
        num_features: Features per step ``D`` (>= 1).
        seed: ``int`` or ``numpy.random.Generator``.

    Returns:
        :class:`SequenceTask` with ``inputs`` and ``targets`` both ``float32 [N, T, D]``.

    Raises:
        ValueError: If ``length <= delay``.

    Examples:
        >>> task = delayed_recall(2, 6, 2, seed=0)
        >>> bool((task.targets[:, 2:] == task.inputs[:, :-2]).all()), float(task.targets[:, :2].max())
        (True, 0.0)
    """
    num_samples = check_int("num_samples", num_samples, minimum=1)
    delay = check_int("delay", delay, minimum=0)
    length = check_int("length", length, minimum=1)
    num_features = check_int("num_features", num_features, minimum=1)
    if length <= delay:
        raise ValueError(f"length must be greater than delay={delay}, got length={length}")
    rng = _generator(seed)
    inputs = rng.standard_normal((num_samples, length, num_features)).astype(np.float32)
    targets = np.zeros_like(inputs)
    targets[:, delay:] = inputs[:, : length - delay]
    return SequenceTask(inputs=inputs, targets=targets)
