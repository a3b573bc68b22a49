"""Display names. Results stay keyed by model name (DVC paths and metric keys, so an experiment's
numbers line up with the published ones in `dvc exp show`), but the proposed model is labelled
from its config: `dvc exp run -S model.bidirectional=true` is shown as a BiLSTM, whatever
`model.name` says."""

from __future__ import annotations

from typing import Any

from cnnlstm.core.model_configs import CNNConfig, CNNLSTMConfig, RecurrentOptions, RowLSTMConfig, SequencerConfig
from cnnlstm.core.params import Params


def _widths(values: tuple[int, ...]) -> str:
    return "-".join(str(v) for v in values)


def _recurrent(options: RecurrentOptions) -> str:
    """e.g. "BiLSTM 128", "GRU 128-64, mean readout" (one width per stacked layer)."""
    text = f"{'Bi' if options.bidirectional else ''}{options.cell.upper()} {_widths(options.hidden)}"
    return text + (", mean readout" if options.readout == "mean" else "")


def describe(config: Any) -> str:
    """A short description of a validated model config, e.g. "CNN 32-32 3x3 → BiLSTM 128"."""
    if isinstance(config, CNNConfig):
        return f"CNN {_widths(config.channels)}, MLP {config.hidden}"
    if isinstance(config, CNNLSTMConfig):
        kernel = "3x3" if config.kernel == "3x3" else f"1x{config.kernel_width}"
        pool = ", width pooling" if config.pool == "width" else ""
        return f"CNN {_widths(config.channels)} {kernel}{pool} → {_recurrent(config)}"
    if isinstance(config, RowLSTMConfig):
        return f"{_recurrent(config)} over pixel rows"
    if isinstance(config, SequencerConfig):
        return f"CNN {_widths(config.channels)} → {config.blocks}x Sequencer2D BiLSTM {config.hidden}"
    raise TypeError(f"no description for {type(config).__name__}")


def proposed_label(params: Params) -> str:
    """The proposed model's display name, e.g. "cnn32_lstm (proposed: CNN 32-32 3x3 → LSTM 128)"."""
    name = params.model["name"]
    _, config = params.configs[name]
    return f"{name} (proposed: {describe(config)})"


def display_names(summary: dict[str, Any]) -> dict[str, str]:
    """{model: label} for tables, figures and the report: each model's name, the proposed model's
    label as the aggregate stage wrote it into metrics/summary.json (`proposed_label`)."""
    proposed = summary["proposed_model"]
    return {name: summary["proposed_label"] if name == proposed else name for name in summary["models"]}


def display_name(summary: dict[str, Any], name: str) -> str:
    """One model's label; for text that names a single model (e.g. the report's sentences)."""
    return display_names(summary).get(name, name)
