"""One frozen config per model family, and parsing of params entries into them.

No torch here: stages that only read configs (aggregate, report) start fast."""

from __future__ import annotations

import dataclasses
from typing import Any

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.schema import check_choice, from_dict


def _positive(section: str, key: str, values: tuple[int, ...] | int) -> None:
    values = values if isinstance(values, tuple) else (values,)
    if not values or any(v <= 0 for v in values):
        raise CnnLstmError(f"{section}.{key}: must be > 0, got {list(values) if len(values) != 1 else values[0]}")


@dataclasses.dataclass(frozen=True)
class CNNConfig:
    """Conv blocks (one conv + BN + ReLU + 2x2 max-pool each), then a small MLP head."""

    channels: tuple[int, ...]
    hidden: int  # width of the MLP head
    dropout: float  # before the head's last layer

    def validate(self, section: str) -> None:
        _positive(section, "channels", self.channels)
        _positive(section, "hidden", self.hidden)
        if not 0.0 <= self.dropout < 1.0:
            raise CnnLstmError(f"{section}.dropout: must be in [0, 1), got {self.dropout}")


@dataclasses.dataclass(frozen=True)
class RecurrentOptions:
    """How a sequence of rows is read. `hidden` is one width, or one width per stacked layer."""

    hidden: tuple[int, ...]
    layers: int
    bidirectional: bool
    cell: str  # lstm | gru
    readout: str  # last step | mean over steps

    def validate(self, section: str) -> None:
        _positive(section, "layers", self.layers)
        _positive(section, "hidden", self.hidden)
        if len(self.hidden) != self.layers:
            raise CnnLstmError(f"{section}.hidden: lists {len(self.hidden)} sizes but layers is {self.layers}")
        check_choice(f"{section}.cell", self.cell, ("lstm", "gru"))
        check_choice(f"{section}.readout", self.readout, ("last", "mean"))


@dataclasses.dataclass(frozen=True)
class RowLSTMConfig(RecurrentOptions):
    """The pure row-LSTM: 28 rows of 28 pixels are 28 time steps."""


@dataclasses.dataclass(frozen=True)
class CNNLSTMConfig(RecurrentOptions):
    """Conv blocks whose output rows become the recurrent layer's time steps.

    kernel "1xk" convolves along rows only (1 x kernel_width), so no time step sees another
    row; with pool "width" the 28 rows survive to the LSTM as 28 time steps.
    """

    channels: tuple[int, ...]
    kernel: str  # 3x3 | 1xk
    kernel_width: int
    pool: str  # both: 2x2 | width: 1x2

    def validate(self, section: str) -> None:
        super().validate(section)
        _positive(section, "channels", self.channels)
        check_choice(f"{section}.kernel", self.kernel, ("3x3", "1xk"))
        check_choice(f"{section}.pool", self.pool, ("both", "width"))
        if self.kernel_width <= 0 or self.kernel_width % 2 == 0:
            raise CnnLstmError(f"{section}.kernel_width: must be a positive odd number, got {self.kernel_width}")


@dataclasses.dataclass(frozen=True)
class SequencerConfig:
    """Conv blocks, then Sequencer2D blocks (Tatsunami & Taki 2022): BiLSTMs sweep the feature
    map's rows and columns, a linear layer fuses both, then an MLP; both residual."""

    channels: tuple[int, ...]
    hidden: int  # per direction and axis
    blocks: int
    mlp_ratio: int

    def validate(self, section: str) -> None:
        _positive(section, "channels", self.channels)
        for key in ("hidden", "blocks", "mlp_ratio"):
            _positive(section, key, getattr(self, key))


FAMILIES: dict[str, type] = {
    "cnn": CNNConfig,
    "lstm": RowLSTMConfig,
    "cnn_lstm": CNNLSTMConfig,
    "sequencer": SequencerConfig,
}


def parse_config(spec: dict[str, Any], section: str) -> tuple[str, Any]:
    """Split a params entry into its family name and validated frozen config."""
    spec = dict(spec)
    family = spec.pop("family", None)
    if family not in FAMILIES:
        raise CnnLstmError(f"{section}.family: must be one of {', '.join(FAMILIES)}, got {family!r}")
    config_cls = FAMILIES[family]
    hidden = spec.get("hidden")
    if issubclass(config_cls, RecurrentOptions) and isinstance(hidden, int) and not isinstance(hidden, bool):
        layers = spec.get("layers")  # one width for every layer
        spec["hidden"] = [hidden] * layers if isinstance(layers, int) and layers > 0 else [hidden]
    config = from_dict(config_cls, spec, section)
    config.validate(section)
    return family, config
