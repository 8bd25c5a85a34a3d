"""The machine a comparison ran on, as ``report.json`` records it (``"environment"``).

Read from the one machine record, ``rnnax._machine`` (CPU model, cores, load, versions), plus
what JAX says of its backend and devices; the record's values go into the report's keys.
"""

from __future__ import annotations

import jax

from rnnax import _machine
from rnnax.compare._results import Environment


def environment() -> Environment:
    """The versions, the platform, JAX's backend and first device (with the CPU's model on
    CPU), the device and CPU counts and the load average, now."""
    record = _machine.machine_record(libraries=("jax", "rnnax"))
    versions = record["versions"]
    device = jax.devices()[0]
    return Environment(
        jax=versions["jax"],
        rnnax=versions["rnnax"],
        python=versions["python"],
        platform=record["os"],
        backend=jax.default_backend(),
        device=str(device) if device.platform != "cpu" else f"{device} ({record['cpu']['model']})",
        device_count=jax.device_count(),
        cpu_count=record["logical_cpus"],
        load_average=record["load_average"],
    )
