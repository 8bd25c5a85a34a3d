"""The Markdown report: per configuration a table of every implementation, the sweep tables,
the fastest strategy per cell, and the errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rnnax._bench._options import AXES


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.2f}"


def _num(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def mode_value(entry: dict[str, Any], mode: str, key: str) -> Any:
    return entry.get(mode, {}).get(key)


def _compile_s(entry: dict[str, Any]) -> str:
    record = entry.get(primary_mode(entry), {})
    if "compile_s" in record:
        return f"{record['lower_s'] + record['compile_s']:.2f}"
    if "first_call_minus_median_s" in record:  # negative when the first call was lucky
        return f"{max(record['first_call_minus_median_s'], 0.0):.2f}\u2020"
    return "-"


def _temp_mib(entry: dict[str, Any]) -> str:
    memory = entry.get("fwdbwd", {}).get("memory", {})
    value = memory.get("temp_bytes", memory.get("saved_for_backward_bytes"))
    if value is None:
        return "-"
    mark = "\u2021" if memory.get("kind") == "torch_saved_tensors" else ""
    return f"{value / 2**20:.3g}{mark}"


def primary_mode(entry: dict[str, Any]) -> str:
    """The mode the per-step, throughput and ratio columns show: fwd+bwd when it was run."""
    return "fwdbwd" if entry.get("fwdbwd", {}).get("median_s") is not None else "fwd"


def _ratio(entry: dict[str, Any], reference: dict[str, Any] | None) -> str:
    mode = primary_mode(entry)
    mine = mode_value(entry, mode, "median_s")
    theirs = None if reference is None else mode_value(reference, mode, "median_s")
    if mine is None or theirs is None:
        return "-"
    return f"{mine / theirs:.2f}"


def _latency_floor_line(latency: dict[str, Any] | None) -> list[str]:
    if not latency:
        return []
    parts = [
        f"empty scan {_num(latency.get('scan_fwd_us_per_step'), '.2f')} \u00b5s/step fwd, "
        f"{_num(latency.get('scan_fwdbwd_us_per_step'), '.2f')} fwd+bwd"
    ]
    if "pallas_loop_us_per_step" in latency:
        parts.append(
            "trivial Pallas time loop "
            f"{_num(latency.get('pallas_loop_us_per_step'), '.2f')} \u00b5s/step"
        )
    parts.append(f"one launch {_num(latency.get('launch_us'), '.1f')} \u00b5s")
    return [
        f"Latency floor (measured in this run): {'; '.join(parts)}. \u00d7 floor: "
        "\u00b5s/step over the empty scan's, same mode.",
        "",
    ]


def config_table(
    entries: list[dict[str, Any]],
    gemm: dict[str, Any] | None,
    latency: dict[str, Any] | None = None,
) -> str:
    cell, shape, dtype = entries[0]["cell"], entries[0]["shape"], entries[0]["dtype"]
    flops = entries[0]["flops_per_step"]
    floor = ""
    if gemm:
        floor_s = 3 * flops * shape["B"] * shape["T"] / (gemm["gflops"] * 1e9)
        floor = f"; fwd+bwd FLOP floor at the GEMM ceiling {floor_s * 1e3:.2f} ms"
    extra = " \u00d7 floor |" if latency else ""
    anchor = []
    if (shape["B"], shape["T"], shape["H"]) == (16, 1024, 768):
        anchor = [
            "Published anchor at this shape (docs/PERFORMANCE.md, H100): cuDNN through torch "
            "`nn.LSTM` fp16 2.0 ms fwd, 5.2 ms fwd+bwd (about 2 \u00b5s per step).",
            "",
        ]
    lines = [
        (f"### {cell.upper()} B={shape['B']} T={shape['T']} I={shape['I']} H={shape['H']} {dtype}"),
        "",
        f"{flops:,} FLOP per step per sequence (forward){floor}.",
        "",
        *anchor,
        *_latency_floor_line(latency),
        (
            "| implementation | fwd ms | fwd+bwd ms | \u00b5s/step | seq/s | GFLOP/s | % GEMM "
            "| compile s | bwd temp MiB | \u00d7 linen | \u00d7 torch |" + extra
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if latency else ""),
    ]
    linen = next((e for e in entries if e["impl"] == "flax.linen" and not e["error"]), None)
    torch = next((e for e in entries if e["impl"] == "torch" and not e["error"]), None)
    for entry in entries:
        name = entry["label"]
        auto = entry.get("options", {}).get("auto")
        if auto:
            parts = [auto.get("resolves_to", "?")]
            if auto.get("batch_devices", 1) > 1:
                parts.append(f"batch over {auto['batch_devices']} devices")
            name += f" ({', '.join(parts)})"
        if entry["error"]:
            lines.append(
                f"| {name} | error: {entry['error'][:80]} |" + " |" * (10 if latency else 9)
            )
            continue
        main = entry.get(primary_mode(entry), {})
        percent = main.get("fraction_of_gemm")
        lines.append(
            f"| {name} | {_ms(mode_value(entry, 'fwd', 'median_s'))} "
            f"| {_ms(mode_value(entry, 'fwdbwd', 'median_s'))} "
            f"| {_num(main.get('us_per_step'), '.1f')} | {_num(main.get('seq_per_s'), ',.0f')} "
            f"| {_num(main.get('gflops'), '.1f')} "
            f"| {_num(None if percent is None else 100 * percent, '.0f')} "
            f"| {_compile_s(entry)} | {_temp_mib(entry)} "
            f"| {_ratio(entry, linen)} | {_ratio(entry, torch)} |"
            + (f" {_num(main.get('floor_multiple'), '.1f')} |" if latency else "")
        )
    return "\n".join(lines)


def sweep_tables(entries: list[dict[str, Any]], axes: Sequence[str]) -> list[str]:
    blocks = []
    for cell in sorted({e["cell"] for e in entries}):
        for dtype in sorted({e["dtype"] for e in entries}):
            for axis in axes:
                chosen = [
                    e
                    for e in entries
                    if e["cell"] == cell and e["dtype"] == dtype and axis in e["sweep_axes"]
                ]
                if not chosen:
                    continue
                values = sorted({e["shape"][axis] for e in chosen})
                labels = list(dict.fromkeys(e["label"] for e in chosen))
                lines = [
                    f"### Sweep over {axis}: {cell.upper()} {dtype}, fwd+bwd \u00b5s per step",
                    "",
                    "| implementation | " + " | ".join(f"{axis}={v}" for v in values) + " |",
                    "|---|" + "---:|" * len(values),
                ]
                for label in labels:
                    cells = []
                    for value in values:
                        match = next(
                            (
                                e
                                for e in chosen
                                if e["label"] == label and e["shape"][axis] == value
                            ),
                            None,
                        )
                        us = None if match is None else mode_value(match, "fwdbwd", "us_per_step")
                        cells.append("-" if us is None else f"{us:.1f}")
                    lines.append(f"| {label} | " + " | ".join(cells) + " |")
                blocks.append("\n".join(lines))
    return blocks


def markdown_report(report: dict[str, Any]) -> str:
    """The benchmark's report.md: the run's header, one table per cell, shape and dtype, the
    sweep tables, the strategy recommendation and any errors."""
    lines = [*_header_lines(report), *_shape_table_lines(report)]
    sweep_axes = report["settings"].get("sweep") or []
    if sweep_axes:
        for block in sweep_tables(report["results"], sweep_axes):
            lines += [block, ""]
    lines += recommendation_lines(report.get("auto_recommendation") or {})
    errors = [e for e in report["results"] if e["error"]]
    if errors:
        lines += ["## Errors", ""]
        lines += [
            f"- {e['label']} {e['cell']} {e['shape']} {e['dtype']}: {e['error']}" for e in errors
        ]
        lines += [""]
    return "\n".join(lines)


def _header_lines(report: dict[str, Any]) -> list[str]:
    """The title, the machine, versions and settings, the GEMM ceilings and the legend."""
    machine, versions, settings = report["machine"], report["versions"], report["settings"]
    cpu = machine["cpu"]
    lines = [
        f"# rnnax benchmark: {machine['name']} ({settings['mode']})",
        "",
        f"- created: {report['created']}; command: `{' '.join(report['argv']) or '(defaults)'}`",
        (
            f"- machine: {machine['platform']} / {machine['device_kind']} x{machine['device_count']}; "
            f"CPU {cpu.get('model')}, {machine['usable_cores']} usable cores; "
            f"{machine['cpu_device_count']} JAX CPU device(s); torch threads "
            f"{machine['torch'].get('threads', '-')}; load average (1/5/15 min) "
            f"{machine['load_average_start']} at start, {machine['load_average_end']} at end"
        ),
        "- versions: " + ", ".join(f"{k} {v}" for k, v in versions.items() if v),
        f"- rnnax commit: {report.get('rnnax_commit')}; strategies: "
        + (", ".join(settings["strategies"]) or "(no strategy keyword)"),
        (
            f"- {settings['repeats']} interleaved repeats after {settings['warmup']} warm-up calls; "
            "median reported"
        ),
        *(f"- note: {note}" for note in report.get("notes", [])),
    ]
    for dtype, gemm in report["gemm"].items():
        lines.append(
            f"- GEMM ceiling ({gemm['size']}\u00b2 {dtype} matmul, jitted): "
            f"{gemm['gflops']:.0f} GFLOP/s ({gemm['median_s'] * 1e3:.2f} ms)"
        )
    return [*lines, "", _LEGEND, ""]


_LEGEND = (
    "fwd+bwd is the gradient of sum(ys\u00b2) w.r.t. the parameters and the inputs. "
    "\u00b5s/step, seq/s, GFLOP/s, % GEMM, compile s and the ratios are for fwd+bwd "
    "(fwd when only fwd was run; backward counted as 2x forward). compile s: lower+compile "
    "(\u2020 torch: first call minus median). bwd temp MiB: XLA's temp buffer size for "
    "fwd+bwd (\u2021 torch: tensors autograd saved for the backward pass). \u00d7 linen, "
    "\u00d7 torch: time over flax.linen's / torch's for the same cell and shape (< 1 is faster). "
    "torch's and flax's GRUs are the reset_after form: compare them with "
    "rnnax[...,reset_after]."
)


def _shape_table_lines(report: dict[str, Any]) -> list[str]:
    """One table per (cell, shape, dtype) of the shape set (sweep-only points are left to the
    sweep tables), each followed by the agreement of the frameworks' outputs."""
    in_sweep_only = {
        id(e) for e in report["results"] if e["sweep_axes"] and not e.get("in_shape_set")
    }
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for entry in report["results"]:
        if id(entry) in in_sweep_only:
            continue
        key = (entry["cell"], tuple(entry["shape"].values()), entry["dtype"])
        groups.setdefault(key, []).append(entry)
    lines: list[str] = []
    for entries in groups.values():
        name = config_key(entries[0])
        lines += [
            config_table(
                entries, report["gemm"].get(entries[0]["dtype"]), report.get("floor", {}).get(name)
            ),
            "",
        ]
        diffs = report["agreement"].get(name)
        if diffs:
            lines += [
                "Max |ys - rnnax| with shared weights: "
                + ", ".join(f"{label} {value:.1e}" for label, value in diffs.items()),
                "",
            ]
    return lines


def config_key(entry: dict[str, Any]) -> str:
    shape = entry["shape"]
    sizes = "-".join(f"{axis}{shape[axis]}" for axis in AXES)
    return f"{entry['cell']}-{sizes}-{entry['dtype']}"


def recommendation_lines(recommendation: dict[str, Any]) -> list[str]:
    if not recommendation:
        return []
    lines = [
        "## Fastest rnnax strategy (the measurement hook for each cell's `auto`)",
        "",
        "Per registered cell and dtype over this run's shapes: the strategy with the smallest "
        "geometric-mean time (fwd+bwd where run), shapes won, and each strategy's "
        "geometric-mean time over the fastest per shape. A choice for a cell's "
        "`rnnax.Cell.auto` needs a run at rest over the shapes that matter.",
        "",
        "| cell | dtype | fastest | wins | \u00d7 fastest (geomean) |",
        "|---|---|---|---|---|",
    ]
    for form, per_dtype in recommendation.items():
        for dtype, row in per_dtype.items():
            wins = ", ".join(f"{k} {v}" for k, v in sorted(row["wins"].items()))
            rel = ", ".join(
                f"{k} {v:.2f}"
                for k, v in sorted(row["geomean_vs_fastest"].items(), key=lambda item: item[1])
            )
            lines.append(f"| {form} | {dtype} | {row['fastest']} | {wins} | {rel} |")
    return [*lines, ""]
