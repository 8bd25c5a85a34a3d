"""The sweep plot: time per step against each swept axis (matplotlib, optional)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rnnax._io import write_atomically


def plot_sweep(report: dict[str, Any], path: Path) -> bool:
    """Time per step (fwd+bwd, solid; fwd, dashed) against each swept axis; one panel each."""
    axes_names = report["settings"].get("sweep") or []
    entries = [e for e in report["results"] if e["sweep_axes"] and not e["error"]]
    if not axes_names or not entries:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted({(e["cell"], e["dtype"]) for e in entries})
    figure, grid = plt.subplots(
        len(rows), len(axes_names), squeeze=False, figsize=(5 * len(axes_names), 3.8 * len(rows))
    )
    for row, (cell, dtype) in enumerate(rows):
        labels = list(dict.fromkeys(e["label"] for e in entries if e["cell"] == cell))
        for column, axis in enumerate(axes_names):
            panel = grid[row][column]
            for index, label in enumerate(labels):
                chosen = sorted(
                    (
                        e
                        for e in entries
                        if e["cell"] == cell
                        and e["dtype"] == dtype
                        and e["label"] == label
                        and axis in e["sweep_axes"]
                    ),
                    key=lambda e: e["shape"][axis],
                )
                color = f"C{index % 10}"
                for mode, style in (("fwdbwd", "-"), ("fwd", "--")):
                    points = [
                        (e["shape"][axis], e[mode]["us_per_step"])
                        for e in chosen
                        if "us_per_step" in e.get(mode, {})
                    ]
                    if points:
                        xs, ys = zip(*points, strict=True)
                        panel.plot(
                            xs,
                            ys,
                            style,
                            marker="o",
                            markersize=3,
                            color=color,
                            label=label if mode == "fwdbwd" else None,
                        )
            base = report["settings"]["sweep_base"]
            fixed = ", ".join(f"{k}={v}" for k, v in base.items() if k != axis)
            panel.set_title(f"{cell.upper()} {dtype}: vs {axis} ({fixed})", fontsize=9)
            panel.set_xlabel(axis)
            panel.set_ylabel("\u00b5s per step (solid fwd+bwd, dashed fwd)")
            panel.set_xscale("log", base=2)
            ticks = sorted({e["shape"][axis] for e in entries if axis in e["sweep_axes"]})
            panel.set_xticks(ticks, [str(tick) for tick in ticks])
            panel.minorticks_off()
            panel.set_yscale("log")
            panel.grid(True, which="both", alpha=0.3)
            panel.legend(fontsize=7)
    figure.suptitle(f"rnnax benchmark, {report['machine']['name']}", fontsize=11)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    write_atomically(path, buffer.getvalue())
    return True
