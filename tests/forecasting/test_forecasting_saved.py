"""Saved forecasters: round trips bit for bit, a fresh process without a template, atomic
overwrites, and a clear ``ValueError`` for every damaged or incompatible file."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnnax
from rnnax import _io, data, forecasting
from rnnax.forecasting import ForecasterConfig, _saved

LOOKBACK = 6


def _leaves_identical(a, b) -> bool:
    leaves_a, leaves_b = jax.tree.leaves(a), jax.tree.leaves(b)
    return len(leaves_a) == len(leaves_b) and all(
        x.dtype == y.dtype
        and x.shape == y.shape
        and np.asarray(x).tobytes() == np.asarray(y).tobytes()
        for x, y in zip(leaves_a, leaves_b, strict=True)
    )


def _trained_like(config: ForecasterConfig, seed: int = 0) -> forecasting.ForecasterParams:
    """``init``'s parameters with every leaf moved off its initial value (biases included)."""
    params = forecasting.init(jax.random.key(seed), config)
    rng = np.random.default_rng(seed)
    return jax.tree.map(lambda x: x + jnp.asarray(rng.normal(0.0, 0.1, x.shape), x.dtype), params)


def _series(input_size: int, steps: int = 20) -> np.ndarray:
    rng = np.random.default_rng(1)
    return 10.0 + 3.0 * rng.normal(size=(steps, input_size))


CONFIGS = {
    "lstm-point-direct-2layers": ForecasterConfig(horizon=2, hidden=3, num_layers=2),
    "gru-gaussian-centered": ForecasterConfig(
        horizon=2, cell="gru", hidden=3, likelihood="gaussian", centering="last"
    ),
    "lstm-gaussian-autoregressive-covariates": ForecasterConfig(
        horizon=3,
        input_size=2,
        hidden=3,
        strategy="autoregressive",
        likelihood="gaussian",
    ),
    "gru_reset_after-quantile": ForecasterConfig(
        horizon=2,
        cell="gru",
        reset_after=True,
        hidden=3,
        likelihood="quantile",
        quantiles=(0.1, 0.5, 0.9),
    ),
    "mingru-student_t": ForecasterConfig(
        horizon=2, cell="mingru", hidden=3, likelihood="student_t"
    ),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_round_trip_is_exact(tmp_path, name):
    config = CONFIGS[name]
    model = forecasting.forecaster(config)
    params = _trained_like(config)
    values = _series(config.input_size)
    scaler = data.fit_standard_scaler(values)
    columns = tuple(f"c{i}" for i in range(config.input_size))
    path = forecasting.save(
        tmp_path / "model.rnnax",
        model,
        params,
        scaler=scaler,
        columns=columns,
        period=12,
        lookback=LOOKBACK,
        metadata={"trained_on": "noise", "epochs": [1, 2]},
    )
    loaded = forecasting.load(path)

    assert isinstance(loaded, forecasting.SavedForecaster)
    assert loaded.config == config and loaded.forecaster.config == config
    assert jax.tree.structure(loaded.params) == jax.tree.structure(params)
    assert _leaves_identical(loaded.params, params)
    assert np.array_equal(loaded.scaler.center, scaler.center)
    assert np.array_equal(loaded.scaler.scale, scaler.scale)
    assert (loaded.columns, loaded.period, loaded.lookback) == (columns, 12, LOOKBACK)
    assert loaded.metadata == {"trained_on": "noise", "epochs": [1, 2]}
    assert loaded.rnnax_version == rnnax.__version__

    # The forecasts of the saved and the loaded model, on one scaled window (unbatched: the
    # shape predict uses, so one compiled program serves both).
    num_targets, targets = config.num_targets, slice(None, config.num_targets)
    window = (values[-LOOKBACK:] - scaler.center) / scaler.scale
    future, known = None, None
    if config.strategy == "autoregressive" and config.num_covariates:
        future = np.ones((config.horizon, config.num_covariates))
        known = (future - scaler.center[num_targets:]) / scaler.scale[num_targets:]
        known = jnp.asarray(known.astype(np.float32))
    inputs = jnp.asarray(window.astype(np.float32))
    before = model.apply(params, inputs, future_covariates=known)
    after = loaded.forecaster.apply(loaded.params, inputs, future_covariates=known)
    assert type(after) is type(before) and _leaves_identical(after, before)

    # predict: the last lookback steps scaled, the point forecast in the data's units.
    prediction = loaded.predict(values, future_covariates=future)
    point = np.asarray(forecasting.point_forecast(before), np.float64)
    expected = point * scaler.scale[targets] + scaler.center[targets]
    assert prediction.dtype == np.float64
    assert prediction.shape == (config.horizon, num_targets)
    assert prediction.tobytes() == expected.tobytes()


def test_without_extras_and_from_a_config(tmp_path):
    config = CONFIGS["lstm-point-direct-2layers"]
    params = _trained_like(config)
    path = forecasting.save(tmp_path / "deep" / "er" / "model", config, params)
    loaded = forecasting.load(str(path))
    assert (loaded.scaler, loaded.columns, loaded.period, loaded.lookback) == (None,) * 4
    assert loaded.metadata == {}
    assert _leaves_identical(loaded.params, params)
    with pytest.raises(ValueError, match=r"predict needs the lookback .*\.save\(\.\.\., lookback="):
        loaded.predict(np.ones((8, 1)))


def test_the_same_model_gives_the_same_bytes(tmp_path):
    config = CONFIGS["gru-gaussian-centered"]
    params = _trained_like(config)
    first = forecasting.save(tmp_path / "a", config, params, metadata={"b": 1, "a": 2})
    second = forecasting.save(tmp_path / "b", config, params, metadata={"b": 1, "a": 2})
    assert first.read_bytes() == second.read_bytes()
    archive = zipfile.ZipFile(first)
    assert archive.namelist()[0] == _saved.DOCUMENT
    assert "params/head/w.npy" in archive.namelist()
    # The arrays are plain .npy files inside: NumPy reads them directly.
    head_w = np.load(io.BytesIO(archive.read("params/head/w.npy")))
    assert head_w.tobytes() == np.asarray(params.head.w).tobytes()


def test_bfloat16_params_keep_their_dtype(tmp_path):
    config = CONFIGS["gru-gaussian-centered"]
    params = jax.tree.map(lambda x: x.astype(jnp.bfloat16), _trained_like(config))
    loaded = forecasting.load(forecasting.save(tmp_path / "m", config, params))
    assert {leaf.dtype for leaf in jax.tree.leaves(loaded.params)} == {jnp.dtype(jnp.bfloat16)}
    assert _leaves_identical(loaded.params, params)


def test_float64_params_need_64_bit_mode_to_load(tmp_path):
    config = CONFIGS["lstm-point-direct-2layers"]
    path = tmp_path / "m"
    params32 = _trained_like(config)
    with jax.enable_x64(True):
        params = jax.tree.map(lambda x: x.astype(jnp.float64), params32)
        forecasting.save(path, config, params)
        loaded = forecasting.load(path)
        assert {leaf.dtype for leaf in jax.tree.leaves(loaded.params)} == {jnp.dtype("float64")}
        assert _leaves_identical(loaded.params, params)
    with pytest.raises(ValueError, match=r"float64 parameters but JAX's 64-bit mode is off"):
        forecasting.load(path)


def test_loads_in_a_fresh_process_without_a_template(tmp_path):
    config = CONFIGS["lstm-gaussian-autoregressive-covariates"]
    params = _trained_like(config)
    values = _series(2)
    scaler = data.fit_robust_scaler(values)
    path = forecasting.save(tmp_path / "m.rnnax", config, params, scaler=scaler, lookback=LOOKBACK)
    future = np.full((config.horizon, 1), 9.0)
    np.save(tmp_path / "values.npy", values)
    script = textwrap.dedent(
        f"""
        import numpy as np
        from rnnax import forecasting
        saved = forecasting.load({str(path)!r})
        values = np.load({str(tmp_path / "values.npy")!r})
        np.save({str(tmp_path / "out.npy")!r},
                saved.predict(values, future_covariates=np.full(({config.horizon}, 1), 9.0)))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    here = forecasting.SavedForecaster(config, params, scaler=scaler, lookback=LOOKBACK)
    expected = here.predict(values, future_covariates=future)
    assert np.load(tmp_path / "out.npy").tobytes() == expected.tobytes()


def test_a_failed_save_leaves_the_previous_model(tmp_path, monkeypatch):
    config = CONFIGS["lstm-point-direct-2layers"]
    old, new = _trained_like(config, seed=0), _trained_like(config, seed=1)
    path = forecasting.save(tmp_path / "m", config, old, lookback=4)

    def fail_half_way(file, payload):
        file.write(payload[: len(payload) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(_saved, "_write_payload", fail_half_way)
    with pytest.raises(OSError, match="disk full"):
        forecasting.save(path, config, new)
    assert _io.temporary_files(path) == []
    loaded = forecasting.load(path)
    assert loaded.lookback == 4 and _leaves_identical(loaded.params, old)

    monkeypatch.undo()
    forecasting.save(path, config, new)
    assert _leaves_identical(forecasting.load(path).params, new)
    assert forecasting.load(path).lookback is None


def test_unregistered_cells_are_refused(tmp_path):
    custom = rnnax.LSTM._replace(name="my_lstm")
    config = ForecasterConfig(horizon=2, hidden=3, cell=custom)
    params = forecasting.init(jax.random.key(0), config)
    with pytest.raises(ValueError, match=r"not registered.*rnnax\.register_cell"):
        forecasting.save(tmp_path / "m", config, params)
    assert not (tmp_path / "m").exists()


# ------------------------------------------------------------------------------------------
# Damaged and incompatible files
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def saved_bytes(tmp_path_factory) -> bytes:
    config = CONFIGS["gru-gaussian-centered"]
    path = tmp_path_factory.mktemp("saved") / "m"
    scaler = data.fit_standard_scaler(_series(1))
    forecasting.save(path, config, _trained_like(config), scaler=scaler, columns=["y"])
    return path.read_bytes()


def _rewrite(raw: bytes, *, document=None, members=None, checksum: bool = True) -> bytes:
    """The archive with its document edited (``document(doc)``), members replaced or removed
    (``members``: name to bytes or ``None``), and the document's checksum recomputed."""
    archive = zipfile.ZipFile(io.BytesIO(raw))
    contents = {name: archive.read(name) for name in archive.namelist()}
    doc = json.loads(contents[_saved.DOCUMENT])
    if document is not None:
        document(doc)
        if checksum:
            doc.pop("checksum")
            doc["checksum"] = _saved._digest(doc)
        contents[_saved.DOCUMENT] = json.dumps(doc).encode()
    for name, data_ in (members or {}).items():
        if data_ is None:
            del contents[name]
        else:
            contents[name] = data_
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for name, data_ in contents.items():
            out.writestr(name, data_)
    return buffer.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _set(*keys, value):
    def edit(doc):
        target = doc
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return edit


def _flip_byte_in(raw: bytes, marker: bytes) -> bytes:
    """``raw`` with one byte changed inside the first stored copy of ``marker``."""
    at = raw.index(marker) + len(marker) // 2
    return raw[:at] + bytes([raw[at] ^ 0xFF]) + raw[at + 1 :]


def _head_w(raw: bytes) -> np.ndarray:
    return np.load(io.BytesIO(zipfile.ZipFile(io.BytesIO(raw)).read("params/head/w.npy")))


DAMAGE = {
    "empty": (lambda raw: b"", r"is not a saved rnnax forecaster, or is damaged"),
    "truncated": (lambda raw: raw[: len(raw) // 2], r"is not a saved rnnax forecaster, or is"),
    "truncated_end": (lambda raw: raw[:-30], r"is not a saved rnnax forecaster, or is"),
    "not_a_zip": (lambda raw: b"hello, world\n" * 10, r"is not a saved rnnax forecaster"),
    "zip_without_document": (
        lambda raw: _rewrite(raw, members={_saved.DOCUMENT: None}),
        r"is damaged: forecaster\.json is missing",
    ),
    "flipped_byte": (
        lambda raw: _flip_byte_in(raw, b'"horizon"'),
        r"is damaged: forecaster\.json cannot be read \(Bad CRC-32",
    ),
    "invalid_json": (
        lambda raw: _rewrite(raw, members={_saved.DOCUMENT: b'{"format": "rnnax.fore'}),
        r"is damaged: forecaster\.json is not valid JSON",
    ),
    "json_list": (
        lambda raw: _rewrite(raw, members={_saved.DOCUMENT: b"[1, 2]"}),
        r"is not a saved rnnax forecaster \(its format is not rnnax\.forecaster\)",
    ),
    "other_format": (
        lambda raw: _rewrite(raw, document=_set("format", value="something.else")),
        r"is not a saved rnnax forecaster",
    ),
    "newer_format": (
        lambda raw: _rewrite(raw, document=_set("format_version", value=2)),
        r"has format version 2 \(saved by rnnax 0\.1\.0\), newer than this rnnax .*upgrade",
    ),
    "format_version_zero": (
        lambda raw: _rewrite(raw, document=_set("format_version", value=0)),
        r"is damaged: format_version must be 1, got 0",
    ),
    "format_version_string": (
        lambda raw: _rewrite(raw, document=_set("format_version", value="1")),
        r"is damaged: format_version must be 1, got '1'",
    ),
    "edited_json": (
        lambda raw: _rewrite(
            raw, document=_set("config", "centering", value="none"), checksum=False
        ),
        r"is damaged: checksum mismatch in forecaster\.json \(edited or corrupted\)",
    ),
    "missing_checksum": (
        lambda raw: _rewrite(raw, document=lambda doc: doc.pop("checksum"), checksum=False),
        r"checksum mismatch in forecaster\.json",
    ),
    "nan_in_json": (
        lambda raw: _rewrite(
            raw, document=_set("metadata", value={"x": float("nan")}), checksum=False
        ),
        r"is damaged: forecaster\.json holds a value that is not JSON",
    ),
    "missing_array": (
        lambda raw: _rewrite(raw, members={"params/head/w.npy": None}),
        r"is damaged: params/head/w\.npy is missing",
    ),
    "array_of_another_shape": (
        lambda raw: _rewrite(
            raw, members={"params/head/w.npy": _npy(np.zeros((2, 2), np.float32))}
        ),
        r"params/head/w\.npy holds float32 \(2, 2\), but the manifest says float32 \(3, 4\)",
    ),
    "array_of_another_dtype": (
        lambda raw: _rewrite(
            raw, members={"params/head/w.npy": _npy(_head_w(raw).astype(np.float64))}
        ),
        r"params/head/w\.npy holds float64 \(3, 4\), but the manifest says float32",
    ),
    "edited_array": (
        lambda raw: _rewrite(raw, members={"params/head/w.npy": _npy(_head_w(raw) + 1)}),
        r"is damaged: checksum mismatch in params/head/w\.npy",
    ),
    "not_npy": (
        lambda raw: _rewrite(raw, members={"params/head/w.npy": b"not an array"}),
        r"params/head/w\.npy is not a valid \.npy array",
    ),
    "pickled_array": (
        lambda raw: _rewrite(raw, members={"params/head/w.npy": _npy(np.array([{}], object))}),
        r"params/head/w\.npy is not a valid \.npy array",
    ),
    "config_of_other_shapes": (
        lambda raw: _rewrite(raw, document=_set("config", "hidden", value=5)),
        r"is damaged: params/encoder/0/0/w_x\.npy has shape \(1, 9\), the config needs \(1, 15\)",
    ),
    "config_of_other_depth": (
        lambda raw: _rewrite(raw, document=_set("config", "num_layers", value=2)),
        r"its arrays do not match its config: missing \['params/encoder/1/0/b_h\.npy",
    ),
    "unknown_config_field": (
        lambda raw: _rewrite(raw, document=_set("config", "mixture", value=3)),
        r"its config is not valid for this rnnax .*unexpected keyword argument 'mixture'",
    ),
    "invalid_config_value": (
        lambda raw: _rewrite(raw, document=_set("config", "horizon", value=0)),
        r"its config is not valid .*ForecasterConfig\.horizon must be an integer >= 1, got 0",
    ),
    "unregistered_cell": (
        lambda raw: _rewrite(raw, document=_set("config", "cell", value="my_cell")),
        r"holds a forecaster with cell 'my_cell', which is not registered in this process .*"
        r"rnnax\.register_cell\(cell\) it before loading",
    ),
    "missing_manifest_entry": (
        lambda raw: _rewrite(raw, document=lambda doc: doc["arrays"].pop("params/head/b.npy")),
        r"its arrays do not match its config: missing \['params/head/b\.npy'\], unexpected \[\]",
    ),
    "extra_manifest_entry": (
        lambda raw: _rewrite(raw, document=_set("arrays", "params/extra.npy", value={})),
        r"unexpected \['params/extra\.npy'\]",
    ),
    "bad_manifest_entry": (
        lambda raw: _rewrite(raw, document=_set("arrays", "params/head/b.npy", value=[1])),
        r"the manifest has no valid entry for params/head/b\.npy",
    ),
    "unknown_dtype": (
        lambda raw: _rewrite(
            raw, document=_set("arrays", "params/head/b.npy", "dtype", value="f9")
        ),
        r"params/head/b\.npy has an unknown dtype 'f9'",
    ),
    "integer_dtype": (
        lambda raw: _rewrite(
            raw, document=_set("arrays", "params/head/b.npy", "dtype", value="int32")
        ),
        r"params/head/b\.npy must have a floating dtype, got int32",
    ),
    "missing_scaler_array": (
        lambda raw: _rewrite(raw, members={"scaler/scale.npy": None}),
        r"is damaged: scaler/scale\.npy is missing",
    ),
    "scaler_flag_not_bool": (
        lambda raw: _rewrite(raw, document=_set("scaler", value=1)),
        r"forecaster\.json's 'scaler' has the wrong type: 1",
    ),
    "columns_of_another_length": (
        lambda raw: _rewrite(raw, document=_set("columns", value=["y", "x"])),
        r"is damaged: columns must be input_size=1 distinct, non-empty names",
    ),
    "lookback_string": (
        lambda raw: _rewrite(raw, document=_set("lookback", value="6")),
        r"is damaged: lookback must be an integer",
    ),
    "metadata_missing": (
        lambda raw: _rewrite(raw, document=lambda doc: doc.pop("metadata")),
        r"forecaster\.json has no 'metadata'",
    ),
    "config_not_a_dict": (
        lambda raw: _rewrite(raw, document=_set("config", value="lstm")),
        r"forecaster\.json's 'config' has the wrong type",
    ),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_files_are_clear_value_errors(tmp_path, saved_bytes, damage):
    mutate, match = DAMAGE[damage]
    path = tmp_path / "m.rnnax"
    path.write_bytes(mutate(saved_bytes))
    with pytest.raises(ValueError, match=match) as info:
        forecasting.load(path)
    assert type(info.value) is ValueError
    assert str(path) in str(info.value)


def test_the_undamaged_bytes_load(tmp_path, saved_bytes):
    # The cases above start from a loadable file; rewriting it unchanged still loads.
    path = tmp_path / "m"
    path.write_bytes(_rewrite(saved_bytes, document=lambda doc: None))
    assert forecasting.load(path).columns == ("y",)


def test_load_paths(tmp_path):
    with pytest.raises(FileNotFoundError):
        forecasting.load(tmp_path / "missing")
    with pytest.raises(ValueError, match=rf"{tmp_path} is a directory, not a saved rnnax"):
        forecasting.load(tmp_path)
    with pytest.raises(TypeError, match=r"path must be a str or os\.PathLike, got int"):
        forecasting.load(3)
    config = CONFIGS["lstm-point-direct-2layers"]
    with pytest.raises(ValueError, match=r"path must be a file to write, got the directory"):
        forecasting.save(tmp_path, config, _trained_like(config))
    assert os.listdir(tmp_path) == []
