"""One palette (figures/palette.py) for every figure and every `dvc plots` template: a model has the
same colour and marker everywhere, and the proposed model stands out the same way everywhere."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib import colors as mcolors

from cnnlstm.core.params import load_params
from cnnlstm.figures import figures, palette, vega_templates
from cnnlstm.figures.budget_figure import budget_figure
from cnnlstm.figures.paired_figure import PairPoint, paired_figure
from cnnlstm.figures.seed_figure import seed_figure
from cnnlstm.study.runs import FoldSizes
from cnnlstm.study.seed_runs import SeedStudy

from conftest import REPO

FIGURES = REPO / "src" / "cnnlstm" / "figures"
PROPOSED = "cnn32_lstm"
MODELS = ["cnn32", "cnn32_bilstm", PROPOSED]
# A colour written anywhere but the palette: a hex or named colour, a colormap, matplotlib's C0..C9.
FOREIGN = re.compile(r"""#[0-9a-fA-F]{6}\b|get_cmap|cmap\s*=\s*["']|colou?r\s*=\s*["']|["']C\d["']|tab10|tab20""")


def test_no_figure_module_names_a_colour_of_its_own() -> None:
    offenders = [f"{path.name}:{n}: {line.strip()}"
                 for path in sorted(FIGURES.glob("*.py")) if path.name != "palette.py"
                 for n, line in enumerate(path.read_text().splitlines(), 1) if FOREIGN.search(line)]
    assert offenders == []


def _colours(fig) -> set[str]:
    """Every colour a figure draws with: lines, markers, filled areas, scatter points, error bars."""
    found = set()
    for ax in fig.axes:
        for line in ax.get_lines():
            found |= {mcolors.to_hex(line.get_color()), mcolors.to_hex(line.get_markerfacecolor())}
        for collection in ax.collections:
            found |= {mcolors.to_hex(c) for c in collection.get_facecolor()}
            found |= {mcolors.to_hex(c) for c in collection.get_edgecolor()}
        for patch in ax.patches:
            found.add(mcolors.to_hex(patch.get_facecolor()))
    return found


def _budget_table() -> pd.DataFrame:
    rows = [{"point": f"{e}ep", "epochs": e, "recipe": "r", "model": m, "accuracy_mean": 0.9 + e / 1000,
             "accuracy_std": 0.003, "train_flops": 1e12 * e} for e in (2, 5) for m in MODELS]
    return pd.DataFrame(rows)


def _seed_study() -> SeedStudy:
    rng = np.random.default_rng(0)
    heldout = {m: 0.9 + 0.01 * rng.random((4, 2)) for m in MODELS}
    return SeedStudy("2ep", (0, 1), (0, 1, 2, 3), heldout, {}, {}, FoldSizes(6000.0, 54_000.0, 51_300.0))


def _pairs() -> list[PairPoint]:
    return [PairPoint("2ep", PROPOSED, "cnn32", -0.005, -0.007, -0.003, 0, 4, "worse", (-0.004, -0.006, -0.005, -0.005)),
            PairPoint("5ep", "cnn32_bilstm", "cnn32", 0.001, -0.002, 0.004, 3, 4, "equivalent", None)]


def _cost_figure():
    cost = pd.DataFrame({"model": MODELS, "accuracy": [0.9, 0.91, 0.905], "accuracy_std": [0.003] * 3,
                         "params": [1e5, 2e5, 3e5], "flops_per_image": [1e6, 2e6, 3e6], "train_seconds": [10.0, 20, 30]})
    return figures.cost_figure(cost, figures.model_styles(MODELS, {m: m for m in MODELS}, PROPOSED))


@pytest.mark.parametrize("draw", [
    lambda: budget_figure(_budget_table(), PROPOSED),
    lambda: seed_figure(_seed_study(), [(PROPOSED, "cnn32")], PROPOSED, 0.005),
    lambda: paired_figure(_pairs(), 0.005, PROPOSED),
    _cost_figure,
], ids=["budget", "seeds", "paired", "cost"])
def test_every_figure_draws_only_palette_colours_and_the_proposed_model_in_red(draw) -> None:
    found = _colours(draw()) - {"#ffffff", "#000000"}  # axes and text defaults, not data
    assert found <= palette.all_colors()
    assert palette.PROPOSED_COLOR in found


def test_a_model_keeps_its_colour_whatever_else_a_figure_shows() -> None:
    alone = figures.model_styles(["cnn32"], {}, PROPOSED).colors["cnn32"]
    among = figures.model_styles(["cnn16", "lstm", "cnn32", PROPOSED], {}, PROPOSED).colors["cnn32"]
    assert alone == among == palette.MODEL_COLORS["cnn32"]
    assert palette.style("any_new_model", PROPOSED) == palette.style("any_new_model", PROPOSED)
    assert palette.style("cnn32_bilstm", "cnn32_bilstm").color == palette.PROPOSED_COLOR  # whichever is proposed


def test_dvc_plots_templates_use_the_palette_of_params_models() -> None:
    """`python -m cnnlstm.figures.vega_templates` rewrites them after a model is added or renamed."""
    params = load_params(REPO / "params.yaml")
    for path in vega_templates.template_files(REPO / ".dvc" / "plots"):
        assert path.read_text() == vega_templates.expected(path, params.all_models, params.model["name"]), path.name
    scale = vega_templates.scales(params.all_models, params.model["name"])["model"]
    assert dict(zip(scale["domain"], scale["range"]))[params.model["name"]] == palette.PROPOSED_COLOR
