"""Bad-input fuzzing of the recurrent core: cells, cores, ``scan_cell``, initializers, stacks,
counting and streaming.

Each table below starts from a valid call and mutates one argument: wrong rank, size, dtype
(integer, boolean, complex, float64/bfloat16 against float32 parameters, strings, objects,
``None``, lists), negative, zero, huge, NaN and empty values. Every mutation must raise exactly a
``ValueError`` or ``TypeError`` at trace time whose message names the argument; next to each
table a test checks that the unmutated call still works.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from fuzz_helpers import (
    Case,
    bad_keys,
    bool_mutations,
    cases_from,
    cell_params,
    check,
    int_mutations,
    merge,
    non_float_arrays,
    not_arrays,
    params,
    rate_mutations,
    stack_params,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnax

I, H, B, T = 3, 4, 2, 5
KEY = jax.random.key(0)
LSTM = cell_params("lstm", I, H)
GRU = cell_params("gru", I, H)
XS = jnp.ones((B, T, I), jnp.float32)
LENGTHS = jnp.array([T, 2], jnp.int32)
CELLS = {"lstm": (rnnax.lstm, LSTM, 4), "gru": (rnnax.gru, GRU, 3)}


def _zero_carry(cell: str, shape: tuple[int, ...] = (B, H)):
    zeros = jnp.zeros(shape, jnp.float32)
    return rnnax.LSTMState(zeros, zeros) if cell == "lstm" else zeros


# ------------------------------------------------------------------------------------------
# lstm / gru: every argument
# ------------------------------------------------------------------------------------------
def _core_cases(cell: str) -> dict[str, Case]:
    core, good, gates = CELLS[cell]
    other = GRU if cell == "lstm" else LSTM
    kind = "LSTMParams" if cell == "lstm" else "GRUParams"

    def run(xs=XS, p=good, **kwargs):
        return core(p, xs, **kwargs)

    xs_cases = {
        "rank0": Case(lambda: run(jnp.ones(())), ValueError, r"xs must have at least 2 axes"),
        "rank1": Case(
            lambda: run(jnp.ones((I,))),
            ValueError,
            r"xs must have at least 2 axes \[\.\.\., T, I\], got shape \(3,\)",
        ),
        "rank1_time_major": Case(
            lambda: run(jnp.ones((I,)), time_major=True),
            ValueError,
            r"at least 2 axes \[T, \.\.\., I\]",
        ),
        "features_too_many": Case(
            lambda: run(jnp.ones((B, T, I + 1))),
            ValueError,
            r"xs must have the input size I of params = 3 .* got shape \(2, 5, 4\)",
        ),
        "features_zero": Case(
            lambda: run(jnp.ones((B, T, 0))), ValueError, r"xs must have the input size I"
        ),
        "features_as_time": Case(
            lambda: run(jnp.ones((B, I, T))), ValueError, r"xs must have the input size I"
        ),
        "float64_numpy": Case(
            lambda: run(np.ones((B, T, I))),
            TypeError,
            r"xs has dtype float64 but params has dtype float32",
        ),
        "bfloat16": Case(
            lambda: run(XS.astype(jnp.bfloat16)), TypeError, r"xs has dtype bfloat16 but params"
        ),
        "float16": Case(
            lambda: run(XS.astype(jnp.float16)), TypeError, r"xs has dtype float16 but params"
        ),
        **{
            f"dtype_{name}": Case(
                functools.partial(run, value), TypeError, r"xs must have a floating dtype"
            )
            for name, value in non_float_arrays((B, T, I)).items()
        },
        **{
            f"not_array_{name}": Case(
                functools.partial(run, value), TypeError, r"xs must be an array"
            )
            for name, value in not_arrays().items()
        },
        "nested_list": Case(
            lambda: run(np.ones((B, T, I)).tolist()), TypeError, r"xs must be an array, got list"
        ),
    }
    params_cases = {
        "none": Case(lambda: run(p=None), TypeError, rf"params must be {kind}, got NoneType"),
        "other_cell": Case(lambda: run(p=other), TypeError, rf"params must be {kind}, got"),
        "plain_tuple": Case(
            lambda: run(p=tuple(good)), TypeError, rf"params must be {kind}, got tuple"
        ),
        "dict": Case(lambda: run(p=good._asdict()), TypeError, rf"params must be {kind}"),
        "stack_layout": Case(
            lambda: run(p=[[good]]), TypeError, rf"params must be {kind}, got list"
        ),
        "w_h_not_square": Case(
            lambda: run(p=good._replace(w_h=jnp.ones((H + 1, gates * H)))),
            ValueError,
            r"params.w_h must have shape \(\d+, \d+\), got .* \(the layout is \[H, \dH\]",
        ),
        "w_h_rank1": Case(
            lambda: run(p=good._replace(w_h=jnp.ones(gates * H))),
            ValueError,
            r"params.w_h must have shape",
        ),
        "w_h_rank3": Case(
            lambda: run(p=good._replace(w_h=jnp.ones((1, H, gates * H)))),
            ValueError,
            r"params.w_h must have shape",
        ),
        "hidden_zero": Case(
            lambda: run(p=good._replace(w_x=jnp.ones((I, 0)), w_h=jnp.ones((0, 0)))),
            ValueError,
            r"params.w_h must have a hidden size H >= 1",
        ),
        "w_x_wrong_gates": Case(
            lambda: run(p=good._replace(w_x=jnp.ones((I, gates * H + 1)))),
            ValueError,
            r"params.w_x must have shape \(\d+, \d+\), got .* \(the layout is \[I, \dH\]",
        ),
        "w_x_rank1": Case(
            lambda: run(p=good._replace(w_x=jnp.ones(gates * H))),
            ValueError,
            r"params.w_x must have shape",
        ),
        "w_x_int": Case(
            lambda: run(p=good._replace(w_x=good.w_x.astype(jnp.int32))),
            TypeError,
            r"params.w_x must have a floating dtype",
        ),
        "w_x_list": Case(
            lambda: run(p=good._replace(w_x=np.asarray(good.w_x).tolist())),
            TypeError,
            r"params.w_x must be an array",
        ),
        "w_h_complex": Case(
            lambda: run(p=good._replace(w_h=good.w_h.astype(jnp.complex64))),
            TypeError,
            r"params.w_h must have a floating dtype",
        ),
        "w_h_none": Case(
            lambda: run(p=good._replace(w_h=None)), TypeError, r"params.w_h must be an array"
        ),
    }
    bias_fields = ("b",) if cell == "lstm" else ("b_x", "b_h")
    for field in bias_fields:
        value = getattr(good, field)
        params_cases |= {
            f"{field}_too_long": Case(
                functools.partial(run, p=good._replace(**{field: jnp.ones(gates * H + 1)})),
                ValueError,
                rf"params.{field} must have shape \({gates * H},\)",
            ),
            f"{field}_rank2_broadcastable": Case(
                functools.partial(run, p=good._replace(**{field: value[None]})),
                ValueError,
                rf"params.{field} must have shape",
            ),
            f"{field}_scalar": Case(
                functools.partial(run, p=good._replace(**{field: jnp.ones(())})),
                ValueError,
                rf"params.{field} must have shape",
            ),
            f"{field}_bfloat16": Case(
                functools.partial(run, p=good._replace(**{field: value.astype(jnp.bfloat16)})),
                TypeError,
                rf"params.{field} has dtype bfloat16 but params.w_h has dtype float32",
            ),
            f"{field}_int": Case(
                functools.partial(run, p=good._replace(**{field: value.astype(jnp.int32)})),
                TypeError,
                rf"params.{field} must have a floating dtype",
            ),
        }

    carry_name = "carry.h" if cell == "lstm" else "carry"
    if cell == "lstm":
        zeros = jnp.zeros((B, H))
        carry_cases = {
            "tuple_not_state": Case(
                lambda: run(carry=(zeros, zeros)),
                TypeError,
                r"carry must be LSTMState\(h, c\) or None, got tuple",
            ),
            "array_not_state": Case(
                lambda: run(carry=zeros), TypeError, r"carry must be LSTMState\(h, c\) or None"
            ),
            "c_wrong_batch": Case(
                lambda: run(carry=rnnax.LSTMState(zeros, jnp.zeros((B + 1, H)))),
                ValueError,
                r"carry.c must have shape \(2, 4\)",
            ),
            "c_broadcastable": Case(
                lambda: run(carry=rnnax.LSTMState(zeros, jnp.zeros((H,)))),
                ValueError,
                r"carry.c must have shape \(2, 4\) .* got \(4,\)",
            ),
            "c_bfloat16": Case(
                lambda: run(carry=rnnax.LSTMState(zeros, zeros.astype(jnp.bfloat16))),
                TypeError,
                r"carry.c has dtype bfloat16 but params",
            ),
            "c_none": Case(
                lambda: run(carry=rnnax.LSTMState(zeros, None)),
                TypeError,
                r"carry.c must be an array",
            ),
        }

        def with_h(h):
            return rnnax.LSTMState(h, jnp.zeros((B, H)))
    else:
        carry_cases = {
            "lstm_state": Case(
                lambda: run(carry=_zero_carry("lstm")),
                TypeError,
                r"carry must be an array or None, got LSTMState",
            ),
            "list": Case(
                lambda: run(carry=[[0.0] * H] * B),
                TypeError,
                r"carry must be an array or None, got list",
            ),
        }

        def with_h(h):
            return h

    carry_cases |= {
        "h_wrong_batch": Case(
            lambda: run(carry=with_h(jnp.zeros((B + 1, H)))),
            ValueError,
            rf"{carry_name} must have shape \(2, 4\) \(the batch shape of xs, then H\), got \(3, 4\)",
        ),
        "h_wrong_hidden": Case(
            lambda: run(carry=with_h(jnp.zeros((B, H + 1)))),
            ValueError,
            rf"{carry_name} must have shape \(2, 4\)",
        ),
        "h_broadcastable": Case(
            lambda: run(carry=with_h(jnp.zeros((H,)))),
            ValueError,
            rf"{carry_name} must have shape \(2, 4\)",
        ),
        "h_extra_axis": Case(
            lambda: run(carry=with_h(jnp.zeros((1, B, H)))),
            ValueError,
            rf"{carry_name} must have shape \(2, 4\)",
        ),
        "h_int": Case(
            lambda: run(carry=with_h(jnp.zeros((B, H), jnp.int32))),
            TypeError,
            rf"{carry_name} must have a floating dtype",
        ),
        "h_float64_numpy": Case(
            lambda: run(carry=with_h(np.zeros((B, H)))),
            TypeError,
            rf"{carry_name} has dtype float64 but params",
        ),
        "h_string": Case(
            lambda: run(carry=with_h("zeros")), TypeError, rf"{carry_name} must be an array"
        ),
    }

    lengths_cases = {
        "float": Case(
            lambda: run(seq_lengths=jnp.array([1.0, 2.0])),
            TypeError,
            r"seq_lengths must have an integer dtype, got float32",
        ),
        "bool": Case(
            lambda: run(seq_lengths=jnp.array([True, False])),
            TypeError,
            r"seq_lengths must have an integer dtype, got bool",
        ),
        "list": Case(
            lambda: run(seq_lengths=[1, 2]), TypeError, r"seq_lengths must be an array, got list"
        ),
        "python_int": Case(
            lambda: run(seq_lengths=3), TypeError, r"seq_lengths must be an array, got int"
        ),
        "too_long": Case(
            lambda: run(seq_lengths=jnp.array([1, 2, 3])),
            ValueError,
            r"seq_lengths must have shape \(2,\) \(the batch shape of xs\), got \(3,\)",
        ),
        "scalar": Case(
            lambda: run(seq_lengths=jnp.array(2)),
            ValueError,
            r"seq_lengths must have shape \(2,\).*got \(\)",
        ),
        "column": Case(
            lambda: run(seq_lengths=jnp.array([[1], [2]])),
            ValueError,
            r"seq_lengths must have shape \(2,\)",
        ),
        "above_T": Case(
            lambda: run(seq_lengths=jnp.array([2, T + 1])),
            ValueError,
            r"seq_lengths must lie in \[0, 5\] .* got values from 2 to 6",
        ),
        "negative": Case(
            lambda: run(seq_lengths=jnp.array([-1, 3])),
            ValueError,
            r"seq_lengths must lie in \[0, 5\].*from -1 to 3",
        ),
        "huge_int64": Case(
            lambda: run(seq_lengths=np.array([1, 2**40])),
            ValueError,
            r"seq_lengths must lie in \[0, 5\]",
        ),
        "empty_batch_mismatch": Case(
            lambda: run(seq_lengths=jnp.zeros((0,), jnp.int32)),
            ValueError,
            r"seq_lengths must have shape \(2,\)",
        ),
    }

    flag_names = ["reverse", "time_major"] + (["reset_after"] if cell == "gru" else [])
    flag_cases: dict[str, Case] = {}
    for flag in flag_names:
        flag_cases |= {
            f"{flag}-{label}": case
            for label, case in cases_from(
                # reset_after=None (the default) takes the GRU form from the parameters' type.
                bool_mutations(flag, none_allowed=flag == "reset_after"),
                lambda value, flag=flag: run(**{flag: value}),
            ).items()
        }
    unroll_cases = {
        "zero": Case(
            lambda: run(unroll=0), ValueError, r"unroll must be a bool or a positive int, got 0"
        ),
        "negative": Case(
            lambda: run(unroll=-2), ValueError, r"unroll must be a bool or a positive int, got -2"
        ),
        "float": Case(
            lambda: run(unroll=1.5), TypeError, r"unroll must be a bool or a positive int, got 1.5"
        ),
        "string": Case(lambda: run(unroll="4"), TypeError, r"unroll must be"),
        "none": Case(lambda: run(unroll=None), TypeError, r"unroll must be"),
    }
    strategy_cases = {
        name: Case(
            functools.partial(run, strategy=value), ValueError, r"strategy must be one of \("
        )
        for name, value in {
            "unknown": "fast",
            "upper_case": "AUTO",
            "empty": "",
            "none": None,
            "int": 3,
            "list": [],
        }.items()
    }
    return merge(
        xs_cases,
        params_cases,
        carry_cases,
        lengths_cases,
        flag_cases,
        unroll_cases,
        strategy_cases,
        prefix=["xs", "params", "carry", "seq_lengths", "flag", "unroll", "strategy"],
    )


CORE_CASES = merge(_core_cases("lstm"), _core_cases("gru"), prefix=["lstm", "gru"])


@pytest.mark.parametrize("case", params(CORE_CASES))
def test_core_bad_argument(case: Case) -> None:
    check(case)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_core_valid_calls_still_work(cell: str) -> None:
    core, good, _ = CELLS[cell]
    # Every argument given, at a valid value (a NumPy bool is a bool).
    _, ys = core(
        good,
        XS,
        _zero_carry(cell),
        seq_lengths=LENGTHS,
        reverse=np.bool_(True),
        time_major=False,
        unroll=2,
        strategy="scan",
    )
    assert ys.shape == (B, T, H) and bool(jnp.isfinite(ys).all())
    assert bool((ys[1, 2:] == 0).all())


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("strategy", ["scan", "auto", "remat"])
def test_core_empty_time_and_batch_axes_are_well_defined(cell: str, strategy: str) -> None:
    """Zero time steps return the initial carry and no outputs; a zero batch, empty outputs."""
    core, good, _ = CELLS[cell]
    carry = jax.tree.map(lambda leaf: leaf + 0.5, _zero_carry(cell))
    final, ys = core(good, jnp.ones((B, 0, I)), carry, strategy=strategy)
    assert ys.shape == (B, 0, H)
    assert jax.tree.all(jax.tree.map(lambda a, b: bool((a == b).all()), final, carry))
    _, ys = core(good, jnp.ones((0, T, I)), strategy=strategy)
    assert ys.shape == (0, T, H)


JIT_CASES = {
    f"{cell}-{name}": case
    for cell, (core, good, _) in CELLS.items()
    for name, case in {
        "xs_features": Case(
            lambda core=core, good=good: jax.jit(lambda xs: core(good, xs))(
                jnp.ones((B, T, I + 2))
            ),
            ValueError,
            r"xs must have the input size I",
        ),
        "xs_dtype": Case(
            lambda core=core, good=good: jax.jit(lambda xs: core(good, xs))(
                XS.astype(jnp.bfloat16)
            ),
            TypeError,
            r"xs has dtype bfloat16",
        ),
        "lengths_shape": Case(
            lambda core=core, good=good: jax.jit(lambda n: core(good, XS, seq_lengths=n))(
                jnp.array([1, 2, 3])
            ),
            ValueError,
            r"seq_lengths must have shape",
        ),
        "lengths_dtype": Case(
            lambda core=core, good=good: jax.jit(lambda n: core(good, XS, seq_lengths=n))(
                jnp.array([1.0, 2.0])
            ),
            TypeError,
            r"seq_lengths must have an integer dtype",
        ),
        "params_shape": Case(
            lambda core=core, good=good: jax.jit(lambda p: core(p, XS))(
                good._replace(w_x=good.w_x[:, :-1])
            ),
            ValueError,
            r"params.w_x must have shape",
        ),
    }.items()
}


@pytest.mark.parametrize("case", params(JIT_CASES))
def test_core_bad_argument_under_jit_fails_at_trace_time(case: Case) -> None:
    check(case)


# ------------------------------------------------------------------------------------------
# cells
# ------------------------------------------------------------------------------------------
def _cell_cases() -> dict[str, Case]:
    state = rnnax.LSTMState(jnp.zeros(H), jnp.zeros(H))
    x = jnp.ones(I)
    lstm_cell = functools.partial(rnnax.lstm_cell, LSTM)
    gru_cell = functools.partial(rnnax.gru_cell, GRU)
    cases = {
        "lstm-x_scalar": Case(
            lambda: lstm_cell(state, jnp.ones(())),
            ValueError,
            r"x must have the input size I = 3 on its last axis, got shape \(\)",
        ),
        "lstm-x_wrong_features": Case(
            lambda: lstm_cell(state, jnp.ones(I + 2)),
            ValueError,
            r"x must have the input size I = 3",
        ),
        "lstm-x_int": Case(
            lambda: lstm_cell(state, jnp.ones(I, jnp.int32)),
            TypeError,
            r"x must have a floating dtype",
        ),
        "lstm-x_bfloat16": Case(
            lambda: lstm_cell(state, x.astype(jnp.bfloat16)),
            TypeError,
            r"x has dtype bfloat16 but params",
        ),
        "lstm-x_none": Case(lambda: lstm_cell(state, None), TypeError, r"x must be an array"),
        "lstm-carry_tuple": Case(
            lambda: lstm_cell((jnp.zeros(H), jnp.zeros(H)), x),
            TypeError,
            r"carry must be LSTMState\(h, c\), got tuple",
        ),
        "lstm-carry_batch_mismatch": Case(
            lambda: lstm_cell(rnnax.LSTMState(jnp.zeros((2, H)), jnp.zeros((2, H))), x),
            ValueError,
            r"carry.h must have shape \(4,\) \(batch shape of x, then H\)",
        ),
        "lstm-carry_c_int": Case(
            lambda: lstm_cell(rnnax.LSTMState(jnp.zeros(H), jnp.zeros(H, jnp.int32)), x),
            TypeError,
            r"carry.c must have a floating dtype",
        ),
        "lstm-params_gru": Case(
            lambda: rnnax.lstm_cell(GRU, state, x),
            TypeError,
            r"params must be LSTMParams, got GRUParams",
        ),
        "gru-x_scalar": Case(
            lambda: gru_cell(jnp.zeros(H), jnp.ones(())),
            ValueError,
            r"x must have the input size I = 3",
        ),
        "gru-x_complex": Case(
            lambda: gru_cell(jnp.zeros(H), x.astype(jnp.complex64)),
            TypeError,
            r"x must have a floating dtype",
        ),
        "gru-h_batch_mismatch": Case(
            lambda: gru_cell(jnp.zeros(H), jnp.ones((2, I))),
            ValueError,
            r"h must have shape \(2, 4\) \(batch shape of x, then H\), got \(4,\)",
        ),
        "gru-h_none": Case(
            lambda: gru_cell(None, x), TypeError, r"h must be an array, got NoneType"
        ),
        "gru-h_lstm_state": Case(
            lambda: gru_cell(state, x), TypeError, r"h must be an array, got LSTMState"
        ),
        "gru-params_lstm": Case(
            lambda: rnnax.gru_cell(LSTM, jnp.zeros(H), x),
            TypeError,
            r"params must be GRUParams, got LSTMParams",
        ),
    }
    cases |= {
        f"gru-reset_after-{label}": case
        for label, case in cases_from(
            bool_mutations("reset_after", none_allowed=True),
            lambda value: gru_cell(jnp.zeros(H), x, reset_after=value),
        ).items()
    }
    return cases


@pytest.mark.parametrize("case", params(_cell_cases()))
def test_cell_bad_argument(case: Case) -> None:
    check(case)


def test_cell_valid_calls_still_work() -> None:
    _, y = rnnax.lstm_cell(LSTM, rnnax.LSTMState(jnp.zeros(H), jnp.zeros(H)), jnp.ones(I))
    assert y.shape == (H,)
    _, y = rnnax.gru_cell(GRU, jnp.zeros((2, H)), jnp.ones((2, I)), reset_after=True)
    assert y.shape == (2, H)


# ------------------------------------------------------------------------------------------
# scan_cell
# ------------------------------------------------------------------------------------------
def _scan_cases() -> dict[str, Case]:
    h0 = jnp.zeros((B, H))

    def run(cell=rnnax.gru_cell, p=GRU, xs=XS, carry=h0, **kwargs):
        return rnnax.scan_cell(cell, p, xs, carry, **kwargs)

    cases = {
        "cell_none": Case(
            lambda: run(cell=None),
            TypeError,
            r"cell must be a function cell\(params, carry, x\), got None",
        ),
        "cell_string": Case(lambda: run(cell="gru"), TypeError, r"cell must be a function"),
        "cell_params_mismatch": Case(
            lambda: run(cell=rnnax.lstm_cell),
            TypeError,
            r"params must be LSTMParams, got GRUParams",
        ),
        "carry_wrong_batch": Case(
            lambda: run(carry=jnp.zeros((B + 1, H))), ValueError, r"h must have shape \(2, 4\)"
        ),
        "xs_rank1": Case(lambda: run(xs=jnp.ones(I)), ValueError, r"xs must have at least 2 axes"),
        "xs_int": Case(
            lambda: run(xs=jnp.ones((B, T, I), jnp.int32)),
            TypeError,
            r"xs must have a floating dtype",
        ),
        "xs_none": Case(lambda: run(xs=None), TypeError, r"xs must be an array"),
        "lengths_wrong_shape": Case(
            lambda: run(seq_lengths=jnp.array([1])),
            ValueError,
            r"seq_lengths must have shape \(2,\)",
        ),
        "lengths_above_T": Case(
            lambda: run(seq_lengths=jnp.array([1, 9])),
            ValueError,
            r"seq_lengths must lie in \[0, 5\]",
        ),
        "remat_chunk_zero": Case(
            lambda: run(remat_chunk=0), ValueError, r"remat_chunk must be a positive int, got 0"
        ),
        "remat_chunk_negative": Case(
            lambda: run(remat_chunk=-3), ValueError, r"remat_chunk must be a positive int"
        ),
        "remat_chunk_float": Case(
            lambda: run(remat_chunk=2.5), TypeError, r"remat_chunk must be a positive int"
        ),
        "remat_chunk_string": Case(
            lambda: run(remat_chunk="2"), TypeError, r"remat_chunk must be a positive int"
        ),
        "unroll_zero": Case(
            lambda: run(unroll=0), ValueError, r"unroll must be a bool or a positive int"
        ),
        "unroll_float": Case(
            lambda: run(unroll=0.5), TypeError, r"unroll must be a bool or a positive int"
        ),
    }
    for flag in ("reverse", "time_major"):
        cases |= {
            f"{flag}-{label}": case
            for label, case in cases_from(
                # reset_after=None (the default) takes the GRU form from the parameters' type.
                bool_mutations(flag, none_allowed=flag == "reset_after"),
                lambda value, flag=flag: run(**{flag: value}),
            ).items()
        }
    return cases


@pytest.mark.parametrize("case", params(_scan_cases()))
def test_scan_cell_bad_argument(case: Case) -> None:
    check(case)


def test_scan_cell_valid_call_still_works() -> None:
    _, ys = rnnax.scan_cell(
        rnnax.gru_cell, GRU, XS, jnp.zeros((B, H)), seq_lengths=LENGTHS, remat_chunk=2
    )
    assert ys.shape == (B, T, H) and bool((ys[1, 2:] == 0).all())


# ------------------------------------------------------------------------------------------
# initializers, stacks of them, zero_carry, counting
# ------------------------------------------------------------------------------------------
def _init_cases(cell: str) -> dict[str, Case]:
    init = rnnax.lstm_init if cell == "lstm" else rnnax.gru_init

    def run(key=KEY, input_size=I, hidden_size=H, **kwargs):
        return init(key, input_size, hidden_size, **kwargs)

    cases: dict[str, Case] = {}
    for name, value in bad_keys().items():
        error = ValueError if name == "batch_of_keys" else TypeError
        cases[f"key-{name}"] = Case(
            functools.partial(run, value), error, r"key must be (a single )?(a )?PRNG key"
        )
    for argument in ("input_size", "hidden_size"):
        cases |= {
            f"{argument}-{label}": case
            for label, case in cases_from(
                int_mutations(argument), lambda value, argument=argument: run(**{argument: value})
            ).items()
        }
    cases |= {
        "dtype-int32": Case(
            lambda: run(dtype=jnp.int32), TypeError, r"dtype must be a floating dtype .* got int32"
        ),
        "dtype-bool": Case(
            lambda: run(dtype=bool), TypeError, r"dtype must be a floating dtype .* got bool"
        ),
        "dtype-complex64": Case(
            lambda: run(dtype=jnp.complex64),
            TypeError,
            r"dtype must be a floating dtype .* got complex64",
        ),
        "dtype-unknown_name": Case(
            lambda: run(dtype="float33"),
            TypeError,
            r"dtype must be a floating dtype .* got 'float33'",
        ),
        "dtype-float64_without_x64": Case(
            lambda: run(dtype=jnp.float64),
            ValueError,
            r"dtype is float64 but JAX's 64-bit mode is off",
        ),
        "input_init-not_callable": Case(
            lambda: run(input_init=3), TypeError, r"input_init must be an initializer"
        ),
        "recurrent_init-none": Case(
            lambda: run(recurrent_init=None), TypeError, r"recurrent_init must be an initializer"
        ),
        "input_init-wrong_shape": Case(
            lambda: run(input_init=lambda k, s, d: jnp.ones((s[0], s[1] + 1), d)),
            ValueError,
            r"input_init must return a floating array of the requested shape \(3, 4\), got float32 of shape \(3, 5\)",
        ),
        "recurrent_init-int_result": Case(
            lambda: run(recurrent_init=lambda k, s, d: jnp.ones(s, jnp.int32)),
            ValueError,
            r"recurrent_init must return a floating array",
        ),
        "input_init-not_an_array": Case(
            lambda: run(input_init=lambda k, s, d: [[0.0] * s[1]] * s[0]),
            TypeError,
            r"input_init must return an array, got list",
        ),
    }
    if cell == "lstm":
        cases |= {
            "forget_bias-nan": Case(
                lambda: run(forget_bias=float("nan")),
                ValueError,
                r"forget_bias must be a finite real number, got nan",
            ),
            "forget_bias-inf": Case(
                lambda: run(forget_bias=-float("inf")),
                ValueError,
                r"forget_bias must be a finite real number",
            ),
            "forget_bias-string": Case(
                lambda: run(forget_bias="1.0"),
                TypeError,
                r"forget_bias must be a finite real number",
            ),
            "forget_bias-none": Case(
                lambda: run(forget_bias=None),
                TypeError,
                r"forget_bias must be a finite real number",
            ),
            "forget_bias-vector": Case(
                lambda: run(forget_bias=jnp.ones(H)),
                TypeError,
                r"forget_bias must be a finite real number",
            ),
            "forget_bias-bool": Case(
                lambda: run(forget_bias=True),
                TypeError,
                r"forget_bias must be a finite real number",
            ),
        }
    return cases


def _stack_init_cases(cell: str) -> dict[str, Case]:
    init = rnnax.lstm_stack_init if cell == "lstm" else rnnax.gru_stack_init

    def run(key=KEY, **kwargs):
        return init(key, I, H, **kwargs)

    cases = {
        f"num_layers-{label}": case
        for label, case in cases_from(
            int_mutations("num_layers"), lambda value: run(num_layers=value)
        ).items()
    }
    cases |= {
        f"bidirectional-{label}": case
        for label, case in cases_from(
            bool_mutations("bidirectional"), lambda value: run(bidirectional=value)
        ).items()
    }
    cases |= {
        "key-int": Case(lambda: run(0), TypeError, r"key must be a PRNG key"),
        "key-none": Case(lambda: run(None), TypeError, r"key must be a PRNG key"),
        "dtype-int": Case(
            lambda: run(dtype=jnp.int8), TypeError, r"dtype must be a floating dtype"
        ),
        "hidden_size-zero": Case(
            lambda: init(KEY, I, 0, num_layers=2),
            ValueError,
            r"hidden_size must be a positive int, got 0",
        ),
    }
    return cases


INIT_CASES = merge(
    _init_cases("lstm"),
    _init_cases("gru"),
    _stack_init_cases("lstm"),
    _stack_init_cases("gru"),
    prefix=["lstm_init", "gru_init", "lstm_stack_init", "gru_stack_init"],
)


@pytest.mark.parametrize("case", params(INIT_CASES))
def test_init_bad_argument(case: Case) -> None:
    check(case)


def test_init_valid_calls_still_work() -> None:
    params = rnnax.lstm_init(
        jax.random.PRNGKey(1), np.int64(I), H, forget_bias=np.float32(0.5), dtype="float32"
    )
    assert params.w_x.dtype == jnp.float32 and float(params.b[H]) == 0.5
    # A raw uint32 key splits into [n, 2]: the stack must still get one key per direction.
    layers = rnnax.lstm_stack_init(
        jax.random.PRNGKey(2), I, H, bidirectional=np.bool_(True), dtype=None
    )
    assert layers[0][1].w_h.shape == (H, 4 * H)
    assert not bool((layers[0][0].w_h == layers[0][1].w_h).all())


def _stack_cases(cell: str) -> dict[str, Case]:
    stack = rnnax.lstm_stack if cell == "lstm" else rnnax.gru_stack
    layers = stack_params(cell, I, H, num_layers=2)
    bidirectional = stack_params(cell, I, H, num_layers=2, bidirectional=True)
    other_cell = stack_params("gru" if cell == "lstm" else "lstm", I, H)
    kind = "LSTMParams" if cell == "lstm" else "GRUParams"

    def run(layers=layers, xs=XS, **kwargs):
        return stack(layers, xs, **kwargs)

    cases = {
        "layers-none": Case(
            lambda: run(None),
            ValueError,
            r"layers must be a non-empty sequence of layers, got None",
        ),
        "layers-empty": Case(lambda: run([]), ValueError, r"layers must be a non-empty sequence"),
        "layers-single_params": Case(
            lambda: run(layers[0][0]),
            ValueError,
            r"layers\[0\] must be a sequence of 1 \(forward\) or 2",
        ),
        "layers-one_level_list": Case(
            lambda: run([layers[0][0]]),
            ValueError,
            r"layers\[0\] must be a sequence of 1 \(forward\) or 2 .* got \w+Params of length",
        ),
        "layers-three_directions": Case(
            lambda: run([[layers[0][0]] * 3]), ValueError, r"layers\[0\] must be a sequence of 1"
        ),
        "layers-string": Case(lambda: run("ab"), TypeError, rf"params must be {kind}, got str"),
        "layers-other_cell": Case(lambda: run(other_cell), TypeError, rf"params must be {kind}"),
        "layers-size_mismatch": Case(
            lambda: run([layers[0], stack_params(cell, H + 3, H)[0]]),
            ValueError,
            r"layers\[1\]\[0\] must have input size I = 4 \(the output size of layers\[0\]\), got 7",
        ),
        "layers-directions_mismatch": Case(
            lambda: run([bidirectional[0], layers[1]]),
            ValueError,
            r"layers\[1\] has 1 directions but layers\[0\] has 2",
        ),
        "xs-wrong_features": Case(
            lambda: run(xs=jnp.ones((B, T, I + 1))), ValueError, r"xs must have the input size I"
        ),
        "xs-int": Case(
            lambda: run(xs=jnp.ones((B, T, I), jnp.int32)),
            TypeError,
            r"xs must have a floating dtype",
        ),
        "carry-wrong_layout": Case(
            lambda: run(carry=[[None]]),
            ValueError,
            r"carry must be None or carry\[layer\]\[direction\] for 2 layers",
        ),
        "carry-not_nested": Case(
            lambda: run(carry="ab"),
            ValueError,
            r"carry must be None or carry\[layer\]\[direction\]",
        ),
        "seq_lengths-wrong_shape": Case(
            lambda: run(seq_lengths=jnp.array([1, 2, 3])),
            ValueError,
            r"seq_lengths must have shape \(2,\)",
        ),
    }
    cases |= {
        f"dropout_rate-{label}": case
        for label, case in cases_from(
            rate_mutations("dropout_rate"), lambda value: run(dropout_rate=value, dropout_key=KEY)
        ).items()
    }
    for name, value in bad_keys().items():
        if name == "none":  # no dropout key is inference mode: valid
            continue
        error = ValueError if name == "batch_of_keys" else TypeError
        cases[f"dropout_key-{name}"] = Case(
            functools.partial(run, dropout_rate=0.5, dropout_key=value),
            error,
            r"dropout_key must be (a single )?(a )?PRNG key",
        )
    return cases


STACK_CASES = merge(_stack_cases("lstm"), _stack_cases("gru"), prefix=["lstm_stack", "gru_stack"])


@pytest.mark.parametrize("case", params(STACK_CASES))
def test_stack_bad_argument(case: Case) -> None:
    check(case)


def test_stack_valid_calls_still_work() -> None:
    layers = stack_params("gru", I, H, num_layers=2)
    finals, ys = rnnax.gru_stack(
        layers, XS, dropout_rate=np.float32(0.5), dropout_key=jax.random.key(3), strategy="scan"
    )
    assert ys.shape == (B, T, H) and len(finals) == 2


COUNTING_CASES: dict[str, Case] = {}
for _function in (rnnax.stack_param_count, rnnax.flops_per_step):
    _name = _function.__name__
    COUNTING_CASES |= {
        f"{_name}-cell-unknown": Case(
            functools.partial(_function, "rnn", I, H),
            ValueError,
            r"cell must be one of \((?=.*'gru')(?=.*'lstm').*\), got 'rnn'",
        ),
        f"{_name}-cell-upper_case": Case(
            functools.partial(_function, "LSTM", I, H), ValueError, r"cell must be one of"
        ),
        f"{_name}-cell-list": Case(
            functools.partial(_function, [], I, H), ValueError, r"cell must be one of .* got \[\]"
        ),
        f"{_name}-cell-none": Case(
            functools.partial(_function, None, I, H), ValueError, r"cell must be one of"
        ),
        f"{_name}-input_size-zero": Case(
            functools.partial(_function, "lstm", 0, H),
            ValueError,
            r"input_size must be a positive int, got 0",
        ),
        f"{_name}-input_size-float": Case(
            functools.partial(_function, "lstm", 1.5, H),
            TypeError,
            r"input_size must be a positive int",
        ),
        f"{_name}-hidden_size-negative": Case(
            functools.partial(_function, "gru", I, -4),
            ValueError,
            r"hidden_size must be a positive int, got -4",
        ),
        f"{_name}-hidden_size-none": Case(
            functools.partial(_function, "gru", I, None),
            TypeError,
            r"hidden_size must be a positive int",
        ),
        f"{_name}-num_layers-zero": Case(
            functools.partial(_function, "gru", I, H, num_layers=0),
            ValueError,
            r"num_layers must be a positive int",
        ),
        f"{_name}-bidirectional-string": Case(
            functools.partial(_function, "gru", I, H, bidirectional="no"),
            TypeError,
            r"bidirectional must be a bool",
        ),
    }
COUNTING_CASES |= {
    "param_count-string_leaf": Case(
        lambda: rnnax.param_count({"w": "abc"}),
        TypeError,
        r"param_count counts array leaves, but tree\['w'\] is a str",
    ),
    "param_count-object_leaf": Case(
        lambda: rnnax.param_count([object()]), TypeError, r"tree\[0\] is a object"
    ),
    "zero_carry-params_none": Case(
        lambda: rnnax.zero_carry(None),
        TypeError,
        r"params must be the parameters of a registered cell \(.*\).* got NoneType",
    ),
    "zero_carry-params_stack": Case(
        lambda: rnnax.zero_carry([[LSTM]]),
        TypeError,
        r"params must be the parameters of a registered cell \(.*\).* got list",
    ),
    "zero_carry-batch_shape_int": Case(
        lambda: rnnax.zero_carry(LSTM, 3), TypeError, r"batch_shape must be a tuple of ints, got 3"
    ),
    "zero_carry-batch_shape_negative": Case(
        lambda: rnnax.zero_carry(GRU, (-1,)),
        ValueError,
        r"batch_shape must hold non-negative sizes, got \(-1,\)",
    ),
    "zero_carry-batch_shape_float": Case(
        lambda: rnnax.zero_carry(GRU, (1.5,)), TypeError, r"batch_shape must be a tuple of ints"
    ),
    "zero_carry-batch_shape_string": Case(
        lambda: rnnax.zero_carry(GRU, "ab"), TypeError, r"batch_shape must be a tuple of ints"
    ),
    "set_cpu_device_count-zero": Case(
        lambda: rnnax.set_cpu_device_count(0), ValueError, r"count must be a positive int, got 0"
    ),
    "set_cpu_device_count-float": Case(
        lambda: rnnax.set_cpu_device_count(2.0), TypeError, r"count must be a positive int"
    ),
}


@pytest.mark.parametrize("case", params(COUNTING_CASES))
def test_counting_and_carry_bad_argument(case: Case) -> None:
    check(case)


def test_counting_valid_calls_still_work() -> None:
    assert rnnax.stack_param_count("lstm", 1, 64) == 16896
    assert rnnax.flops_per_step("gru", np.int64(1), 64, bidirectional=np.bool_(False)) == 26048
    assert rnnax.param_count(jax.eval_shape(lambda: LSTM)) == rnnax.param_count(LSTM)
    assert rnnax.zero_carry(LSTM, [2]).h.shape == (2, H)


# ------------------------------------------------------------------------------------------
# streaming: stream_init, stream_apply, stream_scan
# ------------------------------------------------------------------------------------------


def _stream_cases() -> dict[str, Case]:
    state = rnnax.stream_init(LSTM, (B,))
    stack = stack_params("lstm", I, H, num_layers=2)
    bidirectional = stack_params("lstm", I, H, bidirectional=True)

    def apply(p=LSTM, s=state, chunk=XS, **kwargs):
        return rnnax.stream_apply(p, s, chunk, **kwargs)

    cases = {
        "init-params_none": Case(lambda: rnnax.stream_init(None, (B,)), TypeError, r"params"),
        "init-params_string": Case(lambda: rnnax.stream_init("lstm", (B,)), TypeError, r"params"),
        "init-bidirectional_stack": Case(
            lambda: rnnax.stream_init(bidirectional, (B,)), ValueError, r"bidirectional"
        ),
        "init-batch_shape_negative": Case(
            lambda: rnnax.stream_init(LSTM, (-1,)),
            TypeError,
            r"batch_shape must be a tuple of non-negative ints",
        ),
        "init-batch_shape_int": Case(lambda: rnnax.stream_init(LSTM, 2), TypeError, r"batch_shape"),
        "init-batch_shape_float": Case(
            lambda: rnnax.stream_init(LSTM, (1.5,)), TypeError, r"batch_shape"
        ),
        "init-carry_wrong_shape": Case(
            lambda: rnnax.stream_init(LSTM, (B,), carry=_zero_carry("lstm", (B + 1, H))),
            ValueError,
            r"carry",
        ),
        "init-carry_wrong_type": Case(
            lambda: rnnax.stream_init(LSTM, (B,), carry=jnp.zeros((B, H))), TypeError, r"carry"
        ),
        "init-stack_carry_layout": Case(
            lambda: rnnax.stream_init(stack, (B,), carry=[[_zero_carry("lstm")]]),
            ValueError,
            r"carry",
        ),
        "apply-state_none": Case(lambda: apply(s=None), TypeError, r"state"),
        "apply-state_tuple": Case(lambda: apply(s=tuple(state)), TypeError, r"state"),
        "apply-state_of_other_params": Case(
            lambda: apply(p=GRU), TypeError, r"(state|carry|params)"
        ),
        "apply-chunk_wrong_features": Case(
            lambda: apply(chunk=jnp.ones((B, T, I + 1))), ValueError, r"chunk"
        ),
        "apply-chunk_wrong_batch": Case(
            lambda: apply(chunk=jnp.ones((B + 1, T, I))), ValueError, r"chunk"
        ),
        "apply-chunk_rank1": Case(lambda: apply(chunk=jnp.ones(I)), ValueError, r"chunk"),
        "apply-chunk_int": Case(
            lambda: apply(chunk=jnp.ones((B, T, I), jnp.int32)), TypeError, r"chunk"
        ),
        "apply-chunk_bfloat16": Case(
            lambda: apply(chunk=XS.astype(jnp.bfloat16)), TypeError, r"chunk"
        ),
        "apply-chunk_none": Case(lambda: apply(chunk=None), TypeError, r"chunk"),
        "apply-seq_lengths_float": Case(
            lambda: apply(seq_lengths=jnp.array([1.0, 2.0])), TypeError, r"seq_lengths"
        ),
        "apply-seq_lengths_shape": Case(
            lambda: apply(seq_lengths=jnp.array([1, 2, 3])), ValueError, r"seq_lengths"
        ),
        "apply-seq_lengths_above_T": Case(
            lambda: apply(seq_lengths=jnp.array([1, T + 1])), ValueError, r"seq_lengths"
        ),
        "apply-reset_after_with_lstm": Case(
            lambda: apply(reset_after=True), ValueError, r"reset_after"
        ),
        "apply-strategy_unknown": Case(
            lambda: apply(strategy="fast"), ValueError, r"strategy must be one of"
        ),
        "apply-time_major_string": Case(
            lambda: apply(time_major="False"), TypeError, r"time_major must be a bool"
        ),
        "apply-reset_after_string": Case(
            lambda: rnnax.stream_apply(GRU, rnnax.stream_init(GRU, (B,)), XS, reset_after="no"),
            TypeError,
            r"reset_after must be a bool",
        ),
        "scan-chunk_length_zero": Case(
            lambda: rnnax.stream_scan(LSTM, state, XS, chunk_length=0), ValueError, r"chunk_length"
        ),
        "scan-chunk_length_float": Case(
            lambda: rnnax.stream_scan(LSTM, state, XS, chunk_length=1.5),
            (TypeError),
            r"chunk_length",
        ),
        "scan-xs_wrong_features": Case(
            lambda: rnnax.stream_scan(LSTM, state, jnp.ones((B, T, I + 1)), chunk_length=2),
            ValueError,
            r"(xs|chunk)",
        ),
        "scan-keep_every_zero": Case(
            lambda: rnnax.stream_scan(LSTM, state, XS, chunk_length=1, keep_every=0),
            ValueError,
            r"keep_every",
        ),
    }
    return cases


STREAM_CASES = _stream_cases()


@pytest.mark.parametrize("case", params(STREAM_CASES))
def test_streaming_bad_argument(case: Case) -> None:
    check(case)


def test_streaming_valid_calls_still_work() -> None:
    state = rnnax.stream_init(LSTM, (B,))
    state, ys = rnnax.stream_apply(LSTM, state, XS[:, :2])
    state, more = rnnax.stream_apply(LSTM, state, XS[:, 2:])
    _, whole = rnnax.lstm(LSTM, XS)
    np.testing.assert_allclose(jnp.concatenate([ys, more], axis=1), whole, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------------
# random mutations (hypothesis): shapes of xs, carry and lengths drawn from small sets
# ------------------------------------------------------------------------------------------
_SIZES = st.sampled_from([0, 1, 2, 3, 5])


@settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    cell=st.sampled_from(["lstm", "gru"]),
    xs_shape=st.lists(_SIZES, min_size=0, max_size=4).map(tuple),
    carry_shape=st.one_of(st.none(), st.lists(_SIZES, min_size=0, max_size=3).map(tuple)),
    lengths_shape=st.one_of(st.none(), st.lists(_SIZES, min_size=0, max_size=2).map(tuple)),
    length_value=st.sampled_from([-1, 0, 2, 5, 6]),
    dtype=st.sampled_from(["float32", "bfloat16", "int32"]),
)
def test_random_core_calls_run_or_name_the_bad_argument(
    cell, xs_shape, carry_shape, lengths_shape, length_value, dtype
) -> None:
    """Any combination of shapes either runs with the documented output shapes or raises a
    ValueError/TypeError that names xs, carry or seq_lengths: never another error."""
    core, good, _ = CELLS[cell]
    xs = jnp.ones(xs_shape, dtype)
    carry = (
        None
        if carry_shape is None
        else jax.tree.map(lambda leaf: jnp.zeros(carry_shape, jnp.float32), _zero_carry(cell))
    )
    lengths = None if lengths_shape is None else jnp.full(lengths_shape, length_value, jnp.int32)
    try:
        final, ys = core(good, xs, carry, seq_lengths=lengths, strategy="scan")
    except (ValueError, TypeError) as error:
        assert type(error) in (ValueError, TypeError), repr(error)
        assert any(name in str(error) for name in ("xs", "carry", "seq_lengths")), str(error)
        return
    assert ys.shape == (*xs_shape[:-1], H)
    assert jax.tree.leaves(final)[0].shape == (*xs_shape[:-2], H)
