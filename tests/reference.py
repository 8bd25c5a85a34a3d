"""Float64 NumPy transcriptions of the LSTM and GRU equations (docs/API.md), written independently.

These loops are deliberately naive: one sequence, one step at a time, no JAX.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def f64(tree: Any) -> Any:
    return type(tree)(*(np.asarray(leaf, np.float64) for leaf in tree))


def lstm_step(p: Any, h: np.ndarray, c: np.ndarray, x: np.ndarray):
    p = f64(p)
    hidden = h.shape[-1]
    a = x @ p.w_x + h @ p.w_h + p.b
    i, f, g, o = (a[..., k * hidden : (k + 1) * hidden] for k in range(4))
    c_new = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h_new = sigmoid(o) * np.tanh(c_new)
    return h_new, c_new


def gru_step(p: Any, h: np.ndarray, x: np.ndarray, reset_after: bool) -> np.ndarray:
    p = f64(p)
    H = h.shape[-1]
    Z, R, N = slice(0, H), slice(H, 2 * H), slice(2 * H, 3 * H)
    z = sigmoid(x @ p.w_x[:, Z] + p.b_x[Z] + h @ p.w_h[:, Z] + p.b_h[Z])
    r = sigmoid(x @ p.w_x[:, R] + p.b_x[R] + h @ p.w_h[:, R] + p.b_h[R])
    if reset_after:
        n = np.tanh(x @ p.w_x[:, N] + p.b_x[N] + r * (h @ p.w_h[:, N] + p.b_h[N]))
    else:
        n = np.tanh(x @ p.w_x[:, N] + p.b_x[N] + (r * h) @ p.w_h[:, N] + p.b_h[N])
    return (1 - z) * h + z * n


def run_sequence(step, carry, xs: np.ndarray, length: int | None = None, reverse: bool = False):
    """One unbatched sequence ``xs [T, I]``; ``step(carry, x) -> carry``; ``out(carry) = h``."""
    xs = np.asarray(xs, np.float64)
    num_steps = xs.shape[0]
    length = num_steps if length is None else length
    ys = [None] * num_steps
    order = range(length - 1, -1, -1) if reverse else range(length)
    for t in order:
        carry = step(carry, xs[t])
        ys[t] = carry[0] if isinstance(carry, tuple) else carry
    hidden = (carry[0] if isinstance(carry, tuple) else carry).shape[-1]
    ys = [np.zeros(hidden) if y is None else y for y in ys]
    return carry, np.stack(ys) if ys else np.zeros((0, hidden))


def lstm_sequence(p, xs, h0, c0, length=None, reverse=False):
    return run_sequence(lambda hc, x: lstm_step(p, hc[0], hc[1], x), (h0, c0), xs, length, reverse)


def gru_sequence(p, xs, h0, reset_after, length=None, reverse=False):
    return run_sequence(lambda h, x: gru_step(p, h, x, reset_after), h0, xs, length, reverse)
