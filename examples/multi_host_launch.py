"""Data-parallel training over several hosts (or one) with ``rnnax.training.fit(mesh=...)``.

A worked launch. Start the same script once per host (per process); every process runs the
same program on its own devices, and JAX joins them into one set of global devices:

    # host 0 (the coordinator), and host 1; 2 processes in all
    python examples/multi_host_launch.py --coordinator 10.0.0.1:1234 \
        --num-processes 2 --process-id 0
    python examples/multi_host_launch.py --coordinator 10.0.0.1:1234 \
        --num-processes 2 --process-id 1

The three values may come from the environment instead (``RNNAX_COORDINATOR``,
``RNNAX_NUM_PROCESSES``, ``RNNAX_PROCESS_ID``); under SLURM, Open MPI or on Cloud TPU pass
``--auto`` and ``jax.distributed.initialize()`` reads them from the cluster. CPU hosts need
``--cpu-collectives gloo`` (GPUs use NCCL, TPUs their interconnect). Without a coordinator the
script runs as a single process over the local devices, e.g. 4 simulated CPU devices:

    XLA_FLAGS=--xla_force_host_platform_device_count=4 python examples/multi_host_launch.py

What every process does:

1. ``jax.distributed.initialize(...)``, before any other JAX call.
2. One global mesh over ``jax.devices()`` (every host's devices) with a ``"data"`` axis.
3. Load only its own contiguous slice of the training windows, and assemble the global array
   with ``jax.make_array_from_process_local_data``: no host ever holds the whole data set.
4. Call ``fit`` with the same arguments and the mesh: each minibatch is split over all the
   devices, XLA all-reduces the gradients across hosts, and every process gets the same
   (replicated) parameters back.
5. Only process 0 prints.

Checked on one 2-core machine as 2 processes x 2 CPU devices (``XLA_FLAGS=
--xla_force_host_platform_device_count=2``, ``--cpu-collectives gloo``, coordinator
``127.0.0.1:PORT``): the 4 global devices train together and the first epoch's losses equal a
single process with 4 devices to 7 digits; later epochs drift apart slowly, as any change of
the all-reduce's summation order makes them (Adam amplifies such rounding differences).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--coordinator",
        default=os.environ.get("RNNAX_COORDINATOR"),
        help="host:port of process 0 (default: $RNNAX_COORDINATOR); none: one process",
    )
    parser.add_argument(
        "--num-processes", type=int, default=int(os.environ.get("RNNAX_NUM_PROCESSES", "1"))
    )
    parser.add_argument(
        "--process-id", type=int, default=int(os.environ.get("RNNAX_PROCESS_ID", "0"))
    )
    parser.add_argument(
        "--auto",
        action="store_true",
        help="let jax.distributed.initialize() detect the cluster (SLURM, MPI, TPU)",
    )
    parser.add_argument(
        "--cpu-collectives",
        choices=("gloo", "mpi"),
        default=None,
        help="cross-process collectives for CPU-only hosts",
    )
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-per-device", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=32)
    return parser.parse_args(argv)


def windows(
    num_points: int = 2400, lookback: int = 48, horizon: int = 12
) -> tuple[np.ndarray, np.ndarray]:
    """A noisy two-season series cut into ``[W, lookback, 1]`` inputs, ``[W, horizon, 1]`` targets
    (deterministic: every process builds the same windows and keeps its own slice)."""
    rng = np.random.default_rng(0)
    t = np.arange(num_points, dtype=np.float32)
    series = (
        np.sin(2 * np.pi * t / 24)
        + 0.5 * np.sin(2 * np.pi * t / 168)
        + 0.1 * rng.standard_normal(num_points)
    ).astype(np.float32)
    cut = np.lib.stride_tricks.sliding_window_view(series, lookback + horizon)
    return np.ascontiguousarray(cut[:, :lookback, None]), np.ascontiguousarray(
        cut[:, lookback:, None]
    )


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    import jax  # after parsing: --help should not start JAX

    if args.cpu_collectives is not None:
        jax.config.update("jax_cpu_collectives_implementation", args.cpu_collectives)
    if args.auto:
        jax.distributed.initialize()
    elif args.coordinator is not None:
        jax.distributed.initialize(
            coordinator_address=args.coordinator,
            num_processes=args.num_processes,
            process_id=args.process_id,
        )
    from jax.sharding import NamedSharding, PartitionSpec

    from rnnax import forecasting, training

    # 2. The global mesh: all devices of all processes, one "data" axis.
    mesh = jax.make_mesh((jax.device_count(),), ("data",))
    processes, me = jax.process_count(), jax.process_index()

    # 3. Each process's contiguous slice of the training windows becomes one global array.
    inputs, targets = windows()
    num_val = inputs.shape[0] // 5
    train_inputs, train_targets = inputs[:-num_val], targets[:-num_val]
    usable = train_inputs.shape[0] - train_inputs.shape[0] % jax.device_count()  # equal shards
    split = NamedSharding(mesh, PartitionSpec("data"))
    # Which rows this process's devices hold depends on the mesh's device order, so ask the
    # sharding rather than assume process p holds the p-th block.
    held = split.addressable_devices_indices_map((usable, *train_inputs.shape[1:])).values()
    mine = slice(min(index[0].start for index in held), max(index[0].stop for index in held))
    train = tuple(
        jax.make_array_from_process_local_data(split, local[mine], (usable, *local.shape[1:]))
        for local in (train_inputs, train_targets)
    )
    # The validation windows are small: every process holds all of them (replicated).
    everywhere = NamedSharding(mesh, PartitionSpec())
    val = tuple(
        jax.make_array_from_process_local_data(everywhere, local)
        for local in (inputs[-num_val:], targets[-num_val:])
    )

    # 4. The same fit call on every process, with the mesh.
    model = forecasting.forecaster(
        forecasting.ForecasterConfig(horizon=12, hidden=args.hidden, centering="last")
    )
    start = time.perf_counter()
    result = training.fit(
        model,
        model.init(jax.random.key(0)),
        train,
        val,
        epochs=args.epochs,
        batch_size=args.batch_per_device * jax.device_count(),
        learning_rate=3e-3,
        progress=False,
        mesh=mesh,
    )
    seconds = time.perf_counter() - start

    # 5. Report once.
    summary = {
        "processes": processes,
        "devices": jax.device_count(),
        "train_windows": int(train[0].shape[0]),
        "first_val_loss": result.history.val_loss[0],
        "best_val_loss": result.state.best_loss,
        "seconds": seconds,
    }
    if me == 0:
        print(
            f"{processes} process(es), {jax.device_count()} device(s), mesh {dict(mesh.shape)}; "
            f"{summary['train_windows']} training windows split over the data axis "
            f"(this process holds rows {mine.start}:{mine.stop})"
        )
        print(
            f"validation loss {summary['first_val_loss']:.6f} -> "
            f"best {summary['best_val_loss']:.6f} "
            f"in {args.epochs} epochs, {seconds:.1f} s (first epoch includes compilation)"
        )
        leaf = result.params.head.w
        print(
            f"parameters come back replicated: spec {leaf.sharding.spec}, "
            f"{len(leaf.sharding.device_set)} devices"
        )
    return summary


if __name__ == "__main__":
    main()
