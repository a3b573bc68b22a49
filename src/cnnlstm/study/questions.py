"""The proposal's research questions (titles and the published reference); no heavy imports."""

from __future__ import annotations

from typing import NamedTuple

PUBLISHED_ROW_LSTM_ACCURACY = 0.8846  # the row-LSTM result the proposal sets out to beat
COMPARED_METRICS = ("accuracy", "f1_macro", "auroc_macro")  # paired comparisons are made on these


class Question(NamedTuple):
    key: str
    title: str


QUESTIONS = (
    Question("lstm_vs_cnn", "Does adding an LSTM improve the CNN with the same convolutions?"),
    Question("bidirectional", "What does a bidirectional LSTM gain over the unidirectional one?"),
    Question("vs_row_lstm", "How does each model compare with the pure row-LSTM?"),
    Question("vs_published", f"Does the best hybrid beat the published {PUBLISHED_ROW_LSTM_ACCURACY:.2%} row-LSTM?"),
)
