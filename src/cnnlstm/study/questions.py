"""The proposal's research questions (titles and the external reference figure); no heavy imports."""

from __future__ import annotations

from typing import NamedTuple

# The proposal's row-LSTM figure: test accuracy on the official 10,000 test images, so it is compared
# with test-set numbers only (the fold ensembles), never with held-out fold means. Its source could not
# be located (it is not in the zalandoresearch/fashion-mnist benchmark table), so the report calls it
# the proposal's reference, not a published result.
REFERENCE_ROW_LSTM_ACCURACY = 0.8846
REFERENCE_SOURCE = "the proposal (source not located; not in the Zalando Fashion-MNIST benchmark table)"
COMPARED_METRICS = ("accuracy", "f1_macro", "auroc_macro")  # paired comparisons are made on these


class Question(NamedTuple):
    key: str
    title: str


QUESTIONS = (
    Question("lstm_vs_cnn", "Does adding an LSTM improve the CNN with the same convolutions?"),
    Question("bidirectional", "What does a bidirectional LSTM gain over the unidirectional one?"),
    Question("vs_row_lstm", "How does each model compare with the pure row-LSTM?"),
    Question("vs_reference",
             f"Does the best hybrid beat the proposal's {REFERENCE_ROW_LSTM_ACCURACY:.2%} row-LSTM on the test set?"),
)
