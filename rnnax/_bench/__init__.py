"""``rnnax bench``: rnnax's strategies timed against flax (linen, nnx), equinox and PyTorch.

The command line is ``rnnax bench`` (see ``rnnax bench --help``); :func:`main` is its entry
point. Every implementation runs in one process, interleaved: each repeat times every
(implementation, mode) once, round-robin; JAX functions are compiled ahead of time, warmed up
and timed to ``jax.block_until_ready``; the median over repeats is reported and every sample
kept; forward+backward is the gradient of ``sum(ys ** 2)`` with respect to the parameters and
the inputs; the GEMM ceiling is measured in the same run, and the machine
(``rnnax._machine``), library versions and shapes are written next to the timings.

The modules: ``_options`` (the command line), ``_impl`` (an implementation ready to time),
``_weights`` (the shared weights), ``_variants`` (which rnnax variants run), ``builders`` (one
module per library), ``_timing``, ``_ceilings`` (GEMM ceiling, latency floor), ``_recommend``
(fastest strategy per cell), ``_report`` (Markdown), ``_plot`` (sweep plot) and ``_run`` (one
run, its files). Nothing here imports JAX at module level: ``--host-devices`` must set the CPU
device count first.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None, *, prog: str = "rnnax bench") -> int:
    """Runs ``rnnax bench`` with ``argv``; returns the exit status (usage errors exit)."""
    from rnnax._bench._run import main as run

    return run(argv, prog=prog)
