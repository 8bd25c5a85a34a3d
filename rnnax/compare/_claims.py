"""The explainer's claims, judged: one small function per row of its table.

Each ``judge_*`` function takes a :class:`~rnnax.compare._results.CompareResult` that holds the
LSTM and the GRU and returns a :class:`~rnnax.compare._results.Row`: the claim, the values
measured for each cell, the verdict and the rule that decided it, with the numbers compared.
``CLAIMS`` lists them in the table's order; :func:`rows` applies them all.

=========================  ==============================
claim (table row)          judged by
=========================  ==============================
gates                      :func:`judge_gates`
state                      :func:`judge_state`
parameters                 :func:`judge_parameters`
computational cost         :func:`judge_computational_cost`
complexity                 :func:`judge_complexity`
performance (forecast)     :func:`judge_performance`
training speed             :func:`judge_training_speed`
memory control             :func:`judge_memory_control`
=========================  ==============================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rnnax.compare._cells import CLAIM_CELLS, claims_testable
from rnnax.compare._format import kilo, memory_summary, plus_minus
from rnnax.compare._json import as_report
from rnnax.compare._results import CompareResult, ModelResult, Report, Row
from rnnax.compare._stats import overlap

SIMILAR_TOLERANCE = 0.10
""""Similar performance": the test-MASE intervals overlap, or the means differ by less than
this fraction of the smaller mean."""

SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"
NOT_TESTED = "not tested"

ReportLike = Report | CompareResult | Mapping[str, Any]
"""What the report functions take: a report, a bare result or ``report.json``'s dict."""


def _verdict(condition: bool) -> str:
    return SUPPORTED if condition else NOT_SUPPORTED


def _pair(result: CompareResult) -> tuple[ModelResult, ModelResult]:
    return result.models["lstm"], result.models["gru"]


def judge_gates(result: CompareResult) -> Row:
    """Gates: the LSTM has input, forget and output gates, the GRU update and reset."""
    ls, gs = (model.size.structure for model in _pair(result))
    return Row(
        "gates",
        "input, forget, output",
        f"{ls.num_gates} gates + candidate ({ls.gate_blocks}H blocks)",
        "update, reset",
        f"{gs.num_gates} gates + candidate ({gs.gate_blocks}H blocks)",
        _verdict(ls.num_gates == 3 and gs.num_gates == 2),
        "supported if the LSTM's recurrent weight w_h has 4 column blocks (gates i, f, o and the "
        "candidate g) and the GRU's 3 (gates z, r and the candidate n): "
        f"measured {ls.gate_blocks} and {gs.gate_blocks}.",
    )


def judge_state(result: CompareResult) -> Row:
    """State: the LSTM keeps a cell state beside its hidden state, the GRU only ``h``."""
    ls, gs = (model.size.structure for model in _pair(result))
    return Row(
        "state",
        "separate c_t and h_t",
        f"carry ({', '.join(ls.state)}): {ls.state_vectors} vectors",
        "h_t serves as both",
        f"carry ({', '.join(gs.state)}): {gs.state_vectors} vector"
        + ("s" if gs.state_vectors != 1 else ""),
        _verdict(ls.state_vectors == 2 and gs.state_vectors == 1),
        "supported if the final carry the LSTM stack returns holds 2 state vectors (h and c) "
        f"and the GRU's 1 (h): measured {ls.state_vectors} and {gs.state_vectors}.",
    )


def judge_parameters(result: CompareResult) -> Row:
    """Parameters: the GRU has fewer (not tested when the GRU was sized to the LSTM's)."""
    lstm, gru = (model.size for model in _pair(result))
    matched = result.config.match == "params"
    return Row(
        "parameters",
        "more",
        f"{lstm.rnn_params:,} rnn / {lstm.params:,} total",
        "fewer",
        f"{gru.rnn_params:,} rnn / {gru.params:,} total ({gru.params / lstm.params - 1:+.0%})",
        NOT_TESTED if matched else _verdict(gru.params < lstm.params),
        "supported if the GRU's total parameter count (recurrent layers + head) is below the "
        f"LSTM's at the sizes compared (LSTM hidden {lstm.hidden}, GRU hidden {gru.hidden}): "
        f"{gru.params:,} vs {lstm.params:,}."
        + (
            " With --match params the GRU was sized to the LSTM's budget, so this row "
            "does not test the claim (verdict: not tested)."
            if matched
            else ""
        ),
    )


def judge_computational_cost(result: CompareResult) -> Row:
    """Computational cost: the GRU needs fewer FLOPs per step and trains more sequences/s."""
    lstm, gru = _pair(result)
    lf, gf = lstm.size.flops_per_step, gru.size.flops_per_step
    ls, gs = lstm.speed, gru.speed
    return Row(
        "computational cost",
        "higher",
        f"{kilo(lf)} FLOP/step; {kilo(ls.fwd_seq_per_s)} / {kilo(ls.fwd_bwd_seq_per_s)} seq/s",
        "lower",
        f"{kilo(gf)} FLOP/step; {kilo(gs.fwd_seq_per_s)} / {kilo(gs.fwd_bwd_seq_per_s)} seq/s",
        _verdict(gf < lf and gs.fwd_bwd_seq_per_s > ls.fwd_bwd_seq_per_s),
        "supported if the GRU needs fewer FLOPs per time step (rnnax.flops_per_step) AND runs "
        f"more forward+backward sequences per second at T={result.lookback}, "
        f"B={result.config.throughput_batch} (seq/s shown as forward / forward+backward): "
        f"FLOPs {gf:,} vs {lf:,}, forward+backward {gs.fwd_bwd_seq_per_s:,.0f} vs "
        f"{ls.fwd_bwd_seq_per_s:,.0f} seq/s.",
    )


def judge_complexity(result: CompareResult) -> Row:
    """Complexity: one GRU step traces to fewer primitive operations than one LSTM step."""
    ls, gs = (model.size.structure for model in _pair(result))
    return Row(
        "complexity",
        "more complex",
        f"{ls.ops_per_step} ops, {ls.matmuls_per_step} matmuls per step",
        "simpler",
        f"{gs.ops_per_step} ops, {gs.matmuls_per_step} matmuls per step",
        _verdict(gs.ops_per_step < ls.ops_per_step),
        "supported if one GRU cell step traces to fewer primitive operations (jaxpr equations "
        "of rnnax.gru_cell vs rnnax.lstm_cell) than one LSTM step: "
        f"{gs.ops_per_step} vs {ls.ops_per_step}. Gates and state are counted in their own rows.",
    )


def judge_performance(result: CompareResult) -> Row:
    """Performance: the GRU's test MASE is often similar to the LSTM's."""
    lm, gm = (model.forecast.test.mase for model in _pair(result))
    relative = (
        abs(lm.mean - gm.mean) / max(min(lm.mean, gm.mean), 1e-12)
        if lm.mean is not None and gm.mean is not None
        else float("inf")
    )
    overlapping = overlap(lm, gm)
    return Row(
        "performance (forecast)",
        "-",
        f"test MASE {plus_minus(lm)}",
        "often similar",
        f"test MASE {plus_minus(gm)}",
        _verdict(overlapping or relative < SIMILAR_TOLERANCE),
        f"supported if the 95% intervals of test MASE over the {len(result.seeds)} seeds "
        f"overlap, or the means differ by less than {SIMILAR_TOLERANCE:.0%} of the smaller: "
        f"intervals {'overlap' if overlapping else 'do not overlap'}, means differ by "
        f"{relative:.1%}.",
    )


def _reached(model: ModelResult) -> str:
    training = model.training
    if training.time_to_target_s is None:
        return f"target not reached ({training.train_steps} steps)"
    return f"{training.time_to_target_s:.2f} s ({training.steps_to_target} steps) to target"


def judge_training_speed(result: CompareResult) -> Row:
    """Training speed: the GRU reaches the target validation loss in less training time."""
    lstm, gru = _pair(result)
    lt, gt = lstm.training.time_to_target_s, gru.training.time_to_target_s
    faster = gt is not None and (lt is None or gt < lt)
    target = result.target_val_loss
    given = result.config.target_loss is not None
    return Row(
        "training speed",
        "-",
        _reached(lstm),
        "faster training",
        _reached(gru),
        _verdict(faster),
        "supported if the GRU's seed-mean validation loss reaches the target "
        f"{'(none: no finite validation loss)' if target is None else format(target, '.4g')} "
        "in less training wall time (compile excluded) than the LSTM's; the target is "
        + (
            "given by --target."
            if given
            else "1.1 times the larger of the two models' best seed-mean validation losses, "
            "so both can reach it."
        )
        + f" Whole training: LSTM {lstm.training.train_s:.2f} s, GRU {gru.training.train_s:.2f} "
        f"s for {lstm.training.train_steps} steps.",
    )


def judge_memory_control(result: CompareResult) -> Row:
    """Memory control: the LSTM beats the GRU on most memory tasks (adding problem, copy)."""
    tasks = result.memory_tasks
    if not tasks:
        return Row(
            "memory control",
            "can do better",
            "not run",
            "-",
            "not run",
            NOT_TESTED,
            "the memory tasks were skipped (--memory-steps 0).",
        )
    wins = 0
    for task in tasks.values():
        lstm, gru = task.scores["lstm"].score.mean, task.scores["gru"].score.mean
        wins += int((lstm > gru) if task.higher_is_better else (lstm < gru))  # type: ignore[operator]
    return Row(
        "memory control",
        "can do better",
        memory_summary(tasks, "lstm"),
        "-",
        memory_summary(tasks, "gru"),
        _verdict(wins > len(tasks) / 2),
        "supported if the LSTM's seed-mean score beats the GRU's on more than half of the "
        "memory tasks (adding: test MSE, lower is better, trivial 0.167; copy: recall accuracy, "
        f"higher is better): the LSTM is better on {wins} of {len(tasks)}.",
    )


CLAIMS: tuple[Callable[[CompareResult], Row], ...] = (
    judge_gates,
    judge_state,
    judge_parameters,
    judge_computational_cost,
    judge_complexity,
    judge_performance,
    judge_training_speed,
    judge_memory_control,
)
"""Every claim's judge, in the explainer's table order."""


def rows(report: ReportLike) -> list[Row]:
    """The explainer's table with a measured cell beside every claim and a verdict per claim;
    empty when the report does not compare both the LSTM and the GRU (see ``claims_note``).

    ``report``: a :class:`Report`, a :class:`CompareResult` or ``report.json``'s dict.
    """
    result = as_report(report).result
    if not claims_testable(result.cells):
        return []
    return [judge(result) for judge in CLAIMS]


def claims_note(report: ReportLike) -> str | None:
    """Why the explainer's table is missing from a report, or ``None`` when it is there."""
    cells = as_report(report).result.cells
    if claims_testable(cells):
        return None
    missing = " and ".join(repr(cell) for cell in CLAIM_CELLS if cell not in cells)
    return (
        "The explainer's table compares the LSTM and the GRU, so it needs both in --cells; "
        f"this run compared {', '.join(cells)} (no {missing}), so it has no claims table and "
        "no verdicts. Every cell's measurements are in the per-cell table."
    )
