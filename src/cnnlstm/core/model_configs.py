"""One frozen config per model family, and parsing of params entries into them.

No torch here: stages that only read configs (aggregate, report) start fast."""

from __future__ import annotations

import dataclasses
from typing import Any

from cnnlstm.core.errors import CnnLstmError
from cnnlstm.core.schema import check_choice, from_dict


# Sanity bounds, checked before any model is built (also for model files given to `cnnlstm predict`):
# 4x the widest layer of the study, and the largest model they allow holds 0.43 GiB of fp32 weights
# (a Sequencer at every bound; counted on torch's meta device).
MAX_WIDTH = 512  # channels of a conv layer; hidden units of a head, LSTM or GRU
MAX_CONV_BLOCKS = 4  # each halves the 28-pixel side: 14, 7, 3, 1
MAX_DEPTH = 8  # stacked recurrent layers, Sequencer blocks, MLP ratio


def _positive(section: str, key: str, values: tuple[int, ...] | int, upper: int) -> None:
    values = values if isinstance(values, tuple) else (values,)
    if not values or any(not 0 < v <= upper for v in values):
        shown = list(values) if len(values) != 1 else values[0]
        raise CnnLstmError(f"{section}.{key}: must be > 0 and at most {upper}, got {shown}")


def _conv_channels(section: str, channels: tuple[int, ...]) -> None:
    _positive(section, "channels", channels, MAX_WIDTH)
    if len(channels) > MAX_CONV_BLOCKS:
        raise CnnLstmError(f"{section}.channels: at most {MAX_CONV_BLOCKS} conv blocks (each halves the 28-pixel "
                           f"image), got {len(channels)}")


@dataclasses.dataclass(frozen=True)
class CNNConfig:
    """Conv blocks (one conv + BN + ReLU + 2x2 max-pool each), then a small MLP head."""

    channels: tuple[int, ...]
    hidden: int  # width of the MLP head
    dropout: float  # before the head's last layer

    def validate(self, section: str) -> None:
        _conv_channels(section, self.channels)
        _positive(section, "hidden", self.hidden, MAX_WIDTH)
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
        _positive(section, "layers", self.layers, MAX_DEPTH)
        _positive(section, "hidden", self.hidden, MAX_WIDTH)
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
        _conv_channels(section, self.channels)
        check_choice(f"{section}.kernel", self.kernel, ("3x3", "1xk"))
        check_choice(f"{section}.pool", self.pool, ("both", "width"))
        if not 0 < self.kernel_width < 28 or self.kernel_width % 2 == 0:
            raise CnnLstmError(f"{section}.kernel_width: must be an odd number below 28, got {self.kernel_width}")


@dataclasses.dataclass(frozen=True)
class SequencerConfig:
    """Conv blocks, then Sequencer2D blocks (Tatsunami & Taki 2022): BiLSTMs sweep the feature
    map's rows and columns, a linear layer fuses both, then an MLP; both residual."""

    channels: tuple[int, ...]
    hidden: int  # per direction and axis
    blocks: int
    mlp_ratio: int

    def validate(self, section: str) -> None:
        _conv_channels(section, self.channels)
        _positive(section, "hidden", self.hidden, MAX_WIDTH)
        for key in ("blocks", "mlp_ratio"):
            _positive(section, key, getattr(self, key), MAX_DEPTH)


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
