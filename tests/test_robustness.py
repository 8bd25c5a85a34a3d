"""Numerical robustness: long sequences, saturating inputs and weights, clipping, divergence.

* LSTM and both GRU forms stay finite over T = 10,000 steps with inputs of +-1e4 and weights
  scaled by 100 (every gate saturated), forward and gradient (saturated gradients are 0, never
  NaN), in float32 and bfloat16, for the strategies ``scan``, ``custom_vjp`` and ``remat``.
  Every case of one dtype runs in one compiled function (vmapped over parameter sets).
* ``fit(grad_clip_norm=...)`` bounds every update, however huge the gradient.
* The divergence guard stops on an Inf at a given step in the middle of an epoch, with
  bfloat16 parameters and with a learning rate that blows training up, keeping the last good
  state in memory and on disk.
"""

from __future__ import annotations

import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import rnnax
from rnnax import training
from rnnax.training import DivergenceWarning

INPUT, HIDDEN = 2, 3
FORMS = ("lstm", "gru", "gru_reset_after")
STRATEGIES = ("scan", "custom_vjp", "remat")
# Parameter sets, vmapped: the initialization's scale, then weights x100 with every bias +10 or
# -10 (gates pinned open or shut).
PARAMETER_SETS = ((1.0, 0.0), (100.0, 10.0), (100.0, -10.0))


def _params(form: str, rng: np.random.Generator, scale: float, bias: float) -> Any:
    """Glorot-uniform input and orthogonal recurrent blocks (as ``*_init``, drawn in NumPy so
    nothing needs compiling), times ``scale``; every bias ``bias``."""
    gates = 4 if form == "lstm" else 3
    limit = np.sqrt(6.0 / (INPUT + HIDDEN))
    w_x = rng.uniform(-limit, limit, size=(INPUT, gates * HIDDEN))
    w_h = np.concatenate(
        [np.linalg.qr(rng.normal(size=(HIDDEN, HIDDEN)))[0] for _ in range(gates)], axis=1
    )
    b = np.full(gates * HIDDEN, bias)
    w_x, w_h = scale * w_x, scale * w_h
    if form == "lstm":
        return rnnax.LSTMParams(w_x, w_h, b)
    return rnnax.GRUParams(w_x, w_h, b, b)


def _inputs(rng: np.random.Generator, length: int) -> np.ndarray:
    """``[3, T, I]``: unit normal, +-1e4 with random signs, and +1e4 at every step."""
    return np.stack(
        [
            rng.normal(size=(length, INPUT)),
            1e4 * rng.choice([-1.0, 1.0], size=(length, INPUT)),
            np.full((length, INPUT), 1e4),
        ]
    )


def _run(params: Any, xs: jax.Array, form: str, strategy: str) -> tuple[jax.Array, jax.Array]:
    """``(ys, the carry the loss also reads)``: the LSTM's cell state, which can grow with T."""
    if form == "lstm":
        state, ys = rnnax.lstm(params, xs, strategy=strategy)
        return ys, state.c
    h, ys = rnnax.gru(params, xs, reset_after=form == "gru_reset_after", strategy=strategy)
    return ys, h


def _check_all_finite(dtype: Any, lengths: dict[str, int]) -> None:
    """One compiled value-and-gradient of every form and strategy (``lengths`` gives each
    strategy's T); checks outputs, carries and gradients are finite and ``|ys| <= 1``."""
    rng = np.random.default_rng(0)
    sets = len(PARAMETER_SETS)
    params = {
        form: jax.tree.map(
            lambda *leaves: jnp.asarray(np.stack(leaves), dtype),
            *[_params(form, rng, scale, bias) for scale, bias in PARAMETER_SETS],
        )
        for form in FORMS
    }
    inputs = {
        length: jnp.asarray(np.broadcast_to(_inputs(rng, length), (sets, 3, length, INPUT)), dtype)
        for length in sorted(set(lengths.values()))
    }
    # Each (form, strategy) differentiates its own copy of the parameters and inputs, so that
    # each gets its own gradients.
    cases = [(form, strategy) for form in FORMS for strategy in STRATEGIES]
    arguments = {case: (params[case[0]], inputs[lengths[case[1]]]) for case in cases}

    def objective(arguments: Any) -> tuple[jax.Array, Any]:
        outputs = {case: _run(*arguments[case], *case) for case in cases}
        total = sum(jnp.sum(leaf.astype(jnp.float32)) for leaf in jax.tree.leaves(outputs))
        return total, outputs

    gradients, outputs = jax.jit(jax.vmap(jax.grad(objective, has_aux=True)))(arguments)
    problems = []
    for case in cases:
        what = f"{case[0]}/{case[1]}/{jnp.dtype(dtype).name}/T={lengths[case[1]]}"
        ys, carry = outputs[case]
        if not (bool(jnp.isfinite(ys).all()) and bool(jnp.isfinite(carry).all())):
            problems.append(f"{what}: non-finite outputs")
        elif float(jnp.max(jnp.abs(ys.astype(jnp.float32)))) > 1.0:
            problems.append(f"{what}: |ys| > 1")
        d_params, d_inputs = gradients[case]
        for field, leaf in [*zip(d_params._fields, d_params, strict=True), ("xs", d_inputs)]:
            if not bool(jnp.isfinite(leaf).all()):
                problems.append(f"{what}: non-finite gradient of {field}")
    assert not problems, problems


def test_long_saturated_sequences_stay_finite_in_float32():
    _check_all_finite(jnp.float32, dict.fromkeys(STRATEGIES, 10_000))


def test_long_saturated_sequences_stay_finite_in_bfloat16():
    # "scan" runs 1,000 steps here: rnnax stacks its own bfloat16 outputs in float32 (XLA:CPU
    # would convert the whole stacked buffer at every step), but autodiff through lax.scan
    # stacks JAX's saved bfloat16 residuals itself, so its gradient still costs O(T^2), about
    # 8 s at T = 10,000. "custom_vjp" and "remat" run the full 10,000.
    _check_all_finite(jnp.bfloat16, {"scan": 1_000, "custom_vjp": 10_000, "remat": 10_000})


# ----------------------------------------------------------------------------- clipping


def _norm_recorder() -> optax.GradientTransformation:
    """SGD with learning rate 1 whose state records the largest update norm it applied."""

    def init(params: Any) -> jax.Array:
        del params
        return jnp.zeros((), jnp.float32)

    def update(updates: Any, state: jax.Array, params: Any = None) -> tuple[Any, jax.Array]:
        del params
        leaves = jax.tree.leaves(updates)
        norm = jnp.sqrt(sum(jnp.sum(jnp.square(leaf.astype(jnp.float32))) for leaf in leaves))
        return jax.tree.map(jnp.negative, updates), jnp.maximum(state, norm)

    return optax.GradientTransformation(init, update)


_RECORDER = _norm_recorder()  # one optimizer, one loss: both clipping tests share a compilation


def _scaled_loss(params: Any, batch: Any, key: Any) -> jax.Array:
    x, scale = batch
    # A gradient of about `scale` per entry, in a new direction every step; the loss is finite.
    return jnp.mean(scale * jnp.tanh(x @ params["w"] + params["b"]))


def _huge_gradient_fit(scale: float, epochs: int = 4) -> training.FitResult:
    inputs = np.random.default_rng(0).normal(size=(32, 16)).astype(np.float32)
    scales = np.full((32,), scale, np.float32)
    params = {"w": jnp.zeros((16,), jnp.float32), "b": jnp.zeros((), jnp.float32)}
    return training.fit(
        _scaled_loss,
        params,
        (inputs, scales),
        epochs=epochs,
        batch_size=8,
        optimizer=_RECORDER,
        grad_clip_norm=0.5,
        progress=False,
    )


def test_gradient_clipping_bounds_every_update_of_a_huge_gradient():
    result = _huge_gradient_fit(1e12)
    assert result.stop_reason == "completed" and result.steps == 16
    largest = float(result.opt_state[1])  # (clipping state, the recorder's state)
    assert largest == pytest.approx(0.5, rel=1e-5)
    assert all(np.isfinite(loss) for loss in result.history.train_loss)


def test_gradient_clipping_bounds_and_applies_an_update_whose_norm_overflows():
    result = _huge_gradient_fit(1e30, epochs=1)
    assert float(result.opt_state[1]) == pytest.approx(0.5, rel=1e-5)


# -------------------------------------------------------------------------- divergence guard


def _trees_equal(a: Any, b: Any) -> bool:
    leaves_a, leaves_b = jax.tree.leaves(a), jax.tree.leaves(b)
    return len(leaves_a) == len(leaves_b) and all(
        x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(leaves_a, leaves_b, strict=True)
    )


def test_an_inf_at_a_given_step_mid_epoch_stops_and_keeps_the_state_before_it(tmp_path):
    """A loss that turns Inf at global step 13 (epoch 3 of 4-step epochs, its second step):
    training stops there, keeps exactly the 13 good steps, in memory and in the checkpoint."""
    bad_step, steps_per_epoch = 13, 4
    x = np.linspace(-1.0, 1.0, 4 * steps_per_epoch, dtype=np.float32)[:, None]

    def loss(params: Any, batch: Any, key: Any) -> jax.Array:
        inputs, targets = batch
        fit_loss = jnp.mean(jnp.square(inputs * params["w"] - targets))
        # "clock" grows by exactly 1 per SGD step (gradient -1, learning rate 1).
        poison = jnp.where(params["clock"] >= bad_step - 0.5, jnp.inf, 0.0)
        return fit_loss - params["clock"] + poison

    params = {"w": jnp.zeros((), jnp.float32), "clock": jnp.zeros((), jnp.float32)}
    options = {
        "epochs": 10,
        "batch_size": 4,
        "optimizer": optax.sgd(1.0),
        "checkpoint_dir": tmp_path,
        "progress": False,
    }
    message = rf"diverged at epoch 3, step {bad_step}: the loss was inf"
    with pytest.warns(DivergenceWarning, match=message):
        result = training.fit(loss, params, (x, 2.0 * x), **options)
    assert result.stop_reason == "diverged" and result.epochs_completed == 4
    record = result.diverged
    assert (record.epoch, record.step, record.loss) == (3, bad_step, float("inf"))
    assert result.steps == bad_step and result.history.steps[-1] == bad_step
    assert float(result.last_params["clock"]) == bad_step  # exactly the 13 good steps
    # The diverged epoch's training loss is the mean over its good step.
    assert all(np.isfinite(loss) for loss in result.history.train_loss)

    saved = training.load_checkpoint(tmp_path, result.state)
    assert saved.stop_reason == "diverged" and saved.diverged == result.diverged
    assert _trees_equal(saved.params, result.last_params)
    assert _trees_equal(saved.opt_state, result.opt_state)
    # Run again on that checkpoint: it is not continued past the divergence, and says so again.
    with pytest.warns(DivergenceWarning, match="diverged at epoch 3"):
        again = training.fit(loss, params, (x, 2.0 * x), **options)
    assert again.steps == bad_step and _trees_equal(again.last_params, result.last_params)


def test_a_bfloat16_model_blown_up_by_its_learning_rate_stops_with_the_last_good_state():
    rng = np.random.default_rng(1)
    inputs = rng.normal(size=(16, INPUT)).astype(np.float32)
    targets = inputs.sum(axis=1, keepdims=True)
    params = {
        "hidden": jnp.asarray(rng.normal(size=(INPUT, HIDDEN)), jnp.bfloat16),
        "head": jnp.full((HIDDEN, 1), 0.1, jnp.bfloat16),
    }

    def loss(params: Any, batch: Any, key: Any) -> jax.Array:
        x, y = batch  # float32 data (fit does not take bfloat16 data yet: see below)
        prediction = jnp.tanh(x.astype(jnp.bfloat16) @ params["hidden"]) @ params["head"]
        return jnp.mean(jnp.square(prediction.astype(jnp.float32) - y))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = training.fit(
            loss,
            params,
            (inputs, targets),
            epochs=50,
            batch_size=4,
            optimizer=optax.sgd(1e36),
            progress=False,
        )
    assert [type(w.message) for w in caught] == [DivergenceWarning]
    assert result.stop_reason == "diverged" and 0 < result.steps < 50 * 4
    assert result.steps == result.diverged.step
    for leaf in jax.tree.leaves(result.last_params):
        assert leaf.dtype == jnp.bfloat16 and bool(jnp.isfinite(leaf).all())
    # The last good state is finite but already huge: the step after it overflowed.
    leaves = jax.tree.leaves(result.last_params)
    assert max(float(jnp.max(jnp.abs(leaf.astype(jnp.float32)))) for leaf in leaves) > 1e30


def test_bfloat16_data_is_accepted_and_its_non_finite_values_reported():
    x = np.ones((8, 2), jnp.bfloat16)
    x[5, 1] = np.inf

    def loss(params: Any, batch: Any, key: Any) -> jax.Array:
        return jnp.mean(batch.astype(jnp.float32) * params)

    with pytest.raises(ValueError, match=r"train_data has non-finite values .* first at example 5"):
        training.fit(loss, jnp.zeros((), jnp.float32), x, epochs=1, progress=False)
