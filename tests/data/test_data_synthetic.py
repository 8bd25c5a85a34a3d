"""Synthetic generators: determinism per seed, shapes, dtypes and defining properties."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from rnnax import data

GENERATORS: dict[str, Callable[..., object]] = {
    "noisy_sines": lambda seed: data.noisy_sines(200, seed=seed),
    "mackey_glass": lambda seed: data.mackey_glass(200, discard=50, seed=seed),
    "trend_seasonal_panel": lambda seed: data.trend_seasonal_panel(4, 60, seed=seed),
    "adding_problem": lambda seed: data.adding_problem(16, 30, seed=seed),
    "copy_task": lambda seed: data.copy_task(8, 5, 10, seed=seed),
    "delayed_recall": lambda seed: data.delayed_recall(8, 20, 3, seed=seed),
}


def _leaves(result: object) -> list[np.ndarray]:
    return list(result) if isinstance(result, tuple) else [result]  # type: ignore[list-item]


@pytest.mark.parametrize("name", GENERATORS)
def test_same_seed_same_data_other_seed_other_data(name: str) -> None:
    make = GENERATORS[name]
    first, again, other = _leaves(make(3)), _leaves(make(3)), _leaves(make(4))
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for a, c in zip(first, other, strict=True))


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_object_is_accepted_and_advanced(name: str) -> None:
    rng = np.random.default_rng(0)
    first, second = _leaves(GENERATORS[name](rng)), _leaves(GENERATORS[name](rng))
    assert any(not np.array_equal(a, b) for a, b in zip(first, second, strict=True))


@pytest.mark.parametrize("bad_seed", [1.5, "0", True, None])
def test_bad_seed_is_refused(bad_seed: object) -> None:
    with pytest.raises(TypeError, match=r"seed must be an int or a numpy.random.Generator"):
        data.noisy_sines(10, seed=bad_seed)  # type: ignore[arg-type]


def test_noisy_sines_without_noise_is_the_sum_of_sines() -> None:
    y = data.noisy_sines(120, periods=(12.0, 40.0), amplitudes=(2.0, 0.5), noise_std=0.0, seed=1)
    assert y.shape == (120,) and y.dtype == np.float64
    assert np.abs(y).max() <= 2.5 + 1e-12
    # Periods 12 and 40 share the period 120; a lag of 12 removes the first sine exactly.
    residual = y[12:] - y[:-12]
    assert np.abs(residual).max() <= 2 * 0.5 + 1e-12


def test_noisy_sines_noise_has_requested_spread() -> None:
    clean = data.noisy_sines(5000, noise_std=0.0, seed=2)
    noisy = data.noisy_sines(5000, noise_std=0.3, seed=2)
    assert np.std(noisy - clean) == pytest.approx(0.3, rel=0.05)


def test_mackey_glass_is_bounded_and_chaotic() -> None:
    x = data.mackey_glass(600, seed=0)
    assert x.shape == (600,) and x.dtype == np.float64
    assert x.min() > 0.2 and x.max() < 1.45
    # Nearby histories diverge (sensitive dependence on initial conditions).
    y = data.mackey_glass(600, seed=1)
    assert np.abs(x[:10] - y[:10]).max() < np.abs(x[-100:] - y[-100:]).max()


def test_mackey_glass_step_size_must_divide_tau() -> None:
    with pytest.raises(ValueError, match=r"tau=17.05 must be a whole multiple of step_size=0.1"):
        data.mackey_glass(10, tau=17.05)
    with pytest.raises(ValueError, match="tau must be a positive number, got -1"):
        data.mackey_glass(10, tau=-1)


def test_trend_seasonal_panel_components() -> None:
    panel = data.trend_seasonal_panel(5, 36, period=12, seed=7)
    for array in panel:
        assert array.shape == (5, 36) and array.dtype == np.float64
    np.testing.assert_allclose(panel.values, panel.trend + panel.seasonality + panel.noise)
    np.testing.assert_allclose(panel.seasonality[:, :12], panel.seasonality[:, 12:24])
    np.testing.assert_allclose(panel.seasonality[:, :12].mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.abs(panel.seasonality).max(axis=1), 1.0)
    np.testing.assert_allclose(np.diff(panel.trend, 2, axis=1), 0.0, atol=1e-12)


def test_trend_seasonal_panel_with_period_one_has_no_seasonality() -> None:
    panel = data.trend_seasonal_panel(2, 10, period=1, seed=0)
    assert not panel.seasonality.any()


def test_adding_problem_structure_and_trivial_baseline() -> None:
    task = data.adding_problem(20_000, 50, seed=0)
    assert task.inputs.shape == (20_000, 50, 2) and task.inputs.dtype == np.float32
    assert task.targets.shape == (20_000, 1) and task.targets.dtype == np.float32
    values, markers = task.inputs[..., 0], task.inputs[..., 1]
    assert ((values >= 0) & (values < 1)).all()
    assert set(np.unique(markers).tolist()) == {0.0, 1.0}
    np.testing.assert_array_equal(markers.sum(axis=1), 2.0)
    np.testing.assert_array_equal(markers[:, :25].sum(axis=1), 1.0)  # one marker per half
    np.testing.assert_allclose(task.targets[:, 0], (values * markers).sum(axis=1), rtol=1e-6)
    trivial_mse = float(np.mean((task.targets - 1.0) ** 2))
    assert trivial_mse == pytest.approx(1.0 / 6.0, abs=0.005)


def test_copy_task_structure() -> None:
    num_symbols, length, delay = 6, 5, 7
    task = data.copy_task(50, length, delay, num_symbols=num_symbols, seed=0)
    total = 2 * length + delay
    assert task.inputs.shape == (50, total, num_symbols + 2) and task.inputs.dtype == np.float32
    assert task.targets.shape == (50, total) and task.targets.dtype == np.int32
    np.testing.assert_array_equal(task.inputs.sum(axis=-1), 1.0)  # one-hot
    classes = task.inputs.argmax(axis=-1)
    blank, cue = num_symbols, num_symbols + 1
    assert (classes[:, :length] < num_symbols).all()
    assert (classes[:, length + delay - 1] == cue).all()
    assert (np.delete(classes[:, length:], delay - 1, axis=1) == blank).all()
    assert (task.targets[:, : length + delay] == blank).all()
    np.testing.assert_array_equal(task.targets[:, length + delay :], classes[:, :length])


def test_delayed_recall_structure() -> None:
    task = data.delayed_recall(4, 12, 5, num_features=3, seed=0)
    assert task.inputs.shape == task.targets.shape == (4, 12, 3)
    assert task.inputs.dtype == task.targets.dtype == np.float32
    np.testing.assert_array_equal(task.targets[:, 5:], task.inputs[:, :-5])
    assert not task.targets[:, :5].any()
    identity = data.delayed_recall(2, 4, 0, seed=0)
    np.testing.assert_array_equal(identity.targets, identity.inputs)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: data.noisy_sines(0), ValueError, "length must be an integer >= 1, got 0"),
        (
            lambda: data.noisy_sines(10, periods=(0.0,)),
            ValueError,
            "periods must be a non-empty sequence",
        ),
        (
            lambda: data.noisy_sines(10, amplitudes=(1.0,)),
            ValueError,
            r"amplitudes must have one entry per period \(2\), got 1",
        ),
        (
            lambda: data.noisy_sines(10, noise_std=-1.0),
            ValueError,
            "noise_std must be a finite number >= 0, got -1.0",
        ),
        (
            lambda: data.trend_seasonal_panel(0, 10),
            ValueError,
            "num_series must be an integer >= 1, got 0",
        ),
        (
            lambda: data.trend_seasonal_panel(2, 10, period=0),
            ValueError,
            "period must be an integer >= 1, got 0",
        ),
        (lambda: data.adding_problem(4, 1), ValueError, "length must be an integer >= 2, got 1"),
        (
            lambda: data.adding_problem(4.0, 10),
            TypeError,
            "num_samples must be an integer, got 4.0",
        ),
        (lambda: data.copy_task(4, 3, 0), ValueError, "delay must be an integer >= 1, got 0"),
        (
            lambda: data.copy_task(4, 0, 3),
            ValueError,
            "sequence_length must be an integer >= 1, got 0",
        ),
        (
            lambda: data.delayed_recall(4, 3, 3),
            ValueError,
            "length must be greater than delay=3, got length=3",
        ),
        (
            lambda: data.delayed_recall(4, 10, -1),
            ValueError,
            "delay must be an integer >= 0, got -1",
        ),
    ],
)
def test_bad_arguments_are_named(
    call: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()
