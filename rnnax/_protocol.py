"""The cell protocol: one immutable description of a recurrent cell that everything above the
cells (cores, strategies, stacks, streams, modules, forecasters, counters, ``rnnax compare``)
dispatches on.

A ``Cell`` is an optax-style bundle of pure functions and static facts. The LSTM and both GRU
forms are instances (``rnnax.LSTM``, ``rnnax.GRU``, ``rnnax.GRU_RESET_AFTER``), and so is any
cell a user writes::

    class MyElmanParams(NamedTuple):
        w_x: jax.Array  # [I, H]
        w_h: jax.Array  # [H, H]
        b: jax.Array    # [H]

    def step(params, h, x):
        h = jnp.tanh(x @ params.w_x + h @ params.w_h + params.b)
        return h, h

    MY_ELMAN = rnnax.Cell(
        name="my_elman", init=my_init, step=step,
        layout={"w_x": ("I", "H"), "w_h": ("H", "H"), "b": ("H",)},
        params_type=MyElmanParams,
    )
    state, ys = rnnax.rnn(params, xs, cell=MY_ELMAN)   # every strategy, stacks, streams, ...

The parameters of a cell are a ``typing.NamedTuple`` whose fields the ``layout`` describes in
the symbols ``I`` (input size) and ``H`` (hidden size), optionally with an integer multiplier
(``"4H"``); the layout is what lets rnnax check any cell's parameters with clear errors and
count them. Registering a cell (``register_cell``) with a ``params_type`` lets the cores find
the cell from the parameters alone, so the form of a cell travels with its parameters.
"""

from __future__ import annotations

import importlib
import math
import re
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rnnax._checks import check_array, check_floating, check_same_dtype

Step = Callable[[Any, Any, jax.Array], tuple[Any, jax.Array]]
"""``step(params, carry, x[..., I]) -> (carry, y[..., H])``."""

Runner = Callable[..., tuple[Any, jax.Array]]
"""``runner(params, xs[T, B, I], carry[B, ...], lengths[B] | None, *, reverse, unroll)
-> (carry, ys[T, B, H])``: a whole sequence on time-major arrays with one batch axis."""

_EMPTY: Mapping[str, Any] = types.MappingProxyType({})


class GemmSplit(NamedTuple):
    """The "input GEMM + recurrent GEMM + pointwise" form of a cell.

    A cell has this form when its step is exactly::

        w_x, b_x, w_h, b_h = weights(params)
        a_x = x @ w_x + b_x                       # b_x may be None (no bias)
        a_h = recurrent_input(carry) @ w_h + b_h  # b_h may be None
        carry, y = pointwise(params, carry, a_x, a_h)

    which is what the generic hand-written backward pass (``strategy="custom_vjp"``) needs: the
    weight and input gradients of all steps as single GEMMs, and the per-step backward of
    ``pointwise`` from ``jax.vjp``. ``pointwise`` may read parameters of its own (layer-norm
    gains, say); their gradients are summed over the steps.

    Attributes:
        weights: ``params -> (w_x [I, G], b_x [G] | None, w_h [K, G], b_h [G] | None)``.
        pointwise: ``(params, carry, a_x [..., G], a_h [..., G]) -> (carry, y [..., H])``.
        recurrent_input: ``carry -> [..., K]``, what ``w_h`` multiplies (``h`` usually).
        additive: ``pointwise`` reads only ``a_x + a_h``, so the backward pass stores their sum
            (``G`` values per step) instead of both.

    Where ``pointwise`` returns as ``y`` the very array that ``recurrent_input`` reads from the
    new carry (the LSTM's ``h``, the GRU's state), the backward pass rebuilds that part of the
    carry from the outputs instead of storing it.
    """

    weights: Callable[[Any], tuple[Any, Any, Any, Any]]
    pointwise: Callable[[Any, Any, jax.Array, jax.Array], tuple[Any, jax.Array]]
    recurrent_input: Callable[[Any], jax.Array]
    additive: bool = False


def project(split: GemmSplit, params: Any, carry: Any, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The two pre-activations of a ``GemmSplit`` step, ``(a_x, a_h)``.

    For an additive cell the whole sum ``x W_x + h W_h + b_x + b_h`` comes back as ``a_x``
    (summed in that order, as the LSTM's step sums it) and ``a_h`` is zero, so every strategy
    computes the step bit for bit alike.
    """
    w_x, b_x, w_h, b_h = split.weights(params)
    a_x = x @ w_x
    a_h = split.recurrent_input(carry) @ w_h
    if split.additive:
        a = a_x + a_h
        for bias in (b_x, b_h):
            a = a if bias is None else a + _with_batch_axes(bias, a)
        return a, jnp.zeros_like(a)
    a_x = a_x if b_x is None else a_x + _with_batch_axes(b_x, a_x)
    a_h = a_h if b_h is None else a_h + _with_batch_axes(b_h, a_h)
    return a_x, a_h


def split_step(split: GemmSplit) -> Step:
    """The step of a cell in the GEMM + pointwise form (``GemmSplit``'s reference)."""

    def step(params: Any, carry: Any, x: jax.Array) -> tuple[Any, jax.Array]:
        a_x, a_h = project(split, params, carry, x)
        return split.pointwise(params, carry, a_x, a_h)

    return step


def _with_batch_axes(bias: jax.Array, like: jax.Array) -> jax.Array:
    """Gives a ``[G]`` bias the leading unit axes of ``like`` (explicit, not rank promotion)."""
    return bias.reshape((1,) * (like.ndim - 1) + bias.shape)


def zeros_carry(hidden_size: int, batch_shape: tuple[int, ...], dtype: Any) -> jax.Array:
    """The carry of cells whose state is one array ``h [..., H]`` (GRU, Elman, minGRU)."""
    return jnp.zeros((*batch_shape, hidden_size), dtype)


class Cell(NamedTuple):
    """The description of a recurrent cell: pure functions and static facts.

    Attributes:
        name: a short identifier (``"lstm"``); the registry's key.
        init: ``init(key, input_size, hidden_size, *, dtype=jnp.float32, **options) -> params``.
        step: ``step(params, carry, x[..., I]) -> (carry, y[..., H])``, unchecked; every batch
            axis of ``x`` is a batch axis of the carry.
        layout: each parameter field's shape in the symbols ``I``, ``H`` and ``kH``/``kI``
            (``{"w_x": ("I", "4H"), ...}``), in the order of the fields.
        carry_init: ``(hidden_size, batch_shape, dtype) -> carry``: the zero carry.
        params_type: the ``NamedTuple`` type of the parameters; registered cells are found
            from it (``cell_of``), so no two registered cells share one.
        flops: ``(input_size, hidden_size) -> int``: floating-point operations of one step of
            one sequence (a multiply-add counts 2, an elementwise operation 1); ``None``
            asks XLA's cost analysis.
        split: the ``GemmSplit`` of a cell in the GEMM + pointwise form, else ``None``.
        kernels: strategy name to a ``Runner`` specialised for this cell (a hand-tuned
            backward pass, a Pallas or cuDNN kernel, a parallel scan); they override the
            generic strategies.
        auto: backend (``"cpu"``, ``"gpu"``, ``"tpu"``) to the strategy ``"auto"`` runs
            there, where a benchmark measured one faster than the scan.
        description: one line for listings (``rnnax compare --cells``).
    """

    name: str
    init: Callable[..., Any]
    step: Step
    layout: Mapping[str, tuple[str, ...]]
    carry_init: Callable[[int, tuple[int, ...], Any], Any] = zeros_carry
    params_type: type | None = None
    flops: Callable[[int, int], int] | None = None
    split: GemmSplit | None = None
    kernels: Mapping[str, Runner] = _EMPTY
    auto: Mapping[str, str] = _EMPTY
    description: str = ""

    # Cells are static arguments of compiled functions, so they must hash (their mappings do
    # not) and two cells may compare equal only if they compute with the same functions: the
    # kernels and auto choices included, or a compiled call could run another cell's kernel.
    def _identity(self) -> tuple[Any, ...]:
        return (
            self.name,
            self.init,
            self.step,
            self.params_type,
            self.split,
            tuple(sorted(self.kernels.items())),
            tuple(sorted(self.auto.items())),
        )

    def __hash__(self) -> int:
        return hash(self._identity())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Cell):
            return NotImplemented
        return self._identity() == other._identity()

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __repr__(self) -> str:
        return f"Cell({self.name!r})"


# ------------------------------------------------------------------------------ the registry

_REGISTRY: dict[str, Cell] = {}
_BY_TYPE: dict[type, Cell] = {}

# The modules that register the built-in cells, imported (in this order) before the first
# lookup by name: ``import rnnax`` is lazy, so ``get_cell("lstm")`` must not depend on what
# happened to be imported first.
_BUILTIN_CELL_MODULES = (
    "rnnax._cell_elman",
    "rnnax._cell_gru",
    "rnnax._cell_layernorm_lstm",
    "rnnax._cell_lstm",
    "rnnax._cell_mingru",
    "rnnax._cell_minlstm",
)


def _register_builtin_cells() -> None:
    for module in _BUILTIN_CELL_MODULES:
        importlib.import_module(module)


def register_cell(cell: Cell) -> Cell:
    """Registers ``cell`` under its name (and its ``params_type``) and returns it.

    Registered cells are found by name (``get_cell``, ``rnnax compare --cells``) and by the
    type of their parameters (``cell_of``), so ``rnnax.rnn(params, xs)`` needs no ``cell=``.
    Registering a new cell under a taken name, or a second cell for a taken parameter type,
    is an error; registering the same cell twice is not.

    Raises:
        TypeError: ``cell`` is not a valid ``Cell``.
        ValueError: the name or parameter type is taken by another cell.
    """
    check_cell(cell)
    taken = _REGISTRY.get(cell.name)
    if taken is not None and taken != cell:
        raise ValueError(f"a different cell is already registered as {cell.name!r}")
    if cell.params_type is not None:
        owner = _BY_TYPE.get(cell.params_type)
        if owner is not None and owner != cell:
            raise ValueError(
                f"params_type {cell.params_type.__name__} already belongs to cell "
                f"{owner.name!r}; give {cell.name!r} a NamedTuple type of its own"
            )
        _BY_TYPE[cell.params_type] = cell
    _REGISTRY[cell.name] = cell
    return cell


def registered_cells() -> tuple[str, ...]:
    """The names of the registered cells, in registration order."""
    _register_builtin_cells()
    return tuple(_REGISTRY)


def get_cell(cell: str | Cell) -> Cell:
    """The registered cell called ``cell`` (a ``Cell`` is returned as it is).

    Raises:
        ValueError: no cell of that name is registered.
        TypeError: ``cell`` is neither a name nor a ``Cell``.
    """
    if isinstance(cell, Cell):
        return cell
    if not isinstance(cell, str):
        raise TypeError(f"cell must be a cell name or an rnnax.Cell, got {cell!r:.80}")
    _register_builtin_cells()
    found = _REGISTRY.get(cell)
    if found is None:
        raise ValueError(f"cell must be one of {registered_cells()}, got {cell!r}")
    return found


def cell_of(params: Any, cell: str | Cell | None = None, what: str = "") -> Cell:
    """The cell that ``params`` belong to: ``cell`` when given, else found from their type.
    ``what`` extends the error's list of what ``params`` may be.

    Raises:
        TypeError: ``params`` are not the parameters of ``cell``, or of any registered cell.
    """
    if cell is not None:
        found = get_cell(cell)
        check_params_type(found, params)
        return found
    found_by_type = _BY_TYPE.get(type(params))
    if found_by_type is None:
        known = ", ".join(sorted(t.__name__ for t in _BY_TYPE))
        raise TypeError(
            f"params must be the parameters of a registered cell ({known}), or pass cell= "
            f"for a cell of your own{what}; got {type(params).__name__}"
        )
    return found_by_type


# ------------------------------------------------------------------------------- checks


def check_params_type(cell: Cell, params: Any) -> None:
    """``params`` may run as ``cell``: of its ``params_type``, or of a base type of it that
    says nothing of the form (plain ``GRUParams`` run as the reset-after GRU when asked), but
    never of a type that belongs to another registered cell (``GRUResetAfterParams`` run as
    the explainer's GRU would silently compute another function).

    Raises:
        TypeError: the parameters' type does not fit ``cell``.
    """
    expected = cell.params_type
    if expected is None:
        return
    actual = type(params)
    owner = _BY_TYPE.get(actual)
    if isinstance(params, expected) and (owner is None or owner == cell):
        return
    if issubclass(expected, actual) and actual is not tuple:
        return
    if owner is not None and isinstance(params, expected):
        raise TypeError(
            f"params of type {actual.__name__} belong to cell {owner.name!r}, not "
            f"{cell.name!r}: running them as {cell.name!r} would compute another function; "
            f"convert them explicitly ({expected.__name__}(*params)) if you mean it"
        )
    raise TypeError(f"params must be {expected.__name__}, got {actual.__name__}")


_SYMBOL = re.compile(r"^(\d*)([IH])$")


def _parse(spec: str) -> tuple[int, str]:
    match = _SYMBOL.match(spec) if isinstance(spec, str) else None
    if match is None:
        raise TypeError(
            f"a layout entry must be 'I', 'H' or a multiple such as '4H', got {spec!r:.40}"
        )
    return int(match.group(1) or 1), match.group(2)


def check_cell(cell: Any) -> Cell:
    """Checks a cell description's own fields (not yet its functions' results)."""
    if not isinstance(cell, Cell):
        raise TypeError(f"cell must be an rnnax.Cell, got {type(cell).__name__}")
    if not isinstance(cell.name, str) or not cell.name:
        raise TypeError(f"cell.name must be a non-empty str, got {cell.name!r:.40}")
    for field in ("init", "step", "carry_init"):
        if not callable(getattr(cell, field)):
            raise TypeError(f"cell {cell.name!r}: {field} must be a function")
    if not isinstance(cell.layout, Mapping) or not cell.layout:
        raise TypeError(f"cell {cell.name!r}: layout must be a non-empty mapping field -> shape")
    for field, spec in cell.layout.items():
        if not isinstance(spec, tuple):
            raise TypeError(
                f"cell {cell.name!r}: layout[{field!r}] must be a tuple such as ('H', '4H'), "
                f"got {spec!r:.40}"
            )
        for entry in spec:
            _parse(entry)
    symbols = {_parse(entry)[1] for spec in cell.layout.values() for entry in spec}
    if symbols != {"I", "H"}:
        raise TypeError(
            f"cell {cell.name!r}: layout must mention both I and H so the sizes can be read "
            f"from the parameters, got {dict(cell.layout)}"
        )
    if cell.split is not None and not isinstance(cell.split, GemmSplit):
        raise TypeError(f"cell {cell.name!r}: split must be a GemmSplit or None")
    return cell


def _expected_shape(spec: tuple[str, ...], sizes: Mapping[str, int]) -> tuple[int, ...]:
    return tuple(k * sizes[symbol] for k, symbol in map(_parse, spec))


def _spelled(spec: tuple[str, ...]) -> str:
    return "[" + ", ".join(spec) + "]"


def check_params(cell: Cell, params: Any) -> tuple[int, int]:
    """Checks ``params`` against ``cell.layout``; returns ``(input_size, hidden_size)``.

    Every field must be a floating array of the layout's shape, all of one dtype; ``I`` and
    ``H`` are read from the first field whose shape names them.

    Raises:
        TypeError: a missing field, a non-array or non-floating field, mixed dtypes.
        ValueError: a shape that does not match the layout.
    """
    check_params_type(cell, params)
    fields = getattr(params, "_fields", None)
    if fields is None:
        raise TypeError(
            f"params of cell {cell.name!r} must be a NamedTuple with fields "
            f"{tuple(cell.layout)}, got {type(params).__name__}"
        )
    missing = [field for field in cell.layout if field not in fields]
    if missing:
        raise TypeError(
            f"params of cell {cell.name!r} must have the fields {tuple(cell.layout)}, but "
            f"{type(params).__name__} lacks {tuple(missing)}"
        )
    sizes: dict[str, int] = {}
    sources: dict[str, str] = {}
    first_dtype: tuple[str, Any] | None = None
    for field, spec in cell.layout.items():
        value = getattr(params, field)
        name = f"params.{field}"
        check_floating(name, value)
        if first_dtype is None:
            first_dtype = (name, value.dtype)
        else:
            check_same_dtype(name, value, first_dtype[1], first_dtype[0])
        shape = tuple(np.shape(value))
        if len(shape) != len(spec):
            raise ValueError(f"{name} must have shape {_spelled(spec)}, got {shape}")
        for axis, entry in zip(shape, spec, strict=True):
            k, symbol = _parse(entry)
            if symbol not in sizes and axis % k == 0:
                if axis == 0:
                    size_name = "a hidden size H" if symbol == "H" else "an input size I"
                    raise ValueError(f"{name} must have {size_name} >= 1, got shape {shape}")
                sizes[symbol] = axis // k
                sources[symbol] = name
        if any(symbol not in sizes for _, symbol in map(_parse, spec)):
            raise ValueError(f"{name} must have shape {_spelled(spec)}, got {shape}")
        expected = _expected_shape(spec, sizes)
        if shape != expected:
            known = ", ".join(f"{s} = {n} from {sources[s]}" for s, n in sizes.items())
            raise ValueError(
                f"{name} must have shape {expected}, got {shape} (the layout is "
                f"{_spelled(spec)} with {known})"
            )
    return sizes["I"], sizes["H"]


def params_dtype(cell: Cell, params: Any) -> Any:
    """The dtype of a cell's (checked) parameters: that of the first layout field."""
    return getattr(params, next(iter(cell.layout))).dtype


def param_count_of(cell: Cell, input_size: int, hidden_size: int) -> int:
    """The number of parameters of one cell, from its layout."""
    sizes = {"I": input_size, "H": hidden_size}
    return sum(math.prod(_expected_shape(spec, sizes)) for spec in cell.layout.values())


def _describe(tree: Any) -> Any:
    return jax.tree.map(lambda leaf: (tuple(np.shape(leaf)), jnp.dtype(leaf.dtype).name), tree)


def check_carry(
    cell: Cell,
    name: str,
    carry: Any,
    hidden_size: int,
    batch_shape: tuple[int, ...],
    dtype: Any,
    meaning: str = "the batch shape, then H",
    optional: bool = False,
) -> None:
    """Checks a carry against the cell's zero carry: its type, then each leaf's shape and
    dtype (named by its path, ``carry.h``), so a wrong carry is caught before any step runs.
    ``optional``: the caller also takes ``None`` (the zero carry), and the message says so."""
    expected = jax.eval_shape(lambda: cell.carry_init(hidden_size, batch_shape, dtype))
    or_none = " or None" if optional else ""
    if isinstance(expected, jax.ShapeDtypeStruct):
        if not isinstance(carry, (jax.Array, np.ndarray, np.generic)):
            raise TypeError(f"{name} must be an array{or_none}, got {type(carry).__name__}")
    elif hasattr(expected, "_fields"):
        if type(carry) is not type(expected):
            raise TypeError(
                f"{name} must be {type(expected).__name__}({', '.join(expected._fields)})"
                f"{or_none}, got {type(carry).__name__}"
            )
        for field in expected._fields:
            if isinstance(getattr(expected, field), jax.ShapeDtypeStruct):
                check_array(f"{name}.{field}", getattr(carry, field))
    if jax.tree.structure(expected) != jax.tree.structure(carry):  # type: ignore[operator]
        raise TypeError(
            f"{name} must be the carry of cell {cell.name!r}: {_type_name(expected)} of "
            f"(shape, dtype) {_describe(expected)}, got {_type_name(carry)}"
        )
    paths = jax.tree_util.tree_flatten_with_path(carry)[0]
    for (path, leaf), want in zip(paths, jax.tree.leaves(expected), strict=True):
        leaf_name = name + jax.tree_util.keystr(path)
        check_floating(leaf_name, leaf)
        if tuple(np.shape(leaf)) != tuple(want.shape):
            raise ValueError(
                f"{leaf_name} must have shape {tuple(want.shape)} ({meaning}), got "
                f"{tuple(np.shape(leaf))}"
            )
        check_same_dtype(leaf_name, leaf, want.dtype, "params")


def _type_name(tree: Any) -> str:
    if isinstance(tree, (jax.Array, np.ndarray, jax.ShapeDtypeStruct)):
        return "an array [..., H]"
    return type(tree).__name__


def check_step_output(
    cell: Cell, carry: Any, new_carry: Any, y: Any, hidden_size: int, batch_shape: Sequence[int]
) -> None:
    """A malformed step (a carry of another structure, shape or dtype than it was given, an
    output that is not ``[..., H]``) is named here, at trace time, not deep inside a scan."""
    if jax.tree.structure(new_carry) != jax.tree.structure(carry) or _describe(  # type: ignore[operator]
        new_carry
    ) != _describe(carry):
        raise TypeError(
            f"cell {cell.name!r}: step must return a carry of the structure, shapes and dtypes "
            f"it was given, {_describe(carry)}, got {_describe(new_carry)}"
        )
    expected = (*batch_shape, hidden_size)
    leaves = jax.tree.leaves(carry)
    dtype = leaves[0].dtype if leaves else None
    if not hasattr(y, "shape") or tuple(y.shape) != expected:
        raise ValueError(
            f"cell {cell.name!r}: step must return an output y of shape {expected} (the batch "
            f"shape, then H), got {getattr(y, 'shape', type(y).__name__)}"
        )
    if dtype is not None and y.dtype != dtype:
        raise TypeError(
            f"cell {cell.name!r}: step must return y of the carry's dtype "
            f"{jnp.dtype(dtype).name}, got {jnp.dtype(y.dtype).name}"
        )
