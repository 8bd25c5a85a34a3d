"""``report.json``: the one place the typed results become JSON, and are read back.

:func:`to_json` turns a :class:`~rnnax.compare._results.Report` (or a bare
:class:`~rnnax.compare._results.CompareResult`) into ``report.json``'s dict, key for key in the
order the file has always had; :func:`from_json` reads such a dict back, so the report
functions (``rows``, ``cell_rows``, ...) also take a ``report.json`` that was loaded or edited.
:func:`as_report` accepts any of the three.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from rnnax.compare._config import from_settings, settings
from rnnax.compare._results import (
    SCHEMA,
    Accuracy,
    CompareResult,
    CountingResult,
    CountingScore,
    DatasetInfo,
    Environment,
    ForecastResult,
    LearningRateSearch,
    MeanCI,
    MemoryScore,
    MemoryTaskResult,
    ModelResult,
    ModelSize,
    Report,
    Row,
    Structure,
    Throughput,
    TrainingResult,
    Windows,
)

_COPY_FIELDS = ("symbols", "delay", "num_symbols")
_COUNTING = "counting"
_TASK_FIELDS = ("kind", "sequence_length", "metric", "higher_is_better", "trivial_score", "steps")


# ------------------------------------------------------------------------------ to JSON
def to_json(report: Report | CompareResult) -> dict[str, Any]:
    """``report.json``'s dict of a report (a bare result: without the report's keys)."""
    result = report.result if isinstance(report, Report) else report
    out: dict[str, Any] = {
        "schema": result.schema,
        "dataset": result.dataset,
        "dataset_info": dataclasses.asdict(result.dataset_info),
        "input_size": result.input_size,
        "lookback": result.lookback,
        "horizon": result.horizon,
        "seeds": list(result.seeds),
        "windows": dataclasses.asdict(result.windows),
        "settings": settings(result.config),
        "environment": dataclasses.asdict(result.environment),
        "target_val_loss": result.target_val_loss,
        "baselines": {
            name: dataclasses.asdict(scores) for name, scores in result.baselines.items()
        },
        "models": {cell: _model_json(result, cell) for cell in result.models},
        "memory_tasks": _memory_json(result),
        "throughput_sweep": {
            cell: {
                str(length): dataclasses.asdict(speed) for length, speed in sorted(sweep.items())
            }
            for cell, sweep in result.throughput_sweep.items()
        },
        "wall_s": result.wall_s,
        "learning_rate_search": {
            name: dataclasses.asdict(search) for name, search in result.learning_rates.items()
        },
    }
    if isinstance(report, Report):
        out.update(
            command=report.command,
            table=[row.as_dict() for row in report.table],
            verdicts={row.feature: row.verdict for row in report.table},
            claims={
                row.feature: {
                    "values": row.values,
                    "interval": row.interval,
                    "rule": row.rule,
                    "verdict": row.verdict,
                }
                for row in report.table
            },
            claims_note=report.claims_note,
            plots=list(report.plots),
            out=report.out,
        )
    return out


def _model_json(result: CompareResult, cell: str) -> dict[str, Any]:
    model = result.models[cell]
    size, training, speed, forecast = model.size, model.training, model.speed, model.forecast
    return {
        "hidden": size.hidden,
        "layers": size.layers,
        "rnn_params": size.rnn_params,
        "params": size.params,
        "flops_per_step": size.flops_per_step,
        "structure": size.structure.as_dict(),
        "description": size.description,
        "compile_s": training.compile_s,
        "fwd_compile_s": speed.fwd_compile_s,
        "train_s": training.train_s,
        "train_steps": training.train_steps,
        "fwd_seq_per_s": speed.fwd_seq_per_s,
        "fwd_bwd_seq_per_s": speed.fwd_bwd_seq_per_s,
        "best_val_loss": training.best_val_loss,
        "time_to_target_s": training.time_to_target_s,
        "steps_to_target": training.steps_to_target,
        "learning_rate": training.learning_rate,
        "steps_to_target_per_seed": list(training.steps_to_target_per_seed),
        "chunk_s": list(training.chunk_s),
        "fwd_bwd_seq_per_s_rounds": list(speed.fwd_bwd_seq_per_s_rounds),
        "test": {name: list(pair) for name, pair in _fields(forecast.test).items()},
        "test_per_seed": {
            name: list(values) for name, values in _fields(forecast.test_per_seed).items()
        },
        "interval_coverage": forecast.interval_coverage,
        "memory_tasks": {
            name: task.scores[cell].score.mean for name, task in result.memory_tasks.items()
        },
    }


def _fields(record: Any) -> dict[str, Any]:
    """A dataclass's fields, not copied (``dataclasses.asdict`` would turn pairs into tuples)."""
    return {field.name: getattr(record, field.name) for field in dataclasses.fields(record)}


def _memory_json(result: CompareResult) -> dict[str, Any]:
    """``memory_tasks``: every memory task by name, and the counting languages under
    ``"counting"`` (when they ran)."""
    out: dict[str, Any] = {name: _task_json(task) for name, task in result.memory_tasks.items()}
    if result.counting:
        out[_COUNTING] = {
            language: _counting_json(counting) for language, counting in result.counting.items()
        }
    return out


def _counting_json(counting: CountingResult) -> dict[str, Any]:
    """One counting language, each score with its derived ``mean`` and ``still_improving``."""
    out = dataclasses.asdict(counting)
    for cell, score in counting.scores.items():
        out["scores"][cell].update(mean=score.mean, still_improving=score.still_improving)
    return out


def _task_json(task: MemoryTaskResult) -> dict[str, Any]:
    out: dict[str, Any] = {name: getattr(task, name) for name in _TASK_FIELDS}
    if task.kind == "copy":
        out.update({name: getattr(task, name) for name in _COPY_FIELDS})
    out["curve_steps"] = list(task.curve_steps)
    for cell, score in task.scores.items():
        out[cell] = {
            "score": list(score.score),
            "per_seed": list(score.per_seed),
            "train_s": score.train_s,
            "compile_s": score.compile_s,
            "learning_rate": score.learning_rate,
            "curve": list(score.curve),
            "still_improving": score.still_improving,
        }
    return out


# ------------------------------------------------------------------------------ from JSON
def as_report(report: Report | CompareResult | Mapping[str, Any]) -> Report:
    """A report, from a :class:`Report`, a bare :class:`CompareResult` or ``report.json``'s
    dict (:func:`from_json`)."""
    if isinstance(report, Report):
        return report
    if isinstance(report, CompareResult):
        return Report(report)
    return from_json(report)


def from_json(report: Mapping[str, Any]) -> Report:
    """Reads ``report.json``'s dict (the report's own keys may be missing: a bare result)."""
    models = report["models"]
    result = CompareResult(
        dataset=report["dataset"],
        dataset_info=DatasetInfo(**report["dataset_info"]),
        input_size=report["input_size"],
        lookback=report["lookback"],
        horizon=report["horizon"],
        seeds=list(report["seeds"]),
        windows=Windows(**report["windows"]),
        config=from_settings(report["settings"]),
        environment=Environment(**report["environment"]),
        target_val_loss=report["target_val_loss"],
        baselines={name: Accuracy(**scores) for name, scores in report["baselines"].items()},
        models={cell: _model_from_json(model) for cell, model in models.items()},
        memory_tasks={
            name: _task_from_json(task)
            for name, task in report["memory_tasks"].items()
            if name != _COUNTING
        },
        throughput_sweep={
            cell: {int(length): Throughput(**speed) for length, speed in sweep.items()}
            for cell, sweep in report["throughput_sweep"].items()
        },
        wall_s=report["wall_s"],
        schema=report.get("schema", SCHEMA),
        counting={
            language: _counting_from_json(counting)
            for language, counting in report["memory_tasks"].get(_COUNTING, {}).items()
        },
        learning_rates={
            name: LearningRateSearch(**search)
            for name, search in report.get("learning_rate_search", {}).items()
        },
    )
    return Report(
        result,
        command=report.get("command", ""),
        table=[Row(**row) for row in report.get("table", [])],
        claims_note=report.get("claims_note"),
        plots=list(report.get("plots", [])),
        out=report.get("out"),
    )


def _model_from_json(model: Mapping[str, Any]) -> ModelResult:
    return ModelResult(
        size=ModelSize(
            hidden=model["hidden"],
            layers=model["layers"],
            rnn_params=model["rnn_params"],
            params=model["params"],
            flops_per_step=model["flops_per_step"],
            structure=Structure(**model["structure"]),
            description=model.get("description", ""),
        ),
        training=TrainingResult(
            **{
                field.name: model[field.name]
                for field in dataclasses.fields(TrainingResult)
                if field.name in model
            }
        ),
        speed=Throughput(
            **{
                field.name: model[field.name]
                for field in dataclasses.fields(Throughput)
                if field.name in model
            }
        ),
        forecast=ForecastResult(
            test=Accuracy(**{name: MeanCI(*pair) for name, pair in model["test"].items()}),
            test_per_seed=Accuracy(
                **{name: list(values) for name, values in model["test_per_seed"].items()}
            ),
            interval_coverage=model["interval_coverage"],
        ),
    )


def _task_from_json(task: Mapping[str, Any]) -> MemoryTaskResult:
    known = {*_TASK_FIELDS, *_COPY_FIELDS, "curve_steps"}
    scores = {
        cell: MemoryScore(
            score=MeanCI(*entry["score"]),
            per_seed=list(entry["per_seed"]),
            train_s=entry["train_s"],
            compile_s=entry["compile_s"],
            learning_rate=entry.get("learning_rate"),
            curve=list(entry.get("curve", [])),
        )
        for cell, entry in task.items()
        if cell not in known
    }
    return MemoryTaskResult(
        **{name: task[name] for name in _TASK_FIELDS},
        scores=scores,
        symbols=task.get("symbols"),
        delay=task.get("delay"),
        num_symbols=task.get("num_symbols"),
        curve_steps=list(task.get("curve_steps", [])),
    )


def _counting_from_json(counting: Mapping[str, Any]) -> CountingResult:
    return CountingResult(
        **{key: value for key, value in counting.items() if key != "scores"},
        scores={
            cell: CountingScore(
                largest_n=list(score["largest_n"]),
                learning_rate=score.get("learning_rate"),
                curve=list(score.get("curve", [])),
            )
            for cell, score in counting["scores"].items()
        },
    )
