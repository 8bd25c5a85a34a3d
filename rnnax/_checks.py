"""rnnax's one validation vocabulary: argument checks whose messages name the argument, the
expected and the actual value.

Every public function of rnnax checks its arguments with the functions here, once, at the public
boundary (private helpers below it trust their callers). One rule decides the exception type:

* ``TypeError`` when the value has the wrong *type*: a string where an int belongs, a bool where a
  number belongs (``True`` is an ``int`` to Python but never a count or a rate here), a list where
  an array belongs, an integer dtype where a floating one belongs.
* ``ValueError`` when the type is right but the *value* is not: a negative count, a rate outside
  its interval, a name that is not one of the choices, a shape that does not fit.

Everything here runs in Python while JAX traces, so a mistake surfaces at the call site rather
than as an XLA error or silent broadcasting.

Examples:
    >>> check_int("epochs", 3, minimum=1)
    3
    >>> check_int("epochs", "3", minimum=1)
    Traceback (most recent call last):
    ...
    TypeError: epochs must be an integer, got '3' of type str
    >>> check_choice("mode", "fast", ("fast", "exact"))
    'fast'
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(np.shape(x))


def _dtype_name(dtype: Any) -> str:
    return jnp.dtype(dtype).name


def check_array(name: str, x: Any) -> None:
    """Raises ``TypeError`` unless ``x`` is an array (JAX, NumPy or a tracer)."""
    if not isinstance(x, (jax.Array, np.ndarray, np.generic)):
        raise TypeError(f"{name} must be an array, got {type(x).__name__}")


def check_floating(name: str, x: Any) -> None:
    """Raises ``TypeError`` unless ``x`` has a floating dtype."""
    check_array(name, x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(
            f"{name} must have a floating dtype (float32, bfloat16, ...), got "
            f"{_dtype_name(x.dtype)}"
        )


def check_same_dtype(name: str, x: Any, expected: Any, what: str) -> None:
    """Raises ``TypeError`` if ``x.dtype`` differs from ``expected`` (no silent promotion)."""
    if jnp.dtype(x.dtype) != jnp.dtype(expected):
        raise TypeError(
            f"{name} has dtype {_dtype_name(x.dtype)} but {what} has dtype "
            f"{_dtype_name(expected)}; cast one of them so the dtypes match"
        )


def check_min_rank(name: str, x: Any, min_rank: int, layout: str) -> None:
    """Raises ``ValueError`` if ``x`` has fewer than ``min_rank`` axes."""
    if np.ndim(x) < min_rank:
        raise ValueError(
            f"{name} must have at least {min_rank} axes {layout}, got shape {_shape(x)}"
        )


def check_last_dim(name: str, x: Any, expected: int, meaning: str) -> None:
    """Raises ``ValueError`` if the last axis of ``x`` is not ``expected`` long."""
    shape = _shape(x)
    if not shape or shape[-1] != expected:
        raise ValueError(
            f"{name} must have {meaning} = {expected} on its last axis, got shape {shape}"
        )


def check_shape(name: str, x: Any, expected: Sequence[int], meaning: str = "") -> None:
    """Raises ``ValueError`` if ``x.shape`` is not exactly ``expected`` (no broadcasting)."""
    shape = _shape(x)
    if shape != tuple(expected):
        suffix = f" {meaning}" if meaning else ""
        raise ValueError(f"{name} must have shape {tuple(expected)}{suffix}, got {shape}")


# The largest size an array axis may have here: XLA shapes and JAX's shape checks expect
# dimensions that fit a signed 32-bit integer, and nothing in rnnax needs more.
MAX_DIMENSION = 2**31 - 1
# The most layers a stack may have: each layer is initialized and traced in a Python loop, so a
# stack of millions of layers would run for hours before failing to fit in memory.
MAX_LAYERS = 10_000


def check_int(
    name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Returns ``value`` as an ``int``, raising unless it is an integer in ``[minimum, maximum]``.

    Raises:
        TypeError: If ``value`` is not an integer (Python or NumPy; booleans are refused).
        ValueError: If it lies outside the bounds given.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an integer, got {value!r:.80} of type {type(value).__name__}"
        )
    number = int(value)
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise ValueError(f"{name} must be an integer <= {maximum}, got {number}")
    return number


def check_real(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive: bool = False,
) -> float:
    """Returns ``value`` as a finite ``float``, raising unless it is a real number in range.

    Args:
        name: The argument's name, used in error messages.
        value: The value the caller passed.
        minimum: The smallest allowed value, if any.
        maximum: The largest allowed value, if any.
        exclusive: Whether the bounds themselves are excluded.

    Raises:
        TypeError: If ``value`` is not a real number (booleans and strings are refused).
        ValueError: If it is NaN, infinite or out of range.
    """
    if isinstance(value, (bool, np.bool_)) or not is_real_number(value):
        raise TypeError(f"{name} must be a real number, got {value!r:.80}")
    result = float(value)
    below = minimum is not None and (result <= minimum if exclusive else result < minimum)
    above = maximum is not None and (result >= maximum if exclusive else result > maximum)
    if not math.isfinite(result) or below or above:
        op_min, op_max = (">", "<") if exclusive else (">=", "<=")
        bounds = [f"{op_min} {minimum:g}"] if minimum is not None else []
        bounds += [f"{op_max} {maximum:g}"] if maximum is not None else []
        bound = f" {' and '.join(bounds)}" if bounds else ""
        raise ValueError(f"{name} must be a finite number{bound}, got {result}")
    return result


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """Returns ``value`` if it is one of the strings ``choices``.

    Raises:
        TypeError: If ``value`` is not a string.
        ValueError: If it is a string but not one of ``choices``.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {list(choices)}, got {value!r:.80}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_positive_int(name: str, value: Any, maximum: int | None = None) -> int:
    """Returns ``value`` as an int, raising unless it is a positive integer (<= ``maximum``)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive int, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be a positive int of at most {maximum}, got {value}")
    return int(value)


def check_bool(name: str, value: Any) -> bool:
    """Returns ``value`` as a bool, raising ``TypeError`` unless it is one.

    A string such as ``"False"`` is truthy, so accepting any object would silently flip a flag.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool (True or False), got {value!r}")
    return bool(value)


def check_unroll(unroll: Any) -> None:
    """Checks ``unroll``: a bool or a positive int (steps per ``lax.scan`` iteration)."""
    if isinstance(unroll, (bool, np.bool_)):
        return
    if not isinstance(unroll, (int, np.integer)):
        raise TypeError(f"unroll must be a bool or a positive int, got {unroll!r}")
    if unroll < 1:
        raise ValueError(f"unroll must be a bool or a positive int, got {unroll}")


def is_real_number(value: object) -> bool:
    """``isinstance(value, numbers.Real)``, NumPy scalars included, without narrowing the type.

    A type checker deems ``float`` and ``numbers.Real`` unrelated, so after a narrowing
    ``isinstance`` on a ``float`` argument it would skip the rest of the function as unreachable.
    """
    return isinstance(value, numbers.Real)


def check_rate(name: str, value: Any) -> float:
    """Returns a probability in ``[0, 1)`` as a float (a real number, not a bool)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in [0, 1), got {value!r}")
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{name} must lie in [0, 1), got {value}")
    return float(value)


def check_finite_real(name: str, value: Any) -> float:
    """Returns ``value`` as a float, raising unless it is a finite real number (or 0-d array)."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a finite real number, got {value!r}")
    if not isinstance(value, numbers.Real):
        dtype = getattr(value, "dtype", None)
        if (
            np.ndim(value) != 0
            or dtype is None
            or isinstance(value, jax.core.Tracer)
            or not (jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.integer))
        ):
            raise TypeError(f"{name} must be a finite real number, got {value!r:.80}")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{name} must be a finite real number, got {result}")
    return result


def check_float_dtype(name: str, dtype: Any) -> np.dtype:
    """Returns ``dtype`` as a floating ``jnp.dtype`` that JAX can hold (``None``: the default).

    Refuses integer, boolean and complex dtypes, and 64-bit floats while JAX's 64-bit mode is
    off (JAX would silently give float32 instead).
    """
    if dtype is None:
        return jnp.dtype(jax.dtypes.canonicalize_dtype(jnp.float64))
    try:
        resolved = jnp.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"{name} must be a floating dtype (float32, bfloat16, ...), got {dtype!r}"
        ) from None
    if not jnp.issubdtype(resolved, jnp.floating):
        raise TypeError(
            f"{name} must be a floating dtype (float32, bfloat16, ...), got {resolved.name}"
        )
    if jax.dtypes.canonicalize_dtype(resolved) != resolved:
        raise ValueError(
            f"{name} is {resolved.name} but JAX's 64-bit mode is off, so arrays cannot have it; "
            "enable it (jax.config.update('jax_enable_x64', True)) or use float32"
        )
    return resolved


def check_key(name: str, key: Any) -> None:
    """Raises ``TypeError`` unless ``key`` is one PRNG key: ``jax.random.key(seed)`` (a typed
    key array of shape ``()``) or a raw ``uint32`` key such as ``jax.random.PRNGKey(seed)``."""
    dtype = getattr(key, "dtype", None)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        if np.shape(key) != ():
            raise ValueError(
                f"{name} must be a single PRNG key (shape ()), got a key array of shape "
                f"{_shape(key)}; split it and pass one key"
            )
        return
    if isinstance(key, (jax.Array, np.ndarray)) and dtype == np.uint32 and np.ndim(key) == 1:
        return  # a raw key; JAX checks its length against the PRNG implementation
    described = (
        f"an array of dtype {_dtype_name(dtype)} and shape {_shape(key)}"
        if isinstance(key, (jax.Array, np.ndarray))
        else repr(key)[:80]
    )
    raise TypeError(f"{name} must be a PRNG key (jax.random.key(seed)), got {described}")


def check_seq_lengths(seq_lengths: Any, batch_shape: tuple[int, ...], num_steps: int) -> None:
    """Checks ``seq_lengths``: integer dtype, exactly the batch shape, values in ``[0, T]``.

    The range is checked only where the values are concrete (outside ``jit``). Under ``jit``
    values outside the range act as if clipped to it: a length above ``T`` reads every step and
    a negative one reads none.
    """
    check_array("seq_lengths", seq_lengths)
    if not jnp.issubdtype(seq_lengths.dtype, jnp.integer):
        raise TypeError(
            f"seq_lengths must have an integer dtype, got {_dtype_name(seq_lengths.dtype)}"
        )
    check_shape("seq_lengths", seq_lengths, batch_shape, "(the batch shape of xs)")
    if isinstance(seq_lengths, jax.core.Tracer):
        return
    values = np.asarray(seq_lengths)
    if values.size and (values.min() < 0 or values.max() > num_steps):
        raise ValueError(
            f"seq_lengths must lie in [0, {num_steps}] (the number of time steps), got values "
            f"from {values.min()} to {values.max()}"
        )


def check_positive_real(name: str, value: Any) -> float:
    """Returns ``value`` as a float, raising unless it is a finite real number ``> 0``.

    Raises:
        TypeError: If ``value`` is not a real number (booleans and strings are refused).
        ValueError: If it is zero, negative, NaN or infinite.
    """
    if isinstance(value, (bool, np.bool_)) or not is_real_number(value):
        raise TypeError(f"{name} must be a positive number, got {value!r:.80}")
    try:
        result = float(value)
    except OverflowError:  # an int too large for a float
        result = math.inf
    if not (math.isfinite(result) and result > 0):
        raise ValueError(f"{name} must be a positive number, got {value}")
    return result
