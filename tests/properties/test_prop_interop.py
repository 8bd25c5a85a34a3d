"""Properties of the converters (``rnnax.interop``) over random sizes, dtypes and biases: round
trips to and from PyTorch, Flax linen, Flax nnx and Equinox are exact (bit for bit, dtypes
kept), converted cells compute our function, and torch's packed sequences are our lengths."""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from hypothesis import given
from hypothesis import strategies as st

import rnnax
from rnnax.interop import (
    from_equinox,
    from_flax_linen,
    from_flax_nnx,
    from_torch,
    to_equinox,
    to_flax_linen,
    to_flax_nnx,
    to_torch,
)
from tests.properties.strategies import (
    INPUT_SIZES,
    assert_close,
    assert_equal,
    cell_problems,
    folded_gru,
    property_settings,
    random_carry,
    stack_layers,
)

# ----------------------------------------------------------------------------------- torch


def _torch():
    return pytest.importorskip("torch")


@pytest.mark.torch
@property_settings(20)
@given(case=stack_layers(), batch_first=st.booleans())
def test_rnnax_to_torch_and_back_is_exact(case, batch_first):
    """``from_torch(to_torch(layers)) == layers`` bit for bit, in float32 and bfloat16."""
    _torch()
    _, layers = case
    module = to_torch(layers, batch_first=batch_first)
    assert module.batch_first == batch_first and module.num_layers == len(layers)
    assert module.bidirectional == (len(layers[0]) == 2)
    assert_equal(from_torch(module), layers)


def _torch_module(
    kind, seed, *, input_size, hidden, num_layers, bidirectional, bias, batch_first=False
):
    torch = _torch()
    module_type = torch.nn.LSTM if kind == "lstm" else torch.nn.GRU
    with torch.random.fork_rng(devices=[]):  # leaves torch's global RNG as it was
        torch.manual_seed(seed)
        module = module_type(
            input_size,
            hidden,
            num_layers=num_layers,
            bias=bias,
            bidirectional=bidirectional,
            batch_first=batch_first,
        )
        if bias:  # torch initialises both biases alike; make them differ
            for name, parameter in module.named_parameters():
                if name.startswith("bias"):
                    parameter.data.normal_()
    return module


@pytest.mark.torch
@property_settings(20)
@given(
    kind=st.sampled_from(("lstm", "gru")),
    seed=st.integers(0, 2**31 - 1),
    input_size=st.sampled_from(INPUT_SIZES),
    hidden=st.sampled_from((1, 4)),
    num_layers=st.integers(1, 2),
    bidirectional=st.booleans(),
    bias=st.booleans(),
    bfloat16=st.booleans(),
)
def test_torch_to_rnnax_and_back_keeps_the_module(
    kind, seed, input_size, hidden, num_layers, bidirectional, bias, bfloat16
):
    """``to_torch(from_torch(module))`` has the module's weights bit for bit; a GRU's biases too,
    an LSTM's two biases summed once into ``bias_ih`` (``bias_hh`` zero: the same function)."""
    torch = _torch()
    module = _torch_module(
        kind,
        seed,
        input_size=input_size,
        hidden=hidden,
        num_layers=num_layers,
        bidirectional=bidirectional,
        bias=bias,
    )
    if bfloat16:
        module = module.to(torch.bfloat16)
    back = to_torch(from_torch(module))
    expected = dict(module.state_dict())
    if kind == "lstm" or not bias:
        for name in [name for name in expected if name.startswith("weight_ih")]:
            suffix = name[len("weight_ih") :]
            zeros = torch.zeros(expected[name].shape[0], dtype=expected[name].dtype)
            b_ih, b_hh = (expected.get(f"bias_{side}{suffix}", zeros) for side in ("ih", "hh"))
            if kind == "lstm":  # summed in float32, rounded once to the module's dtype
                b_ih, b_hh = (b_ih.float() + b_hh.float()).to(b_ih.dtype), torch.zeros_like(b_hh)
            expected[f"bias_ih{suffix}"], expected[f"bias_hh{suffix}"] = b_ih, b_hh
    actual = back.state_dict()
    assert sorted(actual) == sorted(expected)
    for name, tensor in expected.items():
        assert actual[name].dtype == tensor.dtype, name
        assert torch.equal(actual[name], tensor), name


@pytest.mark.torch
@property_settings(6)
@given(
    kind=st.sampled_from(("lstm", "gru")),
    seed=st.integers(0, 2**31 - 1),
    num_layers=st.integers(1, 2),
    bidirectional=st.booleans(),
    batch_first=st.booleans(),
    batch=st.integers(1, 3),
    num_steps=st.sampled_from((1, 3, 5)),
    data=st.data(),
)
def test_torch_packed_sequences_equal_seq_lengths(
    kind, seed, num_layers, bidirectional, batch_first, batch, num_steps, data
):
    """A torch module run on a ``PackedSequence`` (unsorted lengths in ``[1, T]``: torch has
    no empty sequences) equals the converted stack with ``seq_lengths``: outputs (zero-padded
    by both), and every layer's and direction's final states, from random initial states."""
    torch = _torch()
    input_size, hidden = 3, 4
    module = _torch_module(
        kind,
        seed,
        input_size=input_size,
        hidden=hidden,
        num_layers=num_layers,
        bidirectional=bidirectional,
        bias=True,
        batch_first=batch_first,
    )
    lengths = data.draw(
        st.lists(st.integers(1, num_steps), min_size=batch, max_size=batch), label="lengths"
    )
    num_directions = 2 if bidirectional else 1
    rng = np.random.default_rng(seed)
    xs = rng.normal(size=(batch, num_steps, input_size)).astype(np.float32)
    h0 = rng.uniform(-1, 1, (num_layers * num_directions, batch, hidden)).astype(np.float32)
    c0 = rng.uniform(-2, 2, (num_layers * num_directions, batch, hidden)).astype(np.float32)
    xs_torch = torch.from_numpy(xs if batch_first else np.swapaxes(xs, 0, 1).copy())
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        xs_torch, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False
    )
    state0 = (
        (torch.from_numpy(h0), torch.from_numpy(c0)) if kind == "lstm" else torch.from_numpy(h0)
    )
    with torch.no_grad():
        packed_out, state = module(packed, state0)
    expected, _ = torch.nn.utils.rnn.pad_packed_sequence(
        packed_out, batch_first=batch_first, total_length=num_steps
    )
    h_n = state[0] if kind == "lstm" else state

    def ours(index):
        h = jnp.asarray(h0[index])
        return rnnax.LSTMState(h, jnp.asarray(c0[index])) if kind == "lstm" else h

    carry = [
        [ours(layer * num_directions + d) for d in range(num_directions)]
        for layer in range(num_layers)
    ]
    run = (
        rnnax.lstm_stack
        if kind == "lstm"
        else lambda *a, **k: rnnax.gru_stack(*a, reset_after=True, **k)
    )
    finals, ys = run(
        from_torch(module),
        jnp.asarray(xs_torch.numpy()),
        carry,
        seq_lengths=jnp.asarray(lengths, jnp.int32),
        time_major=not batch_first,
    )
    assert_close(ys, expected.numpy(), jnp.float32)
    for layer in range(num_layers):
        for d in range(num_directions):
            final = finals[layer][d]
            index = layer * num_directions + d
            assert_close(final.h if kind == "lstm" else final, h_n[index].numpy(), jnp.float32)
            if kind == "lstm":
                assert_close(final.c, state[1][index].numpy(), jnp.float32)


# ------------------------------------------------------------------------------ flax linen


def _linen_step(cell_type, hidden):
    """One step of a linen cell, ``(variables, carry, x) -> (carry, y)`` with our carry."""

    def step(variables, carry, x):
        if isinstance(carry, rnnax.LSTMState):  # linen's LSTM carry is (c, h)
            (c, h), y = cell_type(hidden).apply(variables, (carry.c, carry.h), x)
            return rnnax.LSTMState(h, c), y
        return cell_type(hidden).apply(variables, carry, x)

    return step


@property_settings(10)
@given(problem=cell_problems(), optimized=st.booleans())
def test_flax_linen_round_trips_are_exact(problem, optimized):
    """rnnax -> linen -> rnnax keeps an LSTM bit for bit and gives a GRU its folded form
    (``z``/``r`` recurrent biases added into the input ones: linen has none there), which then
    round-trips exactly; linen -> rnnax -> linen keeps linen's variables bit for bit. The
    linen cell computes our step."""
    variables = to_flax_linen(problem.params)
    back = from_flax_linen(variables)
    canonical = problem.params if problem.kind == "lstm" else folded_gru(problem.params)
    assert_equal(back, canonical)
    assert_equal(to_flax_linen(back), variables)
    if problem.kind == "gru":
        cell_type = nn.GRUCell
    else:  # the two LSTM cells share one layout
        cell_type = nn.OptimizedLSTMCell if optimized else nn.LSTMCell
    problem.assert_same_step(_linen_step(cell_type, problem.params.w_h.shape[0]), variables)


# -------------------------------------------------------------------------------- flax nnx


@property_settings(12)
@given(problem=cell_problems(), optimized=st.booleans())
def test_flax_nnx_round_trips_are_exact(problem, optimized):
    """rnnax -> nnx -> rnnax keeps an LSTM bit for bit (both nnx LSTM cells) and gives a GRU its
    folded form with ``b_h = 0`` (nnx's GRU has no recurrent bias at all); a GRU with a
    candidate recurrent bias is refused (and then tested without it). nnx -> rnnax -> nnx
    keeps the cell's parameters. The nnx cell computes our step."""
    hidden = problem.params.w_h.shape[0]
    if problem.kind == "lstm":
        cell_type = nnx.OptimizedLSTMCell if optimized else nnx.LSTMCell
        canonical = problem.params
    else:
        cell_type = nnx.GRUCell
        if np.any(np.asarray(problem.params.b_h[2 * hidden :].astype(jnp.float32))):
            with pytest.raises(ValueError, match="no recurrent candidate bias"):
                to_flax_nnx(problem.params)
            b_h = problem.params.b_h.at[2 * hidden :].set(0)
            problem = dataclasses.replace(problem, params=problem.params._replace(b_h=b_h))
        canonical = folded_gru(problem.params)
    cell = to_flax_nnx(problem.params, cell_type=cell_type)
    assert type(cell) is cell_type
    back = from_flax_nnx(cell)
    assert_equal(back, canonical, err_msg=cell_type.__name__)
    again = to_flax_nnx(back, cell_type=cell_type)
    assert_equal(nnx.state(again, nnx.Param), nnx.state(cell, nnx.Param))
    graphdef, state = nnx.split(cell)

    def nnx_step(state, carry, x):
        cell = nnx.merge(graphdef, state)
        if isinstance(carry, rnnax.LSTMState):  # nnx's LSTM carry is (c, h)
            (c, h), y = cell((carry.c, carry.h), x)
            return rnnax.LSTMState(h, c), y
        return cell(carry, x)

    problem.assert_same_step(nnx_step, state)


# -------------------------------------------------------------------------------- equinox


@property_settings(12)
@given(problem=cell_problems())
def test_equinox_round_trips_are_exact(problem):
    """rnnax -> equinox -> rnnax keeps an LSTM bit for bit and gives a GRU its folded form;
    equinox -> rnnax -> equinox keeps every leaf of the cell. The cell computes our step."""
    cell = to_equinox(problem.params)
    back = from_equinox(cell)
    canonical = problem.params if problem.kind == "lstm" else folded_gru(problem.params)
    assert_equal(back, canonical)
    again = to_equinox(back)
    assert type(again) is type(cell)
    assert_equal(jax.tree.leaves(again), jax.tree.leaves(cell))

    def equinox_step(cell, carry, x):  # equinox cells are unbatched: vmap them
        def one(carry, x):
            if isinstance(carry, rnnax.LSTMState):  # equinox's LSTM state is (h, c)
                h, c = cell(x, (carry.h, carry.c))
                return rnnax.LSTMState(h, c), h
            h = cell(x, carry)
            return h, h

        for _ in problem.x.shape[:-1]:
            one = jax.vmap(one)
        return one(carry, x)

    problem.assert_same_step(equinox_step, cell)


@property_settings(5)
@given(
    problem=cell_problems(kinds=("gru",), dtypes=(jnp.float32,), batch_shapes=((3,),)),
    num_steps=st.sampled_from((1, 3)),
)
def test_converted_grus_run_whole_sequences_like_ours(problem, num_steps):
    """Over whole sequences too: the folded GRU in linen's ``nn.RNN`` and equinox under
    ``lax.scan`` equal ``rnnax.gru(..., reset_after=True)`` from the same initial state."""
    rng = np.random.default_rng(0)
    xs = jnp.asarray(rng.normal(size=(3, num_steps, problem.x.shape[-1])).astype(np.float32))
    h0 = random_carry("gru", (3,), problem.params.w_h.shape[0], rng, jnp.float32)
    final, ys = rnnax.gru(problem.params, xs, h0, reset_after=True)
    hidden = problem.params.w_h.shape[0]
    rnn = nn.RNN(nn.GRUCell(hidden), return_carry=True)
    variables = {"params": {"cell": to_flax_linen(problem.params)["params"]}}
    assert_close(rnn.apply(variables, xs, initial_carry=h0), (final, ys), jnp.float32)
    cell = to_equinox(problem.params)

    def run_one(xs_one, h):
        def step(h, x):
            h = cell(x, h)
            return h, h

        return jax.lax.scan(step, h, xs_one)

    assert_close(jax.vmap(run_one)(xs, h0), (final, ys), jnp.float32)


# ------------------------------------------------------------------- the GRU form exported


def _exported(convert, params, **kwargs):
    """What a ``to_*`` converter builds, as comparable leaves."""
    out = convert(params, **kwargs)
    if convert is to_torch:
        return {name: tensor.float().numpy() for name, tensor in out.state_dict().items()}
    if convert is to_flax_nnx:
        return nnx.state(out, nnx.Param)
    return out


@property_settings(8)
@given(problem=cell_problems(kinds=("gru",)))
def test_plain_gru_params_are_refused_unless_declared_reset_after(problem):
    """Every framework's GRU is the reset-after form, so each ``to_*`` converter refuses plain
    ``GRUParams`` (rnnax's default form) with a ValueError saying how to declare them, and with
    ``reset_after=True`` builds exactly what ``GRUResetAfterParams(*params)`` build."""
    hidden = problem.params.w_h.shape[0]
    typed = problem.params._replace(b_h=problem.params.b_h.at[2 * hidden :].set(0))
    plain = rnnax.GRUParams(*typed)
    converters = [to_flax_linen, to_flax_nnx, to_equinox]
    if _has_torch():
        converters.append(to_torch)
    for convert in converters:
        for kwargs in ({}, {"reset_after": False}):
            with pytest.raises(
                ValueError,
                match=r"has no \w+ equivalent\. If these weights are reset-after ones, convert "
                r"them with GRUResetAfterParams\(\*params\) or pass reset_after=True\.",
            ):
                convert(plain, **kwargs)
        assert_equal(
            _exported(convert, plain, reset_after=True),
            _exported(convert, typed),
            err_msg=convert.__name__,
        )


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True
