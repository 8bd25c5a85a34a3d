"""Training for rnnax: a seeded optax loop with early stopping, a divergence guard and checkpoints.

* :func:`fit` trains any ``loss_fn(params, batch, key)``, or a model that hands training its
  loss and data adapters (a :class:`TrainingAdapter`, e.g. from a
  :class:`rnnax.forecasting.Forecaster`), and returns a :class:`FitResult`.
* :class:`TrainState` is the whole state of a run; :func:`save_checkpoint` and
  :func:`load_checkpoint` write it atomically and read it back bit for bit.
* A NaN/Inf loss, gradient or update stops training with a :class:`TrainingDiverged` record and
  a :class:`DivergenceWarning` (or :class:`TrainingDivergedError`), keeping the last good state.
* ``fit(..., mesh=...)`` is data-parallel over a ``jax.sharding.Mesh`` (1 to N devices, one or
  several hosts); :func:`fit_ensemble` trains many seeds or hyperparameter settings at once with
  ``vmap``, their member axis optionally split over a mesh; :func:`shard_batch` places data.

Examples:
    >>> import jax, numpy as np
    >>> from rnnax import forecasting, training
    >>> t = np.arange(200, dtype=np.float32)
    >>> windows = np.lib.stride_tricks.sliding_window_view(np.sin(t / 4), 14)
    >>> inputs, targets = windows[:, :12, None], windows[:, 12:, None]
    >>> model = forecasting.forecaster(forecasting.ForecasterConfig(horizon=2, hidden=4))
    >>> result = training.fit(model, model.init(jax.random.key(0)), (inputs, targets),
    ...                       epochs=5, batch_size=32, learning_rate=1e-2, progress=False)
    >>> result.history.train_loss[-1] < result.history.train_loss[0]
    True
"""

from rnnax._sharding import DATA_AXIS, ENSEMBLE_AXIS, shard_batch
from rnnax.training._checkpoint import (
    has_checkpoint,
    load_checkpoint,
    load_metadata,
    save_checkpoint,
)
from rnnax.training._engine import DivergenceWarning
from rnnax.training._ensemble import EnsembleResult, fit_ensemble
from rnnax.training._loop import FitResult, TrainingDivergedError, fit
from rnnax.training._objective import LossFn, TrainingAdapter
from rnnax.training._state import History, TrainingDiverged, TrainState
from rnnax.training._tbptt import (
    ChunkLossFn,
    TBPTTGrad,
    TBPTTResult,
    TBPTTUpdate,
    tbptt_fit,
    tbptt_grad,
    tbptt_update,
)

__all__ = [
    "DATA_AXIS",
    "ENSEMBLE_AXIS",
    "ChunkLossFn",
    "DivergenceWarning",
    "EnsembleResult",
    "FitResult",
    "History",
    "LossFn",
    "TBPTTGrad",
    "TBPTTResult",
    "TBPTTUpdate",
    "TrainState",
    "TrainingAdapter",
    "TrainingDiverged",
    "TrainingDivergedError",
    "fit",
    "fit_ensemble",
    "has_checkpoint",
    "load_checkpoint",
    "load_metadata",
    "save_checkpoint",
    "shard_batch",
    "tbptt_fit",
    "tbptt_grad",
    "tbptt_update",
]
