"""Bad-input fuzzing of the Flax modules (``rnnax.nnx``, ``rnnax.linen``) and the converters of
``rnnax.interop`` (PyTorch, Flax linen and nnx, Equinox).

Wrong module types, parameter shapes and dtypes, constructor arguments and calls must raise
exactly a ``ValueError`` or ``TypeError`` naming what is wrong; a converter never builds a
module or parameters with inconsistent shapes.
"""

from __future__ import annotations

import functools
import re

import flax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from fuzz_helpers import (
    Case,
    bool_mutations,
    cases_from,
    cell_params,
    check,
    int_mutations,
    merge,
    params,
    rate_mutations,
    stack_params,
)

import rnnax
import rnnax.interop as interop
import rnnax.linen
import rnnax.nnx

I, H, B, T = 3, 4, 2, 5
XS = jnp.ones((B, T, I), jnp.float32)
LSTM = cell_params("lstm", I, H)
GRU = cell_params("gru", I, H)
# What every framework's GRU converts to, and what the to_* converters take.
GRU_RA = rnnax.GRUResetAfterParams(*GRU)
MODULES = {"lstm": (rnnax.nnx.LSTM, rnnax.linen.LSTM), "gru": (rnnax.nnx.GRU, rnnax.linen.GRU)}


# ------------------------------------------------------------------------------------------
# rnnax.nnx
# ------------------------------------------------------------------------------------------
def _nnx_cases(cell: str) -> dict[str, Case]:
    module, _ = MODULES[cell]
    other = "gru" if cell == "lstm" else "lstm"

    def build(in_features=I, hidden_size=H, **kwargs):
        return module(in_features, hidden_size, **{"rngs": nnx.Rngs(0), **kwargs})

    cases: dict[str, Case] = {}
    for argument, label_name in (("in_features", "input_size"), ("hidden_size", "hidden_size")):
        mutations = int_mutations(label_name)
        cases |= {
            f"init-{argument}-{label}": case
            for label, case in cases_from(
                mutations, lambda value, argument=argument: build(**{argument: value})
            ).items()
        }
    cases |= {
        f"init-num_layers-{label}": case
        for label, case in cases_from(
            int_mutations("num_layers"), lambda value: build(num_layers=value)
        ).items()
    }
    cases |= {
        f"init-dropout_rate-{label}": case
        for label, case in cases_from(
            rate_mutations("dropout_rate"), lambda value: build(dropout_rate=value)
        ).items()
    }
    flags = ["bidirectional", "deterministic"] + (["reset_after"] if cell == "gru" else [])
    for flag in flags:
        cases |= {
            f"init-{flag}-{label}": case
            for label, case in cases_from(
                bool_mutations(flag), lambda value, flag=flag: build(**{flag: value})
            ).items()
        }
    cases |= {
        "init-dtype-int32": Case(
            lambda: build(dtype=jnp.int32),
            TypeError,
            r"dtype must be a floating dtype .* got int32",
        ),
        "init-dtype-unknown": Case(
            lambda: build(dtype="float33"),
            TypeError,
            r"dtype must be a floating dtype .* got 'float33'",
        ),
        "init-rngs-none": Case(
            lambda: build(rngs=None),
            TypeError,
            r"rngs must be an nnx.Rngs \(e.g. nnx.Rngs\(0\)\), got NoneType",
        ),
        "init-rngs-int": Case(
            lambda: build(rngs=0), TypeError, r"rngs must be an nnx.Rngs .* got int"
        ),
        "init-rngs-key": Case(
            lambda: build(rngs=jax.random.key(0)), TypeError, r"rngs must be an nnx.Rngs"
        ),
        "from_params-none": Case(
            lambda: module.from_params(None),
            ValueError,
            r"layers must be a non-empty sequence of layers, got None",
        ),
        "from_params-empty": Case(
            lambda: module.from_params([]), ValueError, r"layers must be a non-empty sequence"
        ),
        "from_params-other_cell": Case(
            lambda: module.from_params(stack_params(other, I, H)),
            TypeError,
            r"params must be (LSTM|GRU)Params, got (GRU|LSTM)Params",
        ),
        "from_params-single_params": Case(
            lambda: module.from_params(LSTM if cell == "lstm" else GRU),
            ValueError,
            r"layers\[0\] must be a sequence of 1 \(forward\) or 2",
        ),
        "from_params-dropout_rate": Case(
            lambda: module.from_params(stack_params(cell, I, H), dropout_rate=1.0),
            ValueError,
            r"dropout_rate must lie in \[0, 1\)",
        ),
    }
    model = build(num_layers=2, dropout_rate=0.5)
    cases |= {
        "call-xs_wrong_features": Case(
            lambda: model(jnp.ones((B, T, I + 1)), deterministic=True),
            ValueError,
            r"xs must have the input size I of params = 3",
        ),
        "call-xs_rank1": Case(
            lambda: model(jnp.ones(I), deterministic=True),
            ValueError,
            r"xs must have at least 2 axes",
        ),
        "call-xs_int": Case(
            lambda: model(jnp.ones((B, T, I), jnp.int32), deterministic=True),
            TypeError,
            r"xs must have a floating dtype",
        ),
        "call-xs_none": Case(
            lambda: model(None, deterministic=True), TypeError, r"xs must be an array"
        ),
        "call-carry_flat": Case(
            lambda: model(XS, carry=[jnp.zeros((B, H))], deterministic=True),
            ValueError,
            r"carry must be None or carry\[layer\]\[direction\]",
        ),
        "call-seq_lengths_float": Case(
            lambda: model(XS, seq_lengths=jnp.ones(B), deterministic=True),
            TypeError,
            r"seq_lengths must have an integer dtype",
        ),
        "call-rngs_int": Case(lambda: model(XS, rngs=3), TypeError, r"rngs must be a PRNG key"),
        "call-rngs_string": Case(
            lambda: model(XS, rngs="dropout"), TypeError, r"rngs must be a PRNG key"
        ),
        "call-deterministic_string": Case(
            lambda: model(XS, deterministic="yes"), TypeError, r"deterministic must be a bool"
        ),
        "call-strategy_unknown": Case(
            lambda: model(XS, deterministic=True, strategy="fast"),
            ValueError,
            r"strategy must be one of",
        ),
        "call-no_dropout_rng": Case(
            lambda: module.from_params(stack_params(cell, I, H, num_layers=2), dropout_rate=0.5)(
                XS
            ),
            ValueError,
            r"is in training mode with dropout_rate=0.5 but has no dropout rng",
        ),
        "direction_params-none": Case(
            lambda: rnnax.nnx.DirectionParams(None),
            TypeError,
            r"params must be LSTMParams or GRUParams \(or another cell's parameters NamedTuple\), "
            r"got NoneType",
        ),
    }
    return cases


NNX_CASES = merge(_nnx_cases("lstm"), _nnx_cases("gru"), prefix=["lstm", "gru"])


@pytest.mark.parametrize("case", params(NNX_CASES))
def test_nnx_bad_argument(case: Case) -> None:
    check(case)


def test_nnx_valid_calls_still_work() -> None:
    model = rnnax.nnx.GRU(
        np.int64(I),
        H,
        bidirectional=np.bool_(True),
        reset_after=True,
        dropout_rate=np.float32(0.0),
        rngs=nnx.Rngs(0),
    )
    _, ys = model(XS, seq_lengths=jnp.array([T, 2]), rngs=jax.random.key(1))
    assert ys.shape == (B, T, 2 * H)
    same = rnnax.nnx.LSTM.from_params(stack_params("lstm", I, H))
    assert same(XS)[1].shape == (B, T, H)


# ------------------------------------------------------------------------------------------
# rnnax.linen
# ------------------------------------------------------------------------------------------
def _linen_cases(cell: str) -> dict[str, Case]:
    _, module = MODULES[cell]
    key = jax.random.key(0)

    def init(xs=XS, **attributes):
        return module(**{"hidden_size": H, **attributes}).init(key, xs)

    variables = rnnax.linen.from_params(stack_params(cell, I, H))

    def apply(xs=XS, variables=variables, **attributes):
        return module(**{"hidden_size": H, **attributes}).apply(variables, xs)

    cases: dict[str, Case] = {
        f"init-hidden_size-{label}": case
        for label, case in cases_from(
            int_mutations("hidden_size"), lambda value: init(hidden_size=value)
        ).items()
    }
    cases |= {
        f"init-num_layers-{label}": case
        for label, case in cases_from(
            int_mutations("num_layers"), lambda value: init(num_layers=value)
        ).items()
    }
    cases |= {
        f"init-dropout_rate-{label}": case
        for label, case in cases_from(
            rate_mutations("dropout_rate"), lambda value: init(num_layers=2, dropout_rate=value)
        ).items()
    }
    cases |= {
        f"init-bidirectional-{label}": case
        for label, case in cases_from(
            bool_mutations("bidirectional"), lambda value: init(bidirectional=value)
        ).items()
    }
    cases |= {
        "init-dtype-int32": Case(
            lambda: init(dtype=jnp.int32), TypeError, r"dtype must be a floating dtype"
        ),
        "init-xs-rank1": Case(
            lambda: init(jnp.ones(I)), ValueError, r"xs must have at least 2 axes"
        ),
        "init-xs-int": Case(
            lambda: init(jnp.ones((B, T, I), jnp.int32)),
            TypeError,
            r"xs must have a floating dtype",
        ),
        "init-xs-none": Case(lambda: init(None), TypeError, r"xs must be an array"),
        "apply-xs-wrong_features": Case(
            lambda: apply(jnp.ones((B, T, I + 1))),
            ValueError,
            r"xs must have the input size I of params = 3",
        ),
        "apply-xs-bfloat16": Case(
            lambda: apply(XS.astype(jnp.bfloat16)),
            TypeError,
            r"xs has dtype bfloat16 but params has dtype float32",
        ),
        "apply-variables-other_hidden": Case(
            lambda: apply(hidden_size=H + 4),
            ValueError,
            r"the variables are for bidirectional=False, hidden_size=4 but this \w+ has bidirectional=False, hidden_size=8",
        ),
        "apply-variables-other_num_layers": Case(
            lambda: apply(num_layers=2),
            ValueError,
            r"the variables hold \['layer_0'\] but this \w+ has num_layers=2",
        ),
        "apply-variables-other_direction": Case(
            lambda: apply(bidirectional=True),
            ValueError,
            r"the variables are for bidirectional=False",
        ),
        "apply-variables-other_cell": Case(
            lambda: module(hidden_size=H).apply(
                rnnax.linen.from_params(stack_params("gru" if cell == "lstm" else "lstm", I, H)), XS
            ),
            TypeError,
            r"params must be (LSTM|GRU)Params, got (GRU|LSTM)Params",
        ),
        "apply-deterministic-string": Case(
            lambda: module(hidden_size=H, num_layers=2, dropout_rate=0.5).apply(
                rnnax.linen.from_params(stack_params(cell, I, H, num_layers=2)),
                XS,
                deterministic="no",
            ),
            TypeError,
            r"deterministic must be a bool",
        ),
        # Flax's own error for a missing rng: it names the "dropout" stream.
        "apply-no_dropout_rng": Case(
            lambda: module(hidden_size=H, num_layers=2, dropout_rate=0.5).apply(
                rnnax.linen.from_params(stack_params(cell, I, H, num_layers=2)),
                XS,
                deterministic=False,
            ),
            flax.errors.InvalidRngError,
            r'needs PRNG for "dropout"',
        ),
    }
    return cases


def _linen_conversion_cases() -> dict[str, Case]:
    good = rnnax.linen.from_params(stack_params("lstm", I, H))["params"]["layer_0"]["forward"]
    return {
        "to_params-none": Case(
            lambda: rnnax.linen.to_params(None),
            TypeError,
            r"variables must be a dict, got NoneType",
        ),
        "to_params-empty": Case(
            lambda: rnnax.linen.to_params({"params": {}}),
            ValueError,
            r"variables must hold layer_0 \.\.\. layer_<L-1> and nothing else, got \[\]",
        ),
        "to_params-gap_in_layers": Case(
            lambda: rnnax.linen.to_params({"layer_1": {"forward": good}}),
            ValueError,
            r"variables must hold layer_0 \.\.\. layer_<L-1> and nothing else, got \['layer_1'\]",
        ),
        "to_params-params_not_dict": Case(
            lambda: rnnax.linen.to_params({"params": [good]}),
            TypeError,
            r"variables\['params'\] must be a dict, got list",
        ),
        "to_params-unknown_direction": Case(
            lambda: rnnax.linen.to_params({"layer_0": {"left": good}}),
            ValueError,
            r"layer_0 must have the keys \['forward'\] or \['backward', 'forward'\], got \['left'\]",
        ),
        "to_params-missing_field": Case(
            lambda: rnnax.linen.to_params({"layer_0": {"forward": {"w_x": good["w_x"]}}}),
            ValueError,
            r"layer_0/forward must have the keys \['b', 'w_h', 'w_x'\] \(LSTM\)",
        ),
        "to_params-direction_not_dict": Case(
            lambda: rnnax.linen.to_params({"layer_0": {"forward": [1, 2, 3]}}),
            TypeError,
            r"layer_0/forward must be a dict of parameters, got list",
        ),
        "to_params-string_leaves": Case(
            lambda: rnnax.linen.to_params(
                {"layer_0": {"forward": {"w_x": "a", "w_h": "b", "b": "c"}}}
            ),
            TypeError,
            r"params.w_h must be an array, got str",
        ),
        "to_params-wrong_shape": Case(
            lambda: rnnax.linen.to_params({"layer_0": {"forward": {**good, "b": jnp.ones(3)}}}),
            ValueError,
            r"params.b must have shape \(16,\), got \(3,\)",
        ),
        "to_params-mixed_cells": Case(
            lambda: rnnax.linen.to_params(
                rnnax.linen.from_params([[LSTM], [cell_params("gru", H, H)]])
            ),
            TypeError,
            r"params must be LSTMParams, got GRUParams",
        ),
        "from_params-none": Case(
            lambda: rnnax.linen.from_params(None),
            ValueError,
            r"layers must be a non-empty sequence of layers, got None",
        ),
        "from_params-empty": Case(
            lambda: rnnax.linen.from_params([]), ValueError, r"layers must be a non-empty sequence"
        ),
        "from_params-three_directions": Case(
            lambda: rnnax.linen.from_params([[LSTM] * 3]),
            ValueError,
            r"layers\[0\] must be a sequence of 1 \(forward\) or 2",
        ),
        "from_params-strings": Case(
            lambda: rnnax.linen.from_params([["a"]]),
            TypeError,
            r"layers\[0\] must hold LSTMParams or GRUParams \(or another cell's parameters "
            r"NamedTuple\), got str",
        ),
    }


LINEN_CASES = merge(
    _linen_cases("lstm"),
    _linen_cases("gru"),
    _linen_conversion_cases(),
    prefix=["lstm", "gru", "convert"],
)


@pytest.mark.parametrize("case", params(LINEN_CASES))
def test_linen_bad_argument(case: Case) -> None:
    check(case)


def test_linen_valid_calls_still_work() -> None:
    model = rnnax.linen.GRU(hidden_size=np.int64(H), num_layers=2, dropout_rate=np.float32(0.5))
    variables = model.init(jax.random.key(0), XS)
    _, ys = model.apply(variables, XS, deterministic=False, rngs={"dropout": jax.random.key(1)})
    assert ys.shape == (B, T, H)
    assert rnnax.linen.to_params(variables)[1][0].w_x.shape == (H, 3 * H)


# ------------------------------------------------------------------------------------------
# converters
# ------------------------------------------------------------------------------------------
def _torch():
    import torch

    return torch


def _bad_params_cases(function, name: str) -> dict[str, Case]:
    """Parameters that no converter may accept: wrong type, inconsistent shapes, wrong dtype."""
    return {
        f"{name}-params-none": Case(
            lambda: function(None),
            TypeError,
            r"(takes one cell's LSTMParams or GRUParams|to_torch takes layers\[layer\]\[direction\]).* got NoneType",
        ),
        f"{name}-params-dict": Case(
            lambda: function(LSTM._asdict()), TypeError, r"LSTMParams or GRUParams"
        ),
        f"{name}-params-b_wrong_length": Case(
            lambda: function(LSTM._replace(b=jnp.zeros(12))),
            ValueError,
            r"params.b must have shape \(16,\), got \(12,\)",
        ),
        f"{name}-params-w_x_wrong_gates": Case(
            lambda: function(LSTM._replace(w_x=jnp.zeros((I, 10)))),
            ValueError,
            r"params.w_x must have shape \(3, 16\), got \(3, 10\) \(the layout is \[I, 4H\] "
            r"with H = 4 from params.w_h, I = 3 from params.w_x\)",
        ),
        f"{name}-params-w_h_not_square": Case(
            lambda: function(GRU_RA._replace(w_h=jnp.zeros((H + 1, 3 * H)))),
            ValueError,
            r"params.w_h must have shape \(5, 15\), got \(5, 12\) \(the layout is \[H, 3H\] "
            r"with H = 5 from params.w_h\)",
        ),
        f"{name}-params-int": Case(
            lambda: function(LSTM._replace(w_x=LSTM.w_x.astype(jnp.int32))),
            TypeError,
            r"params.w_x must have a floating dtype",
        ),
        f"{name}-params-mixed_dtypes": Case(
            lambda: function(GRU_RA._replace(b_h=GRU_RA.b_h.astype(jnp.bfloat16))),
            TypeError,
            r"params.b_h has dtype bfloat16 but params.w_h has dtype float32",
        ),
        f"{name}-params-list_field": Case(
            lambda: function(LSTM._replace(b=[0.0] * 16)),
            TypeError,
            r"params.b must be an array, got list",
        ),
    }


# (converter, the framework's GRU as its messages name it, the framework's short name)
EXPORT_FORMS = {
    "to_torch": (lambda: interop.to_torch, "torch.nn.GRU", "torch"),
    "to_flax_nnx": (lambda: interop.to_flax_nnx, "nnx.GRUCell", "nnx"),
    "to_flax_linen": (lambda: interop.to_flax_linen, "flax's GRUCell", "flax"),
    "to_equinox": (lambda: interop.to_equinox, "equinox.nn.GRUCell", "equinox"),
}


def _export_form_cases(name: str) -> dict[str, Case]:
    """The GRU form a framework computes: every framework's GRU is the reset-after form, so a
    ``to_*`` converter refuses plain ``GRUParams`` (rnnax's default, reset-before form) unless
    told ``reset_after=True``, and refuses a ``reset_after`` that contradicts the parameters."""
    get, framework, short = EXPORT_FORMS[name]
    plain_refused = (
        rf"{re.escape(framework)} applies the reset gate after the recurrent product "
        r"\(rnnax's reset-after GRU, GRUResetAfterParams, which the converters return\); "
        r"rnnax's default GRU form \(plain GRUParams, reset_after=False\) has no "
        rf"{short} equivalent\. If these weights are reset-after ones, convert them with "
        r"GRUResetAfterParams\(\*params\) or pass reset_after=True\."
    )
    cases = {
        f"{name}-plain_gru_params": Case(lambda: get()(GRU), ValueError, plain_refused),
        f"{name}-plain_gru_params-reset_after_false": Case(
            lambda: get()(GRU, reset_after=False), ValueError, plain_refused
        ),
        f"{name}-reset_after-false": Case(
            lambda: get()(GRU_RA, reset_after=False),
            ValueError,
            r"reset_after=False contradicts params of type GRUResetAfterParams \(reset-after "
            rf"weights\); besides, the reset_after=False form has no {short} equivalent",
        ),
        f"{name}-reset_after-true_for_lstm": Case(
            lambda: get()(LSTM, reset_after=True),
            ValueError,
            r"reset_after=True applies only to GRU parameters, got parameters of cell 'lstm'",
        ),
    }
    cases |= {
        f"{name}-reset_after-{label}": case
        for label, case in cases_from(
            # reset_after=None (the default) takes the form from the parameters' type.
            bool_mutations("reset_after", none_allowed=True),
            lambda value: get()(GRU_RA, reset_after=value),
        ).items()
    }
    # Not even plain GRUParams slip past the bool check.
    cases[f"{name}-plain_gru_params-reset_after_int_one"] = Case(
        lambda: get()(GRU, reset_after=1),
        TypeError,
        r"reset_after must be a bool \(True or False\), got 1",
    )
    return cases


def _converter_cases() -> dict[str, Case]:
    linen_lstm = interop.to_flax_linen(LSTM)

    def linen_variables(**changes):
        tree = {name: dict(entries) for name, entries in linen_lstm["params"].items()}
        for path, value in changes.items():
            module, field = path.split("/")
            if value is None:
                tree[module].pop(field)
            else:
                tree[module][field] = value
        return {"params": tree}

    cases = merge(
        _bad_params_cases(interop.to_flax_linen, "to_flax_linen"),
        _bad_params_cases(interop.to_flax_nnx, "to_flax_nnx"),
        _bad_params_cases(interop.to_equinox, "to_equinox"),
        _export_form_cases("to_flax_linen"),
        _export_form_cases("to_flax_nnx"),
        _export_form_cases("to_equinox"),
    )
    cases |= {
        "from_flax_linen-variables-none": Case(
            lambda: interop.from_flax_linen(None),
            TypeError,
            r"from_flax_linen takes a cell's variables .* got NoneType",
        ),
        "from_flax_linen-variables-empty": Case(
            lambda: interop.from_flax_linen({}),
            ValueError,
            r"from_flax_linen recognises flax.linen LSTMCell/OptimizedLSTMCell parameters",
        ),
        "from_flax_linen-variables-dense_layer": Case(
            lambda: interop.from_flax_linen(
                {"params": {"kernel": jnp.ones((2, 2)), "bias": jnp.ones(2)}}
            ),
            ValueError,
            r"from_flax_linen recognises",
        ),
        "from_flax_linen-variables-kernel_wrong_shape": Case(
            lambda: interop.from_flax_linen(
                linen_variables(**{"hf/kernel": jnp.zeros((H, H + 1))})
            ),
            ValueError,
            r"the flax cell's parameters have inconsistent shapes",
        ),
        "from_flax_linen-variables-input_kernel_rows": Case(
            lambda: interop.from_flax_linen(
                linen_variables(**{"if/kernel": jnp.zeros((I + 1, H))})
            ),
            ValueError,
            r"the flax cell's parameters have inconsistent shapes: gate blocks of shapes",
        ),
        "from_flax_linen-variables-string_leaf": Case(
            lambda: interop.from_flax_linen(linen_variables(**{"hf/kernel": "abc"})),
            TypeError,
            r"the flax cell's parameters: hf/kernel must be an array, got str",
        ),
        "from_flax_linen-variables-missing_bias": Case(
            lambda: interop.from_flax_linen(linen_variables(**{"hf/bias": None})),
            ValueError,
            r"flax cell parameters lack hf/bias",
        ),
        "from_flax_linen-variables-mixed_dtypes": Case(
            lambda: interop.from_flax_linen(
                linen_variables(**{"hf/bias": jnp.zeros(H, jnp.bfloat16)})
            ),
            TypeError,
            r"the flax cell's parameters mixes parameter dtypes",
        ),
        "from_flax_linen-dtype-int": Case(
            lambda: interop.from_flax_linen(linen_lstm, dtype=jnp.int32),
            TypeError,
            r"must have a floating dtype, got int32",
        ),
        "from_flax_linen-dtype-unknown": Case(
            lambda: interop.from_flax_linen(linen_lstm, dtype="float33"),
            TypeError,
            r"dtype must be a floating dtype such as jnp.float32, got 'float33'",
        ),
        "from_flax_linen-dtype-float64_without_x64": Case(
            lambda: interop.from_flax_linen(linen_lstm, dtype=jnp.float64),
            ValueError,
            r"is float64 but JAX's 64-bit mode is off",
        ),
        "from_flax_nnx-cell-none": Case(
            lambda: interop.from_flax_nnx(None),
            TypeError,
            r"from_flax_nnx converts flax.nnx OptimizedLSTMCell, LSTMCell, GRUCell and SimpleCell, "
            r"got builtins.NoneType",
        ),
        "from_flax_nnx-cell-linear": Case(
            lambda: interop.from_flax_nnx(nnx.Linear(2, 3, rngs=nnx.Rngs(0))),
            TypeError,
            r"from_flax_nnx converts .* got flax.nnx.nn.linear.Linear",
        ),
        "from_flax_nnx-cell-rnn_wrapper": Case(
            lambda: interop.from_flax_nnx(nnx.RNN(nnx.GRUCell(I, H, rngs=nnx.Rngs(0)))),
            TypeError,
            r"from_flax_nnx converts .* got flax.nnx.*RNN",
        ),
        "from_flax_nnx-cell-other_activation": Case(
            lambda: interop.from_flax_nnx(
                nnx.GRUCell(I, H, activation_fn=jax.nn.relu, rngs=nnx.Rngs(0))
            ),
            ValueError,
            r"GRUCell uses gate_fn=sigmoid and activation_fn=relu; rnnax's cells use sigmoid gates and tanh",
        ),
        "from_flax_nnx-dtype-int": Case(
            lambda: interop.from_flax_nnx(nnx.GRUCell(I, H, rngs=nnx.Rngs(0)), dtype=jnp.int8),
            TypeError,
            r"must have a floating dtype, got int8",
        ),
        "to_flax_nnx-cell_type-other_cell": Case(
            lambda: interop.to_flax_nnx(LSTM, cell_type=nnx.GRUCell),
            TypeError,
            r"cell_type for LSTMParams must be one of \['OptimizedLSTMCell', 'LSTMCell'\]",
        ),
        "to_flax_nnx-cell_type-string": Case(
            lambda: interop.to_flax_nnx(GRU_RA, cell_type="GRUCell"),
            TypeError,
            r"cell_type for GRUResetAfterParams must be one of \['GRUCell'\], got 'GRUCell'",
        ),
        "to_flax_nnx-params-candidate_bias": Case(
            lambda: interop.to_flax_nnx(GRU_RA._replace(b_h=jnp.ones(3 * H))),
            ValueError,
            r"nnx.GRUCell has no recurrent candidate bias, but these GRU parameters have a nonzero b_h\[2H:\]",
        ),
        "from_equinox-cell-none": Case(
            lambda: interop.from_equinox(None),
            TypeError,
            r"from_equinox converts equinox.nn.LSTMCell and equinox.nn.GRUCell, got builtins.NoneType",
        ),
        "from_equinox-cell-linear": Case(
            lambda: interop.from_equinox(_equinox().nn.Linear(2, 3, key=jax.random.key(0))),
            TypeError,
            r"from_equinox converts .* got equinox.nn._linear.Linear",
        ),
        "from_equinox-dtype-int": Case(
            lambda: interop.from_equinox(interop.to_equinox(LSTM), dtype=jnp.int32),
            TypeError,
            r"the equinox LSTMCell must have a floating dtype, got int32",
        ),
        "from_equinox-dtype-unknown": Case(
            lambda: interop.from_equinox(interop.to_equinox(GRU_RA), dtype="half-ish"),
            TypeError,
            r"dtype must be a floating dtype such as jnp.float32, got 'half-ish'",
        ),
    }
    return cases


def _equinox():
    import equinox

    return equinox


def _torch_cases() -> dict[str, Case]:
    def module(kind="LSTM", **kwargs):
        return getattr(_torch().nn, kind)(I, H, **kwargs)

    cases = _bad_params_cases(interop.to_torch, "to_torch")
    cases |= {
        "from_torch-module-none": Case(
            lambda: interop.from_torch(None),
            TypeError,
            r"from_torch converts torch.nn.LSTM, torch.nn.GRU and torch.nn.RNN modules, got "
            r"builtins.NoneType",
        ),
        "from_torch-module-rnn_cell": Case(
            lambda: interop.from_torch(_torch().nn.RNNCell(I, H)),
            TypeError,
            r"from_torch converts torch.nn.LSTM, torch.nn.GRU and torch.nn.RNN modules, got "
            r"torch.nn.modules.rnn.RNNCell",
        ),
        "from_torch-module-linear": Case(
            lambda: interop.from_torch(_torch().nn.Linear(2, 3)),
            TypeError,
            r"from_torch converts .* got torch.nn.modules.linear.Linear",
        ),
        "from_torch-module-projection": Case(
            lambda: interop.from_torch(module(proj_size=2)),
            ValueError,
            r"torch.nn.LSTM with proj_size=2 projects h to a smaller size",
        ),
        "from_torch-module-float64": Case(
            lambda: interop.from_torch(module().double()),
            ValueError,
            r"torch.nn.LSTM is float64 but JAX's 64-bit mode is off",
        ),
        "from_torch-dtype-int": Case(
            lambda: interop.from_torch(module("GRU"), dtype=jnp.int32),
            TypeError,
            r"torch.nn.GRU must have a floating dtype, got int32",
        ),
        "from_torch-dtype-unknown": Case(
            lambda: interop.from_torch(module(), dtype="float33"),
            TypeError,
            r"dtype must be a floating dtype such as jnp.float32, got 'float33'",
        ),
        "to_torch-layers-empty": Case(
            lambda: interop.to_torch([]),
            TypeError,
            r"to_torch takes layers\[layer\]\[direction\] of LSTMParams or GRUParams .* got list",
        ),
        "to_torch-layers-strings": Case(
            lambda: interop.to_torch([["a"]]),
            TypeError,
            r"layers\[0\]\[0\] must be LSTMParams or GRUParams \(GRUResetAfterParams\) or "
            r"ElmanParams \(ElmanReluParams\), got str",
        ),
        "to_torch-layers-mixed_cells": Case(
            lambda: interop.to_torch([[LSTM], [cell_params("gru", H, H)]]),
            TypeError,
            r"params must be LSTMParams, got GRUParams",
        ),
        "to_torch-layers-size_mismatch": Case(
            lambda: interop.to_torch([[LSTM], [cell_params("lstm", H + 1, H)]]),
            ValueError,
            r"layers\[1\]\[0\] must have input size I = 4 \(the output size of layers\[0\]\), "
            r"got 5",
        ),
        "to_torch-layers-plain_gru_params": Case(
            lambda: interop.to_torch([[GRU, GRU], [cell_params("gru", 2 * H, H)] * 2]),
            ValueError,
            r"torch.nn.GRU applies the reset gate after the recurrent product.*"
            r"GRUResetAfterParams\(\*params\) or pass reset_after=True",
        ),
    }
    cases |= _export_form_cases("to_torch")
    cases |= {
        f"to_torch-batch_first-{label}": case
        for label, case in cases_from(
            bool_mutations("batch_first"),
            lambda value: interop.to_torch(GRU_RA, batch_first=value),
        ).items()
    }
    return cases


@pytest.mark.parametrize("case", params(_converter_cases()))
def test_converter_bad_argument(case: Case) -> None:
    check(case)


@pytest.mark.torch
@pytest.mark.parametrize("case", params(_torch_cases()))
def test_torch_converter_bad_argument(case: Case) -> None:
    check(case)


def test_converters_valid_calls_still_work() -> None:
    back = interop.from_flax_linen(interop.to_flax_linen(LSTM))
    np.testing.assert_array_equal(back.w_x, LSTM.w_x)
    nnx_cell = interop.to_flax_nnx(GRU_RA._replace(b_h=GRU_RA.b_h.at[2 * H :].set(0.0)))
    assert interop.from_flax_nnx(nnx_cell, dtype="float32").w_h.shape == (H, 3 * H)
    assert interop.from_equinox(interop.to_equinox(GRU_RA)).b_x.shape == (3 * H,)
    # Plain GRUParams say "the explainer's form", which no framework has: refused unless told.
    for convert in (interop.to_flax_nnx, interop.to_flax_linen, interop.to_equinox):
        with pytest.raises(ValueError, match=r"GRUResetAfterParams\(\*params\)"):
            convert(GRU)
    assert interop.from_equinox(interop.to_equinox(GRU, reset_after=True)).b_x.shape == (3 * H,)


@pytest.mark.torch
def test_torch_converter_valid_calls_still_work() -> None:
    layers = interop.from_torch(interop.to_torch([[LSTM, LSTM]], batch_first=np.bool_(True)))
    np.testing.assert_array_equal(layers[0][1].w_h, LSTM.w_h)


@pytest.mark.torch
def test_to_torch_reset_after_true_takes_a_stack_with_typed_layers() -> None:
    layers = [[GRU], [rnnax.GRUResetAfterParams(*cell_params("gru", H, H))]]
    expected = rnnax.gru_stack(layers, XS, reset_after=True)[1]
    back = interop.from_torch(interop.to_torch(layers, batch_first=True, reset_after=True))
    np.testing.assert_allclose(rnnax.gru_stack(back, XS)[1], expected, rtol=1e-6, atol=1e-6)


@pytest.mark.torch
@pytest.mark.parametrize("plain_at", [(1, 0), (0, 1)])
def test_to_torch_refuses_a_plain_gru_layer_in_a_typed_stack(plain_at: tuple[int, int]) -> None:
    def typed(input_size: int) -> rnnax.GRUResetAfterParams:
        return rnnax.GRUResetAfterParams(*cell_params("gru", input_size, H))

    layers = [[typed(I), typed(I)], [typed(2 * H), typed(2 * H)]]
    layer, direction = plain_at
    layers[layer][direction] = rnnax.GRUParams(*layers[layer][direction])
    with pytest.raises(ValueError, match=rf"layers\[{layer}\]\[{direction}\] are plain"):
        interop.to_torch(layers)
    # reset_after=True declares every layer reset-after: the same stack exports.
    module = interop.to_torch(layers, reset_after=True)
    assert module.num_layers == 2 and module.bidirectional


# ------------------------------------------------------------------------------------------
# module output shapes against the pure stacks (the wrappers add nothing but checks)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_modules_agree_with_the_pure_stack_after_the_checks(cell: str) -> None:
    layers = stack_params(cell, I, H)
    stack = rnnax.lstm_stack if cell == "lstm" else functools.partial(rnnax.gru_stack)
    expected = stack(layers, XS)[1]
    nnx_module, linen_module = MODULES[cell]
    np.testing.assert_array_equal(nnx_module.from_params(layers)(XS)[1], expected)
    np.testing.assert_array_equal(
        linen_module(hidden_size=H).apply(rnnax.linen.from_params(layers), XS)[1], expected
    )
