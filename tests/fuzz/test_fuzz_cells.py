"""Bad-input fuzzing of the cell protocol's entry points: ``rnn``, ``rnn_stack``,
``rnn_stack_init``, ``register_cell``, ``get_cell``, ``available_strategies``, ``zero_carry``
with ``cell=``, the new cells' inits and checked steps, and every shipped cell through ``rnn``.

As in the other tables: each case starts from a valid call, mutates one argument, and must
raise exactly ``TypeError`` (a wrong type) or ``ValueError`` (a wrong value) at trace time with
a message naming the argument.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from fuzz_helpers import (
    Case,
    bad_keys,
    bool_mutations,
    cases_from,
    check,
    int_mutations,
    merge,
    non_float_arrays,
    not_arrays,
    params,
)

import rnnax

I, H, B, T = 3, 4, 2, 5
KEY = jax.random.key(0)
XS = jnp.ones((B, T, I))
SHIPPED = (
    "lstm",
    "gru",
    "gru_reset_after",
    "elman",
    "elman_relu",
    "layernorm_lstm",
    "mingru",
    "minlstm",
)
PARAMS = {name: rnnax.get_cell(name).init(KEY, I, H) for name in SHIPPED}
INITS = {
    "elman_init": rnnax.elman_init,
    "layernorm_lstm_init": rnnax.layernorm_lstm_init,
    "mingru_init": rnnax.mingru_init,
    "minlstm_init": rnnax.minlstm_init,
}


def _first_field(name: str) -> str:
    return next(iter(rnnax.get_cell(name).layout))


def _rnn_cases(name: str) -> dict[str, Case]:
    cell = rnnax.get_cell(name)
    good = PARAMS[name]
    field = _first_field(name)
    leaf = getattr(good, field)
    other = "mingru" if name != "mingru" else "lstm"

    def run(p=good, xs=XS, carry=None, **kwargs):
        return rnnax.rnn(p, xs, carry, **kwargs)

    zero = cell.carry_init(H, (B,), jnp.float32)
    cases = {
        "params-none": Case(lambda: run(p=None), TypeError, r"params must be the parameters"),
        "params-dict": Case(lambda: run(p=good._asdict()), TypeError, r"params must be"),
        "params-other_cell": Case(
            lambda: run(p=PARAMS[other], cell=cell), TypeError, r"params must be"
        ),
        f"params-{field}-rank": Case(
            lambda: run(p=good._replace(**{field: leaf[None]})),
            ValueError,
            rf"params.{field} must have shape",
        ),
        f"params-{field}-size": Case(
            lambda: run(
                p=good._replace(**{field: jnp.ones((*leaf.shape[:-1], leaf.shape[-1] + 1))})
            ),
            ValueError,
            rf"params.{field} must have shape",
        ),
        f"params-{field}-int": Case(
            lambda: run(p=good._replace(**{field: leaf.astype(jnp.int32)})),
            TypeError,
            rf"params.{field} must have a floating dtype",
        ),
        f"params-{field}-bfloat16": Case(
            lambda: run(p=good._replace(**{field: leaf.astype(jnp.bfloat16)})),
            TypeError,
            r"has dtype (bfloat16|float32) but params",
        ),
        "xs-rank1": Case(lambda: run(xs=jnp.ones(I)), ValueError, r"xs must have at least 2"),
        "xs-features": Case(
            lambda: run(xs=jnp.ones((B, T, I + 1))), ValueError, r"xs must have the input size"
        ),
        "xs-bfloat16": Case(
            lambda: run(xs=XS.astype(jnp.bfloat16)), TypeError, r"xs has dtype bfloat16"
        ),
        "carry-shape": Case(
            lambda: run(carry=jax.tree.map(lambda leaf: leaf[:1], zero)),
            ValueError,
            r"carry.* must have shape \(2, 4\)",
        ),
        "carry-dtype": Case(
            lambda: run(carry=jax.tree.map(lambda leaf: leaf.astype(jnp.bfloat16), zero)),
            TypeError,
            r"carry.* has dtype bfloat16 but params has dtype float32",
        ),
        "carry-structure": Case(
            lambda: run(carry=[zero, zero]), TypeError, r"carry must be .* got list"
        ),
        "seq_lengths-float": Case(
            lambda: run(seq_lengths=jnp.ones(B)), TypeError, r"seq_lengths must have an integer"
        ),
        "seq_lengths-range": Case(
            lambda: run(seq_lengths=jnp.array([T + 1, 0])),
            ValueError,
            r"seq_lengths must lie in \[0, 5\]",
        ),
        "strategy-unknown": Case(
            lambda: run(strategy="fast"), ValueError, r"strategy must be one of .* got 'fast'"
        ),
        "cell-unknown": Case(lambda: run(cell="nope"), ValueError, r"cell must be one of"),
        "cell-int": Case(lambda: run(cell=3), TypeError, r"cell must be a cell name"),
    }
    missing = [
        s for s in ("custom_vjp", "parallel", "cudnn") if s not in rnnax.available_strategies(cell)
    ]
    for strategy in missing:
        cases[f"strategy-{strategy}-missing"] = Case(
            lambda strategy=strategy: run(strategy=strategy),
            ValueError,
            rf"strategy='{strategy}'",
        )
    if "parallel" in rnnax.available_strategies(cell):
        cases["unroll-parallel"] = Case(
            lambda: run(strategy="parallel", unroll=2),
            ValueError,
            r"unroll=2 has no meaning for strategy='parallel'",
        )
    for flag in ("reverse", "time_major"):
        cases |= {
            f"{flag}-{label}": case
            for label, case in cases_from(
                bool_mutations(flag), lambda value, flag=flag: run(**{flag: value})
            ).items()
        }
    return cases


RNN_CASES = merge(*(_rnn_cases(name) for name in SHIPPED), prefix=SHIPPED)


@pytest.mark.parametrize("case", params(RNN_CASES))
def test_rnn_bad_argument(case: Case) -> None:
    check(case)


def _init_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for name, init in INITS.items():
        cases |= {
            f"{name}-key-{label}": Case(
                lambda init=init, key=key: init(key, I, H), TypeError, r"key must be"
            )
            for label, key in bad_keys().items()
            if label != "batch_of_keys"
        }
        cases[f"{name}-key-batch_of_keys"] = Case(
            lambda init=init: init(jax.random.split(KEY, 2), I, H), ValueError, r"key must be"
        )
        for size in ("input_size", "hidden_size"):
            cases |= {
                f"{name}-{size}-{label}": case
                for label, case in cases_from(
                    int_mutations(size),
                    lambda value, init=init, size=size: init(
                        KEY, **{"input_size": I, "hidden_size": H, size: value}
                    ),
                ).items()
            }
        cases[f"{name}-dtype-int"] = Case(
            lambda init=init: init(KEY, I, H, dtype=jnp.int32),
            TypeError,
            r"dtype must be a floating",
        )
    cases["elman_init-nonlinearity-sigmoid"] = Case(
        lambda: rnnax.elman_init(KEY, I, H, nonlinearity="sigmoid"),
        ValueError,
        r"nonlinearity must be one of .*'sigmoid'",
    )
    return cases


@pytest.mark.parametrize("case", params(_init_cases()))
def test_init_bad_argument(case: Case) -> None:
    check(case)


STEPS = {
    "elman_cell": (rnnax.elman_cell, "elman"),
    "layernorm_lstm_cell": (rnnax.layernorm_lstm_cell, "layernorm_lstm"),
    "mingru_cell": (rnnax.mingru_cell, "mingru"),
    "minlstm_cell": (rnnax.minlstm_cell, "minlstm"),
}


def _step_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for label, (step, name) in STEPS.items():
        good = PARAMS[name]
        carry = rnnax.get_cell(name).carry_init(H, (B,), jnp.float32)
        x = jnp.ones((B, I))
        cases |= {
            f"{label}-x-features": Case(
                lambda step=step, good=good, carry=carry: step(good, carry, jnp.ones((B, I + 1))),
                ValueError,
                r"x must have the input size I = 3",
            ),
            f"{label}-x-batch": Case(
                lambda step=step, good=good, carry=carry: step(good, carry, jnp.ones((B + 1, I))),
                ValueError,
                r"must have shape \(3, 4\) \(batch shape of x, then H\)",
            ),
            f"{label}-params-lstm": Case(
                lambda step=step, carry=carry, x=x: step(PARAMS["lstm"], carry, x),
                TypeError,
                r"params must be",
            ),
        }
        cases |= {
            f"{label}-x-{kind}": Case(
                lambda step=step, good=good, carry=carry, bad=bad: step(good, carry, bad),
                TypeError,
                r"x must",
            )
            for kind, bad in {**non_float_arrays((B, I)), **not_arrays()}.items()
        }
    return cases


@pytest.mark.parametrize("case", params(_step_cases()))
def test_checked_step_bad_argument(case: Case) -> None:
    check(case)


def _registry_and_stack_cases() -> dict[str, Case]:
    lstm = rnnax.LSTM
    layers = rnnax.rnn_stack_init("mingru", KEY, I, H, num_layers=2)
    cases = {
        "register-not_a_cell": Case(
            lambda: rnnax.register_cell("lstm"), TypeError, r"cell must be an rnnax.Cell, got str"
        ),
        "register-empty_name": Case(
            lambda: rnnax.register_cell(lstm._replace(name="")),
            TypeError,
            r"cell.name must be a non-empty str",
        ),
        "register-step_not_callable": Case(
            lambda: rnnax.register_cell(lstm._replace(name="fuzz_step", step=3)),
            TypeError,
            r"cell 'fuzz_step': step must be a function",
        ),
        "register-layout_not_mapping": Case(
            lambda: rnnax.register_cell(lstm._replace(name="fuzz_layout", layout=[("H",)])),
            TypeError,
            r"layout must be a non-empty mapping",
        ),
        "register-layout_without_I": Case(
            lambda: rnnax.register_cell(lstm._replace(name="fuzz_no_i", layout={"w": ("H",)})),
            TypeError,
            r"layout must mention both I and H",
        ),
        "register-split_not_a_split": Case(
            lambda: rnnax.register_cell(lstm._replace(name="fuzz_split", split=(1, 2))),
            TypeError,
            r"split must be a GemmSplit or None",
        ),
        "register-taken_name": Case(
            lambda: rnnax.register_cell(rnnax.GRU._replace(name="lstm")),
            ValueError,
            r"a different cell is already registered as 'lstm'",
        ),
        "register-taken_type": Case(
            lambda: rnnax.register_cell(lstm._replace(name="fuzz_lstm_twin")),
            ValueError,
            r"params_type LSTMParams already belongs to cell 'lstm'",
        ),
        "get_cell-unknown": Case(
            lambda: rnnax.get_cell("LSTM"), ValueError, r"cell must be one of .* got 'LSTM'"
        ),
        "get_cell-none": Case(lambda: rnnax.get_cell(None), TypeError, r"cell must be a cell name"),
        "available_strategies-unknown": Case(
            lambda: rnnax.available_strategies("nope"), ValueError, r"cell must be one of"
        ),
        "zero_carry-other_cell": Case(
            lambda: rnnax.zero_carry(PARAMS["lstm"], (B,), cell="mingru"),
            TypeError,
            r"params must be MinGRUParams, got LSTMParams",
        ),
        "stack_init-unknown_cell": Case(
            lambda: rnnax.rnn_stack_init("nope", KEY, I, H), ValueError, r"cell must be one of"
        ),
        "stack-other_cell": Case(
            lambda: rnnax.rnn_stack(layers, XS, cell="lstm"),
            TypeError,
            r"params must be LSTMParams, got MinGRUParams",
        ),
        "stack-size_mismatch": Case(
            lambda: rnnax.rnn_stack([layers[0], [PARAMS["mingru"]]], XS),
            ValueError,
            r"layers\[1\]\[0\] must have input size I = 4 \(the output size of layers\[0\]\), got 3",
        ),
        "stack-mixed_cells": Case(
            lambda: rnnax.rnn_stack([layers[0], [rnnax.minlstm_init(KEY, H, H)]], XS),
            TypeError,
            r"params must be MinGRUParams, got MinLSTMParams",
        ),
        "stack-dropout_rate": Case(
            lambda: rnnax.rnn_stack(layers, XS, dropout_rate=1.0, dropout_key=KEY),
            ValueError,
            r"dropout_rate must lie in \[0, 1\)",
        ),
    }
    cases |= {
        f"stack_init-num_layers-{label}": case
        for label, case in cases_from(
            int_mutations("num_layers"),
            lambda value: rnnax.rnn_stack_init("elman", KEY, I, H, num_layers=value),
        ).items()
    }
    cases |= {
        f"stack_init-bidirectional-{label}": case
        for label, case in cases_from(
            bool_mutations("bidirectional"),
            lambda value: rnnax.rnn_stack_init("elman", KEY, I, H, bidirectional=value),
        ).items()
    }
    return cases


@pytest.mark.parametrize("case", params(_registry_and_stack_cases()))
def test_registry_and_stack_bad_argument(case: Case) -> None:
    check(case)


def _module_cases() -> dict[str, Case]:
    from flax import nnx

    return {
        "nnx-unknown_cell": Case(
            lambda: rnnax.nnx.RNN(I, H, cell="nope", rngs=nnx.Rngs(0)),
            ValueError,
            r"cell must be one of",
        ),
        "nnx-hidden_zero": Case(
            lambda: rnnax.nnx.RNN(I, 0, cell="mingru", rngs=nnx.Rngs(0)),
            ValueError,
            r"hidden_size must be a positive int",
        ),
        "nnx-in_features_string": Case(
            lambda: rnnax.nnx.RNN("3", H, cell="elman", rngs=nnx.Rngs(0)),
            TypeError,
            r"input_size must be a positive int, got '3'",  # as the LSTM and GRU modules say
        ),
        "linen-unknown_cell": Case(
            lambda: rnnax.linen.RNN(hidden_size=H, cell="nope").init(KEY, XS),
            ValueError,
            r"cell must be one of",
        ),
    }


@pytest.mark.parametrize("case", params(_module_cases()))
def test_module_bad_argument(case: Case) -> None:
    check(case)


def test_valid_calls_still_work() -> None:
    for name in SHIPPED:
        _, ys = rnnax.rnn(PARAMS[name], XS, seq_lengths=jnp.array([T, 0]), reverse=True)
        assert ys.shape == (B, T, H) and np.all(np.isfinite(np.asarray(ys)))
    layers = rnnax.rnn_stack_init("layernorm_lstm", KEY, I, H, num_layers=2, bidirectional=True)
    assert rnnax.rnn_stack(layers, XS)[1].shape == (B, T, 2 * H)
    assert rnnax.available_strategies("minlstm") == ("auto", "scan", "remat", "parallel")
    assert rnnax.elman_cell(PARAMS["elman"], jnp.zeros((B, H)), jnp.ones((B, I)))[1].shape == (B, H)
