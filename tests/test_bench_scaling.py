"""Smoke test of benchmarks/bench_scaling.py: a tiny run on 2 forced CPU devices (one child
process; the data and ensemble modes) writes its JSON and Markdown. No timing is asserted (the
machines are shared and noisy)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

_SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_scaling.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_scaling", _SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_scaling"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("bench_scaling", None)


def test_quick_run_on_two_devices_writes_json_and_markdown(bench, tmp_path):
    argv = ["--quick", "--platform", "cpu", "--devices", "2", "--modes", "data,ensemble"]
    argv += ["--out", str(tmp_path), "--tag", "t", "--quiet"]
    assert bench.main(argv) == 0
    (directory,) = [path for path in tmp_path.iterdir() if path.is_dir()]
    report = json.loads((directory / "scaling-t.json").read_text())
    assert (
        report["schema"] == bench.SCHEMA and report["argv"] == argv and report["platform"] == "cpu"
    )
    assert directory.name == report["machine"]["name"]
    assert report["machine"]["load_average_start"] is not None
    assert report["versions"]["jax"] and report["settings"]["devices"] == [2]
    measured = {(entry["mode"], entry["devices"]): entry for entry in report["results"]}
    assert set(measured) == {("data", 2), ("ensemble", 2)}
    for entry in measured.values():
        assert entry["steps_per_s"] > 0 and entry["sequences_per_s"] > 0, entry
        assert entry["load_average_before"] is not None
    assert measured[("ensemble", 2)]["sequences_per_step"] == 4 * 4  # 4 members x 4 sequences
    text = (directory / "scaling-t.md").read_text()
    assert "| data | 2 |" in text and "| ensemble | 2 |" in text and "Load average" in text
