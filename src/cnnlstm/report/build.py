"""reports/REPORT.md: the verdict on each research question in words, derived from the numbers in
metrics/summary.json and the tables; nothing in it is written by hand."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from cnnlstm.study.formatting import format_p
from cnnlstm.study.questions import PUBLISHED_ROW_LSTM_ACCURACY, QUESTIONS

ALPHA = 0.05  # two-sided significance level of the corrected resampled t-test
TITLES = {q.key: q.title for q in QUESTIONS}
VERDICTS = ("significantly better", "significantly worse", "no significant difference")


def significant(p: float | None) -> bool:
    """p below ALPHA; an undefined p (no variance across folds) is never significant."""
    return p is not None and p < ALPHA


def verdict(stats: dict[str, Any]) -> str:
    """The corrected t-test's answer for a difference `model - baseline` (higher is better)."""
    better, worse, same = VERDICTS
    if significant(stats["p_ttest"]):
        return better if stats["mean_diff"] > 0 else worse
    return same


def evidence(stats: dict[str, Any]) -> str:
    """The numbers behind a verdict, in one clause."""
    dz = "–" if stats["cohens_dz"] is None else f"{stats['cohens_dz']:+.2f}"
    return (
        f"{stats['mean_diff'] * 100:+.2f} pp held-out accuracy (95% CI [{stats['ci95_low'] * 100:+.2f}, "
        f"{stats['ci95_high'] * 100:+.2f}] pp), corrected t-test p {_p_phrase(stats['p_ttest'])}, "
        f"Wilcoxon p {_p_phrase(stats['p_wilcoxon'])}, d_z {dz}, higher on {stats['wins']} of {stats['folds']} folds"
    )


def _p_phrase(p: float | None) -> str:
    text = format_p(p)
    return text if text.startswith("<") or text == "–" else f"= {text}"


def wilcoxon_note(stats: dict[str, Any]) -> str:
    """Say so when the assumption-light test does not back the t-test's verdict."""
    if stats["p_wilcoxon"] is None or significant(stats["p_ttest"]) == significant(stats["p_wilcoxon"]):
        return ""
    if 2 / 2 ** stats["folds"] >= ALPHA:
        return f" (with {stats['folds']} folds the Wilcoxon test cannot reach p < {ALPHA})"
    return " (the Wilcoxon test disagrees)"


def pair_line(entry: dict[str, Any]) -> str:
    """One bullet: the pair, its verdict on held-out accuracy, and the evidence."""
    stats = entry["accuracy"]
    pair = f"**{entry['model']}** vs **{entry['baseline']}**"
    return f"- {pair}: {verdict(stats)}{wilcoxon_note(stats)}: {evidence(stats)}."


def tally(entries: list[dict[str, Any]]) -> str:
    """How many comparisons reached each verdict."""
    verdicts = [verdict(e["accuracy"]) for e in entries]
    counts = {v: verdicts.count(v) for v in VERDICTS}
    return ", ".join(f"{n} {v}" for v, n in counts.items() if n) + f" (of {len(entries)})"


def lstm_vs_cnn(summary: dict[str, Any]) -> str:
    entries = list(summary["comparisons"].get("lstm_vs_cnn", {}).values())
    if not entries:
        return "Not answered: no hybrid in the study has a plain CNN with the same convolutions.\n"
    proposed = summary["proposed_model"]
    entries.sort(key=lambda e: e["model"] != proposed)  # the proposed model first
    lines = [f"Hybrids against their CNN: {tally(entries)}.", ""]
    if entries[0]["model"] == proposed:
        lines += [f"The proposed model **{proposed}** against **{entries[0]['baseline']}**: "
                  f"**{verdict(entries[0]['accuracy'])}**.", ""]
    return "\n".join(lines + [pair_line(e) for e in entries]) + "\n"


def bidirectional(summary: dict[str, Any], models: pd.DataFrame) -> str:
    entries = list(summary["comparisons"].get("bidirectional", {}).values())
    if not entries:
        return "Not answered: no bidirectional model in the study has a unidirectional twin.\n"
    lines = []
    for entry in entries:
        bi, uni = (models.loc[entry[k]] for k in ("model", "baseline"))
        cost = ", ".join(
            f"{label} ×{bi[column] / uni[column]:.2f}"
            for column, label in (("params", "parameters"), ("flops_per_image", "FLOPs per image"),
                                  ("train_seconds", "training time"), ("latency_ms", "single-image latency"),
                                  ("inference_images_per_s", "inference throughput"))
        )
        lines += [pair_line(entry), f"  Cost of bidirectionality: {cost}."]
    return "\n".join(lines) + "\n"


def vs_row_lstm(summary: dict[str, Any]) -> str:
    entries = list(summary["comparisons"].get("vs_row_lstm", {}).values())
    if not entries:
        return "Not answered: the study has no pure row-LSTM (family `lstm`).\n"
    return "\n".join([f"Models against the row-LSTM: {tally(entries)}.", ""] + [pair_line(e) for e in entries]) + "\n"


def vs_published(summary: dict[str, Any]) -> str:
    best = summary.get("best_hybrid")
    if best is None:
        return "Not answered: the study has no hybrid model.\n"
    published = PUBLISHED_ROW_LSTM_ACCURACY
    lines = []
    row_lstms = [e["baseline"] for e in summary["comparisons"].get("vs_row_lstm", {}).values()]
    for name in dict.fromkeys([best, *row_lstms]):
        stats = summary["comparisons"]["vs_published"][f"{name}-vs-published"]["accuracy"]
        test_accuracy = summary["models"][name]["test_ensemble"]["accuracy"]
        mean = published + stats["mean_diff"]
        word = dict(zip(VERDICTS, ("significantly above", "significantly below", "not significantly different from")))[
            verdict(stats)
        ]
        role = "the best hybrid" if name == best else "this study's row-LSTM"
        test_word = "above" if test_accuracy > published else "not above"
        lines.append(
            f"- **{name}** ({role}): mean held-out accuracy {mean * 100:.2f}% (95% CI "
            f"[{(published + stats['ci95_low']) * 100:.2f}, {(published + stats['ci95_high']) * 100:.2f}]%), "
            f"**{word}** the published {published:.2%} (corrected t-test p {_p_phrase(stats['p_ttest'])}); "
            f"its fold ensemble scores {test_accuracy * 100:.2f}% on the official test set, "
            f"{test_word} {published:.2%}."
        )
    return "\n".join(lines) + "\n"


def figure(path: Path, report_dir: Path, caption: str) -> str:
    return f"![{caption}]({os.path.relpath(path, report_dir)})\n\n*{caption}*\n"


def build_report(summary: dict[str, Any], tables_dir: Path, figures_dir: Path, report_dir: Path) -> str:
    """The whole Markdown report; links are relative to `report_dir`."""
    models = pd.read_csv(tables_dir / "models.csv").set_index("model")
    per_class = pd.read_csv(tables_dir / "per_class.csv")
    best, proposed = summary["best_model"], summary["proposed_model"]
    best_recall = per_class[per_class["model"] == best].set_index("class")["cv_recall"]
    worst = best_recall.idxmin()
    sizes = summary["fold_sizes"]
    figs = figures_dir
    sections = [
        "# Does an LSTM reading image rows make a CNN a better Fashion-MNIST classifier?",
        "*Generated by `dvc repro` (stage `report`) from `metrics/summary.json` and `reports/tables/`; "
        "do not edit by hand.*",
        "## Set-up\n\n"
        f"{len(summary['models'])} models, each trained and evaluated on {summary['folds']} stratified "
        f"cross-validation folds (about {sizes['train']:,.0f} training and {sizes['heldout']:,.0f} held-out images "
        f"per fold), then tested on {summary['test_images']:,} images of the official test set as a fold ensemble "
        f"(the fold models' probabilities averaged). The proposed model is **{proposed}**; the best model by mean "
        f"held-out accuracy is **{best}**. Models are compared on the held-out folds, paired fold by fold, with "
        f"the corrected resampled t-test of Nadeau & Bengio (2003), which accounts for the overlap of the folds' "
        f"training sets (variance × (1/k + n_test/n_train)), at a two-sided level of {ALPHA}; the Wilcoxon "
        "signed-rank test is shown as a check, d_z is the mean difference over its standard deviation. "
        "p-values are not adjusted for the number of comparisons. Std is the sample standard deviation "
        "over folds.",
        "## Answers",
        f"### 1. {TITLES['lstm_vs_cnn']}\n\n{lstm_vs_cnn(summary)}",
        f"### 2. {TITLES['bidirectional']}\n\n{bidirectional(summary, models)}",
        f"### 3. {TITLES['vs_row_lstm']}\n\n{vs_row_lstm(summary)}",
        f"### 4. {TITLES['vs_published']}\n\n{vs_published(summary)}",
        "## Models\n\nAccuracy, macro-F1, macro AUROC and log loss: mean ± std over the held-out folds. "
        "Test accuracy: the fold ensemble on the official test set. Timings are from the machine that ran "
        f"the study ({', '.join(sorted(set(models['device'])))}).\n\n"
        + (tables_dir / "models.md").read_text(),
        "## Paired comparisons\n\nDifferences are model − baseline in percentage points of held-out accuracy; "
        "`reports/tables/comparisons.csv` also has macro-F1 and macro AUROC.\n\n"
        + (tables_dir / "comparisons.md").read_text(),
        "## Recall per class (%, held-out mean over folds)\n\n" + (tables_dir / "per_class.md").read_text(),
        "## Figures",
        figure(figs / "roc_worst_class.png", report_dir,
               f"ROC of the class the best model recalls worst ({worst}), every model (fold ensembles, test set)"),
        figure(figs / "roc_best_model.png", report_dir, f"One-vs-rest ROC per class of the best model ({best})"),
        figure(figs / "learning_curves.png", report_dir, "Validation accuracy per epoch, mean ± std over folds"),
        figure(figs / "accuracy_vs_cost.png", report_dir,
               "Held-out accuracy against parameters, FLOPs and training time"),
        figure(figs / "tsne.png", report_dir, "t-SNE of the penultimate-layer features, coloured by true class"),
        *(figure(figs / "confusion" / f"{name}.png", report_dir, f"Normalised test-set confusion matrix of {name}")
          for name in dict.fromkeys([proposed, best])),
        "Confusion matrices of every model: "
        + ", ".join(f"[{name}]({os.path.relpath(figs / 'confusion' / f'{name}.png', report_dir)})"
                    for name in summary["models"]) + ".\n",
    ]
    return "\n\n".join(section.rstrip("\n") for section in sections) + "\n"
