"""Building blocks of the bad-input fuzz suite.

A fuzz case is a call with one argument mutated away from a valid call, the exception type it
must raise and a regular expression its message must match (naming the argument and saying
what was expected). ``check`` runs a case and asserts that

* the exception is exactly ``ValueError`` or ``TypeError`` (not a subclass such as JAX's
  ``TypePromotionError`` or ``ConcretizationTypeError``, and not an XLA runtime error): the
  library's own check fired, at trace time;
* the message matches (``re.search``) and is a readable sentence, not a dump.

Cases are collected in dicts ``{id: Case}`` and turned into ``pytest.param``s with ``params``, so
each mutation is its own test id. ``xfail_case`` marks a known gap in a file this suite may not
fix (``strict=True``: the test fails as soon as the gap is closed, so the mark gets removed).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

# Exactly these types: a library check, not an error that escaped from JAX, NumPy or Python.
LIBRARY_ERRORS = (ValueError, TypeError)


class Case(NamedTuple):
    """One bad call: ``call()`` must raise exactly ``error`` with a message matching ``match``."""

    call: Callable[[], Any]
    error: type[BaseException]
    match: str
    xfail: str | None = None  # the reason, for a known gap in code this suite may not change
    allowed: tuple[type[BaseException], ...] = ()  # extra exact types accepted (third-party)


def xfail_case(
    call: Callable[[], Any], error: type[BaseException], match: str, reason: str
) -> Case:
    """A case for a known gap (left for the owner of that code): marked ``xfail(strict=True)``."""
    return Case(call, error, match, xfail=reason)


def params(cases: dict[str, Case]) -> list[Any]:
    """``pytest.param(case, id=name)`` for each case, with its ``xfail`` mark if it has one."""
    result = []
    for name, case in cases.items():
        marks = () if case.xfail is None else (pytest.mark.xfail(strict=True, reason=case.xfail),)
        result.append(pytest.param(case, id=name, marks=marks))
    return result


def merge(*tables: dict[str, Case], prefix: Iterable[str] | None = None) -> dict[str, Case]:
    """Joins case tables, refusing duplicate ids (each id is one test)."""
    merged: dict[str, Case] = {}
    for index, table in enumerate(tables):
        head = "" if prefix is None else f"{list(prefix)[index]}-"
        for name, case in table.items():
            key = head + name
            assert key not in merged, f"duplicate fuzz case id {key}"
            merged[key] = case
    return merged


def check(case: Case) -> BaseException:
    """Runs ``case`` and asserts the exact error type and a matching, readable message."""
    with pytest.raises(BaseException) as info:
        case.call()
    error = info.value
    if isinstance(error, (KeyboardInterrupt, SystemExit, TimeoutError)):
        raise error
    accepted = (case.error, *case.allowed)
    assert type(error) in accepted, (
        f"expected exactly {case.error.__name__}, got {type(error).__module__}."
        f"{type(error).__name__}: {error}"
    )
    message = str(error)
    assert re.search(case.match, message), f"message {message!r} does not match {case.match!r}"
    assert message.strip() and "Traceback" not in message, message
    return error


def raises(error: type[BaseException], match: str) -> Callable[[Callable[[], Any]], Case]:
    """``raises(ValueError, "xs")(lambda: ...)``: a shorter way to write a ``Case``."""
    return lambda call: Case(call, error, match)


# ------------------------------------------------------------------------------------------
# Mutations of scalars and arrays, shared by the files
# ------------------------------------------------------------------------------------------
def int_mutations(
    name: str, *, minimum: int = 1, huge: bool = True
) -> dict[str, tuple[Any, type, str]]:
    """Bad values for an integer argument ``name`` that must be ``>= minimum``.

    Returns ``{label: (value, error, regex)}``: wrong types raise ``TypeError`` and wrong
    values ``ValueError`` (rnnax's one rule, ``rnnax._checks``).
    """
    type_error = TypeError
    cases: dict[str, tuple[Any, type, str]] = {
        "below_minimum": (minimum - 1, ValueError, name),
        "negative": (min(-1, minimum - 5), ValueError, name),
        "float": (float(minimum) + 0.5, type_error, name),
        "integral_float": (float(minimum + 1), type_error, name),
        "string": (str(minimum + 1), type_error, name),
        "none": (None, type_error, name),
        "bool": (True, type_error, name),
        "complex": (complex(minimum + 1, 0), type_error, name),
        "array": (np.array([minimum + 1, minimum + 2]), type_error, name),
    }
    if huge:
        cases["huge"] = (2**70, ValueError, name)
    return cases


def rate_mutations(name: str) -> dict[str, tuple[Any, type, str]]:
    """Bad values for a probability in ``[0, 1)``."""
    return {
        "one": (1.0, ValueError, name),
        "negative": (-0.1, ValueError, name),
        "nan": (float("nan"), ValueError, name),
        "inf": (float("inf"), ValueError, name),
        "string": ("0.1", TypeError, name),
        "none": (None, TypeError, name),
        "bool": (True, TypeError, name),
    }


def bool_mutations(name: str, none_allowed: bool = False) -> dict[str, tuple[Any, type, str]]:
    """Values that are not bools but that Python would happily treat as truthy or falsy
    (``None`` too, unless the flag documents ``None`` as "from the parameters")."""
    cases = {
        "string_false": ("False", TypeError, name),
        "none": (None, TypeError, name),
        "int_one": (1, TypeError, name),
        "float_zero": (0.0, TypeError, name),
        "list": ([], TypeError, name),
    }
    if none_allowed:
        del cases["none"]
    return cases


def bad_keys() -> dict[str, Any]:
    """Values that are not one PRNG key."""
    return {
        "int": 0,
        "none": None,
        "string": "key",
        "float_array": jnp.ones(2, jnp.float32),
        "int_array": jnp.ones(2, jnp.int32),
        "batch_of_keys": jax.random.split(jax.random.key(0), 2),
    }


def non_float_arrays(shape: tuple[int, ...]) -> dict[str, Any]:
    """Arrays of ``shape`` whose dtype is not floating (each must be refused as such)."""
    return {
        "int32": jnp.ones(shape, jnp.int32),
        "uint8": np.ones(shape, np.uint8),
        "bool": jnp.ones(shape, jnp.bool_),
        "complex64": jnp.ones(shape, jnp.complex64),
        "str_array": np.full(shape, "a"),
        "object_array": np.full(shape, None, dtype=object),
    }


def not_arrays() -> dict[str, Any]:
    """Values that are not arrays at all."""
    return {"none": None, "string": "abc", "python_float": 1.5, "dict": {"x": 1.0}}


def cases_from(
    mutations: dict[str, tuple[Any, type, str]], call: Callable[[Any], Any]
) -> dict[str, Case]:
    """``{label: Case(lambda: call(value), error, regex)}`` for each mutation."""
    return {
        label: Case(_bind(call, value), error, match)
        for label, (value, error, match) in mutations.items()
    }


def _bind(call: Callable[[Any], Any], value: Any) -> Callable[[], Any]:
    return lambda: call(value)


def escape(text: str) -> str:
    return re.escape(text)


# ------------------------------------------------------------------------------------------
# Cheap parameters: the fuzz cases need valid shapes, not a random initialization (whose
# first call per shape compiles a QR and friends), so they are built from NumPy numbers.
# ------------------------------------------------------------------------------------------
def cell_params(cell: str, input_size: int, hidden_size: int, seed: int = 0):
    """``LSTMParams`` or ``GRUParams`` of the given sizes, small random float32 values."""
    import rnnax

    rng = np.random.default_rng(seed)
    gates = 4 if cell == "lstm" else 3

    def draw(*shape: int) -> jax.Array:
        return jnp.asarray(rng.uniform(-0.5, 0.5, shape), jnp.float32)

    if cell == "lstm":
        return rnnax.LSTMParams(
            draw(input_size, gates * hidden_size),
            draw(hidden_size, gates * hidden_size),
            draw(gates * hidden_size),
        )
    return rnnax.GRUParams(
        draw(input_size, gates * hidden_size),
        draw(hidden_size, gates * hidden_size),
        draw(gates * hidden_size),
        draw(gates * hidden_size),
    )


def stack_params(
    cell: str,
    input_size: int,
    hidden_size: int,
    *,
    num_layers: int = 1,
    bidirectional: bool = False,
    seed: int = 0,
) -> list[list[Any]]:
    """``layers[layer][direction]`` in the layout of ``rnnax.lstm_stack_init``."""
    directions = 2 if bidirectional else 1
    return [
        [
            cell_params(
                cell,
                input_size if layer == 0 else hidden_size * directions,
                hidden_size,
                seed + 10 * layer + direction,
            )
            for direction in range(directions)
        ]
        for layer in range(num_layers)
    ]
