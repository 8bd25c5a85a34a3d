"""Data units <-> model units: a log of each strictly positive column, then standard scaling.

A forecaster reads and writes scaled values ("model units"); the user reads the CSV's units.
:class:`Transform` holds the per-column statistics and maps both ways: ``to_model`` before the
network, calling it (``transform(values)``) after. The statistics come from the training part
of the series only (:func:`fit_transform`), so nothing of the validation or test parts leaks
into the model's inputs.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rnnax import data


class Transform:
    """Per-column ``log`` (where ``log[k]``) and standard scaling, and its inverse.

    Hashable by value, so ``forecasting.backtest`` compiles once per transform. Calling it maps
    model units back to the data's units, on NumPy or JAX arrays whose last axis holds the
    columns (a narrower last axis, as in ``backtest``'s shape probe, takes the first columns'
    statistics).

    Args:
        center: the mean of each (log-)column on the training part.
        scale: the standard deviation of each (log-)column on the training part.
        log: whether each column is modelled on its logarithm.

    Examples:
        >>> transform = Transform(center=(1.0,), scale=(2.0,), log=(False,))
        >>> transform.to_model(np.array([[3.0], [5.0]])).tolist()
        [[1.0], [2.0]]
        >>> transform(np.array([[1.0], [2.0]])).tolist()
        [[3.0], [5.0]]
    """

    def __init__(
        self, center: tuple[float, ...], scale: tuple[float, ...], log: tuple[bool, ...]
    ) -> None:
        self.center = tuple(float(value) for value in center)
        self.scale = tuple(float(value) for value in scale)
        self.log = tuple(bool(flag) for flag in log)

    def _key(self) -> tuple[tuple[float, ...], tuple[float, ...], tuple[bool, ...]]:
        return self.center, self.scale, self.log

    def __hash__(self) -> int:
        return hash(self._key())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Transform) and self._key() == other._key()

    def __repr__(self) -> str:
        return f"Transform(center={self.center}, scale={self.scale}, log={self.log})"

    @property
    def scaler(self) -> data.Scaler:
        """The standard scaler of the (log-)columns, as ``rnnax.forecasting.save`` keeps it."""
        return data.Scaler(center=np.asarray(self.center), scale=np.asarray(self.scale))

    def to_model(self, values: np.ndarray) -> np.ndarray:
        """``[..., K]`` values in the data's units -> float64 model units."""
        values = np.asarray(values, np.float64)
        mask = np.asarray(self.log)
        if mask.any():
            values = np.where(mask, np.log(np.where(mask, values, 1.0)), values)
        return (values - np.asarray(self.center)) / np.asarray(self.scale)

    def __call__(self, values: Any) -> Any:
        """``[..., K]`` model units -> the data's units (NumPy or JAX, jit-able)."""
        xp: Any = jnp if isinstance(values, jax.Array) else np
        width, dtype = values.shape[-1], values.dtype
        shape = (1,) * (values.ndim - 1) + (width,)  # explicit ranks: no implicit promotion

        def per_column(statistics: tuple[Any, ...], kind: Any) -> Any:
            return xp.asarray(statistics[:width], kind).reshape(shape)

        out = values * per_column(self.scale, dtype) + per_column(self.center, dtype)
        if not any(self.log[:width]):
            return out
        mask = per_column(self.log, bool)
        with np.errstate(over="ignore"):  # a forecast beyond float range is inf, as it should be
            return xp.where(mask, xp.exp(xp.where(mask, out, xp.zeros((), dtype))), out)


def fit_transform(values: np.ndarray, train_end: int) -> Transform:
    """The :class:`Transform` of ``values [T, K]``, its statistics from ``values[:train_end]``.

    A column is modelled on its logarithm when all its values are strictly positive (sales,
    passengers, prices): a multiplicative season becomes an additive one.

    Examples:
        >>> transform = fit_transform(np.array([[1.0, -1.0], [np.e, 1.0]]), train_end=2)
        >>> transform.log, transform.center, transform.scale
        ((True, False), (0.5, 0.0), (0.5, 1.0))
    """
    log: np.ndarray = np.asarray((values > 0).all(axis=0))
    logged = np.where(log, np.log(np.where(log, values, 1.0)), values)
    scaler = data.fit_standard_scaler(logged[:train_end])
    center = np.broadcast_to(np.asarray(scaler.center), log.shape)
    scale = np.broadcast_to(np.asarray(scaler.scale), log.shape)
    return Transform(center=tuple(center), scale=tuple(scale), log=tuple(log.tolist()))
