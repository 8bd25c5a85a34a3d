"""Smoke test of benchmarks/bench_scaling.py: a tiny data-parallel run on 1 and 2 forced CPU
devices (a process each, then both interleaved in one) writes its JSON and Markdown. No timing
is asserted (the machines are shared and noisy)."""

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


def test_quick_run_on_one_and_two_devices_writes_json_and_markdown(bench, tmp_path):
    argv = ["--quick", "--platform", "cpu", "--devices", "1,2", "--modes", "data"]
    argv += ["--out", str(tmp_path), "--tag", "t", "--quiet"]
    assert bench.main(argv) == 0
    (directory,) = [path for path in tmp_path.iterdir() if path.is_dir()]
    report = json.loads((directory / "scaling-t.json").read_text())
    assert (
        report["schema"] == bench.SCHEMA and report["argv"] == argv and report["platform"] == "cpu"
    )
    assert directory.name == report["machine"]["name"]
    assert report["machine"]["load_average_start"] is not None
    assert report["versions"]["jax"] and report["settings"]["devices"] == [1, 2]
    measured = {(entry["mode"], entry["devices"]): entry for entry in report["results"]}
    assert set(measured) == {("data", 1), ("data", 2)}
    for entry in measured.values():
        assert entry["steps_per_s"] > 0 and entry["sequences_per_s"] > 0, entry
        assert entry["load_average_before"] is not None
    interleaved = report["interleaved"]  # one process, both counts timed alternately
    assert interleaved["devices"] == 2 and interleaved["rounds"] == 1
    assert sorted(entry["devices"] for entry in interleaved["results"]) == [1, 2]
    text = (directory / "scaling-t.md").read_text()
    assert "| data | 2 |" in text and "1.00x" in text and "Load average" in text
    assert "interleaved in one process (2 devices)" in text
