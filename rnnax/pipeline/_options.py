"""The settings of ``rnnax forecast`` that need no JAX: defaults, choices and the output folder.

``rnnax forecast --help`` lists these at once, so this module imports the standard library only
(no JAX, nothing from rnnax): the defaults of :func:`rnnax.pipeline.forecast_csv`, the
likelihoods it offers, and where a run writes its files (:func:`default_out_dir`,
:func:`check_out_dir`).

Examples:
    >>> DEFAULT_CELL, DEFAULT_LIKELIHOOD, DEFAULT_LEVEL
    ('gru', 'gaussian', 0.8)
    >>> default_out_dir("sales", root="/no/such/root").name.startswith("forecast-sales-")
    True
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from rnnax._io import check_writable_folder

DEFAULT_CELL = "gru"
DEFAULT_HIDDEN = 32
DEFAULT_LIKELIHOOD = "gaussian"
DEFAULT_EPOCHS = 200
DEFAULT_PATIENCE = 20
DEFAULT_LEARNING_RATE = 3e-3
DEFAULT_LEVEL = 0.8
"""The nominal coverage of the forecast's interval (80%, as most forecasting tools show)."""

TRAINING_DEFAULTS = {
    "cell": DEFAULT_CELL,
    "hidden": DEFAULT_HIDDEN,
    "likelihood": DEFAULT_LIKELIHOOD,
    "level": DEFAULT_LEVEL,
    "epochs": DEFAULT_EPOCHS,
    "patience": DEFAULT_PATIENCE,
    "learning_rate": DEFAULT_LEARNING_RATE,
    "seed": 0,
}
"""The training settings of ``forecast_csv`` a caller may leave out, at their defaults."""

LIKELIHOODS = ("gaussian", "student_t", "quantile", "point")
"""The forecaster heads a run offers (``rnnax.forecasting.ForecasterConfig.likelihood``)."""

NAN_POLICIES = ("raise", "ffill", "interpolate", "drop")
"""How missing cells and missing time steps of the CSV are treated (``rnnax.data.NanPolicy``)."""

MODEL_FILE = "model.rnnax"
"""The saved model's file name inside a run's folder."""


def default_out_dir(name: str, root: str | os.PathLike[str] = "runs") -> Path:
    """A new folder ``<root>/forecast-<name>-<YYYYmmdd-HHMMSS>`` (suffixed if it exists).

    Args:
        name: the series' name (the CSV file's name without its suffix).
        root: the folder the run's folder goes into.

    Returns:
        The folder's path (not created).
    """
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"forecast-{name}-{stamp}"
    candidate, index = base, 1
    while candidate.exists():
        index += 1
        candidate = base.with_name(f"{base.name}-{index}")
    return candidate


def check_out_dir(path: Path) -> Path:
    """Creates ``path`` if needed and checks that a file can be written in it.

    Raises:
        ValueError: with a one-line reason, if it is a file or cannot be created or written.
    """
    return check_writable_folder(path, "out")
