"""``rnnax compare --cells``: which cells a comparison runs, and how each is sized and read."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import pytest

import rnnax
import rnnax.compare
from rnnax.cli import main
from rnnax.compare import CompareConfig, cell_rows, claims_note, rows
from rnnax.compare._markdown import markdown
from rnnax.compare._models import hidden_sizes, matched_hidden, structure, total_params
from rnnax.compare._report import run_json as run


def test_default_cells_are_the_explainers_two() -> None:
    assert CompareConfig().cells == ("lstm", "gru") == rnnax.compare.DEFAULT_CELLS


def test_config_takes_any_registered_cells_and_keeps_a_tuple() -> None:
    config = CompareConfig(cells=["gru_reset_after", "lstm"])
    assert config.cells == ("gru_reset_after", "lstm")
    hash(config)  # frozen and hashable, as before


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (("lstm", "rnn"), "unknown cell 'rnn'; registered cells are "),
        ((), "at least one cell"),
        (("gru", "lstm", "gru"), "'gru' more than once"),
        ("lstm", "a sequence of cell names"),
        (("lstm", 3), "unknown cell 3"),
    ],
)
def test_config_rejects_bad_cells(cells: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CompareConfig(cells=cells)


def test_unknown_cell_error_lists_every_registered_cell(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["compare", "--cells", "lstm,rnn", "--out", str(tmp_path / "o")])
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("rnnax compare: error: argument --cells: unknown cell 'rnn'")
    for name in rnnax.registered_cells():
        assert name in line
    assert captured.out == "" and not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("argv", "cells"),
    [
        ([], ("lstm", "gru")),
        (["--cells", "lstm,gru,gru_reset_after"], ("lstm", "gru", "gru_reset_after")),
        (["--cells", "gru_reset_after, lstm"], ("gru_reset_after", "lstm")),
    ],
)
def test_cells_option_reaches_the_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, argv: list[str], cells: tuple[str, ...]
) -> None:
    seen: list[CompareConfig] = []

    def stub(config: CompareConfig, out: Any, *, command: str | None = None) -> Any:
        seen.append(config)
        raise KeyboardInterrupt  # stop before anything runs

    monkeypatch.setattr(rnnax.compare, "compare", stub)
    assert main(["compare", *argv, "--out", str(tmp_path / "o")]) == 130
    assert seen[0].cells == cells


def _brute_force(cell: str, reference: str, hidden: int, limit: int) -> int:
    budget = total_params(reference, hidden, 1, 12)
    return min(range(1, limit), key=lambda h: (abs(total_params(cell, h, 1, 12) - budget), h))


@pytest.mark.parametrize(
    ("cell", "reference", "hidden"),
    [("gru", "lstm", 32), ("lstm", "gru", 32), ("gru_reset_after", "lstm", 7), ("gru", "lstm", 1)],
)
def test_matched_hidden_is_the_closest_budget(cell: str, reference: str, hidden: int) -> None:
    assert matched_hidden(cell, reference, hidden, 1, 12) == _brute_force(
        cell, reference, hidden, 4 * hidden + 8
    )


def test_match_params_sizes_every_other_cell_to_the_lstm() -> None:
    config = CompareConfig(cells=("gru_reset_after", "lstm", "gru"), match="params", hidden=16)
    sizes = hidden_sizes(config, horizon=12)
    assert sizes["lstm"] == 16
    assert sizes["gru"] == sizes["gru_reset_after"] == matched_hidden("gru", "lstm", 16, 1, 12)
    assert sizes["gru"] > 16
    # Without the LSTM, the first cell is the reference.
    alone = hidden_sizes(CompareConfig(cells=("gru", "gru_reset_after"), match="params"), 12)
    assert alone == {"gru": 32, "gru_reset_after": 32}
    assert hidden_sizes(CompareConfig(cells=("lstm", "gru"), hidden=9), 12) == {
        "lstm": 9,
        "gru": 9,
    }


def _model(cell: str, hidden: int) -> Any:
    """What ``structure`` reads of a forecaster: its encoder stack."""
    return SimpleNamespace(encoder=rnnax.rnn_stack_init(cell, jax.random.key(0), 1, hidden))


def test_structure_of_the_explainers_cells_and_the_reset_after_gru() -> None:
    lstm = structure("lstm", _model("lstm", 4), 4)
    assert (lstm.gate_blocks, lstm.num_gates, lstm.state, lstm.state_vectors) == (
        4,
        3,
        ["h", "c"],
        2,
    )
    assert lstm.gates == ["input i", "forget f", "output o"]
    assert (lstm.ops_per_step, lstm.matmuls_per_step) == (14, 2)
    gru = structure("gru", _model("gru", 4), 4)
    assert (gru.gate_blocks, gru.num_gates, gru.state, gru.state_vectors) == (3, 2, ["h"], 1)
    after = structure("gru_reset_after", _model("gru_reset_after", 4), 4)
    assert after.gates == gru.gates == ["update z", "reset r"]
    assert after.as_dict()["gate_blocks"] == 3


class _GateParams(NamedTuple):
    w_x: jax.Array  # [I, 2H]: a gate and a candidate, from the input alone
    b: jax.Array  # [2H]


def _gate_init(key: jax.Array, input_size: int, hidden_size: int, **options: Any) -> _GateParams:
    w_x = jax.random.normal(key, (input_size, 2 * hidden_size)) / input_size**0.5
    return _GateParams(w_x, jnp.zeros((2 * hidden_size,)))


def _gate_step(params: _GateParams, h: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    a = x @ params.w_x
    z, candidate = jnp.split(a + jnp.broadcast_to(params.b, a.shape), 2, axis=-1)
    h = h + jax.nn.sigmoid(z) * (candidate - h)
    return h, h


@pytest.fixture
def gate_cell() -> Any:
    """A user's cell with no recurrent weights (as minGRU), registered for one test."""
    from rnnax import _protocol

    cell = rnnax.register_cell(
        rnnax.Cell(
            name="compare_test_gate",
            init=_gate_init,
            step=_gate_step,
            layout={"w_x": ("I", "2H"), "b": ("2H",)},
            params_type=_GateParams,
        )
    )
    yield cell.name
    _protocol._REGISTRY.pop(cell.name, None)
    _protocol._BY_TYPE.pop(_GateParams, None)


def test_a_users_cell_is_sized_and_read_through_the_protocol(gate_cell: str) -> None:
    # Few parameters per hidden unit: the matched size is many times the LSTM's.
    matched = matched_hidden(gate_cell, "lstm", 32, 1, 12)
    assert matched == _brute_force(gate_cell, "lstm", 32, 1000) and matched > 8 * 32
    assert CompareConfig(cells=("lstm", gate_cell)).cells == ("lstm", gate_cell)
    found = structure(gate_cell, _model(gate_cell, 4), 4)
    # Blocks of the input weight (it has no recurrent one); what they mean is not known here.
    assert (found.gate_blocks, found.gates, found.num_gates) == (2, None, None)
    assert (found.state, found.state_vectors, found.matmuls_per_step) == (["h"], 1, 1)


def test_a_users_cell_runs_the_whole_comparison(gate_cell: str) -> None:
    """The pipeline end to end for a cell that is neither the LSTM nor a GRU (no claims
    table; FLOPs from XLA, as the cell states none), at the smallest size that runs it all."""
    config = CompareConfig(
        cells=(gate_cell,),
        hidden=2,
        seeds=2,
        steps=2,
        eval_every=1,
        memory_steps=2,
        memory_lengths=(4,),
        copy_symbols=0,
        counting_steps=2,
        counting_train_n=2,
        counting_test_n=2,
        lr_factors=(1.0, 2.0),
        search_seeds=1,
        sweep_lengths=(24,),
        throughput_batch=4,
        progress=False,
        plots=False,
    )
    report, _ = run(config)
    assert set(report["memory_tasks"]["counting"]) == {"anbn", "anbncn", "dyck1"}
    assert report["learning_rate_search"]["counting_anbn"]["chosen"][gate_cell] in (0.02, 0.04)
    (model,) = report["models"].values()
    assert model["flops_per_step"] > 0 and model["rnn_params"] == 2 * 2 * (1 + 1)
    assert model["structure"]["gate_blocks"] == 2
    assert set(model["memory_tasks"]) == {"adding_T4"}
    assert rows(report) == [] and claims_note(report) is not None
    (row,) = cell_rows(report)
    assert row.cell == gate_cell and row.hidden == 2
    text = markdown({**report, "command": "test"}, [], [], None)
    assert f"| {gate_cell} | 2 | 8 / 44 |" in text  # plus the head: 2 * 12 + 12
