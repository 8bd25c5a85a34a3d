"""Shared Hypothesis strategies and checks for the property tests.

Every drawn problem is small: JAX compiles once per shape and option, and compiling is
most of the time these tests take, so sizes come from short lists (``STEPS``, ``BATCH_SHAPES``,
...) while the numbers (from a drawn seed and scale), the options and their combinations vary
freely. Edge cases are in the lists on purpose: ``T = 0`` and ``1``, lengths ``0`` and ``T`` in
any integer dtype, no batch axis, an input and a hidden size of 1.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

import rnnax

KINDS = ("lstm", "gru", "gru_reset_after")
DTYPES = (jnp.float32, jnp.bfloat16)
STEPS = (0, 1, 2, 3, 5)
BATCH_SHAPES = ((), (1,), (3,), (2, 1), (2, 2))
INPUT_SIZES = (1, 3)
HIDDEN_SIZES = (1, 4)
LENGTH_DTYPES = (np.int32, np.int16, np.uint8)
# The strategies that compute the plain scan's function by other means. "pallas" (fused
# kernels, interpret mode off GPU) where this rnnax has it; "cudnn" is GPU- and float32-only.
FAST_STRATEGIES = (
    "custom_vjp",
    "remat",
    "auto",
    *(("pallas",) if "pallas" in rnnax.STRATEGIES else ()),
)

THOROUGH = os.environ.get("RNNAX_PROPERTIES", "") == "thorough"


def property_settings(max_examples: int) -> settings:
    """The profile from ``conftest.py`` with a per-property example count (x10 if thorough)."""
    if THOROUGH:
        return settings(
            settings.get_profile("rnnax-properties-thorough"), max_examples=10 * max_examples
        )
    return settings(settings.get_profile("rnnax-properties"), max_examples=max_examples)


# ------------------------------------------------------------------------------ tolerances

# Comparisons between two computations of the same function that round differently (another
# executable, batch size, fusion or summation order, or the float64 reference). float32 as in
# the rest of the suite. bfloat16 keeps 8 significant bits (a spacing of 2**-8 between 0.5 and
# 1, where most states lie), so differing roundings carried through a few steps move values
# by a few such spacings: 2e-2 is about 5 of them. Over 10x the examples
# (RNNAX_PROPERTIES=thorough) the largest error seen was at most about half of each tolerance.
_TOLERANCE = {
    "float32": dict(rtol=1e-5, atol=1e-6),
    "bfloat16": dict(rtol=2e-2, atol=2e-2),
}
# Gradients sum over steps and batch, so their size varies more: the absolute part of the
# tolerance scales with the largest entry of the expected gradient.
_GRAD_TOLERANCE = {
    "float32": dict(rtol=2e-5, atol=2e-6),
    "bfloat16": dict(rtol=3e-2, atol=3e-2),
}


def _as_f32(x: Any) -> np.ndarray:
    return np.asarray(x).astype(np.float32)  # bfloat16 (ml_dtypes) converts exactly


def assert_close(
    actual: Any, expected: Any, dtype: Any, *, grad: bool = False, err_msg: str = ""
) -> None:
    """Leafwise closeness at ``dtype``'s tolerance (structures must match exactly)."""
    assert jax.tree.structure(actual) == jax.tree.structure(expected), err_msg
    table = _GRAD_TOLERANCE if grad else _TOLERANCE
    tolerance = table[jnp.dtype(dtype).name]
    for index, (a, e) in enumerate(
        zip(jax.tree.leaves(actual), jax.tree.leaves(expected), strict=True)
    ):
        a, e = _as_f32(a), _as_f32(e)
        assert a.shape == e.shape, (err_msg, index, a.shape, e.shape)
        atol = tolerance["atol"] * (max(1.0, float(np.abs(e).max(initial=0.0))) if grad else 1.0)
        np.testing.assert_allclose(
            a, e, rtol=tolerance["rtol"], atol=atol, err_msg=f"{err_msg} (leaf {index})"
        )


def assert_equal(actual: Any, expected: Any, err_msg: str = "") -> None:
    """Leafwise bit equality (NaN equal to NaN), shapes and dtypes included."""
    assert jax.tree.structure(actual) == jax.tree.structure(expected), err_msg
    for index, (a, e) in enumerate(
        zip(jax.tree.leaves(actual), jax.tree.leaves(expected), strict=True)
    ):
        assert a.dtype == e.dtype, (err_msg, index, a.dtype, e.dtype)
        np.testing.assert_array_equal(_as_f32(a), _as_f32(e), err_msg=f"{err_msg} (leaf {index})")


# ----------------------------------------------------------------------------- the cores


def run_core(kind: str, params: Any, xs: jax.Array, carry: Any = None, **kwargs: Any):
    """``rnnax.lstm`` or ``rnnax.gru`` (either form) by kind name."""
    if kind == "lstm":
        return rnnax.lstm(params, xs, carry, **kwargs)
    return rnnax.gru(params, xs, carry, reset_after=kind == "gru_reset_after", **kwargs)


def final_h(kind: str, final: Any) -> jax.Array:
    return final.h if kind == "lstm" else final


def random_params(
    kind: str,
    input_size: int,
    hidden: int,
    rng: np.random.Generator,
    dtype: Any,
    scale: float = 0.5,
) -> Any:
    """Gaussian parameters (biases nonzero) rounded to ``dtype``."""
    gates = (4 if kind == "lstm" else 3) * hidden
    shapes = [(input_size, gates), (hidden, gates)] + [(gates,)] * (1 if kind == "lstm" else 2)
    arrays = [
        jnp.asarray(rng.normal(0.0, scale, shape).astype(np.float32)).astype(dtype)
        for shape in shapes
    ]
    return rnnax.LSTMParams(*arrays) if kind == "lstm" else rnnax.GRUParams(*arrays)


def random_carry(
    kind: str, batch_shape: tuple[int, ...], hidden: int, rng: np.random.Generator, dtype: Any
) -> Any:
    def leaf(scale: float) -> jax.Array:
        values = rng.uniform(-scale, scale, (*batch_shape, hidden)).astype(np.float32)
        return jnp.asarray(values).astype(dtype)

    return rnnax.LSTMState(leaf(1.0), leaf(2.0)) if kind == "lstm" else leaf(1.0)


def random_lengths(draw: Any, batch_shape: tuple[int, ...], num_steps: int) -> jax.Array:
    """Lengths of the batch shape, drawn to hit 0 and T often, in any integer dtype."""
    length = st.one_of(st.just(0), st.just(num_steps), st.integers(0, num_steps))
    values = draw(
        st.lists(length, min_size=math.prod(batch_shape), max_size=math.prod(batch_shape))
    )
    dtype = draw(st.sampled_from(LENGTH_DTYPES))
    return jnp.asarray(np.asarray(values, dtype).reshape(batch_shape))


@dataclasses.dataclass(frozen=True)
class Problem:
    """One call of a core: everything ``run`` needs, plus what the checks need to know."""

    kind: str
    dtype: Any
    params: Any
    xs: jax.Array  # in the layout that time_major says
    carry: Any  # None or the initial carry
    lengths: jax.Array | None
    reverse: bool
    time_major: bool
    batch_shape: tuple[int, ...]
    num_steps: int
    seed: int

    @property
    def hidden(self) -> int:
        return int(self.params.w_h.shape[0])

    @property
    def time_axis(self) -> int:
        return 0 if self.time_major else len(self.batch_shape)

    def xs_batch_major(self) -> jax.Array:
        return jnp.moveaxis(self.xs, 0, -2) if self.time_major else self.xs

    def to_batch_major(self, ys: jax.Array) -> jax.Array:
        return jnp.moveaxis(ys, 0, -2) if self.time_major else ys

    def options(self, **overrides: Any) -> dict[str, Any]:
        options = dict(seq_lengths=self.lengths, reverse=self.reverse, time_major=self.time_major)
        options.update(overrides)
        return options

    def run(self, xs: jax.Array | None = None, carry: Any = "same", **overrides: Any):
        return run_core(
            self.kind,
            self.params,
            self.xs if xs is None else xs,
            self.carry if isinstance(carry, str) else carry,
            **self.options(**overrides),
        )

    def valid(self) -> np.ndarray:
        """Boolean ``[..., T]`` (batch-major): which steps are inside their sequence."""
        lengths = (
            np.full(self.batch_shape, self.num_steps)
            if self.lengths is None
            else np.asarray(self.lengths, np.int64)
        )
        return np.arange(self.num_steps) < lengths[..., None]

    def cotangents(self) -> tuple[Any, jax.Array]:
        """Fixed random cotangents for ``(final carry, ys)``, in the problem's layout."""
        rng = np.random.default_rng(self.seed + 1)
        ys_shape = (*np.shape(self.xs)[:-1], self.hidden)
        d_ys = jnp.asarray(rng.normal(size=ys_shape).astype(np.float32)).astype(self.dtype)
        return random_carry(self.kind, self.batch_shape, self.hidden, rng, self.dtype), d_ys


@st.composite
def problems(
    draw: Any,
    *,
    kinds: tuple[str, ...] = KINDS,
    dtypes: tuple[Any, ...] = DTYPES,
    steps: tuple[int, ...] = STEPS,
    batch_shapes: tuple[tuple[int, ...], ...] = BATCH_SHAPES,
    lengths: bool | None = None,
    carry: bool | None = None,
    reverse: bool | None = None,
    time_major: bool | None = None,
) -> Problem:
    """A random core call. ``None`` options are drawn; ``True``/``False`` fix them."""

    def option(value: bool | None) -> bool:
        return draw(st.booleans()) if value is None else value

    kind = draw(st.sampled_from(kinds))
    dtype = draw(st.sampled_from(dtypes))
    num_steps = draw(st.sampled_from(steps))
    batch_shape = draw(st.sampled_from(batch_shapes))
    input_size = draw(st.sampled_from(INPUT_SIZES))
    hidden = draw(st.sampled_from(HIDDEN_SIZES))
    seed = draw(st.integers(0, 2**31 - 1))
    input_scale = draw(st.sampled_from([0.5, 1.0, 3.0]))
    rng = np.random.default_rng(seed)
    params = random_params(kind, input_size, hidden, rng, dtype)
    xs = rng.normal(0.0, input_scale, (*batch_shape, num_steps, input_size)).astype(np.float32)
    xs = jnp.asarray(xs).astype(dtype)
    is_time_major = option(time_major)
    if is_time_major:
        xs = jnp.moveaxis(xs, -2, 0)
    return Problem(
        kind=kind,
        dtype=dtype,
        params=params,
        xs=xs,
        carry=random_carry(kind, batch_shape, hidden, rng, dtype) if option(carry) else None,
        lengths=random_lengths(draw, batch_shape, num_steps) if option(lengths) else None,
        reverse=option(reverse),
        time_major=is_time_major,
        batch_shape=batch_shape,
        num_steps=num_steps,
        seed=seed,
    )


# ---------------------------------------------------------------------------- the stacks


@dataclasses.dataclass(frozen=True)
class StackProblem:
    """One call of a stack: ``layers[layer][direction]`` and its arguments."""

    kind: str
    dtype: Any
    layers: list[list[Any]]
    xs: jax.Array
    carry: Any
    lengths: jax.Array | None
    time_major: bool
    batch_shape: tuple[int, ...]
    num_steps: int

    @property
    def core_options(self) -> dict[str, Any]:
        return {} if self.kind == "lstm" else {"reset_after": self.kind == "gru_reset_after"}

    def stack(
        self, layers: Any = None, xs: jax.Array | None = None, carry: Any = "same", **overrides: Any
    ):
        function = rnnax.lstm_stack if self.kind == "lstm" else rnnax.gru_stack
        options = dict(seq_lengths=self.lengths, time_major=self.time_major, **self.core_options)
        options.update(overrides)
        return function(
            self.layers if layers is None else layers,
            self.xs if xs is None else xs,
            self.carry if isinstance(carry, str) else carry,
            **options,
        )


@st.composite
def stack_problems(
    draw: Any,
    *,
    kinds: tuple[str, ...] = KINDS,
    dtypes: tuple[Any, ...] = DTYPES,
    bidirectional: bool | None = None,
) -> StackProblem:
    kind = draw(st.sampled_from(kinds))
    dtype = draw(st.sampled_from(dtypes))
    num_layers = draw(st.integers(1, 3))
    num_directions = 2 if (draw(st.booleans()) if bidirectional is None else bidirectional) else 1
    num_steps = draw(st.sampled_from(STEPS))
    batch_shape = draw(st.sampled_from(BATCH_SHAPES))
    input_size = draw(st.sampled_from(INPUT_SIZES))
    hidden = draw(st.sampled_from(HIDDEN_SIZES))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    layers = [
        [
            random_params(
                kind, input_size if layer == 0 else hidden * num_directions, hidden, rng, dtype
            )
            for _ in range(num_directions)
        ]
        for layer in range(num_layers)
    ]
    xs = jnp.asarray(rng.normal(size=(*batch_shape, num_steps, input_size)).astype(np.float32))
    xs = xs.astype(dtype)
    time_major = draw(st.booleans())
    if time_major:
        xs = jnp.moveaxis(xs, -2, 0)
    carry = None
    if draw(st.booleans()):
        carry = [
            [random_carry(kind, batch_shape, hidden, rng, dtype) for _ in range(num_directions)]
            for _ in range(num_layers)
        ]
    lengths = random_lengths(draw, batch_shape, num_steps) if draw(st.booleans()) else None
    return StackProblem(
        kind=kind,
        dtype=dtype,
        layers=layers,
        xs=xs,
        carry=carry,
        lengths=lengths,
        time_major=time_major,
        batch_shape=batch_shape,
        num_steps=num_steps,
    )


# ------------------------------------------------------------------------------ sequences


def flip_valid(array: Any, lengths: Any, time_axis: int) -> jax.Array:
    """Reverses each sequence's valid prefix ``[0, length)`` along ``time_axis``; the padded
    tail stays where it is. With ``lengths=None`` every sequence is full: a plain flip.

    ``lengths`` has the shape of ``array``'s batch axes (every axis but time and the last).
    """
    array = jnp.asarray(array)
    num_steps = array.shape[time_axis]
    if lengths is None:
        return jnp.flip(array, axis=time_axis)
    moved = np.moveaxis(np.asarray(array.astype(jnp.float32)), time_axis, -2)
    lengths = np.asarray(lengths, np.int64)  # no unsigned wrap-around below
    steps = np.arange(num_steps)
    source = np.where(steps < lengths[..., None], lengths[..., None] - 1 - steps, steps)
    flipped = np.take_along_axis(moved, source[..., None], axis=-2)
    return jnp.asarray(np.moveaxis(flipped, -2, time_axis)).astype(array.dtype)


# ------------------------------------------------------------------------------- interop


@dataclasses.dataclass(frozen=True)
class CellProblem:
    """One cell's parameters (a GRU's in the ``reset_after=True`` form) and a random step."""

    kind: str  # "lstm" or "gru"
    dtype: Any
    params: Any
    x: jax.Array
    carry: Any

    def step(self, params: Any, carry: Any, x: jax.Array) -> tuple[Any, jax.Array]:
        """Our cell (a GRU reset-after) on any parameters, carry and input."""
        if self.kind == "lstm":
            return rnnax.lstm_cell(params, carry, x)
        return rnnax.gru_cell(params, carry, x, reset_after=True)

    def assert_same_step(self, framework_step: Any, state: Any) -> None:
        """``framework_step(state, carry, x) -> (carry, y)`` (our carry layout) computes our
        step on the problem's input and carry. Both run in one ``jit``: one compilation."""

        @jax.jit
        def both(state, params, carry, x):
            return framework_step(state, carry, x), self.step(params, carry, x)

        theirs, ours = both(state, self.params, self.carry, self.x)
        assert_close(theirs, ours, self.dtype)


@st.composite
def cell_problems(
    draw: Any,
    *,
    kinds: tuple[str, ...] = ("lstm", "gru"),
    dtypes: tuple[Any, ...] = DTYPES,
    batch_shapes: tuple[tuple[int, ...], ...] = ((), (3,), (2, 2)),
) -> CellProblem:
    """Random cell parameters; a GRU's recurrent biases are zero in some blocks at random (the
    layouts of Flax and Equinox have no ``z``/``r`` recurrent bias, nnx none at all)."""
    kind = draw(st.sampled_from(kinds))
    dtype = draw(st.sampled_from(dtypes))
    input_size = draw(st.sampled_from(INPUT_SIZES))
    hidden = draw(st.sampled_from(HIDDEN_SIZES))
    batch_shape = draw(st.sampled_from(batch_shapes))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    params = random_params(kind, input_size, hidden, rng, dtype)
    if kind == "gru":
        keep_zr, keep_n = draw(st.booleans()), draw(st.booleans())
        mask = np.concatenate([np.full(2 * hidden, keep_zr), np.full(hidden, keep_n)])
        params = params._replace(
            b_h=jnp.where(jnp.asarray(mask), params.b_h, jnp.zeros_like(params.b_h))
        )
        # Reset-after weights, typed as such: what every framework's GRU converts to.
        params = rnnax.GRUResetAfterParams(*params)
    x = jnp.asarray(rng.normal(size=(*batch_shape, input_size)).astype(np.float32)).astype(dtype)
    return CellProblem(
        kind=kind,
        dtype=dtype,
        params=params,
        x=x,
        carry=random_carry(kind, batch_shape, hidden, rng, dtype),
    )


def folded_gru(params: Any) -> Any:
    """What a GRU becomes in a layout without ``z``/``r`` recurrent biases: those entries of
    ``b_h`` added to ``b_x`` (the same function), ``b_h`` keeping only the candidate's."""
    blocks = 2 * params.w_h.shape[0]
    return params._replace(
        b_x=jnp.concatenate([params.b_x[:blocks] + params.b_h[:blocks], params.b_x[blocks:]]),
        b_h=jnp.concatenate([jnp.zeros_like(params.b_h[:blocks]), params.b_h[blocks:]]),
    )


@st.composite
def stack_layers(
    draw: Any, *, kinds: tuple[str, ...] = ("lstm", "gru"), dtypes: tuple[Any, ...] = DTYPES
) -> tuple[str, list[list[Any]]]:
    """``(kind, layers[layer][direction])`` with random parameters (GRUs reset-after)."""
    kind = draw(st.sampled_from(kinds))
    dtype = draw(st.sampled_from(dtypes))
    num_layers = draw(st.integers(1, 2))
    num_directions = draw(st.integers(1, 2))
    input_size = draw(st.sampled_from(INPUT_SIZES))
    hidden = draw(st.sampled_from(HIDDEN_SIZES))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    # Reset-after GRU weights typed as such: what every framework's GRU converts to.
    typed = (lambda p: rnnax.GRUResetAfterParams(*p)) if kind == "gru" else (lambda p: p)
    return kind, [
        [
            typed(
                random_params(
                    kind, input_size if layer == 0 else hidden * num_directions, hidden, rng, dtype
                )
            )
            for _ in range(num_directions)
        ]
        for layer in range(num_layers)
    ]
