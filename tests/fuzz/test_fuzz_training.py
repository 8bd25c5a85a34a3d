"""Bad-input fuzzing of ``rnnax.training.fit``: hyperparameters, data shapes and values,
parameters, the optimizer and the checkpoint folder.

Every bad argument must raise exactly a ``ValueError`` or ``TypeError`` naming it, before any
training (no epoch is run on bad data, no checkpoint is written to a wrong place).
"""

from __future__ import annotations

import functools
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from fuzz_helpers import (
    Case,
    bool_mutations,
    cases_from,
    check,
    int_mutations,
    params,
    stack_params,
)

from rnnax import forecasting, training
from rnnax.forecasting import ForecasterConfig

pytestmark = pytest.mark.usefixtures("standard_promotion")  # optax's Adam is not strict-clean

H, L, N = 2, 5, 8
CONFIG = ForecasterConfig(horizon=H, hidden=3)
MODEL = forecasting.forecaster(CONFIG)
PARAMS = forecasting.ForecasterParams(
    stack_params("lstm", 1, 3),
    forecasting.DenseParams(jnp.full((3, H), 0.1, jnp.float32), jnp.zeros(H, jnp.float32)),
)
INPUTS = np.linspace(-1.0, 1.0, N * L, dtype=np.float32).reshape(N, L, 1)
TARGETS = np.linspace(1.0, -1.0, N * H, dtype=np.float32).reshape(N, H, 1)
DATA = (INPUTS, TARGETS)


def fit(loss_fn=MODEL, p=PARAMS, train_data=DATA, val_data=None, **kwargs):
    options = {"epochs": 1, "batch_size": 4, "progress": False, **kwargs}
    return training.fit(loss_fn, p, train_data, val_data, **options)


# The valid run's settings: cases that train (the known gaps) reuse its compiled epoch.
VALID = {
    "batch_size": 100,
    "learning_rate": np.float32(1e-2),
    "grad_clip_norm": np.float64(1.0),
    "val_data": DATA,
}


def _hyperparameter_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for argument, minimum, allow_none in (
        ("epochs", 1, False),
        ("batch_size", 1, False),
        ("patience", 1, True),
        ("eval_batch_size", 1, True),
        ("checkpoint_every", 1, False),
        ("seed", 0, False),
    ):
        mutations = int_mutations(argument, minimum=minimum, huge=False)
        if allow_none:
            mutations.pop("none")
        mutations = {
            label: (
                value,
                error,
                rf"{argument} must be an integer >= {minimum}"
                if error is ValueError
                else rf"{argument} must be an integer, got",
            )
            for label, (value, error, _) in mutations.items()
        }
        cases |= {
            f"{argument}-{label}": case
            for label, case in cases_from(
                mutations, lambda value, argument=argument: fit(**{argument: value})
            ).items()
        }
    for argument, message in (
        ("learning_rate", r"learning_rate must be a finite positive number or an optax schedule"),
        ("grad_clip_norm", r"grad_clip_norm must be a positive number"),
    ):
        table = {
            "zero": 0.0,
            "negative": -1e-3,
            "nan": float("nan"),
            "string": "0.01",
            "bool": True,
            "list": [0.01],
        }
        if argument == "grad_clip_norm":
            table.pop("bool")  # True is a number here (1.0); refusing it is not this suite's call
        cases |= {
            f"{argument}-{label}": Case(
                functools.partial(fit, **{argument: value}),
                TypeError if isinstance(value, (str, bool, list)) else ValueError,
                message,
            )
            for label, value in table.items()
        }
    cases |= {
        "min_delta-negative": Case(
            lambda: fit(min_delta=-1.0),
            ValueError,
            r"min_delta must be a finite number >= 0, got -1.0",
        ),
        "min_delta-nan": Case(
            lambda: fit(min_delta=float("nan")),
            ValueError,
            r"min_delta must be a finite number >= 0, got nan",
        ),
        "min_delta-string": Case(
            lambda: fit(min_delta="0"), TypeError, r"min_delta must be a real number"
        ),
        "on_divergence-unknown": Case(
            lambda: fit(on_divergence="ignore"),
            ValueError,
            r"on_divergence must be one of \['warn', 'raise'\], got 'ignore'",
        ),
        "on_divergence-none": Case(
            lambda: fit(on_divergence=None),
            TypeError,
            r"on_divergence must be one of \['warn', 'raise'\]",
        ),
        "on_divergence-list": Case(
            lambda: fit(on_divergence=["raise"]),
            TypeError,
            r"on_divergence must be one of \['warn', 'raise'\]",
        ),
        "optimizer-with_learning_rate": Case(
            lambda: fit(optimizer=optax.sgd(0.1), learning_rate=0.1),
            ValueError,
            r"pass learning_rate only with the default optimizer",
        ),
        "loss_fn-none": Case(
            lambda: fit(loss_fn=None),
            TypeError,
            r"loss_fn must be callable or a Forecaster, got NoneType",
        ),
        "loss_fn-string": Case(
            lambda: fit(loss_fn="mse"),
            TypeError,
            r"loss_fn must be callable or a Forecaster, got str",
        ),
        "loss_fn-config": Case(
            lambda: fit(loss_fn=CONFIG),
            TypeError,
            r"loss_fn must be callable or a Forecaster, got ForecasterConfig",
        ),
        "learning_rate-inf": Case(
            lambda: fit(**{**VALID, "learning_rate": float("inf")}),
            ValueError,
            r"learning_rate must be a finite positive number",
        ),
        "min_delta-inf": Case(
            lambda: fit(**VALID, min_delta=float("inf"), patience=1, epochs=2),
            ValueError,
            r"min_delta must be a finite number",
        ),
        "seed-huge": Case(lambda: fit(seed=2**70), ValueError, r"seed must be an integer"),
        "optimizer-string": Case(
            lambda: fit(optimizer="adam"),
            TypeError,
            r"optimizer must be an optax.GradientTransformation",
        ),
        "optimizer-int": Case(lambda: fit(optimizer=3), TypeError, r"optimizer must be"),
        "restore_best-string": Case(
            lambda: fit(**VALID, restore_best="no"), TypeError, r"restore_best must be a bool"
        ),
        "progress-string": Case(
            lambda: fit(**VALID, epochs=2, progress="no"), TypeError, r"progress must be a bool"
        ),
    }
    return cases


def _data_cases() -> dict[str, Case]:
    nan_inputs = INPUTS.copy()
    nan_inputs[3, 2, 0] = np.nan
    inf_targets = TARGETS.copy()
    inf_targets[5, 0, 0] = np.inf
    negative_inf_inputs = INPUTS.copy()
    negative_inf_inputs[0, 0, 0] = -np.inf
    cases = {
        "train_data-nan_inputs": Case(
            lambda: fit(train_data=(nan_inputs, TARGETS)),
            ValueError,
            r"train_data.inputs has non-finite values \(NaN or Inf\) in 1 of 8 examples, first at example 3",
        ),
        "train_data-inf_targets": Case(
            lambda: fit(train_data=(INPUTS, inf_targets)),
            ValueError,
            r"train_data.targets has non-finite values \(NaN or Inf\) in 1 of 8 examples, first at example 5",
        ),
        "train_data-negative_inf": Case(
            lambda: fit(train_data=(negative_inf_inputs, TARGETS)),
            ValueError,
            r"train_data.inputs has non-finite values",
        ),
        "train_data-int_inputs": Case(
            lambda: fit(train_data=(INPUTS.astype(np.int32), TARGETS)),
            TypeError,
            r"inputs must have a floating dtype \(float32, \.\.\.\), got int32",
        ),
        "train_data-int_targets": Case(
            lambda: fit(train_data=(INPUTS, TARGETS.astype(np.int32))),
            TypeError,
            r"targets must have a floating dtype",
        ),
        "train_data-complex": Case(
            lambda: fit(train_data=(INPUTS.astype(complex), TARGETS)),
            ValueError,
            r"train_data.inputs must be a numeric array, got dtype complex128",
        ),
        "train_data-strings": Case(
            lambda: fit(train_data=(np.full(INPUTS.shape, "a"), TARGETS)),
            ValueError,
            r"train_data.inputs must be a numeric array, got dtype <U1",
        ),
        "train_data-objects": Case(
            lambda: fit(train_data=(np.full(INPUTS.shape, None, dtype=object), TARGETS)),
            ValueError,
            r"train_data.inputs must be a numeric array, got dtype object",
        ),
        "train_data-example_counts_differ": Case(
            lambda: fit(train_data=(INPUTS, TARGETS[:4])),
            ValueError,
            r"every array of train_data must have the same number of examples \(first axis\), got \{'train_data.inputs': 8, 'train_data.targets': 4\}",
        ),
        "train_data-wrong_features": Case(
            lambda: fit(train_data=(np.ones((N, L, 2), np.float32), TARGETS)),
            ValueError,
            r"inputs must have shape \[\.\.\., lookback, input_size=1\]",
        ),
        "train_data-wrong_horizon": Case(
            lambda: fit(train_data=(INPUTS, np.ones((N, H + 1, 1), np.float32))),
            ValueError,
            r"targets must have the forecast's shape \(4, 2, 1\)",
        ),
        "train_data-lookback_zero": Case(
            lambda: fit(train_data=(INPUTS[:, :0], TARGETS)),
            ValueError,
            r"inputs must have at least one time step \(lookback >= 1\)",
        ),
        "train_data-empty": Case(
            lambda: fit(train_data=(INPUTS[:0], TARGETS[:0])),
            ValueError,
            r"train_data has no examples",
        ),
        "train_data-scalar_leaf": Case(
            lambda: fit(train_data=(np.float32(1.0), TARGETS)),
            ValueError,
            r"train_data.inputs must have a leading example axis, got a 0-d value",
        ),
        "train_data-none": Case(
            lambda: fit(train_data=None),
            TypeError,
            r"batch must be a ForecastBatch, rnnax.data.Windows or an \(inputs, targets\[, future_covariates\[, static_covariates\]\]\) tuple, got NoneType",
        ),
        "train_data-one_tuple": Case(
            lambda: fit(train_data=(INPUTS,)),
            TypeError,
            r"batch must be a ForecastBatch.* got tuple",
        ),
        "train_data-dict": Case(
            lambda: fit(train_data={"inputs": INPUTS, "targets": TARGETS}),
            TypeError,
            r"batch must be a ForecastBatch.* got dict",
        ),
        "val_data-nan": Case(
            lambda: fit(val_data=(nan_inputs, TARGETS)),
            ValueError,
            r"val_data.inputs has non-finite values",
        ),
        "val_data-empty": Case(
            lambda: fit(val_data=(INPUTS[:0], TARGETS[:0])),
            ValueError,
            r"val_data has no examples; pass None instead of empty validation data",
        ),
        "val_data-wrong_features": Case(
            lambda: fit(val_data=(np.ones((N, L, 2), np.float32), TARGETS)),
            ValueError,
            r"inputs must have shape \[\.\.\., lookback, input_size=1\]",
        ),
        "val_data-counts_differ": Case(
            lambda: fit(val_data=(INPUTS[:3], TARGETS)),
            ValueError,
            r"every array of val_data must have the same number of examples",
        ),
        "params-none": Case(
            lambda: fit(p=None),
            TypeError,
            r"params must be ForecasterParams \(from init\), got NoneType",
        ),
        "params-other_config": Case(
            lambda: fit(p=forecasting.ForecasterParams(stack_params("lstm", 1, 5), PARAMS.head)),
            ValueError,
            r"params.encoder must have num_layers, directions, input_size and hidden = \(1, 1, 1, 3\)",
        ),
        "params-gru_for_lstm": Case(
            lambda: fit(p=PARAMS._replace(encoder=stack_params("gru", 1, 3))),
            TypeError,
            r"params.encoder holds GRUParams but the config has cell='lstm'",
        ),
        "params-string": Case(lambda: fit(p="abc"), TypeError, r"params must be"),
        "loss_fn-not_scalar": Case(
            lambda: fit(loss_fn=lambda p, batch, key: jnp.ones(3) * p["w"], p={"w": jnp.ones(())}),
            ValueError,
            r"loss_fn must return a scalar",
        ),
        "params-int_leaf": Case(
            lambda: fit(
                loss_fn=lambda p, batch, key: jnp.sum(p["w"]).astype(jnp.float32),
                p={"w": jnp.ones((), jnp.int32)},
            ),
            TypeError,
            r"params\['w'\] must have a floating dtype",
        ),
    }
    return cases


def _checkpoint_cases() -> dict[str, Case]:
    restart = cases_from(
        {
            label: (value, error, r"restart must be a bool \(True or False\), got")
            for label, (value, error, _) in bool_mutations("restart").items()
        },
        lambda value: fit(**VALID, checkpoint_dir="run", restart=value),
    )
    return {
        **{f"restart-{label}": case for label, case in restart.items()},
        "checkpoint_dir-int": Case(
            lambda: fit(checkpoint_dir=123), TypeError, r"checkpoint_dir must be a path"
        ),
        "checkpoint_dir-empty_string": Case(
            lambda: fit(**VALID, checkpoint_dir=""), ValueError, r"checkpoint_dir"
        ),
    }


HYPERPARAMETER_CASES = _hyperparameter_cases()
DATA_CASES = _data_cases()


@pytest.mark.parametrize("case", params(HYPERPARAMETER_CASES))
def test_fit_bad_hyperparameter(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # nothing a case writes may land in the checkout
    check(case)


@pytest.mark.parametrize("case", params(DATA_CASES))
def test_fit_bad_data_or_params(case: Case) -> None:
    check(case)


@pytest.mark.parametrize("case", params(_checkpoint_cases()))
def test_fit_bad_checkpoint_dir(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    check(case)


def test_fit_checkpoint_dir_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    check(
        Case(
            lambda: fit(**VALID, checkpoint_dir=blocker),
            ValueError,
            r"checkpoint_dir .* is not a folder",
        )
    )


def test_fit_checkpoint_dir_under_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    check(
        Case(
            lambda: fit(**VALID, checkpoint_dir=blocker / "sub"),
            ValueError,
            r"checkpoint_dir .* (not a folder|not writable)",
        )
    )


def test_fit_checkpoint_dir_with_a_corrupt_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "checkpoint.msgpack").write_bytes(b"garbage")
    check(
        Case(
            lambda: fit(checkpoint_dir=tmp_path), ValueError, r"is not an rnnax training checkpoint"
        )
    )


def test_fit_valid_call_still_works(tmp_path: Path) -> None:
    result = fit(
        **VALID,
        epochs=np.int64(2),
        patience=None,
        min_delta=0,
        seed=np.int64(3),
        checkpoint_dir=tmp_path / "run",
    )
    assert result.stop_reason == "completed" and result.steps == 2
    assert np.isfinite(result.history.train_loss).all()
    # Resuming the finished run from its checkpoint takes no further step.
    again = fit(**VALID, epochs=2, seed=3, checkpoint_dir=tmp_path / "run")
    assert again.steps == 2 and again.resumed_from_epoch == 2
    # A NumPy bool is a bool: restart trains the same run afresh, to the same numbers.
    fresh = fit(**VALID, epochs=2, seed=3, checkpoint_dir=tmp_path / "run", restart=np.True_)
    assert fresh.resumed_from_epoch is None and fresh.steps == 2
    assert jax.tree.all(
        jax.tree.map(lambda a, b: bool((a == b).all()), fresh.params, result.params)
    )
    assert jax.tree.all(
        jax.tree.map(lambda a, b: bool((a == b).all()), again.params, result.params)
    )
