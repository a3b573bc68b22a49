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
# A plain CNN within this fraction of a hybrid's parameter count is its parameter-matched baseline: close
# enough that capacity cannot explain a difference (the hybrids span 0.25x-1.8x cnn32's count), loose enough
# that one CNN can serve hybrids of nearly the same size.
PARAM_MATCH_TOLERANCE = 0.10


class Question(NamedTuple):
    key: str
    title: str


QUESTIONS = (
    Question("lstm_vs_cnn", "Does adding an LSTM improve the CNN with the same convolutions?"),
    Question("param_matched",
             f"Does the hybrid beat a plain CNN with as many parameters (±{PARAM_MATCH_TOLERANCE:.0%})?"),
    Question("bidirectional", "What does a bidirectional LSTM gain over the unidirectional one?"),
    Question("vs_row_lstm", "How does each model compare with the pure row-LSTM?"),
    Question("vs_reference",
             f"Does the best hybrid beat the proposal's {REFERENCE_ROW_LSTM_ACCURACY:.2%} row-LSTM on the test set?"),
)
