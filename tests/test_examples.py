"""The examples run, at small sizes."""

from __future__ import annotations

from tests.example_loader import load_example


def test_sine_wave_loss_falls_for_both_cells(standard_promotion, monkeypatch):
    sine_wave = load_example("sine_wave", monkeypatch)
    for cell in ("lstm", "gru"):
        losses = sine_wave.train(cell, steps=60, hidden=8)
        assert sum(losses[-10:]) / 10 < 0.5 * losses[0], cell


def test_long_sequence_example_runs_small(monkeypatch, capsys, standard_promotion):
    long_sequence = load_example("long_sequence", monkeypatch)
    monkeypatch.setattr(
        "sys.argv",
        ["long_sequence.py", "--steps-in-sequence", "400", "--hidden", "4", "--updates", "2"],
    )
    long_sequence.main()
    printed = capsys.readouterr().out
    assert "remat: backward pass temporary buffers" in printed and "update 2: loss" in printed


def test_custom_cell_example_runs(monkeypatch, capsys, standard_promotion):
    custom_cell = load_example("custom_cell", monkeypatch)
    custom_cell.main()
    printed = capsys.readouterr().out
    assert "strategies: ('auto', 'scan', 'custom_vjp', 'remat')" in printed
    assert "stream == one pass: True" in printed and "NNX module output: (8, 50, 16)" in printed
    assert "forecaster validation loss:" in printed
