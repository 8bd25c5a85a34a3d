"""Bad-input fuzzing of saved forecasters: ``rnnax.forecasting.save``, ``load`` and
``SavedForecaster.predict``.

Every mutation of a valid call must raise exactly a ``ValueError`` or ``TypeError`` naming the
argument, before anything is written or compiled.
"""

from __future__ import annotations

import functools
import pathlib
import tempfile

import jax.numpy as jnp
import numpy as np
import pytest
from fuzz_helpers import (
    Case,
    cases_from,
    check,
    int_mutations,
    merge,
    not_arrays,
    params,
    stack_params,
)

import rnnax
from rnnax import data, forecasting
from rnnax.forecasting import ForecasterConfig

H = 2  # horizon
L = 4  # lookback
# Never written: every case fails before the file (or its directory) is made.
NEVER_WRITTEN = pathlib.Path(tempfile.gettempdir()) / "rnnax-fuzz-saved-never-written" / "m"


def _params(config: ForecasterConfig) -> forecasting.ForecasterParams:
    """Parameters of ``config``'s shapes without ``init`` (no compilation)."""
    steps = config.horizon if config.strategy == "direct" else 1
    outputs = steps * config.outputs_per_step
    head = forecasting.DenseParams(
        jnp.full((config.hidden, outputs), 0.1, jnp.float32), jnp.zeros(outputs, jnp.float32)
    )
    return forecasting.ForecasterParams(
        stack_params(config.cell, config.input_size, config.hidden, num_layers=config.num_layers),
        head,
    )


CONFIG = ForecasterConfig(horizon=H, input_size=2, hidden=3)
PARAMS = _params(CONFIG)
SCALER = data.fit_standard_scaler(np.arange(20.0).reshape(10, 2))
AUTOREGRESSIVE = ForecasterConfig(horizon=H, input_size=2, hidden=3, strategy="autoregressive")


def _save(**changes):
    arguments = {
        "path": NEVER_WRITTEN,
        "forecaster_or_config": CONFIG,
        "params": PARAMS,
        "scaler": SCALER,
        "columns": ("y", "x"),
        "period": 12,
        "lookback": L,
        "metadata": {"note": "fuzz"},
    } | changes
    path = arguments.pop("path")
    model = arguments.pop("forecaster_or_config")
    weights = arguments.pop("params")
    return forecasting.save(path, model, weights, **arguments)


def _scaler(center, scale) -> data.Scaler:
    return data.Scaler(np.asarray(center, np.float64), np.asarray(scale, np.float64))


# ------------------------------------------------------------------------------------------
# save
# ------------------------------------------------------------------------------------------
def _save_cases() -> dict[str, Case]:
    path_error = r"path must be a str or os\.PathLike"
    cases = {
        "path-none": Case(lambda: _save(path=None), TypeError, path_error),
        "path-int": Case(lambda: _save(path=3), TypeError, path_error),
        "path-bytes": Case(lambda: _save(path=b"m"), TypeError, path_error),
        "path-empty": Case(lambda: _save(path=""), ValueError, r"path must not be empty"),
        "path-directory": Case(
            lambda: _save(path=tempfile.gettempdir()),
            ValueError,
            r"path must be a file to write, got the directory",
        ),
    }
    model_error = r"forecaster_or_config must be a Forecaster or a ForecasterConfig, got"
    for label, value in {
        "none": None,
        "dict": {"horizon": H},
        "params": PARAMS,
        "string": "lstm",
    }.items():
        cases[f"forecaster_or_config-{label}"] = Case(
            functools.partial(_save, forecaster_or_config=value), TypeError, model_error
        )
    custom = ForecasterConfig(horizon=H, input_size=2, hidden=3, cell=rnnax.LSTM._replace(name="x"))
    cases["forecaster_or_config-unregistered_cell"] = Case(
        lambda: _save(forecaster_or_config=custom),
        ValueError,
        r"forecaster_or_config has cell Cell\('x'\), which is not registered.*register_cell",
    )
    cases["forecaster_or_config-forecaster_of_other_config"] = Case(
        lambda: _save(forecaster_or_config=forecasting.forecaster(AUTOREGRESSIVE)),
        ValueError,
        r"params\.head\.w must have shape \(3, 1\) for this config",
    )
    cases |= {
        "params-none": Case(lambda: _save(params=None), TypeError, r"params must be"),
        "params-tuple": Case(lambda: _save(params=tuple(PARAMS)), TypeError, r"params must be"),
        "params-other_hidden": Case(
            lambda: _save(params=_params(ForecasterConfig(horizon=H, input_size=2, hidden=4))),
            ValueError,
            r"params\.encoder must have num_layers, directions, input_size and hidden",
        ),
        "params-other_cell": Case(
            lambda: _save(
                params=_params(ForecasterConfig(horizon=H, input_size=2, hidden=3, cell="gru"))
            ),
            TypeError,
            r"params\.encoder holds GRUParams but the config has cell='lstm'",
        ),
    }
    return cases


def _scaler_cases() -> dict[str, Case]:
    cases = {
        "not_a_scaler": Case(
            lambda: _save(scaler=(0.0, 1.0)), TypeError, r"scaler must be an rnnax\.data\.Scaler"
        ),
        "dict": Case(lambda: _save(scaler={}), TypeError, r"scaler must be an rnnax\.data\.Scaler"),
        "string_statistics": Case(
            lambda: _save(scaler=data.Scaler(np.array(["a", "b"]), np.ones(2))),
            TypeError,
            r"scaler\.center must be a numeric \(real\) array",
        ),
        "wrong_features": Case(
            lambda: _save(scaler=_scaler([0.0] * 3, [1.0] * 3)),
            ValueError,
            r"scaler\.center must have shape \(\) or \(input_size,\) = \(2,\).*got \(3,\)",
        ),
        "matrix": Case(
            lambda: _save(scaler=_scaler(np.zeros((2, 2)), np.ones((2, 2)))),
            ValueError,
            r"scaler\.center must have shape \(\) or \(input_size,\)",
        ),
        "mismatched_shapes": Case(
            lambda: _save(scaler=_scaler(0.0, [1.0, 1.0])),
            ValueError,
            r"scaler\.center and scaler\.scale must have one shape",
        ),
        "zero_scale": Case(
            lambda: _save(scaler=_scaler([0.0, 0.0], [1.0, 0.0])),
            ValueError,
            r"scale must be > 0",
        ),
        "negative_scale": Case(
            lambda: _save(scaler=_scaler(0.0, -1.0)), ValueError, r"scale must be > 0"
        ),
        "nan_center": Case(
            lambda: _save(scaler=_scaler([np.nan, 0.0], [1.0, 1.0])),
            ValueError,
            r"scaler\.center must be finite",
        ),
        "inf_scale": Case(
            lambda: _save(scaler=_scaler(0.0, np.inf)), ValueError, r"scaler\.scale must be finite"
        ),
    }
    return cases


def _extras_cases() -> dict[str, Case]:
    columns_type = r"columns must be a tuple of str or None"
    columns_value = r"columns must be input_size=2 distinct, non-empty names"
    cases = {
        "columns-string": Case(lambda: _save(columns="yx"), TypeError, columns_type),
        "columns-ints": Case(lambda: _save(columns=(0, 1)), TypeError, columns_type),
        "columns-dict": Case(lambda: _save(columns={"y": 0, "x": 1}), TypeError, columns_type),
        "columns-array": Case(lambda: _save(columns=np.array(["y", "x"])), TypeError, columns_type),
        "columns-too_few": Case(lambda: _save(columns=("y",)), ValueError, columns_value),
        "columns-too_many": Case(lambda: _save(columns=["y", "x", "z"]), ValueError, columns_value),
        "columns-duplicate": Case(lambda: _save(columns=("y", "y")), ValueError, columns_value),
        "columns-empty_name": Case(lambda: _save(columns=("y", "")), ValueError, columns_value),
    }
    for argument in ("period", "lookback"):
        mutations = {
            label: (value, error, rf"{argument} must be an integer")
            for label, (value, error, _) in int_mutations(argument).items()
            if value is not None  # None is valid: not saved
        }
        cases |= {
            f"{argument}-{label}": case
            for label, case in cases_from(
                mutations, lambda value, argument=argument: _save(**{argument: value})
            ).items()
        }
    metadata_json = r"metadata must hold only JSON values"
    cases |= {
        "metadata-list": Case(
            lambda: _save(metadata=[1]), TypeError, r"metadata must be a dict with str keys"
        ),
        "metadata-int_key": Case(
            lambda: _save(metadata={1: "a"}), TypeError, r"metadata must be a dict with str keys"
        ),
        "metadata-array_value": Case(
            lambda: _save(metadata={"a": np.ones(2)}), TypeError, metadata_json
        ),
        "metadata-numpy_scalar": Case(
            lambda: _save(metadata={"a": np.float32(1.0)}), TypeError, metadata_json
        ),
        "metadata-set_value": Case(lambda: _save(metadata={"a": {1}}), TypeError, metadata_json),
        "metadata-nan": Case(
            lambda: _save(metadata={"a": float("nan")}), ValueError, metadata_json
        ),
        "metadata-inf": Case(
            lambda: _save(metadata={"a": [float("inf")]}), ValueError, metadata_json
        ),
        "metadata-tuple": Case(
            lambda: _save(metadata={"a": (1, 2)}),
            ValueError,
            r"metadata must come back from JSON unchanged \(lists, not tuples",
        ),
        "metadata-nested_int_key": Case(
            lambda: _save(metadata={"a": {1: 2}}),
            ValueError,
            r"metadata must come back from JSON unchanged",
        ),
    }
    return cases


SAVE_CASES = merge(
    _save_cases(), _scaler_cases(), _extras_cases(), prefix=["save", "save-scaler", "save"]
)


@pytest.mark.parametrize("case", params(SAVE_CASES))
def test_save_bad_argument(case: Case) -> None:
    check(case)
    assert not NEVER_WRITTEN.parent.exists()


@pytest.mark.parametrize(
    "path, error, match",
    [
        pytest.param(
            None, TypeError, r"path must be a str or os\.PathLike, got NoneType", id="none"
        ),
        pytest.param(3, TypeError, r"path must be a str or os\.PathLike, got int", id="int"),
        pytest.param(b"m", TypeError, r"path must be a str or os\.PathLike, got bytes", id="bytes"),
        pytest.param(["m"], TypeError, r"path must be a str or os\.PathLike, got list", id="list"),
        pytest.param("", ValueError, r"path must not be empty", id="empty"),
    ],
)
def test_load_bad_path(path, error, match) -> None:
    check(Case(lambda: forecasting.load(path), error, match))


# ------------------------------------------------------------------------------------------
# SavedForecaster.predict
# ------------------------------------------------------------------------------------------
SAVED = forecasting.SavedForecaster(CONFIG, PARAMS, scaler=SCALER, lookback=L)
SAVED_AUTOREGRESSIVE = forecasting.SavedForecaster(
    AUTOREGRESSIVE, _params(AUTOREGRESSIVE), lookback=L
)
HISTORY = np.ones((L + 2, 2))


def _predict_cases() -> dict[str, Case]:
    history_shape = r"history must have shape \[\.\.\., T, input_size=2\]"
    cases = {
        "no_lookback": Case(
            lambda: forecasting.SavedForecaster(CONFIG, PARAMS).predict(HISTORY),
            ValueError,
            r"predict needs the lookback",
        ),
        "history-1d": Case(lambda: SAVED.predict(np.ones(L)), ValueError, history_shape),
        "history-scalar": Case(lambda: SAVED.predict(1.0), ValueError, history_shape),
        "history-wrong_columns": Case(
            lambda: SAVED.predict(np.ones((L, 3))), ValueError, history_shape
        ),
        "history-too_short": Case(
            lambda: SAVED.predict(np.ones((L - 1, 2))),
            ValueError,
            rf"history must have at least lookback={L} time steps, got {L - 1}",
        ),
        "history-ragged": Case(
            lambda: SAVED.predict([[1.0, 2.0], [3.0]]), TypeError, r"history must be a numeric"
        ),
        "future_covariates-not_used": Case(
            lambda: SAVED.predict(HISTORY, future_covariates=np.ones((H, 1))),
            ValueError,
            r"future_covariates were given but this config reads none",
        ),
        "future_covariates-missing": Case(
            lambda: SAVED_AUTOREGRESSIVE.predict(HISTORY),
            ValueError,
            r"future_covariates \[\.\.\., horizon=2, 1\] are required",
        ),
        "future_covariates-wrong_features": Case(
            lambda: SAVED_AUTOREGRESSIVE.predict(HISTORY, future_covariates=np.ones((H, 2))),
            ValueError,
            r"future_covariates must have shape \[\.\.\., horizon, num_covariates=1\]",
        ),
        "future_covariates-wrong_horizon": Case(
            lambda: SAVED_AUTOREGRESSIVE.predict(HISTORY, future_covariates=np.ones((H + 1, 1))),
            ValueError,
            r"future_covariates must have shape \(2, 1\)",
        ),
    }
    for label, value in not_arrays().items():
        if label == "python_float":
            continue  # a 0-d array: refused for its shape (history-scalar)
        cases[f"history-{label}"] = Case(
            functools.partial(SAVED.predict, value), TypeError, r"history must be a numeric"
        )
    cases["history-strings"] = Case(
        lambda: SAVED.predict(np.full((L, 2), "a")), TypeError, r"history must be a numeric"
    )
    return cases


@pytest.mark.parametrize("case", params(_predict_cases()))
def test_predict_bad_argument(case: Case) -> None:
    check(case)
