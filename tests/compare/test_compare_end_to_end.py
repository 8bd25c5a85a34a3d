"""``rnnax compare`` end to end at a tiny size: report.json keys and values, report.md, plots;
the default pair of cells and three cells (``--cells``)."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

from rnnax.cli import main
from rnnax.compare import baseline_summary, cell_rows, claims_note, rows
from rnnax.compare._markdown import markdown

TINY = [
    "compare",
    "--hidden",
    "4",
    "--seeds",
    "2",
    "--steps",
    "20",
    "--eval-every",
    "10",
    "--memory-steps",
    "10",
    "--memory-lengths",
    "6",
    "--copy-symbols",
    "2",
    "--copy-delay",
    "2",
    "--sweep-lengths",
    "24",
    "--counting-steps",
    "10",
    "--counting-train-n",
    "2",
    "--counting-test-n",
    "3",
    "--lr-search",
    "1",
]
MODEL_KEYS = (
    "hidden",
    "layers",
    "rnn_params",
    "params",
    "flops_per_step",
    "compile_s",
    "train_s",
    "fwd_seq_per_s",
    "fwd_bwd_seq_per_s",
    "time_to_target_s",
    "test",
    "memory_tasks",
)


def _run(tmp_path_factory: pytest.TempPathFactory, *extra: str) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("compare") / "run"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main([*TINY, *extra, "--out", str(out)])
    return {
        "code": code,
        "out": out,
        "stdout": stdout.getvalue(),
        "stderr": stderr.getvalue(),
        "report": json.loads((out / "report.json").read_text(encoding="utf-8")),
    }


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _run(tmp_path_factory)


@pytest.fixture(scope="module")
def three_cells(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # One memory task (no copy task) keeps the third cell's run about as long as the default's.
    return _run(
        tmp_path_factory,
        "--cells",
        "lstm,gru,gru_reset_after",
        "--copy-symbols",
        "0",
        "--counting-steps",
        "0",
        "--lr-search",
        "1,3",
        "--search-seeds",
        "1",
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def test_exits_zero_and_prints_the_table_with_verdicts(tiny_run: dict[str, Any]) -> None:
    assert tiny_run["code"] == 0
    stdout = tiny_run["stdout"]
    for feature in (
        "gates",
        "state",
        "parameters",
        "computational cost",
        "complexity",
        "performance (forecast)",
        "training speed",
        "memory control",
    ):
        assert feature in stdout
    assert "supported" in stdout
    assert "seasonal naive" in stdout
    assert "forecasting (LSTM+GRU)" in tiny_run["stderr"]  # the progress bar


def test_report_json_top_level(tiny_run: dict[str, Any]) -> None:
    report = tiny_run["report"]
    assert report["dataset"] == "airline_passengers"
    assert report["input_size"] == 1
    assert (report["lookback"], report["horizon"]) == (24, 12)
    assert report["seeds"] == [0, 1]
    for key in ("jax", "backend", "device"):
        assert isinstance(report["environment"][key], str) and report["environment"][key]
    for method in ("naive", "seasonal_naive"):
        for metric in ("mae", "rmse", "mase"):
            assert _is_number(report["baselines"][method][metric])
            assert report["baselines"][method][metric] > 0


def test_report_json_models(tiny_run: dict[str, Any]) -> None:
    models = tiny_run["report"]["models"]
    assert set(models) == {"lstm", "gru"}
    for cell, model in models.items():
        for key in MODEL_KEYS:
            assert key in model, (cell, key)
        assert (model["hidden"], model["layers"]) == (4, 1)
        # Recurrent parameters as laid out in docs/API.md: G*H*(I+H) plus 1 (LSTM) or 2 (GRU) biases.
        gates, biases = (4, 1) if cell == "lstm" else (3, 2)
        assert model["rnn_params"] == gates * 4 * (1 + 4) + biases * gates * 4
        assert model["params"] == model["rnn_params"] + 4 * 12 + 12  # plus the dense head
        assert model["flops_per_step"] == 2 * gates * 4 * (1 + 4) + 17 * 4
        for key in ("compile_s", "train_s", "fwd_seq_per_s", "fwd_bwd_seq_per_s"):
            assert _is_number(model[key]) and model[key] > 0, (cell, key)
        assert model["time_to_target_s"] is None or _is_number(model["time_to_target_s"])
        for metric in ("mae", "rmse", "mase"):
            mean, half = model["test"][metric]
            assert _is_number(mean) and mean > 0
            assert _is_number(half) and half >= 0
        assert set(model["memory_tasks"]) == {"adding_T6", "copy_K2_D2"}
        assert all(_is_number(score) for score in model["memory_tasks"].values())
        assert 0.0 <= model["memory_tasks"]["copy_K2_D2"] <= 1.0
    assert models["gru"]["rnn_params"] < models["lstm"]["rnn_params"]
    assert tiny_run["report"]["settings"]["cells"] == ["lstm", "gru"]
    assert tiny_run["report"]["claims_note"] is None


def test_report_md_and_plots(tiny_run: dict[str, Any]) -> None:
    out: Path = tiny_run["out"]
    text = (out / "report.md").read_text(encoding="utf-8")
    assert (
        "| feature | LSTM: claim | LSTM: measured | GRU: claim | GRU: measured | verdict |" in text
    )
    assert "## How each verdict was decided" in text
    assert "## Every cell, side by side" not in text  # only for cells beyond the two
    assert text.startswith("# rnnax compare: LSTM vs GRU\n")
    assert not list(out.glob(".*.tmp"))  # atomic writes leave no temporary files
    pytest.importorskip("matplotlib")
    for name in (
        "validation_loss.png",
        "forecast.png",
        "throughput.png",
        "memory_tasks.png",
        "counting.png",
        "learning_curves.png",
    ):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert f"]({name})" in text


def _verdicts(report: dict[str, Any]) -> dict[str, str]:
    return {row.feature: row.verdict for row in rows(report)}


def test_verdicts_follow_the_paired_measurements(tiny_run: dict[str, Any]) -> None:
    """Each statistical claim decides from paired per-seed (or per-round) values: one side of
    the margin, inside it, or an interval too wide to tell."""
    report = copy.deepcopy(tiny_run["report"])
    lstm, gru = report["models"]["lstm"], report["models"]["gru"]
    # Memory control: the LSTM better on every task by the same amount on both seeds.
    for name, task in report["memory_tasks"].items():
        if name == "counting":
            for language in task.values():
                language["scores"]["lstm"]["largest_n"] = [20, 22]
                language["scores"]["gru"]["largest_n"] = [5, 7]
            continue
        good, bad = (0.9, 0.1) if task["higher_is_better"] else (0.01, 0.2)
        task["lstm"]["per_seed"], task["gru"]["per_seed"] = [good, good], [bad, bad]
    assert _verdicts(report)["memory control"] == "supported"
    for task in report["memory_tasks"].values():
        if "lstm" in task:
            task["lstm"]["per_seed"], task["gru"]["per_seed"] = (
                task["gru"]["per_seed"],
                task["lstm"]["per_seed"],
            )
    for language in report["memory_tasks"]["counting"].values():
        language["scores"]["gru"]["largest_n"] = [20, 22]
        language["scores"]["lstm"]["largest_n"] = [5, 7]
    assert _verdicts(report)["memory control"] == "not supported"
    # Performance: similar within 10% of the LSTM's MASE, else one side, else inconclusive.
    lstm["test"]["mase"] = [1.0, 0.01]
    lstm["test_per_seed"]["mase"] = [1.0, 1.0]
    for per_seed, expected in (
        ([1.02, 1.02], "supported"),
        ([2.0, 2.0], "not supported"),
        ([0.5, 0.5], "not supported"),
        ([0.5, 1.5], "inconclusive"),
    ):
        gru["test_per_seed"]["mase"] = per_seed
        assert _verdicts(report)["performance (forecast)"] == expected, per_seed
    # Computational cost: fewer FLOPs AND faster in the paired timing rounds.
    rounds = [1000.0, 1100.0, 900.0]
    lstm["fwd_bwd_seq_per_s_rounds"] = rounds
    for factor, expected in ((2.0, "supported"), (1.01, "not supported"), (0.5, "not supported")):
        gru["fwd_bwd_seq_per_s_rounds"] = [factor * value for value in rounds]
        assert _verdicts(report)["computational cost"] == expected, factor
    gru["fwd_bwd_seq_per_s_rounds"] = [2000.0, 900.0, 1900.0]
    assert _verdicts(report)["computational cost"] == "inconclusive"
    # Training speed: steps to target per seed x seconds per chunk, paired.
    chunks = [0.1, 0.12, 0.11]
    lstm["chunk_s"], gru["chunk_s"] = chunks, chunks
    lstm["steps_to_target_per_seed"] = [20, 20]
    gru["steps_to_target_per_seed"] = [10, 10]
    assert _verdicts(report)["training speed"] == "supported"
    gru["steps_to_target_per_seed"] = [None, None]  # the GRU never reached the target
    assert _verdicts(report)["training speed"] == "not supported"
    gru["steps_to_target_per_seed"] = [10, 40]
    assert _verdicts(report)["training speed"] == "inconclusive"


def test_report_json_claims_and_counting(tiny_run: dict[str, Any]) -> None:
    """Every claim carries values, interval, rule and verdict; the counting results sit under
    memory_tasks.counting; every task's learning-rate search is recorded."""
    report = tiny_run["report"]
    for name, claim in report["claims"].items():
        assert set(claim) == {"values", "interval", "rule", "verdict"}, name
        assert claim["verdict"] == report["verdicts"][name]
    for name in ("performance (forecast)", "computational cost"):
        interval = report["claims"][name]["interval"]
        assert interval["low"] <= interval["estimate"] <= interval["high"], name
    counting = report["memory_tasks"]["counting"]
    assert set(counting) == {"anbn", "anbncn", "dyck1"}
    for language in counting.values():
        for cell in ("lstm", "gru"):
            score = language["scores"][cell]
            assert len(score["largest_n"]) == 2 and len(score["curve"]) == len(
                language["curve_steps"]
            )
    searches = report["learning_rate_search"]  # --lr-search 1: one rate, nothing trained
    assert {"forecasting", "adding_T6", "copy_K2_D2", "counting_anbn"} <= set(searches)
    assert all(search["steps"] == 0 for search in searches.values())
    text = (tiny_run["out"] / "report.md").read_text(encoding="utf-8")
    assert "## Counting tasks" in text and "## Learning-rate search" not in text


def _check_the_learning_rate_search(three_cells: dict[str, Any]) -> None:
    """Every model of every task tried each candidate on the search seed and trained its
    final seeds at the rate it chose (checked by the three-cells test, whose run searches)."""
    report = three_cells["report"]
    searches = report["learning_rate_search"]
    assert set(searches) == {"forecasting", "adding_T6"}
    for search in searches.values():
        assert search["seeds"] == [1000] and search["candidates"] == sorted(search["candidates"])
        assert len(search["candidates"]) == 2 and search["steps"] > 0
        for cell in ("lstm", "gru", "gru_reset_after"):
            assert search["chosen"][cell] in search["candidates"]
            assert len(search["val_loss"][cell]) == 2
    for cell, model in report["models"].items():
        assert model["learning_rate"] == searches["forecasting"]["chosen"][cell]
        task = report["memory_tasks"]["adding_T6"][cell]
        assert task["learning_rate"] == searches["adding_T6"]["chosen"][cell]
    text = (three_cells["out"] / "report.md").read_text(encoding="utf-8")
    assert "## Learning-rate search" in text and "| forecasting | GRU |" in text


def test_three_cells_keep_the_claims_and_add_a_table(three_cells: dict[str, Any]) -> None:
    assert three_cells["code"] == 0, three_cells["stderr"][-2000:]
    _check_the_learning_rate_search(three_cells)
    report = three_cells["report"]
    assert list(report["models"]) == ["lstm", "gru", "gru_reset_after"]
    assert report["settings"]["cells"] == ["lstm", "gru", "gru_reset_after"]
    assert "forecasting (LSTM+GRU+gru_reset_after)" in three_cells["stderr"]
    # The explainer's table is about the LSTM and the GRU, as without the third cell.
    assert [row["feature"] for row in report["table"]] == [
        "gates",
        "state",
        "parameters",
        "computational cost",
        "complexity",
        "performance (forecast)",
        "training speed",
        "memory control",
    ]
    assert report["claims_note"] is None
    after, gru = report["models"]["gru_reset_after"], report["models"]["gru"]
    for key in MODEL_KEYS:
        assert key in after, key
    # Both GRU forms: the same weights and FLOPs, another function.
    for key in ("rnn_params", "params", "flops_per_step"):
        assert after[key] == gru[key], key
    assert after["structure"]["gates"] == ["update z", "reset r"]
    assert after["description"]
    assert set(after["memory_tasks"]) == {"adding_T6"}
    for task in report["memory_tasks"].values():
        assert _is_number(task["gru_reset_after"]["score"][0])
    assert set(report["throughput_sweep"]) == {"lstm", "gru", "gru_reset_after"}

    stdout = three_cells["stdout"]
    assert "performance (forecast)" in stdout  # the claims table
    assert "fwd / fwd+bwd seq/s" in stdout and "gru_reset_after" in stdout  # the per-cell one
    assert "GRU_RESET_AFTER test MASE" in stdout

    out: Path = three_cells["out"]
    text = (out / "report.md").read_text(encoding="utf-8")
    assert text.startswith("# rnnax compare: LSTM vs GRU vs gru_reset_after\n")
    assert "## How each verdict was decided" in text
    assert "## Every cell, side by side" in text
    assert "the other cells (gru_reset_after) are measured beside them" in text
    assert "| gru_reset_after | 4 | 84 / 144 |" in text
    assert "| trivial | LSTM | GRU | gru_reset_after |" in text
    pytest.importorskip("matplotlib")
    for name in (
        "validation_loss.png",
        "forecast.png",
        "throughput.png",
        "memory_tasks.png",
        "learning_curves.png",
    ):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


def test_without_the_gru_there_is_no_claims_table(three_cells: dict[str, Any]) -> None:
    """A comparison that lacks one of the explainer's two cells says so instead of a table
    (rendered from the three-cell report without its GRU: the same code as a real run)."""
    report = copy.deepcopy(three_cells["report"])
    del report["models"]["gru"]
    note = claims_note(report)
    assert note is not None and "no 'gru'" in note and "lstm, gru_reset_after" in note
    assert rows(report) == []
    assert [row.cell for row in cell_rows(report)] == ["lstm", "gru_reset_after"]
    text = markdown(report, [], [], None)
    assert note in text
    assert "## How each verdict was decided" not in text
    assert "| feature | LSTM: claim |" not in text
    assert "## Every cell, side by side" in text
    assert "GRU test MASE" not in baseline_summary(report).replace("GRU_RESET_AFTER", "")


def test_report_json_reads_back_exactly(tiny_run: dict[str, Any]) -> None:
    """``report.json`` is the typed report serialised at the edge: reading it and writing it
    again gives the same dict, key for key."""
    from rnnax.compare._json import from_json, to_json

    report = tiny_run["report"]
    assert to_json(from_json(report)) == report
    assert list(to_json(from_json(report))) == list(report)


def test_each_claim_is_judged_by_its_own_function(tiny_run: dict[str, Any]) -> None:
    from rnnax.compare._claims import CLAIMS
    from rnnax.compare._json import from_json

    result = from_json(tiny_run["report"]).result
    table = [judge(result) for judge in CLAIMS]
    assert table == rows(tiny_run["report"])
    assert [row.as_dict() for row in table] == tiny_run["report"]["table"]
