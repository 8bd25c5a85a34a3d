"""rnnax.interop's PyTorch converters: outputs match torch.nn.LSTM / nn.GRU / nn.RNN, round trips
exact, imported GRUs run reset-after from their type alone."""

from __future__ import annotations

import doctest
import subprocess
import sys
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnnax
from rnnax._cell_elman import ElmanParams, ElmanReluParams
from rnnax.interop import from_torch, to_torch
from tests.interop.interop_helpers import random_params

pytestmark = pytest.mark.torch

RTOL, ATOL = 1e-5, 1e-6
BATCH, STEPS, INPUT, HIDDEN = 3, 5, 4, 6


def _random_layers(kind: str, num_layers: int = 2, num_directions: int = 2, dtype=jnp.float32):
    return [
        [
            random_params(
                kind,
                INPUT if layer == 0 else HIDDEN * num_directions,
                HIDDEN,
                seed=layer * num_directions + d,
                dtype=dtype,
            )
            for d in range(num_directions)
        ]
        for layer in range(num_layers)
    ]


def _torch():
    return pytest.importorskip("torch")


def _module(kind: str, *, seed: int = 0, **options):
    torch = _torch()
    torch.manual_seed(seed)
    if kind in ("elman", "elman_relu"):
        nonlinearity = "relu" if kind == "elman_relu" else "tanh"
        return torch.nn.RNN(INPUT, HIDDEN, nonlinearity=nonlinearity, **options)
    module_type = torch.nn.LSTM if kind == "lstm" else torch.nn.GRU
    return module_type(INPUT, HIDDEN, **options)


def _carry_from_torch(kind, h0, c0, num_layers, num_directions):
    """torch's h0/c0 ``[L*D, B, H]`` as our ``carry[layer][direction]``."""

    def state(index):
        h = jnp.asarray(h0[index].numpy())
        return rnnax.LSTMState(h, jnp.asarray(c0[index].numpy())) if kind == "lstm" else h

    return [
        [state(layer * num_directions + d) for d in range(num_directions)]
        for layer in range(num_layers)
    ]


def _final_h(kind, final):
    return final.h if kind == "lstm" else final


# A covering design instead of the full product (time is compile-bound): every kind meets both
# values of each option, and every pair of option values occurs.
STACK_OPTIONS = [
    # (bidirectional, batch_first, bias)
    (False, False, False),
    (False, True, True),
    (True, False, True),
    (True, True, False),
]


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize(("bidirectional", "batch_first", "bias"), STACK_OPTIONS)
def test_stack_matches_torch(kind, bidirectional, batch_first, bias):
    """Two layers, nonzero initial states; outputs and final h (and c) of every layer match."""
    torch = _torch()
    num_layers, num_directions = 2, 2 if bidirectional else 1
    module = _module(
        kind, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias
    )
    generator = torch.Generator().manual_seed(1)
    shape = (BATCH, STEPS, INPUT) if batch_first else (STEPS, BATCH, INPUT)
    xs = torch.randn(shape, generator=generator)
    h0 = torch.randn(num_layers * num_directions, BATCH, HIDDEN, generator=generator)
    c0 = torch.randn(num_layers * num_directions, BATCH, HIDDEN, generator=generator)
    with torch.no_grad():
        if kind == "lstm":
            expected, (h_n, c_n) = module(xs, (h0, c0))
        else:
            expected, h_n = module(xs, h0)

    layers = from_torch(module)
    assert [len(layer) for layer in layers] == [num_directions] * num_layers
    carry = _carry_from_torch(kind, h0, c0, num_layers, num_directions)
    run = (
        rnnax.lstm_stack
        if kind == "lstm"
        else lambda *a, **k: rnnax.gru_stack(*a, reset_after=True, **k)
    )
    finals, ys = run(layers, jnp.asarray(xs.numpy()), carry, time_major=not batch_first)

    np.testing.assert_allclose(ys, expected.numpy(), rtol=RTOL, atol=ATOL)
    for layer in range(num_layers):
        for direction in range(num_directions):
            index = layer * num_directions + direction
            final = finals[layer][direction]
            np.testing.assert_allclose(
                _final_h(kind, final), h_n[index].numpy(), rtol=RTOL, atol=ATOL
            )
            if kind == "lstm":
                np.testing.assert_allclose(final.c, c_n[index].numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_single_layer_matches_the_cores(kind):
    """One bidirectional layer against rnnax.lstm / rnnax.gru directly (reverse=True backward)."""
    torch = _torch()
    module = _module(kind, bidirectional=True, batch_first=True, seed=2)
    generator = torch.Generator().manual_seed(3)
    xs = torch.randn(BATCH, STEPS, INPUT, generator=generator)
    h0 = torch.randn(2, BATCH, HIDDEN, generator=generator)
    c0 = torch.randn(2, BATCH, HIDDEN, generator=generator)
    with torch.no_grad():
        expected, state = module(xs, (h0, c0) if kind == "lstm" else h0)
    h_n = state[0] if kind == "lstm" else state

    ((forward, backward),) = from_torch(module)
    xs_jax = jnp.asarray(xs.numpy())
    outputs = []
    for direction, params in enumerate((forward, backward)):
        h = jnp.asarray(h0[direction].numpy())
        if kind == "lstm":
            carry = rnnax.LSTMState(h, jnp.asarray(c0[direction].numpy()))
            final, ys = rnnax.lstm(params, xs_jax, carry, reverse=direction == 1)
            final_h = final.h
            np.testing.assert_allclose(final.c, state[1][direction].numpy(), rtol=RTOL, atol=ATOL)
        else:
            final_h, ys = rnnax.gru(params, xs_jax, h, reset_after=True, reverse=direction == 1)
        np.testing.assert_allclose(final_h, h_n[direction].numpy(), rtol=RTOL, atol=ATOL)
        outputs.append(ys)
    np.testing.assert_allclose(
        jnp.concatenate(outputs, axis=-1), expected.numpy(), rtol=RTOL, atol=ATOL
    )


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize(("bidirectional", "batch_first", "bias"), STACK_OPTIONS)
def test_elman_stack_matches_torch(nonlinearity, bidirectional, batch_first, bias):
    """torch.nn.RNN, two layers, nonzero initial states: outputs and every final h match, the
    nonlinearity read from the parameters' type alone (rnnax.rnn_stack, no cell=)."""
    torch = _torch()
    kind = "elman_relu" if nonlinearity == "relu" else "elman"
    num_layers, num_directions = 2, 2 if bidirectional else 1
    module = _module(
        kind, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias
    )
    generator = torch.Generator().manual_seed(1)
    shape = (BATCH, STEPS, INPUT) if batch_first else (STEPS, BATCH, INPUT)
    xs = torch.randn(shape, generator=generator)
    h0 = torch.randn(num_layers * num_directions, BATCH, HIDDEN, generator=generator)
    with torch.no_grad():
        expected, h_n = module(xs, h0)

    layers = from_torch(module)
    expected_type = ElmanReluParams if nonlinearity == "relu" else ElmanParams
    assert all(type(params) is expected_type for layer in layers for params in layer)
    carry = _carry_from_torch(kind, h0, None, num_layers, num_directions)
    finals, ys = rnnax.rnn_stack(layers, jnp.asarray(xs.numpy()), carry, time_major=not batch_first)
    np.testing.assert_allclose(ys, expected.numpy(), rtol=RTOL, atol=ATOL)
    for layer in range(num_layers):
        for direction in range(num_directions):
            np.testing.assert_allclose(
                finals[layer][direction],
                h_n[layer * num_directions + direction].numpy(),
                rtol=RTOL,
                atol=ATOL,
            )


def test_elman_mapping_is_the_documented_one():
    module = _module("elman_relu", bias=True)
    ((params,),) = from_torch(module)
    assert type(params) is ElmanReluParams
    np.testing.assert_array_equal(params.w_x, module.weight_ih_l0.detach().numpy().T)
    np.testing.assert_array_equal(params.w_h, module.weight_hh_l0.detach().numpy().T)
    np.testing.assert_array_equal(params.b_x, module.bias_ih_l0.detach().numpy())
    np.testing.assert_array_equal(params.b_h, module.bias_hh_l0.detach().numpy())
    ((no_bias,),) = from_torch(_module("elman", bias=False))
    assert type(no_bias) is ElmanParams and not np.any(no_bias.b_x) and not np.any(no_bias.b_h)
    back = to_torch(no_bias)
    assert isinstance(back, _torch().nn.RNN) and back.nonlinearity == "tanh"


def test_imported_gru_runs_reset_after_without_being_told():
    """Converted GRU weights are GRUResetAfterParams: rnnax.gru, gru_stack, rnn and rnn_stack
    all run them in torch's form with no reset_after argument; False contradicts them."""
    torch = _torch()
    module = _module("gru", bidirectional=True, batch_first=True, seed=4)
    generator = torch.Generator().manual_seed(5)
    xs = torch.randn(BATCH, STEPS, INPUT, generator=generator)
    h0 = torch.randn(2, BATCH, HIDDEN, generator=generator)
    with torch.no_grad():
        expected, h_n = module(xs, h0)
    layers = from_torch(module)
    assert all(type(params) is rnnax.GRUResetAfterParams for params in layers[0])
    xs_jax = jnp.asarray(xs.numpy())
    carry = _carry_from_torch("gru", h0, None, 1, 2)
    for run in (rnnax.gru_stack, rnnax.rnn_stack):
        finals, ys = run(layers, xs_jax, carry)
        np.testing.assert_allclose(ys, expected.numpy(), rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(finals[0][1], h_n[1].numpy(), rtol=RTOL, atol=ATOL)
    forward = layers[0][0]
    for run in (rnnax.gru, rnnax.rnn):
        h, ys = run(forward, xs_jax, carry[0][0])
        np.testing.assert_allclose(ys, expected.numpy()[..., :HIDDEN], rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(h, h_n[0].numpy(), rtol=RTOL, atol=ATOL)
    h, _ = rnnax.gru_cell(forward, carry[0][0], xs_jax[:, 0])
    with torch.no_grad():
        _, h_one = module(xs[:, :1], h0)
    np.testing.assert_allclose(h, h_one[0].numpy(), rtol=RTOL, atol=ATOL)
    with pytest.raises(ValueError, match="reset_after=False contradicts"):
        rnnax.gru(forward, xs_jax, reset_after=False)


def test_gru_gate_mapping_is_the_documented_one():
    """Spot-check the GRU layout: reorder (r, z, n) -> (z, r, n) and negate z."""
    module = _module("gru")
    ((params,),) = from_torch(module)
    w_ih = module.weight_ih_l0.detach().numpy()
    b_hh = module.bias_hh_l0.detach().numpy()
    r, z, n = (slice(k * HIDDEN, (k + 1) * HIDDEN) for k in range(3))
    np.testing.assert_array_equal(params.w_x[:, :HIDDEN], -w_ih[z].T)
    np.testing.assert_array_equal(params.w_x[:, HIDDEN : 2 * HIDDEN], w_ih[r].T)
    np.testing.assert_array_equal(params.w_x[:, 2 * HIDDEN :], w_ih[n].T)
    np.testing.assert_array_equal(params.b_h, np.concatenate([-b_hh[z], b_hh[r], b_hh[n]]))


def test_lstm_bias_is_the_sum_and_bias_false_gives_zeros():
    module = _module("lstm")
    ((params,),) = from_torch(module)
    expected = (module.bias_ih_l0 + module.bias_hh_l0).detach().numpy()
    np.testing.assert_array_equal(params.b, expected)
    ((no_bias,),) = from_torch(_module("gru", bias=False))
    assert not np.any(no_bias.b_x) and not np.any(no_bias.b_h)
    assert no_bias.b_x.dtype == jnp.float32


@pytest.mark.parametrize("kind", ["lstm", "gru", "elman", "elman_relu"])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_round_trip_is_exact(kind, dtype):
    layers = _random_layers(kind, dtype=dtype)  # nonzero b_h exercises the GRU's second bias
    module = to_torch(layers, batch_first=True)
    assert module.batch_first and module.bidirectional and module.num_layers == 2
    back = from_torch(module)
    for layer, layer_back in zip(layers, back, strict=True):
        for params, params_back in zip(layer, layer_back, strict=True):
            assert type(params_back) is type(params)
            for field, array in zip(params._fields, params, strict=True):
                assert params_back[params._fields.index(field)].dtype == array.dtype
                np.testing.assert_array_equal(
                    np.asarray(params_back[params._fields.index(field)], np.float32),
                    np.asarray(array, np.float32),
                    err_msg=field,
                )


@pytest.mark.parametrize("kind", ["lstm", "gru", "elman_relu"])
def test_to_torch_module_matches_the_stack(kind):
    torch = _torch()
    layers = _random_layers(kind)
    module = to_torch(layers)  # time-major, torch's default
    xs = jnp.asarray(np.random.default_rng(2).normal(size=(STEPS, BATCH, INPUT)), jnp.float32)
    with torch.no_grad():
        expected, _ = module(torch.from_numpy(np.array(xs)))
    run = {
        "lstm": rnnax.lstm_stack,
        "gru": lambda *a, **k: rnnax.gru_stack(*a, reset_after=True, **k),
        "elman_relu": rnnax.rnn_stack,
    }[kind]
    _, ys = run(layers, xs, time_major=True)
    np.testing.assert_allclose(ys, expected.numpy(), rtol=RTOL, atol=ATOL)


def test_to_torch_takes_a_single_cell():
    params = random_params("lstm", INPUT, HIDDEN)
    module = to_torch(params)
    assert module.num_layers == 1 and not module.bidirectional
    ((back,),) = from_torch(module)
    np.testing.assert_array_equal(back.w_h, params.w_h)


def test_float64_modules_stay_float64():
    torch = _torch()
    module = _module("gru", bidirectional=True).double()
    xs = torch.randn(
        STEPS, BATCH, INPUT, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    with torch.no_grad():
        expected, _ = module(xs)
    if jax.dtypes.canonicalize_dtype(jnp.float64) != jnp.float64:  # 64-bit mode off
        with pytest.raises(ValueError, match="64-bit mode is off"):
            from_torch(module)
    assert from_torch(module, dtype=jnp.float32)[0][0].w_x.dtype == jnp.float32
    with jax.enable_x64(True):
        layers = from_torch(module)
        assert layers[0][1].w_x.dtype == jnp.float64
        _, ys = rnnax.gru_stack(layers, jnp.asarray(xs.numpy()), reset_after=True, time_major=True)
        np.testing.assert_allclose(ys, expected.numpy(), rtol=1e-12, atol=1e-13)


def test_rejects_unsupported_modules():
    torch = _torch()
    with pytest.raises(
        TypeError, match=r"torch\.nn\.LSTM, torch\.nn\.GRU and torch\.nn\.RNN.*Linear"
    ):
        from_torch(torch.nn.Linear(INPUT, HIDDEN))
    with pytest.raises(TypeError, match="Linear"):
        from_torch(torch.nn.Linear(INPUT, HIDDEN))
    with pytest.raises(ValueError, match="proj_size=2"):
        from_torch(torch.nn.LSTM(INPUT, HIDDEN, proj_size=2))


def test_to_torch_rejects_the_default_gru_form_and_bad_layers():
    layers = _random_layers("gru", num_layers=1, num_directions=1)
    with pytest.raises(ValueError, match=r"reset_after=False.*no torch equivalent"):
        to_torch(layers, reset_after=False)
    # Plain GRUParams are rnnax's default form: refused unless declared reset-after.
    plain = [[rnnax.GRUParams(*layers[0][0])]]
    for reset_after in (None, False):
        with pytest.raises(ValueError, match=r"reset_after=False\) has no torch equivalent"):
            to_torch(plain, reset_after=reset_after)
    declared = to_torch(plain, reset_after=True)
    for name, tensor in to_torch(layers).named_parameters():
        np.testing.assert_array_equal(getattr(declared, name).detach(), tensor.detach())
    with pytest.raises(ValueError, match="reset_after=True applies only to GRU parameters"):
        to_torch(random_params("lstm", INPUT, HIDDEN), reset_after=True)
    with pytest.raises(TypeError, match="reset_after must be a bool"):
        to_torch(layers, reset_after="yes")
    with pytest.raises(TypeError, match="LSTMParams or GRUParams"):
        to_torch([[{"w_x": 1}]])
    with pytest.raises(TypeError, match="layers"):
        to_torch("lstm")
    mixed = [[random_params("lstm", INPUT, HIDDEN)], layers[0]]
    with pytest.raises(TypeError):
        to_torch(mixed)


def test_missing_torch_gives_an_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    layers = _random_layers("lstm", num_layers=1, num_directions=1)
    with pytest.raises(ImportError, match=r"pip install rnnax\[torch\]"):
        to_torch(layers)
    with pytest.raises(ImportError, match=r"pip install rnnax\[torch\]"):
        from_torch(object())


def test_importing_interop_does_not_import_torch():
    code = (
        "import sys, rnnax.interop; "
        "assert 'torch' not in sys.modules and 'equinox' not in sys.modules, 'eager import'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_docstring_examples_run():
    """The +SKIP'd torch examples (skipped where torch is absent) do run, with torch."""
    _torch()
    import rnnax.interop._torch as torch_module

    with open(torch_module.__file__) as source_file:
        source = source_file.read().replace("  # doctest: +SKIP", "")
    module = types.ModuleType("rnnax_interop_torch_examples")
    exec(compile(source, torch_module.__file__, "exec"), module.__dict__)
    results = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert results.attempted > 0 and results.failed == 0
