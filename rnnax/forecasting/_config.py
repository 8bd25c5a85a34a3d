"""The frozen, validated configuration of a forecaster."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Literal, get_args

import numpy as np

from rnnax._cell_gru import apply_reset_after
from rnnax._checks import check_choice, check_int, check_rate, check_real
from rnnax._protocol import Cell, check_cell, get_cell, registered_cells

CellName = str
"""A registered cell's name (``rnnax.registered_cells()``): ``"lstm"``, ``"gru"``, ..."""
Strategy = Literal["direct", "autoregressive"]
Likelihood = Literal["point", "gaussian", "student_t", "quantile"]
Centering = Literal["none", "last", "mean"]


# Sizes become array dimensions, which must fit a signed 32-bit integer.
_MAX_SIZE = 2**31 - 1


def _check_levels(levels: object) -> tuple[float, ...]:
    """``ForecasterConfig.quantiles`` as a tuple of floats, strictly increasing in (0, 1)."""
    name = "ForecasterConfig.quantiles"
    if isinstance(levels, (str, bytes)) or not isinstance(levels, (tuple, list, np.ndarray)):
        raise TypeError(f"{name} must be a sequence of levels in (0, 1), got {levels!r:.80}")
    checked = tuple(
        check_real(f"{name}[{index}]", level, minimum=0.0, maximum=1.0, exclusive=True)
        for index, level in enumerate(levels)
    )
    if not checked or any(b <= a for a, b in itertools.pairwise(checked)):
        raise ValueError(f"{name} must be non-empty and strictly increasing, got {list(checked)}")
    return checked


@dataclasses.dataclass(frozen=True)
class ForecasterConfig:
    """What a forecaster looks like: encoder, head, decoding strategy and likelihood.

    The config is frozen and hashable, so it can be a static argument of ``jax.jit``. Every
    field is checked on construction, by rnnax's one rule: a value of the wrong type raises
    ``TypeError`` and a value out of range ``ValueError``, each naming the field.

    Input layout: a window of inputs is ``[..., lookback, input_size]``; its first
    ``num_targets`` features are the target series (what is forecast) and the remaining
    ``input_size - num_targets`` features are covariates. Forecasts are
    ``[..., horizon, num_targets]``.

    Attributes:
        horizon: Number of future steps forecast from each window (>= 1).
        input_size: Features per input step, targets first, then covariates (>= 1).
        num_targets: Number of target features, ``1 <= num_targets <= input_size``.
        cell: the recurrent encoder's cell (run by ``rnnax.rnn_stack``): a registered cell's
            name (``rnnax.registered_cells()``: ``"lstm"``, ``"gru"``, ``"gru_reset_after"``,
            ...) or an ``rnnax.Cell``. A registered ``Cell`` is stored as its name (so the
            config compares, hashes and prints the same either way); a cell of your own that
            is not registered is stored as it is (``rnnax.register_cell`` it to refer to it
            by name). ``encoder_cell`` is the resolved ``rnnax.Cell``.
        hidden: Hidden size of every recurrent layer (>= 1).
        num_layers: Number of stacked recurrent layers (>= 1).
        dropout_rate: Inverted-dropout probability in ``[0, 1)`` between recurrent layers and
            on the representation fed to the head; active only when ``apply`` gets a key.
        reset_after: GRU form (see ``rnnax.gru_cell``); only valid with ``cell="gru"``, where
            ``True`` is the same encoder as ``cell="gru_reset_after"`` (and redundant with
            it).
        strategy: ``"direct"``: the head maps the last hidden state to all ``horizon`` steps
            at once. ``"autoregressive"``: a one-step model fed its own predictions (and the
            known future covariates) for ``horizon`` steps, carrying the recurrent state.
        likelihood: the head and its loss. ``"point"``: squared-error loss, forecasts are
            arrays. ``"gaussian"``: a mean and a softplus scale per step, Gaussian negative
            log-likelihood, forecasts are ``GaussianForecast``. ``"student_t"``: a location,
            a scale and degrees of freedom ``df = 2 + softplus(.)`` (heavy tails, finite
            variance) per step, Student's t negative log-likelihood, ``StudentTForecast``.
            ``"quantile"``: one forecast per level of ``quantiles``, non-crossing by
            construction (each above the last by a softplus), mean pinball loss over the
            levels, ``QuantileForecast``. All but ``"point"`` give prediction intervals.
        num_future_covariates: how many of the covariates (the LAST ones of the inputs) are
            known in advance, so that their values over the horizon (``future_covariates``)
            reach the forecast. An autoregressive forecaster feeds them back step by step and
            needs all of its covariates known (``None`` means all; any other count is an
            error). A direct forecaster's head reads them, flattened over the horizon, beside
            the last hidden state (``None`` means 0: all covariates are past-only).
        num_static: static covariates per series (a panel's series id embedding, its
            category, ...), ``static_covariates [..., num_static]``, read by the head beside
            the hidden state at every step (>= 0).
        quantiles: the levels of a ``"quantile"`` head, strictly increasing in ``(0, 1)``
            (ignored by the other heads). The default's central pairs give 50%, 80% and 95%
            intervals; the level nearest 0.5 is the point forecast.
        centering: Window-level normalization of the targets. ``"none"``; ``"last"``
            subtracts each window's last observed target value from its target inputs and
            adds it back to the forecast, so the network learns changes, not levels (helps
            trended series that leave the training range); ``"mean"`` does the same with the
            window's mean. Covariates are never centered.

    Examples:
        >>> config = ForecasterConfig(horizon=12, cell="gru", hidden=16)
        >>> config.num_covariates, config.outputs_per_step
        (0, 1)
        >>> ForecasterConfig(horizon=12, hidden=0)
        Traceback (most recent call last):
        ...
        ValueError: ForecasterConfig.hidden must be an integer >= 1, got 0
        >>> ForecasterConfig(horizon=12, cell="gru", reset_after=True).encoder_cell
        Cell('gru_reset_after')
    """

    horizon: int
    input_size: int = 1
    num_targets: int = 1
    cell: CellName | Cell = "lstm"
    hidden: int = 32
    num_layers: int = 1
    dropout_rate: float = 0.0
    reset_after: bool = False
    strategy: Strategy = "direct"
    likelihood: Likelihood = "point"
    centering: Centering = "none"
    quantiles: tuple[float, ...] = (0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975)
    num_future_covariates: int | None = None
    num_static: int = 0

    def __post_init__(self) -> None:
        for field in ("horizon", "input_size", "num_targets", "hidden", "num_layers"):
            # NumPy integers are accepted and stored as Python ints (hash, repr and JSON agree).
            value = check_int(f"ForecasterConfig.{field}", getattr(self, field), minimum=1)
            if value > _MAX_SIZE:
                raise ValueError(
                    f"ForecasterConfig.{field} must be at most {_MAX_SIZE}, got {value}"
                )
            object.__setattr__(self, field, value)
        if self.num_targets > self.input_size:
            raise ValueError(
                f"ForecasterConfig.num_targets must be at most input_size={self.input_size} "
                f"(targets are the first input features), got {self.num_targets}"
            )
        self._check_cell()
        self._check_covariate_counts()
        check_choice("ForecasterConfig.strategy", self.strategy, get_args(Strategy))
        check_choice("ForecasterConfig.likelihood", self.likelihood, get_args(Likelihood))
        check_choice("ForecasterConfig.centering", self.centering, get_args(Centering))
        object.__setattr__(self, "quantiles", _check_levels(self.quantiles))
        rate = check_rate("ForecasterConfig.dropout_rate", self.dropout_rate)
        object.__setattr__(self, "dropout_rate", rate)
        if isinstance(self.reset_after, np.bool_):
            object.__setattr__(self, "reset_after", bool(self.reset_after))
        if not isinstance(self.reset_after, bool):
            raise TypeError(
                f"ForecasterConfig.reset_after must be a bool, got {self.reset_after!r}"
            )
        if self.reset_after:
            try:
                apply_reset_after(get_cell(self.cell), True)
            except ValueError:
                raise ValueError(
                    "ForecasterConfig.reset_after=True applies only to cell='gru' (where it "
                    f"means cell='gru_reset_after'), got cell={self.cell!r}"
                ) from None

    def _check_covariate_counts(self) -> None:
        num_static = check_int("ForecasterConfig.num_static", self.num_static, minimum=0)
        object.__setattr__(self, "num_static", num_static)
        future = self.num_future_covariates
        if future is None:
            return
        future = check_int(
            "ForecasterConfig.num_future_covariates",
            future,
            minimum=0,
            maximum=self.input_size - self.num_targets,
        )
        if self.strategy == "autoregressive" and future != self.num_covariates:
            raise ValueError(
                "ForecasterConfig.num_future_covariates must be None (all) for "
                f"strategy='autoregressive', which feeds back all {self.num_covariates} "
                f"covariates step by step, got {future}"
            )
        object.__setattr__(self, "num_future_covariates", future)

    def _check_cell(self) -> None:
        """``cell`` must be a registered name or a valid ``rnnax.Cell``; a registered ``Cell``
        is replaced by its name."""
        cell = self.cell
        if isinstance(cell, Cell):
            try:
                check_cell(cell)
            except TypeError as error:
                raise TypeError(
                    f"ForecasterConfig.cell is not a valid rnnax.Cell: {error}"
                ) from None
            if cell.name in registered_cells() and get_cell(cell.name) == cell:
                object.__setattr__(self, "cell", cell.name)
            return
        if not isinstance(cell, str) or cell not in registered_cells():
            kind = ValueError if isinstance(cell, str) else TypeError
            raise kind(
                f"ForecasterConfig.cell must be one of {list(registered_cells())} (the registered "
                f"cells, rnnax.registered_cells()) or an rnnax.Cell, got {cell!r:.80}"
            )

    @property
    def encoder_cell(self) -> Cell:
        """The ``rnnax.Cell`` the encoder runs: ``cell`` resolved, with ``reset_after`` applied
        (``cell="gru", reset_after=True`` is ``rnnax.GRU_RESET_AFTER``)."""
        return apply_reset_after(get_cell(self.cell), True if self.reset_after else None)

    @property
    def num_covariates(self) -> int:
        """Input features after the targets: ``input_size - num_targets``."""
        return self.input_size - self.num_targets

    @property
    def future_features(self) -> int:
        """Covariates whose values over the horizon the forecaster reads: all of them for an
        autoregressive forecaster, ``num_future_covariates`` (default 0) for a direct one."""
        if self.strategy == "autoregressive":
            return self.num_covariates
        return self.num_future_covariates or 0

    @property
    def head_inputs(self) -> int:
        """Features the head reads: the hidden state, the static covariates and (direct
        strategy) the future covariates flattened over the horizon."""
        flattened = self.horizon * self.future_features if self.strategy == "direct" else 0
        return self.hidden + self.num_static + flattened

    @property
    def outputs_per_step(self) -> int:
        """Head outputs per forecast step and target: 1 for a point head, 2 for a Gaussian
        (mean, scale), 3 for a Student's t (location, scale, df), one per level for a quantile
        head; times ``num_targets``."""
        per_target = {"point": 1, "gaussian": 2, "student_t": 3}.get(
            self.likelihood, len(self.quantiles)
        )
        return self.num_targets * per_target
