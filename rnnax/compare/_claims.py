"""The explainer's claims, judged: one small function per row of its table.

Each ``judge_*`` function takes a :class:`~rnnax.compare._results.CompareResult` that holds the
LSTM and the GRU and returns a :class:`~rnnax.compare._results.Row`: the claim, the values
measured for each cell, the verdict and the rule that decided it, with the numbers compared.
``CLAIMS`` lists them in the table's order; :func:`rows` applies them all.

Counts (gates, state, parameters, complexity) are exact. Every other claim rests on a 95%
interval of a paired comparison (``rnnax._statistics``: seeds paired by seed, timings by
round) and a margin inside which the two models count as the same, so a verdict can also be
``"inconclusive"``: the interval allows either answer.

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

import functools
from collections.abc import Callable, Mapping
from typing import Any

from rnnax._statistics import Interval, combined_ratio, paired_difference, paired_ratio, verdict
from rnnax.compare import _memory_claim
from rnnax.compare._cells import CLAIM_CELLS, claims_testable
from rnnax.compare._format import kilo, plus_minus
from rnnax.compare._json import as_report
from rnnax.compare._results import CompareResult, ModelResult, Report, Row

LEVEL = 0.95
"""The confidence level of every interval a verdict rests on."""

PERFORMANCE_MARGIN = 0.10
""""Similar performance": the interval of the paired test-MASE difference (GRU - LSTM) lies
within this fraction of the LSTM's mean test MASE, either way."""

SPEED_MARGIN = 0.05
"""Throughput ratios within this fraction of 1 are "similar": no faster, no slower."""

TIME_MARGIN = 0.10
"""Time-to-target ratios within this fraction of 1 are "similar"."""

SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"
INCONCLUSIVE = "inconclusive"
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
        values={"gate_blocks": {"lstm": ls.gate_blocks, "gru": gs.gate_blocks}},
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
        values={"state_vectors": {"lstm": ls.state_vectors, "gru": gs.state_vectors}},
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
        values={
            "params": {"lstm": lstm.params, "gru": gru.params},
            "rnn_params": {"lstm": lstm.rnn_params, "gru": gru.rnn_params},
        },
    )


def _interval(interval: Interval, of: str) -> dict[str, Any]:
    """An interval as ``report.json``'s ``claims.<name>.interval``, saying what it is of."""
    return {"of": of, **{key: _round(value) for key, value in interval.as_dict().items()}}


def _round(value: Any) -> Any:
    return round(value, 6) if isinstance(value, float) else value


def _per_seed(values: list[float | None]) -> list[float] | None:
    """Per-seed values as floats, or ``None`` when one is missing (a diverged seed)."""
    return None if any(value is None for value in values) else [float(v) for v in values]  # type: ignore[arg-type]


def _speed_interval(lstm: ModelResult, gru: ModelResult) -> Interval | None:
    """GRU / LSTM forward+backward sequences per second, paired over the timing rounds."""
    first, second = gru.speed.fwd_bwd_seq_per_s_rounds, lstm.speed.fwd_bwd_seq_per_s_rounds
    if len(first) < 2 or len(first) != len(second):
        return None
    return paired_ratio(first, second, level=LEVEL)


def judge_computational_cost(result: CompareResult) -> Row:
    """Computational cost: the GRU needs fewer FLOPs per step and trains more sequences/s."""
    lstm, gru = _pair(result)
    lf, gf = lstm.size.flops_per_step, gru.size.flops_per_step
    ls, gs = lstm.speed, gru.speed
    ratio = _speed_interval(lstm, gru)
    speed = "not measured" if ratio is None else verdict(ratio, margin=SPEED_MARGIN, reference=1.0)
    if gf >= lf or speed in ("lower", "similar"):
        decided = NOT_SUPPORTED
    elif speed == "higher":
        decided = SUPPORTED
    else:
        decided = INCONCLUSIVE
    measured = (
        "not measured"
        if ratio is None
        else f"{ratio.estimate:.3f} [{ratio.low:.3f}, {ratio.high:.3f}] over {ratio.n} rounds"
    )
    return Row(
        "computational cost",
        "higher",
        f"{kilo(lf)} FLOP/step; {kilo(ls.fwd_seq_per_s)} / {kilo(ls.fwd_bwd_seq_per_s)} seq/s",
        "lower",
        f"{kilo(gf)} FLOP/step; {kilo(gs.fwd_seq_per_s)} / {kilo(gs.fwd_bwd_seq_per_s)} seq/s",
        decided,
        "supported if the GRU needs fewer FLOPs per time step (rnnax.flops_per_step) AND its "
        "forward+backward throughput is higher: the 95% interval of the GRU/LSTM ratio of "
        f"sequences per second (T={result.lookback}, B={result.config.throughput_batch}, the "
        "cells timed in alternation, paired by round) lies wholly above 1 and not wholly "
        f"inside 1 ± {SPEED_MARGIN:.0%} (wholly inside it the speeds are similar: not "
        f"supported); inconclusive if it reaches below 1 and beyond the band. FLOPs {gf:,} vs "
        f"{lf:,}; ratio "
        f"{measured} ({speed}). Seq/s shown as forward / forward+backward medians.",
        values={
            "flops_per_step": {"lstm": lf, "gru": gf},
            "fwd_bwd_seq_per_s_rounds": {
                "lstm": ls.fwd_bwd_seq_per_s_rounds,
                "gru": gs.fwd_bwd_seq_per_s_rounds,
            },
        },
        interval=None if ratio is None else _interval(ratio, "GRU / LSTM fwd+bwd seq/s"),
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
        values={
            "ops_per_step": {"lstm": ls.ops_per_step, "gru": gs.ops_per_step},
            "matmuls_per_step": {"lstm": ls.matmuls_per_step, "gru": gs.matmuls_per_step},
        },
    )


def judge_performance(result: CompareResult) -> Row:
    """Performance: the GRU's test MASE is often similar to the LSTM's."""
    lstm, gru = _pair(result)
    lm, gm = lstm.forecast.test.mase, gru.forecast.test.mase
    first = _per_seed(gru.forecast.test_per_seed.mase)
    second = _per_seed(lstm.forecast.test_per_seed.mase)
    values = {"test_mase_per_seed": {"lstm": second, "gru": first}}
    row = functools.partial(
        Row,
        "performance (forecast)",
        "-",
        f"test MASE {plus_minus(lm)}",
        "often similar",
        f"test MASE {plus_minus(gm)}",
        values=values,
    )
    if first is None or second is None or len(first) < 2:
        return row(NOT_TESTED, "needs at least 2 seeds with a finite test MASE for both models.")
    difference = paired_difference(first, second, level=LEVEL)
    margin = PERFORMANCE_MARGIN * float(lm.mean or 0.0)
    said = verdict(difference, margin=margin)
    return row(
        {"similar": SUPPORTED, "inconclusive": INCONCLUSIVE}.get(said, NOT_SUPPORTED),
        f"supported if the 95% t interval of the paired test-MASE difference GRU - LSTM over "
        f"the {difference.n} seeds lies within ± {PERFORMANCE_MARGIN:.0%} of the LSTM's mean "
        f"(± {margin:.3f}); not supported if it lies wholly on one side of 0 and not wholly "
        f"inside that band (one model is better); inconclusive otherwise: difference "
        f"{difference.estimate:+.3f} [{difference.low:+.3f}, {difference.high:+.3f}] ({said}).",
        interval={**_interval(difference, "GRU - LSTM test MASE"), "margin": round(margin, 6)},
    )


def _time_to_target(result: CompareResult) -> tuple[Interval | None, dict[str, Any]]:
    """The GRU/LSTM ratio of training time to the target, with its interval: steps to it
    (paired over seeds; a seed that never reached it counts as the budget plus one chunk)
    times seconds per chunk (paired over the alternating chunks)."""
    lstm, gru = (model.training for model in _pair(result))
    budget = lstm.train_steps + result.config.eval_every
    steps = {
        cell: [budget if value is None else value for value in training.steps_to_target_per_seed]
        for cell, training in (("lstm", lstm), ("gru", gru))
    }
    values = {
        "steps_to_target_per_seed": {
            "lstm": lstm.steps_to_target_per_seed,
            "gru": gru.steps_to_target_per_seed,
        },
        "chunk_s": {"lstm": lstm.chunk_s, "gru": gru.chunk_s},
    }
    chunks = min(len(lstm.chunk_s), len(gru.chunk_s))
    if len(steps["lstm"]) < 2 or len(steps["lstm"]) != len(steps["gru"]) or chunks < 2:
        return None, values
    step_ratio = paired_ratio(steps["gru"], steps["lstm"], level=LEVEL)
    time_ratio = paired_ratio(gru.chunk_s[:chunks], lstm.chunk_s[:chunks], level=LEVEL)
    values["steps_ratio"] = _interval(step_ratio, "GRU / LSTM steps to target")
    values["seconds_per_chunk_ratio"] = _interval(time_ratio, "GRU / LSTM seconds per chunk")
    return combined_ratio(step_ratio, time_ratio, level=LEVEL), values


def _reached(model: ModelResult) -> str:
    training = model.training
    if training.time_to_target_s is None:
        return f"target not reached ({training.train_steps} steps)"
    return f"{training.time_to_target_s:.2f} s ({training.steps_to_target} steps) to target"


def judge_training_speed(result: CompareResult) -> Row:
    """Training speed: the GRU reaches the target validation loss in less training time."""
    lstm, gru = _pair(result)
    target = result.target_val_loss
    ratio, values = (None, {}) if target is None else _time_to_target(result)
    said = "not measured" if ratio is None else verdict(ratio, margin=TIME_MARGIN, reference=1.0)
    decided = {"lower": SUPPORTED, "inconclusive": INCONCLUSIVE, "not measured": NOT_TESTED}.get(
        said, NOT_SUPPORTED
    )
    given = result.config.target_loss is not None
    measured = (
        "not measured"
        if ratio is None
        else f"{ratio.estimate:.3f} [{ratio.low:.3f}, {ratio.high:.3f}]"
    )
    return Row(
        "training speed",
        "-",
        _reached(lstm),
        "faster training",
        _reached(gru),
        decided,
        "supported if the GRU reaches the target validation loss "
        f"{'(none: no finite validation loss)' if target is None else format(target, '.4g')} in "
        "less training time: the 95% interval of the GRU/LSTM ratio of time to target lies "
        f"wholly below 1 and not wholly inside 1 ± {TIME_MARGIN:.0%}; not supported if it lies "
        "wholly above 1 or wholly inside that band; inconclusive otherwise. Time to target = "
        "steps until each seed's own "
        "validation loss first reaches the target (paired over seeds; never: the budget plus "
        f"one chunk of {result.config.eval_every} steps) x seconds per chunk (the models' chunks "
        "alternate, paired by chunk; compile excluded, validation included); the two intervals "
        f"combine on the log scale. Ratio {measured} ({said}). The target is "
        + (
            "given by --target."
            if given
            else "1.1 times the larger of the two models' best seed-mean validation losses, "
            "so both can reach it."
        )
        + f" Whole training: LSTM {lstm.training.train_s:.2f} s, GRU {gru.training.train_s:.2f} "
        f"s for {lstm.training.train_steps} steps (learning rates {lstm.training.learning_rate:g} "
        f"and {gru.training.learning_rate:g}, each the search's choice).",
        values=values,
        interval=None if ratio is None else _interval(ratio, "GRU / LSTM time to target"),
    )


def judge_memory_control(result: CompareResult) -> Row:
    """Memory control: the LSTM does better on the memory and counting tasks
    (``rnnax.compare._memory_claim``)."""
    outcomes = _memory_claim.outcomes(result)
    lstm_summary = _memory_claim.summary(result, "lstm")
    gru_summary = _memory_claim.summary(result, "gru")
    if not outcomes:
        return Row(
            "memory control",
            "can do better",
            "not run",
            "-",
            "not run",
            NOT_TESTED,
            "the memory and counting tasks were skipped (--memory-steps 0, --counting-steps 0).",
        )
    decided = {"lstm": SUPPORTED, "gru": NOT_SUPPORTED, "inconclusive": INCONCLUSIVE}[
        _memory_claim.tally(outcomes)
    ]
    return Row(
        "memory control",
        "can do better",
        lstm_summary,
        "-",
        gru_summary,
        decided,
        _memory_claim.RULE + " " + _memory_claim.describe(outcomes),
        values={name: outcome.values for name, outcome in outcomes.items()},
        interval={name: outcome.interval for name, outcome in outcomes.items()},
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
