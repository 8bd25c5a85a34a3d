"""Saved forecasters: a trained forecaster in one self-checking file, loaded for inference in
any process without a template.

:func:`save` writes the config, the parameters and, optionally, the data scaler, the value
column names, the seasonal period, the lookback and JSON-able metadata; :func:`load` gives
them back as a :class:`SavedForecaster`, bit for bit.

Format: one file, a ZIP archive (``unzip -l`` lists it) of

* ``forecaster.json``: the format name and version, the rnnax version that wrote it, the
  config's fields (the cell by its registered name), the optional extras, a manifest of the
  arrays (dtype, shape and SHA-256 of each) and a SHA-256 of all of that;
* one ``.npy`` per array: ``params/encoder/<layer>/<direction>/<field>.npy``,
  ``params/head/{w,b}.npy`` and ``scaler/{center,scale}.npy``. A dtype NumPy does not know
  (``bfloat16``) is stored as the unsigned integers of its bits; the manifest names its dtype.

The file is written atomically (``rnnax._io.write_atomically``): a failed or killed save leaves
any previous file at the path as it was. Loading rebuilds the parameter tree from the config
(``jax.eval_shape`` of ``init``: no computation, no template) and checks every array's
presence, shape, dtype and checksum: a truncated, edited or damaged file, or one of a newer
format, is a ``ValueError`` naming the path and what is wrong. The same model saved twice gives
the same bytes.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

import jax
import jax.numpy as jnp
import numpy as np
from numpy.typing import ArrayLike

from rnnax import __version__, _io
from rnnax._checks import check_int
from rnnax._protocol import Cell, registered_cells
from rnnax.data._scalers import Scaler
from rnnax.data._validation import as_float_array
from rnnax.forecasting._config import ForecasterConfig
from rnnax.forecasting._model import (
    Forecaster,
    ForecasterParams,
    check_params,
    forecaster,
    init,
    point_forecast,
)

FORMAT = "rnnax.forecaster"
FORMAT_VERSION = 1
DOCUMENT = "forecaster.json"
# Fixed member timestamps (the ZIP epoch): the same model always gives the same bytes.
_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclasses.dataclass(frozen=True, eq=False)
class SavedForecaster:
    """A forecaster as :func:`load` gives it back: everything needed for inference.

    Attributes:
        config: the ``ForecasterConfig``.
        params: the ``ForecasterParams`` (the encoder's cell parameter NamedTuples, as
            ``Forecaster.init`` makes them), with the dtypes they were saved with.
        scaler: the ``rnnax.data.Scaler`` of the value columns (the model's inputs are scaled
            values), or ``None``.
        columns: the value column names, targets first (``config.input_size`` of them), or
            ``None``.
        period: the seasonal period of the data, or ``None``.
        lookback: the window length the forecaster was trained on, or ``None``.
        rnnax_version: the rnnax version that saved it.
        metadata: the JSON-able extras given to :func:`save`.
    """

    config: ForecasterConfig
    params: ForecasterParams
    scaler: Scaler | None = None
    columns: tuple[str, ...] | None = None
    period: int | None = None
    lookback: int | None = None
    rnnax_version: str = __version__
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def forecaster(self) -> Forecaster:
        """``rnnax.forecasting.forecaster(config)``: ``apply`` it to ``params``."""
        return forecaster(self.config)

    def predict(
        self, history: ArrayLike, *, future_covariates: ArrayLike | None = None
    ) -> np.ndarray:
        """Point forecasts after ``history``, in its units (the scaler is applied and undone).

        The last ``lookback`` steps of ``history`` are scaled with ``scaler`` (if any), cast to
        the parameters' dtype and forecast; the point forecast (``point_forecast``: the mean,
        location or median quantile) is mapped back to the data's units. For intervals, use
        ``forecaster.apply`` on scaled inputs.

        Args:
            history: ``[..., T, input_size]`` values in the data's units, the columns in the
                order of ``columns`` (targets first), with ``T >= lookback``.
            future_covariates: ``[..., horizon, num_covariates]`` in the data's units; needed
                exactly when the forecaster is autoregressive with covariates.

        Returns:
            ``[..., horizon, num_targets]`` float64 point forecasts.

        Raises:
            ValueError: if no ``lookback`` was saved, or on a history too short or of the
                wrong number of columns.
            TypeError: if ``history`` is not a numeric array.
        """
        config, lookback = self.config, self.lookback
        if lookback is None:
            raise ValueError(
                "predict needs the lookback the forecaster was trained with; save it with "
                "rnnax.forecasting.save(..., lookback=...)"
            )
        values = as_float_array("history", history)
        if values.ndim < 2 or values.shape[-1] != config.input_size:
            raise ValueError(
                f"history must have shape [..., T, input_size={config.input_size}] (targets "
                f"first), got {values.shape}"
            )
        if values.shape[-2] < lookback:
            raise ValueError(
                f"history must have at least lookback={lookback} time steps, got {values.shape[-2]}"
            )
        covariates = None
        if future_covariates is not None:
            known = as_float_array("future_covariates", future_covariates)
            if known.ndim < 1 or known.shape[-1] != config.num_covariates:
                raise ValueError(
                    "future_covariates must have shape [..., horizon, num_covariates="
                    f"{config.num_covariates}], got {known.shape}"
                )
            covariates = self._to_model(known, slice(config.num_targets, None))
        inputs = self._to_model(values[..., -lookback:, :], slice(None))
        forecast = self.forecaster.apply(self.params, inputs, future_covariates=covariates)
        point = np.asarray(point_forecast(forecast), np.float64)
        if self.scaler is None:
            return point
        center, scale = _statistics(self.scaler, slice(None, config.num_targets))
        return point * scale + center

    def _to_model(self, values: np.ndarray, features: slice) -> jax.Array:
        """``values`` scaled (the scaler's ``features``) and cast to the parameters' dtype."""
        values = values.astype(np.float64)
        if self.scaler is not None:
            center, scale = _statistics(self.scaler, features)
            values = (values - center) / scale
        return jnp.asarray(values.astype(self.params.head.w.dtype))


def _statistics(scaler: Scaler, features: slice) -> tuple[np.ndarray, np.ndarray]:
    """The scaler's float64 center and scale for ``features`` (a 0-d scaler serves all)."""
    center, scale = np.asarray(scaler.center, np.float64), np.asarray(scaler.scale, np.float64)
    if center.ndim == 0:
        return center, scale
    return center[features], scale[features]


# ------------------------------------------------------------------------------------------
# Argument checks (shared by save and, wrapped with the path, by load)
# ------------------------------------------------------------------------------------------
def _check_path(path: Any) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    if isinstance(path, str) and not path:
        raise ValueError("path must not be empty")
    return Path(path)


def _config_of(forecaster_or_config: Any) -> ForecasterConfig:
    config = getattr(forecaster_or_config, "config", forecaster_or_config)
    if not isinstance(forecaster_or_config, Forecaster) and not isinstance(
        forecaster_or_config, ForecasterConfig
    ):
        raise TypeError(
            "forecaster_or_config must be a Forecaster or a ForecasterConfig, got "
            f"{type(forecaster_or_config).__name__}"
        )
    if isinstance(config.cell, Cell):
        raise ValueError(
            f"forecaster_or_config has cell {config.cell!r}, which is not registered: only "
            "registered cells are saved (by name); rnnax.register_cell(cell) it, here and in "
            "every process that loads the forecaster"
        )
    return config


def _check_scaler(scaler: Any, config: ForecasterConfig) -> Scaler | None:
    if scaler is None:
        return None
    if not isinstance(scaler, Scaler):
        raise TypeError(
            "scaler must be an rnnax.data.Scaler (fit_standard_scaler, ...) or None, got "
            f"{type(scaler).__name__}"
        )
    arrays = []
    for field in ("center", "scale"):
        value = getattr(scaler, field)
        array = as_float_array(f"scaler.{field}", np.asarray(value))
        if array.shape not in ((), (config.input_size,)):
            raise ValueError(
                f"scaler.{field} must have shape () or (input_size,) = ({config.input_size},) "
                f"(one statistic per value column, targets first), got {array.shape}"
            )
        if not np.isfinite(array).all():
            raise ValueError(f"scaler.{field} must be finite, got {array}")
        arrays.append(np.array(array, np.float64))
    center, scale = arrays
    if center.shape != scale.shape or not (scale > 0).all():
        raise ValueError(
            "scaler.center and scaler.scale must have one shape and scale must be > 0, got "
            f"center {center.shape} and scale {scale}"
        )
    center.flags.writeable = scale.flags.writeable = False
    return Scaler(center=center, scale=scale)


def _check_columns(columns: Any, config: ForecasterConfig) -> tuple[str, ...] | None:
    if columns is None:
        return None
    if not isinstance(columns, (tuple, list)) or not all(isinstance(c, str) for c in columns):
        raise TypeError(f"columns must be a tuple of str or None, got {columns!r:.80}")
    if len(columns) != config.input_size or len(set(columns)) != len(columns) or "" in columns:
        raise ValueError(
            f"columns must be input_size={config.input_size} distinct, non-empty names (the "
            f"value columns, targets first), got {list(columns)!r:.200}"
        )
    return tuple(columns)


def _check_optional_int(name: str, value: Any) -> int | None:
    return None if value is None else check_int(name, value, minimum=1, maximum=2**31 - 1)


def _check_metadata(metadata: Any) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict) or not all(isinstance(k, str) for k in metadata):
        raise TypeError(
            f"metadata must be a dict with str keys or None, got {type(metadata).__name__}"
        )
    try:
        text = json.dumps(metadata, allow_nan=False)
    except TypeError as error:
        raise TypeError(f"metadata must hold only JSON values: {error}") from None
    except ValueError as error:  # NaN or infinity, or a circular reference
        raise ValueError(f"metadata must hold only JSON values: {error}") from None
    if json.loads(text) != metadata:
        raise ValueError(
            "metadata must come back from JSON unchanged (lists, not tuples; str keys at "
            f"every level), got {metadata!r:.200}"
        )
    return json.loads(text)


# ------------------------------------------------------------------------------------------
# The document and the arrays
# ------------------------------------------------------------------------------------------
def _config_to_json(config: ForecasterConfig) -> dict[str, Any]:
    """The config's fields, tuples as lists; checked to rebuild the same config."""
    fields = {
        field.name: list(value) if isinstance(value, tuple) else value
        for field in dataclasses.fields(config)
        for value in (getattr(config, field.name),)
    }
    if _config_from_json(fields) != config:
        raise ValueError(
            f"forecaster_or_config does not survive a JSON round trip, got {config!r:.200}"
        )
    return fields


def _config_from_json(fields: dict[str, Any]) -> ForecasterConfig:
    values: dict[str, Any] = {
        name: tuple(value) if isinstance(value, list) else value for name, value in fields.items()
    }
    return ForecasterConfig(**values)


def _digest(document: dict[str, Any]) -> str:
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _key_name(entry: Any) -> str:
    for attribute in ("name", "idx", "key"):
        if hasattr(entry, attribute):
            return str(getattr(entry, attribute))
    return str(entry)


def _params_members(config: ForecasterConfig) -> list[tuple[str, jax.ShapeDtypeStruct]]:
    """``(member name, shape and dtype)`` of each parameter, in the tree's order."""
    leaves, _ = jax.tree_util.tree_flatten_with_path(_params_shapes(config))
    return [("/".join(["params", *map(_key_name, path)]) + ".npy", leaf) for path, leaf in leaves]


@functools.lru_cache(maxsize=32)
def _params_shapes(config: ForecasterConfig) -> ForecasterParams:
    """The parameter tree of ``config``, as shapes: ``init`` traced, nothing computed."""
    shapes: ForecasterParams = jax.eval_shape(
        functools.partial(init, config=config), jax.random.key(0)
    )
    return shapes


def _stored_dtype(dtype: np.dtype) -> np.dtype:
    """NumPy's own dtypes are stored as they are; others (bfloat16) as their bits."""
    return dtype if dtype.type.__module__ == "numpy" else np.dtype(f"uint{8 * dtype.itemsize}")


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array.view(_stored_dtype(array.dtype)), allow_pickle=False)
    return buffer.getvalue()


def _manifest_entry(array: np.ndarray) -> dict[str, Any]:
    return {
        "dtype": array.dtype.name,
        "shape": list(array.shape),
        "sha256": hashlib.sha256(array.tobytes()).hexdigest(),
    }


def _encode(config: ForecasterConfig, params: Any, extras: dict[str, Any]) -> bytes:
    """The file's bytes: the document and the arrays in a ZIP archive."""
    members = _params_members(config)
    leaves = jax.tree.leaves(jax.device_get(params))
    arrays = {
        name: np.ascontiguousarray(leaf) for (name, _), leaf in zip(members, leaves, strict=True)
    }
    scaler = extras.pop("scaler")
    if scaler is not None:
        arrays |= {"scaler/center.npy": scaler.center, "scaler/scale.npy": scaler.scale}
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "rnnax_version": __version__,
        "config": _config_to_json(config),
        **extras,
        "scaler": scaler is not None,
        "arrays": {name: _manifest_entry(array) for name, array in arrays.items()},
    }
    document["checksum"] = _digest(document)
    text = json.dumps(document, indent=1, allow_nan=False) + "\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in [(DOCUMENT, text.encode("utf-8"))] + [
            (name, _npy(array)) for name, array in arrays.items()
        ]:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def _write_payload(file: BinaryIO, data: bytes) -> None:
    """Writes the bytes (a separate function so tests can make it fail half-way)."""
    file.write(data)


def save(
    path: str | os.PathLike[str],
    forecaster_or_config: Forecaster | ForecasterConfig,
    params: ForecasterParams,
    *,
    scaler: Scaler | None = None,
    columns: Sequence[str] | None = None,
    period: int | None = None,
    lookback: int | None = None,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Saves a trained forecaster to one file, atomically, for :func:`load` in any process.

    Args:
        path: the file to write (its directory is created if missing); a file already there
            is replaced only once the new one is complete.
        forecaster_or_config: the ``Forecaster`` or its ``ForecasterConfig``; its cell must be
            registered (``rnnax.register_cell``), as it is saved by name.
        params: the forecaster's ``ForecasterParams`` (any floating dtype; kept as it is).
        scaler: the ``rnnax.data.Scaler`` the model's inputs were scaled with: statistics of
            shape ``()`` or ``(input_size,)`` (the value columns, targets first).
        columns: the value column names, targets first (``input_size`` of them).
        period: the data's seasonal period (>= 1).
        lookback: the window length the forecaster was trained on (>= 1); needed by
            ``SavedForecaster.predict``.
        metadata: a dict of JSON values to keep beside the model (lists, not tuples).

    Returns:
        The path written.

    Raises:
        TypeError: on an argument of the wrong type.
        ValueError: on a wrong value: an unregistered cell, parameters of another config,
            a scaler or columns that do not fit ``input_size``.

    Examples:
        >>> import tempfile, jax, numpy as np
        >>> from rnnax import forecasting
        >>> model = forecasting.forecaster(forecasting.ForecasterConfig(horizon=2, hidden=4))
        >>> params = model.init(jax.random.key(0))
        >>> path = save(tempfile.mkdtemp() + "/model.rnnax", model, params, lookback=8)
        >>> loaded = load(path)
        >>> loaded.config == model.config, loaded.predict(np.ones((8, 1))).shape
        (True, (2, 1))
    """
    path = _check_path(path)
    config = _config_of(forecaster_or_config)
    check_params(params, config)
    extras = {
        "scaler": _check_scaler(scaler, config),
        "columns": _check_columns(columns, config),
        "period": _check_optional_int("period", period),
        "lookback": _check_optional_int("lookback", lookback),
        "metadata": _check_metadata(metadata),
    }
    if path.is_dir():
        raise ValueError(f"path must be a file to write, got the directory {path}")
    data = _encode(config, params, extras)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Through this module's _write_payload, so tests can make the write fail half-way.
    _io.write_atomically(path, data, write=lambda file, data: _write_payload(file, data))
    return path


# ------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------
class _Reader:
    """Reads and checks one saved file; every problem is a ``ValueError`` naming the path."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.is_dir():
            self.fail(f"{path} is a directory, not a saved rnnax forecaster")
        raw = path.read_bytes()
        try:
            self.archive = zipfile.ZipFile(io.BytesIO(raw))
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            self.fail(
                f"{path} is not a saved rnnax forecaster, or is damaged (truncated?): {error}"
            )

    def fail(self, message: str) -> NoReturn:
        raise ValueError(message)

    def damaged(self, what: str) -> NoReturn:
        self.fail(f"{self.path} is damaged: {what}; save the forecaster again or restore a copy")

    def member(self, name: str) -> bytes:
        try:
            return self.archive.read(name)
        except KeyError:
            self.damaged(f"{name} is missing")
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            self.damaged(f"{name} cannot be read ({error})")

    def document(self) -> dict[str, Any]:
        try:
            document = json.loads(self.member(DOCUMENT).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            self.damaged(f"{DOCUMENT} is not valid JSON ({error})")
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            self.fail(f"{self.path} is not a saved rnnax forecaster (its format is not {FORMAT})")
        version, written_by = document.get("format_version"), document.get("rnnax_version")
        if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
            self.fail(
                f"{self.path} has format version {version} (saved by rnnax {written_by}), newer "
                f"than this rnnax {__version__} reads (version {FORMAT_VERSION}); upgrade rnnax"
            )
        if version != FORMAT_VERSION or isinstance(version, bool):
            self.damaged(f"format_version must be {FORMAT_VERSION}, got {version!r:.40}")
        stored = document.pop("checksum", None)
        try:
            actual = _digest(document)
        except ValueError as error:
            self.damaged(f"{DOCUMENT} holds a value that is not JSON ({error})")
        if stored != actual:
            self.damaged(f"checksum mismatch in {DOCUMENT} (edited or corrupted)")
        return document

    def field(self, document: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
        if name not in document:
            self.damaged(f"{DOCUMENT} has no {name!r}")
        value = document[name]
        if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
            self.damaged(f"{DOCUMENT}'s {name!r} has the wrong type: {value!r:.80}")
        return value

    def config(self, fields: dict[str, Any]) -> ForecasterConfig:
        cell = fields.get("cell")
        if isinstance(cell, str) and cell not in registered_cells():
            self.fail(
                f"{self.path} holds a forecaster with cell {cell!r}, which is not registered in "
                f"this process (registered: {list(registered_cells())}); "
                "rnnax.register_cell(cell) it before loading"
            )
        try:
            return _config_from_json(fields)
        except (TypeError, ValueError) as error:
            self.damaged(f"its config is not valid for this rnnax {__version__}: {error}")

    def array(self, manifest: dict[str, Any], name: str) -> np.ndarray:
        """The array ``name``, checked against its manifest entry (dtype, shape, SHA-256)."""
        entry = manifest.get(name)
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "sha256"}:
            self.damaged(f"the manifest has no valid entry for {name}")
        try:
            dtype = np.dtype(jnp.dtype(entry["dtype"]))
        except TypeError:
            self.damaged(f"{name} has an unknown dtype {entry['dtype']!r:.40}")
        if not jnp.issubdtype(dtype, jnp.floating):
            self.damaged(f"{name} must have a floating dtype, got {dtype.name}")
        try:
            stored = np.lib.format.read_array(io.BytesIO(self.member(name)), allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            self.damaged(f"{name} is not a valid .npy array ({error})")
        if stored.dtype != _stored_dtype(dtype) or list(stored.shape) != entry["shape"]:
            self.damaged(
                f"{name} holds {stored.dtype.name} {stored.shape}, but the manifest says "
                f"{dtype.name} {tuple(entry['shape'])}"
            )
        array = stored.view(dtype)
        if hashlib.sha256(array.tobytes()).hexdigest() != entry["sha256"]:
            self.damaged(f"checksum mismatch in {name} (edited or corrupted)")
        return array

    def params(self, config: ForecasterConfig, manifest: dict[str, Any]) -> ForecasterParams:
        """The parameters, in the tree ``init`` makes for ``config``, with the saved dtypes."""
        members = _params_members(config)
        expected = {name for name, _ in members}
        saved = {name for name in manifest if name.startswith("params/")}
        if saved != expected:
            self.damaged(
                "its arrays do not match its config: missing "
                f"{sorted(expected - saved)}, unexpected {sorted(saved - expected)}"
            )
        leaves = []
        for name, shape in members:
            array = self.array(manifest, name)
            if array.shape != shape.shape:
                self.damaged(f"{name} has shape {array.shape}, the config needs {shape.shape}")
            if jax.dtypes.canonicalize_dtype(array.dtype) != array.dtype:
                self.fail(
                    f"{self.path} holds {array.dtype.name} parameters but JAX's 64-bit mode is "
                    "off; enable it (jax.config.update('jax_enable_x64', True)) before loading"
                )
            leaves.append(jnp.asarray(array))
        params: ForecasterParams = jax.tree.unflatten(
            jax.tree.structure(_params_shapes(config)), leaves
        )
        try:
            check_params(params, config)
        except (TypeError, ValueError) as error:
            self.damaged(f"its parameters do not fit its config: {error}")
        return params

    def extras(self, document: dict[str, Any], config: ForecasterConfig) -> dict[str, Any]:
        """The optional extras, checked as ``save`` checks them."""
        manifest = self.field(document, "arrays", dict)
        scaler = None
        if self.field(document, "scaler", bool):
            center, scale = (self.array(manifest, f"scaler/{f}.npy") for f in ("center", "scale"))
            scaler = Scaler(center=center, scale=scale)
        values = {name: document.get(name) for name in ("columns", "period", "lookback")}
        try:
            return {
                "scaler": _check_scaler(scaler, config),
                "columns": _check_columns(values["columns"], config),
                "period": _check_optional_int("period", values["period"]),
                "lookback": _check_optional_int("lookback", values["lookback"]),
                "metadata": _check_metadata(self.field(document, "metadata", dict)),
            }
        except (TypeError, ValueError) as error:
            self.damaged(str(error))


def load(path: str | os.PathLike[str]) -> SavedForecaster:
    """Loads a forecaster saved by :func:`save`, in any process, without a template.

    The parameter tree is rebuilt from the saved config and filled with the saved arrays, each
    checked for its shape, dtype and checksum; a cell of your own must be registered
    (``rnnax.register_cell``) before loading.

    Args:
        path: the file ``save`` wrote.

    Returns:
        A :class:`SavedForecaster`; its forecasts equal the saved model's bit for bit.

    Raises:
        FileNotFoundError: if there is no file at ``path``.
        TypeError: if ``path`` is not a str or path.
        ValueError: naming the path and the problem: not a saved forecaster, a newer format,
            a damaged or edited file (truncated, invalid JSON, a missing array, a wrong shape
            or dtype, a checksum mismatch), an unregistered cell, or float64 parameters while
            JAX's 64-bit mode is off.
    """
    reader = _Reader(_check_path(path))
    document = reader.document()
    config = reader.config(reader.field(document, "config", dict))
    params = reader.params(config, reader.field(document, "arrays", dict))
    return SavedForecaster(
        config=config,
        params=params,
        rnnax_version=reader.field(document, "rnnax_version", str),
        **reader.extras(document, config),
    )
