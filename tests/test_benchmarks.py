"""Smoke tests of ``rnnax bench`` (rnnax._bench): it runs at a tiny shape and writes its reports.

No timing is asserted (the machines are shared and noisy); only that every selected
implementation ran and that the JSON, Markdown and plot have what they promise.
"""

from __future__ import annotations

import json
import os
import sys
import types
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import pytest

import rnnax
from rnnax._bench import _impl, _options, _plot, _run, _variants
from rnnax._bench import _report as _markdown
from rnnax._machine import set_cpu_devices

_SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_rnn.py"


@pytest.fixture(scope="module")
def bench():
    """The benchmark's pieces under the names the tests use."""
    return types.SimpleNamespace(
        main=_run.main,
        SCHEMA=_options.SCHEMA,
        _parse=_options.parse,
        _csv=_options._csv,
        _configs=_run._configs,
        plot_sweep=_plot.plot_sweep,
        sweep_tables=_markdown.sweep_tables,
        set_host_devices=set_cpu_devices,
        strategy_names=_variants.strategy_names,
        config_notes=_variants.config_notes,
        timed_cells=_variants.timed_cells,
        Config=_impl.Config,
    )


@pytest.fixture(autouse=True)
def _restore_environment(monkeypatch):
    # main() sets XLA_PYTHON_CLIENT_PREALLOCATE when unset; keep it out of later tests.
    monkeypatch.setenv(
        "XLA_PYTHON_CLIENT_PREALLOCATE", os.environ.get("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    )


class _TinyParams(NamedTuple):
    w_x: jax.Array
    w_h: jax.Array
    b: jax.Array


def _tiny_init(key, input_size, hidden_size, *, dtype=jnp.float32):
    k_x, k_h = jax.random.split(key)
    return _TinyParams(
        jax.random.normal(k_x, (input_size, hidden_size), dtype) / input_size**0.5,
        jax.random.normal(k_h, (hidden_size, hidden_size), dtype) / hidden_size**0.5,
        jnp.zeros((hidden_size,), dtype),
    )


def _tiny_pointwise(params, h, a_x, a_h):
    h = jnp.tanh(a_x + a_h)
    return h, h


def _tiny_step(params, h, x):
    a_x = x @ params.w_x
    return _tiny_pointwise(params, h, a_x + jnp.broadcast_to(params.b, a_x.shape), h @ params.w_h)


# A user's own cell, as the README shows one: no other library has it, and it has no Pallas
# kernel, so the benchmark runs only the rnnax strategies it has.
_TINY_CELL = rnnax.Cell(
    name="bench_test_tanh",
    init=_tiny_init,
    step=_tiny_step,
    layout={"w_x": ("I", "H"), "w_h": ("H", "H"), "b": ("H",)},
    params_type=_TinyParams,
    split=rnnax.GemmSplit(
        lambda params: (params.w_x, params.b, params.w_h, None),
        _tiny_pointwise,
        lambda h: h,
        additive=True,
    ),
)


@pytest.fixture
def tiny_cell():
    """Registers ``_TINY_CELL`` for one test, then takes it out of the registry again."""
    from rnnax import _protocol

    rnnax.register_cell(_TINY_CELL)
    yield _TINY_CELL.name
    _protocol._REGISTRY.pop(_TINY_CELL.name, None)
    _protocol._BY_TYPE.pop(_TinyParams, None)


def _tiny(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "--quick",
        "--repeats",
        "2",
        "--warmup",
        "0",
        "--gemm-size",
        "32",
        "--strategies",
        "scan",
        "--out",
        str(tmp_path),
        "--tag",
        "t",
        "--quiet",
        *extra,
    ]


def _report(tmp_path: Path) -> tuple[dict, Path]:
    (directory,) = [path for path in tmp_path.iterdir() if path.is_dir()]
    return json.loads((directory / "t.json").read_text()), directory


def test_quick_run_writes_json_and_markdown(bench, tmp_path):
    argv = _tiny(tmp_path, "--cells", "gru", "--impls", "rnnax")
    assert bench.main(argv) == 0
    report, directory = _report(tmp_path)

    assert report["schema"] == bench.SCHEMA
    for key in (
        "created",
        "argv",
        "machine",
        "versions",
        "rnnax_commit",
        "settings",
        "gemm",
        "results",
        "agreement",
        "files",
    ):
        assert key in report
    assert report["argv"] == argv
    machine = report["machine"]
    for key in ("platform", "device_kind", "cpu", "usable_cores", "name", "torch"):
        assert key in machine
    assert directory.name == machine["name"]
    for name in ("jax", "jaxlib", "flax", "equinox", "numpy", "rnnax"):
        assert report["versions"][name]
    assert report["gemm"]["float32"]["gflops"] > 0

    results = report["results"]
    # both GRU forms; the LSTM goes through the same code (and runs in the next test)
    assert sorted(entry["options"]["reset_after"] for entry in results) == [False, True]
    for entry in results:
        assert entry["error"] is None, (entry["label"], entry["error"])
        assert entry["shape"] == {"B": 4, "T": 8, "I": 3, "H": 8}
        assert entry["flops_per_step"] > 0
        for mode in ("fwd", "fwdbwd"):
            record = entry[mode]
            assert len(record["times_s"]) == 2
            for key in (
                "median_s",
                "us_per_step",
                "seq_per_s",
                "gflops",
                "fraction_of_gemm",
                "lower_s",
                "compile_s",
            ):
                assert record[key] > 0, (entry["label"], mode, key)
        assert entry["fwdbwd"]["memory"]["kind"] == "xla_memory_analysis"
    (agreement,) = report["agreement"].values()  # the shared-weights check
    assert set(agreement) == {
        entry["label"] for entry in results if entry["options"]["reset_after"]
    }
    # The other libraries really got rnnax's weights (their GRU is the reset-after form).
    assert max(agreement.values()) < 1e-5, agreement

    markdown = (directory / "t.md").read_text()
    assert "| implementation | fwd ms | fwd+bwd ms |" in markdown
    assert "### GRU B=4 T=8 I=3 H=8 float32" in markdown
    assert not (directory / "t.png").exists()  # no sweep, no plot


def test_quick_run_other_jax_libraries(bench, tmp_path):
    # fwd+bwd only, to keep the compiles few: the forward pass is the same code path.
    assert (
        bench.main(
            _tiny(
                tmp_path,
                "--cells",
                "lstm,gru",
                "--modes",
                "fwdbwd",
                "--impls",
                "flax.linen,flax.nnx,equinox",
            )
        )
        == 0
    )
    report, directory = _report(tmp_path)
    labels = {(entry["cell"], entry["label"]) for entry in report["results"]}
    assert labels == {
        (cell, family)
        for cell in ("lstm", "gru")
        for family in ("flax.linen", "flax.nnx", "equinox")
    }
    for entry in report["results"]:
        assert entry["error"] is None, (entry["label"], entry["error"])
        assert "fwd" not in entry or not entry["fwd"].get("times_s")
        assert entry["fwdbwd"]["median_s"] > 0
        assert entry["fwdbwd"]["memory"]["kind"] == "xla_memory_analysis"
        # Every library runs rnnax's own weights (the GRU's converted as reset-after ones).
        assert entry["weights"] == "shared", (entry["cell"], entry["label"])
    markdown = (directory / "t.md").read_text()
    assert "| flax.nnx |" in markdown and "### LSTM B=4 T=8 I=3 H=8 float32" in markdown


def test_quick_run_torch(bench, tmp_path):
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    try:
        assert (
            bench.main(
                _tiny(tmp_path, "--cells", "gru", "--impls", "torch", "--torch-threads", "1")
            )
            == 0
        )
    finally:
        torch.set_num_threads(threads)
    report, directory = _report(tmp_path)
    assert report["settings"]["torch_threads"] == 1
    assert report["machine"]["torch"]["available"]
    (entry,) = report["results"]
    assert entry["impl"] == "torch" and entry["error"] is None, entry["error"]
    assert entry["weights"] == "shared"  # rnnax's GRU weights, converted as reset-after ones
    assert entry["fwdbwd"]["median_s"] > 0
    assert "first_call_minus_median_s" in entry["fwdbwd"]
    memory = entry["fwdbwd"]["memory"]
    assert memory["kind"] == "torch_saved_tensors"
    assert memory["saved_for_backward_bytes"] > 0
    assert "| torch |" in (directory / "t.md").read_text()


def test_sweep_configs_and_plot(bench, tmp_path):
    pytest.importorskip("matplotlib")
    args = bench._parse(["--quick", "--sweep", "T,H", "--cells", "lstm"])
    configs, base = bench._configs(args)
    assert base == {"B": 4, "T": 8, "I": 3, "H": 8}
    swept = {(cfg.steps, cfg.hidden): cfg.sweep_axes for cfg in configs}
    # the base shape is both in the shape set and on both sweeps; no shape is run twice
    assert swept[(8, 8)] == ("H", "T")
    assert swept[(16, 8)] == ("T",) and swept[(8, 16)] == ("H",)
    assert len(configs) == len(swept)

    # A synthetic report (no timing): the plot and the sweep tables come from the entries.
    results = []
    for cfg in configs:
        for label, seconds in (("rnnax[scan]", 1e-3), ("flax.linen", 2e-3)):
            entry = {
                "cell": cfg.cell,
                "shape": cfg.shape,
                "dtype": cfg.dtype,
                "sweep_axes": list(cfg.sweep_axes),
                "label": label,
                "error": None,
            }
            for mode in ("fwd", "fwdbwd"):
                entry[mode] = {"us_per_step": seconds * 1e6 / cfg.steps}
            results.append(entry)
    report = {
        "settings": {"sweep": ["T", "H"], "sweep_base": base},
        "machine": {"name": "test"},
        "results": results,
    }
    path = tmp_path / "sweep.png"
    assert bench.plot_sweep(report, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    tables = bench.sweep_tables(results, ["T", "H"])
    assert len(tables) == 2 and "| rnnax[scan] |" in tables[0]


def test_options(bench, monkeypatch):
    assert bench._csv("rnnax[scan,reset_after],torch") == ["rnnax[scan,reset_after]", "torch"]
    assert bench._parse(["--shapes", "2x3x4x5"]).shapes == [(2, 3, 4, 5)]
    args = bench._parse([])
    assert (args.repeats, args.gemm_size, args.dtype) == (20, 2048, ["float32"])
    for bad in (
        ["--cells", "rnn"],
        ["--cells", "lstm,lstm"],
        ["--cells", ""],
        ["--dtype", "float16"],
        ["--sweep", "I"],
        ["--shapes", "2x3x4"],
        ["--repeats", "0"],
    ):
        with pytest.raises(SystemExit):
            bench._parse(bad)

    monkeypatch.delenv("JAX_NUM_CPU_DEVICES", raising=False)  # restored after the test
    monkeypatch.setenv("XLA_FLAGS", "--xla_foo=1 --xla_force_host_platform_device_count=3")
    bench.set_host_devices(2)
    assert os.environ["XLA_FLAGS"].split() == [
        "--xla_foo=1",
        "--xla_force_host_platform_device_count=2",
    ]


def test_auto_inner_strategy_is_measured_and_the_table_restored(bench, tmp_path):
    from rnnax import _strategies

    table_before = {backend: dict(cells) for backend, cells in _strategies._AUTO.items()}
    argv = _tiny(tmp_path, "--cells", "lstm,gru", "--impls", "rnnax", "--modes", "fwd")
    argv[argv.index("scan")] = "auto=scan,auto=custom_vjp"
    assert bench.main(argv) == 0
    report, _ = _report(tmp_path)
    resolved = {
        (entry["cell"], entry["label"]): entry["options"]["auto"]["resolves_to"]
        for entry in report["results"]
    }
    # The override is made for the cell each variant runs: the GRU's reset-after variants are
    # the registered cell "gru_reset_after", which has an "auto" choice of its own.
    assert resolved == {
        ("lstm", "rnnax[auto=scan]"): "scan",
        ("lstm", "rnnax[auto=custom_vjp]"): "custom_vjp",
        ("gru", "rnnax[auto=scan]"): "scan",
        ("gru", "rnnax[auto=custom_vjp]"): "custom_vjp",
        ("gru", "rnnax[auto=scan,reset_after]"): "scan",
        ("gru", "rnnax[auto=custom_vjp,reset_after]"): "custom_vjp",
    }
    assert table_before == _strategies._AUTO  # not even an empty per-backend entry is left
    assert set(report["settings"]["auto"]) == {"lstm", "gru", "gru_reset_after"}

    with pytest.raises(SystemExit):
        bench._parse(["--strategies", "auto=auto"])
    with pytest.raises(ValueError, match="auto=warp"):
        bench.main(_tiny(tmp_path, "--impls", "rnnax", "--strategies", "auto=warp"))


def test_page_faults_script_writes_its_report(tmp_path):
    import subprocess

    script = _SCRIPT.parent / "page_faults.py"
    command = [sys.executable, str(script), "--shape", "2x3x2x4", "--repeats", "1"]
    subprocess.run([*command, "--cores", "1", "--out", str(tmp_path)], check=True, timeout=300)
    (report_path,) = tmp_path.glob("*/page-faults-lstm-2x3x2x4.json")
    report = json.loads(report_path.read_text())
    assert set(report["results"]) == {"glibc defaults", "mmap/trim thresholds raised"}
    for row in report["results"].values():
        assert row["median_ms"] > 0 and row["page_faults_per_call"] >= 0
    assert report["machine"]["pinned_cores"] == 1
    assert report_path.with_suffix(".md").read_text().startswith("# Page faults per")
    bad = subprocess.run([*command[:2], "--shape", "2x3x4"], capture_output=True, text=True)
    assert bad.returncode == 2 and "BxTxIxH" in bad.stderr


def test_profile_script_lists_operations(tmp_path):
    import subprocess

    script = _SCRIPT.parent / "profile_step.py"
    command = [sys.executable, str(script), "--shape", "2x3x2x4", "--calls", "1", "--cores", "1"]
    subprocess.run([*command, "--cell", "gru", "--out", str(tmp_path)], check=True, timeout=300)
    (report_path,) = tmp_path.glob("*/profile-gru-custom_vjp-2x3x2x4.json")
    report = json.loads(report_path.read_text())
    assert report["operations"] and report["traced_ms_per_call"] > 0
    assert all(row["ms_per_call"] >= 0 for row in report["operations"])
    assert report_path.with_suffix(".md").read_text().startswith("# Per-operation time")
    bad = subprocess.run([*command[:2], "--calls", "0"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--calls must be at least 1" in bad.stderr


def test_strategies_follow_the_cell(bench, tiny_cell):
    """Each cell runs the strategies it has (rnnax.available_strategies): "parallel" is not
    the LSTM's, "pallas" not a cell without a kernel, "cudnn" not float32-less."""
    args = bench._parse(["--quick"])
    (lstm, gru) = [cfg for cfg in bench._configs(args)[0]]
    # "native" where its library loads here (rnnax._native), and never on a GPU.
    native = ["native"] if _variants.runnable("native", "lstm", "float32") else []
    assert bench.strategy_names(lstm, None, "cpu") == [
        "auto",
        "scan",
        "custom_vjp",
        "remat",
        *native,
    ]
    assert bench.strategy_names(gru, None, "gpu") == [
        "auto",
        "scan",
        "custom_vjp",
        "remat",
        "pallas",
    ]
    tiny = bench._configs(bench._parse(["--quick", "--cells", tiny_cell]))[0][0]
    wanted = ["scan", "pallas", "cudnn", "auto=custom_vjp"]
    assert bench.strategy_names(tiny, wanted, "gpu") == ["scan", "auto=custom_vjp"]
    narrow = bench.Config("lstm", 4, 8, 3, 8, "bfloat16")
    assert bench.strategy_names(narrow, ["scan", "cudnn"], "gpu") == ["scan"]
    notes = bench.config_notes(tiny, bench._parse(["--quick", "--strategies", "scan,pallas"]))
    assert any("pallas skipped, not strategies of this cell" in note for note in notes)
    assert any("rnnax only" in note and "torch" in note for note in notes)
    assert bench.timed_cells(["gru", "lstm", "gru_reset_after"]) == [
        "gru",
        "gru_reset_after",
        "lstm",
    ]


def test_quick_run_any_registered_cell(bench, tmp_path, tiny_cell):
    """A cell no other library has runs its rnnax strategies alone; the reset-after GRU as a
    cell of its own runs beside flax's GRU (the same function, the same shared weights)."""
    argv = _tiny(
        tmp_path,
        "--cells",
        f"{tiny_cell},gru_reset_after",
        "--impls",
        "rnnax,flax.linen",
        "--modes",
        "fwd",
    )
    argv[argv.index("scan")] = "scan,custom_vjp,pallas"
    assert bench.main(argv) == 0
    report, directory = _report(tmp_path)
    labels: dict[str, set[str]] = {}
    for entry in report["results"]:
        assert entry["error"] is None, (entry["label"], entry["error"])
        assert entry["fwd"]["median_s"] > 0
        labels.setdefault(entry["cell"], set()).add(entry["label"])
        assert "reset_after" not in entry["options"]  # one form per cell, no variants
    assert labels == {
        tiny_cell: {"rnnax[scan]", "rnnax[custom_vjp]"},  # no Pallas kernel, no flax
        "gru_reset_after": {"rnnax[scan]", "rnnax[custom_vjp]", "rnnax[pallas]", "flax.linen"},
    }
    tiny_key, gru_key = (f"{cell}-B4-T8-I3-H8-float32" for cell in (tiny_cell, "gru_reset_after"))
    # The strategies of one cell compute one function; so do rnnax and flax for the GRU.
    assert set(report["agreement"][tiny_key]) == labels[tiny_cell]
    assert set(report["agreement"][gru_key]) == labels["gru_reset_after"]
    for per_label in report["agreement"].values():
        assert max(per_label.values()) < 1e-5, per_label
    assert set(report["auto_recommendation"]) == {tiny_cell, "gru_reset_after"}
    assert set(report["settings"]["auto"]) == {tiny_cell, "gru_reset_after"}
    assert any(note.startswith(f"{tiny_cell}: pallas skipped") for note in report["notes"])
    assert any(note.startswith(f"{tiny_cell}: rnnax only") for note in report["notes"])
    markdown = (directory / "t.md").read_text()
    assert f"### {tiny_cell.upper()} B=4 T=8 I=3 H=8 float32" in markdown
    assert "### GRU_RESET_AFTER B=4 T=8 I=3 H=8 float32" in markdown
    assert f"- note: {tiny_cell}: rnnax only" in markdown
