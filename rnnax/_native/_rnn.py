r"""The ``"native"`` strategy: the LSTM and both GRU forms with their time loop in C++.

Two ``jax.ffi`` calls (``rnn_loop.cc``), one per direction of differentiation, wrapped in a
``jax.custom_vjp``; all the arithmetic runs inside them, on oneDNN. Forward, per chunk of about
512 rows (steps x batch) and per step:

.. math::

    A_x = X W_x + b_x \quad \text{(per chunk)}, \qquad
    a_t = A_x[t] + h_{t-1} W_h + b_h, \text{ then the gate math, fused}

(the explainer's GRU: ``z, r`` from ``h W_h[:, :2H]``, the candidate from
``(r \odot h) W_h[:, 2H:]``), saving the activated gates and the carry each step read. Backward,
the steps in the other order: the gates' gradient ``dA_t`` (``dA_x = dA``; the reset-after
GRU's candidate block of ``dA_h`` is ``r \odot dn``), ``dh_{t-1} = (\text{direct part}) +
dA_{h,t} W_h^\top`` per step, and per chunk

.. math::

    dW_x \mathrel{+}= X^\top dA, \quad dW_h \mathrel{+}= H_{\mathrm{prev}}^\top dA_h, \quad
    db \mathrel{+}= \textstyle\sum dA, \quad dX = dA\, W_x^\top

(for the explainer's GRU the candidate's block of ``dW_h`` reads ``r \odot h``). The per-step
products use oneDNN's matmul primitive with ``W_h`` (``W_h^\top``) packed once per call.

The loop computes in float32. For bfloat16 parameters the state (``h``, and the LSTM's ``c``) is
rounded to bfloat16 after every step, as the scan stores it, the per-step products take
bfloat16 operands with float32 accumulation (on AMX where the CPU has it), and the outputs and
gradients are returned in bfloat16; the gate math is float32, so results differ from the
scan's (which rounds after every operation) by bfloat16 rounding, not by more.

Works on time-major ``[T, B, ...]`` arrays with one batch axis. Under ``jax.vmap`` the extra
axes become independent problems inside one native call (weights may be batched too).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp

from rnnax._masking import masked_inputs

LSTM, GRU, GRU_RESET_AFTER = 0, 1, 2


def _gates(kind: int, hidden: int) -> int:
    return 4 * hidden if kind == LSTM else 3 * hidden


def _saved(kind: int, hidden: int) -> int:
    return {LSTM: 6, GRU: 3, GRU_RESET_AFTER: 4}[kind] * hidden


def _threads() -> int:
    """OpenMP threads for oneDNN's GEMMs in one call: one. A step's GEMM is small
    (``[B, H] @ [H, G]``); splitting it over threads costs more in synchronisation than it
    saves, and with other work on the cores a thread team's barriers stall badly. Parallelism
    over cores comes from splitting the batch over CPU devices instead, each running its own
    call on its own core."""
    return 1


def _weights(kind: int, params: Any) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """``(w_x, b_x, w_h, b_h)``; the LSTM's single bias goes with the input projection."""
    if kind == LSTM:
        return params.w_x, params.b, params.w_h, jnp.zeros_like(params.b)
    return params.w_x, params.b_x, params.w_h, params.b_h


def _lengths(lengths: jax.Array | None, steps: int, batch: int) -> jax.Array:
    if lengths is None:
        return jnp.full((batch,), steps, jnp.int32)
    return lengths.astype(jnp.int32)


def _varying(value: Any) -> frozenset[str]:
    """The manual mesh axes (inside ``shard_map``) that ``value`` varies over."""
    manual = getattr(jax.typeof(value), "manual_axis_type", None)
    return frozenset(getattr(manual, "varying", ()) or ())


def _like(value: jax.Array, like: Any) -> jax.Array:
    """``value`` marked as varying over the manual mesh axes that the leaves of ``like`` vary
    over: ``ffi_call``'s results carry no such marking."""
    want = frozenset().union(*(_varying(leaf) for leaf in jax.tree.leaves(like)))
    missing = tuple(sorted(want - _varying(value)))
    return jax.lax.pcast(value, missing, to="varying") if missing else value


def _forward(kind, reverse, params, xs, h0, c0, lengths, save=True):
    w_x, b_x, w_h, b_h = _weights(kind, params)
    dtype = w_h.dtype
    steps, batch, _ = xs.shape
    hidden = h0.shape[-1]
    xs = masked_inputs(xs, lengths).astype(jnp.float32)
    lengths32 = _lengths(lengths, steps, batch)
    f32 = functools.partial(jax.ShapeDtypeStruct, dtype=jnp.float32)
    call = jax.ffi.ffi_call(
        "rnnax_rnn_forward",
        (
            f32((steps, batch, hidden)),
            f32((batch, hidden)),
            f32((batch, hidden)),
            f32((steps, batch, _saved(kind, hidden)) if save else (0,)),
            f32((steps, batch, hidden) if save else (0,)),
        ),
        vmap_method="broadcast_all",
    )
    weights = [a.astype(jnp.float32) for a in (w_x, b_x, w_h, b_h)]
    results = call(
        xs,
        *weights,
        h0.astype(jnp.float32),
        c0.astype(jnp.float32),
        lengths32,
        kind=kind,
        reverse=reverse,
        bf16=dtype == jnp.bfloat16,
        save=save,
        threads=_threads(),
    )
    ys, h, c, saved, h_prev = (_like(r, (params, xs, h0, c0)) for r in results)
    out = (h.astype(h0.dtype), c.astype(c0.dtype), ys.astype(dtype))
    return out, (params, xs, lengths32, saved, h_prev)


def _backward(kind, reverse, residuals, cotangents):
    params, xs, lengths32, saved, h_prev = residuals
    d_h, d_c, d_ys = cotangents
    w_x, _, w_h, _ = _weights(kind, params)
    steps, batch, hidden = d_ys.shape
    inputs, gates = xs.shape[-1], _gates(kind, hidden)
    f32 = functools.partial(jax.ShapeDtypeStruct, dtype=jnp.float32)
    call = jax.ffi.ffi_call(
        "rnnax_rnn_backward",
        (
            f32((steps, batch, inputs)),
            f32((inputs, gates)),
            f32((hidden, gates)),
            f32((gates,)),
            f32((gates,)),
            f32((batch, hidden)),
            f32((batch, hidden)),
        ),
        vmap_method="broadcast_all",
    )
    results = call(
        xs,
        w_x.astype(jnp.float32),
        w_h.astype(jnp.float32),
        lengths32,
        saved,
        h_prev,
        d_ys.astype(jnp.float32),
        d_h.astype(jnp.float32),
        d_c.astype(jnp.float32),
        kind=kind,
        reverse=reverse,
        bf16=w_h.dtype == jnp.bfloat16,
        threads=_threads(),
    )
    d_xs, d_w_x, d_w_h, d_b_x, d_b_h, d_h0, d_c0 = (_like(r, residuals) for r in results)
    dtype = w_h.dtype
    if kind == LSTM:
        d_params = type(params)(
            w_x=d_w_x.astype(dtype), w_h=d_w_h.astype(dtype), b=d_b_x.astype(dtype)
        )
    else:
        d_params = type(params)(
            w_x=d_w_x.astype(dtype),
            w_h=d_w_h.astype(dtype),
            b_x=d_b_x.astype(dtype),
            b_h=d_b_h.astype(dtype),
        )
    return d_params, d_xs.astype(dtype), d_h0.astype(dtype), d_c0.astype(dtype), None


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def _native(kind, reverse, params, xs, h0, c0, lengths):
    # Without differentiation nothing is saved for the backward pass.
    return _forward(kind, reverse, params, xs, h0, c0, lengths, save=False)[0]


_native.defvjp(_forward, _backward)


def rnn_native(
    kind: int,
    params: Any,
    xs: jax.Array,
    h0: jax.Array,
    c0: jax.Array | None,
    lengths: jax.Array | None,
    reverse: bool,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Runs the LSTM (``kind=LSTM``, carry ``(h0, c0)``) or a GRU (``c0=None``) over
    time-major ``xs [T, B, I]`` with the native loop; returns ``(h, c, ys)`` (``c`` is ``h``
    for the GRUs).

    Raises:
        RuntimeError: the native library cannot be loaded here.
        ValueError: the default backend is not the CPU.
        TypeError: parameters other than float32 or bfloat16.
    """
    from rnnax._native import available, unavailable_error

    backend = jax.default_backend()
    if backend != "cpu":
        raise ValueError(
            f"strategy='native' runs on the CPU only, but the default backend is {backend!r}; "
            "use strategy='auto', 'pallas' or 'custom_vjp'"
        )
    dtype = jnp.dtype(params.w_h.dtype)
    if dtype not in (jnp.float32, jnp.bfloat16):
        raise TypeError(
            f"strategy='native' runs float32 and bfloat16 parameters, got {dtype.name}; use "
            "strategy='custom_vjp' or 'scan' for other dtypes"
        )
    if not available():
        raise unavailable_error()
    return _native(kind, bool(reverse), params, xs, h0, h0 if c0 is None else c0, lengths)
