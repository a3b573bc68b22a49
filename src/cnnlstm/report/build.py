"""reports/REPORT.md: the verdict on each research question in words, derived from the numbers in
metrics/summary.json and the tables; nothing in it is written by hand."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from cnnlstm.study.conditions import budget_phrase, schedule_phrase
from cnnlstm.study.formatting import format_p
from cnnlstm.study.questions import PARAM_MATCH_TOLERANCE, QUESTIONS
from cnnlstm.study.verdicts import ALPHA, BETTER, EQUIVALENT, INCONCLUSIVE, VERDICTS, WORSE, below_alpha

TITLES = {q.key: q.title for q in QUESTIONS}


def verdict_phrase(stats: dict[str, Any], margin: float) -> str:
    """The verdict in words; "no difference" is only ever claimed as equivalence within the margin."""
    pp = f"±{margin * 100:.2f} pp"
    return {
        BETTER: "better" + (f" (by less than the {pp} equivalence margin)" if stats["within_margin"] else ""),
        WORSE: "worse" + (f" (by less than the {pp} equivalence margin)" if stats["within_margin"] else ""),
        EQUIVALENT: f"equivalent within {pp}",
        INCONCLUSIVE: f"inconclusive (neither a difference nor equivalence within {pp} is shown)",
    }[stats["verdict"]]


def _p_phrase(p: float | None) -> str:
    text = format_p(p)
    return text if text.startswith("<") or text == "–" else f"= {text}"


def _p_pair(stats: dict[str, Any], name: str) -> str:
    """Raw p, then the Holm-adjusted one."""
    return f"p {_p_phrase(stats[name])} (Holm {_p_phrase(stats[f'{name}_holm'])})"


def evidence(stats: dict[str, Any], margin: float) -> str:
    """The numbers behind a verdict, in one clause."""
    dz = "–" if stats["cohens_dz"] is None else f"{stats['cohens_dz']:+.2f}"
    return (
        f"{stats['mean_diff'] * 100:+.2f} pp held-out accuracy (95% CI [{stats['ci95_low'] * 100:+.2f}, "
        f"{stats['ci95_high'] * 100:+.2f}] pp), corrected t-test {_p_pair(stats, 'p_ttest')}, "
        f"Wilcoxon {_p_pair(stats, 'p_wilcoxon')}, TOST ±{margin * 100:.2f} pp {_p_pair(stats, 'p_tost')}, "
        f"d_z {dz}, higher on {stats['wins']} of {stats['folds']} folds"
    )


def wilcoxon_note(stats: dict[str, Any]) -> str:
    """Say so when the assumption-light test (Holm-adjusted) does not back the t-test's verdict."""
    if stats["p_wilcoxon_holm"] is None or below_alpha(stats["p_ttest_holm"]) == below_alpha(stats["p_wilcoxon_holm"]):
        return ""
    if 2 / 2 ** stats["folds"] >= ALPHA:
        return f" (with {stats['folds']} folds the Wilcoxon test cannot reach p < {ALPHA})"
    return " (the Holm-adjusted Wilcoxon test disagrees)"


def pair_line(entry: dict[str, Any], summary: dict[str, Any]) -> str:
    """One bullet: the pair, its verdict on held-out accuracy with its conditions, and the evidence."""
    stats, margin = entry["accuracy"], summary["equivalence_margin"]
    pair = f"**{entry['model']}** vs **{entry['baseline']}**"
    return (f"- {pair}, {budget_phrase(summary['conditions'])}: **{verdict_phrase(stats, margin)}**"
            f"{wilcoxon_note(stats)}: {evidence(stats, margin)}.")


def tally(entries: list[dict[str, Any]]) -> str:
    """How many comparisons reached each verdict."""
    verdicts = [e["accuracy"]["verdict"] for e in entries]
    counts = {v: verdicts.count(v) for v in VERDICTS}
    return ", ".join(f"{n} {v}" for v, n in counts.items() if n) + f" (of {len(entries)})"


def lstm_vs_cnn(summary: dict[str, Any]) -> str:
    entries = list(summary["comparisons"].get("lstm_vs_cnn", {}).values())
    if not entries:
        return "Not answered: no hybrid in the study has a plain CNN with the same convolutions.\n"
    proposed = summary["proposed_model"]
    entries.sort(key=lambda e: e["model"] != proposed)  # the proposed model first
    lines = [f"Hybrids against their CNN, {budget_phrase(summary['conditions'])}: {tally(entries)}.", ""]
    if entries[0]["model"] == proposed:
        lines += [f"The proposed model **{proposed}** against **{entries[0]['baseline']}**: "
                  f"**{verdict_phrase(entries[0]['accuracy'], summary['equivalence_margin'])}** "
                  f"{budget_phrase(summary['conditions'])}.", ""]
    return "\n".join(lines + [pair_line(e, summary) for e in entries]) + "\n"


def param_matched(summary: dict[str, Any]) -> str:
    """Each hybrid against plain CNNs of about its size, next to its verdict against the CNN with the same
    convolutions: a gain that survives here is not capacity alone."""
    entries = list(summary["comparisons"].get("param_matched", {}).values())
    tolerance = f"±{PARAM_MATCH_TOLERANCE:.0%}"
    if not entries:
        return f"Not answered: no hybrid in the study has a plain CNN within {tolerance} of its parameter count.\n"
    params = {name: entry["params"] for name, entry in summary["models"].items()}
    same_convs = {e["model"]: e for e in summary["comparisons"].get("lstm_vs_cnn", {}).values()}
    lines = [f"Hybrids against a plain CNN within {tolerance} of their parameter count (hybrids without one are "
             f"not in this question), {budget_phrase(summary['conditions'])}: {tally(entries)}.", ""]
    for entry in entries:
        model, baseline = entry["model"], entry["baseline"]
        size = (f"  Parameters: hybrid {params[model]:,}, CNN {params[baseline]:,} "
                f"({params[baseline] / params[model] - 1:+.1%})")
        if model in same_convs:
            reference = same_convs[model]
            size += (f"; against **{reference['baseline']}** ({params[reference['baseline']]:,}), the CNN with the "
                     "same convolutions, the hybrid is "
                     f"**{verdict_phrase(reference['accuracy'], summary['equivalence_margin'])}**")
        lines += [pair_line(entry, summary), size + "."]
    return "\n".join(lines) + "\n"


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
        lines += [pair_line(entry, summary), f"  Cost of bidirectionality: {cost}."]
    return "\n".join(lines) + "\n"


def vs_row_lstm(summary: dict[str, Any]) -> str:
    entries = list(summary["comparisons"].get("vs_row_lstm", {}).values())
    if not entries:
        return "Not answered: the study has no pure row-LSTM (family `lstm`).\n"
    return "\n".join([f"Models against the row-LSTM: {tally(entries)}.", ""]
                     + [pair_line(e, summary) for e in entries]) + "\n"


def vs_reference(summary: dict[str, Any]) -> str:
    """The best hybrid (and this study's row-LSTMs) on the test set against the reference figure,
    which is itself a test-set accuracy."""
    best = summary.get("best_hybrid")
    if best is None:
        return "Not answered: the study has no hybrid model.\n"
    reference = summary["reference"]
    figure = reference["accuracy"]
    lines = [
        f"The {figure:.2%} row-LSTM figure comes from {reference['source']}. It is a test-set accuracy, so it is "
        f"compared with each model's fold ensemble on the same {summary['test_images']:,} official test images "
        "(exact binomial test and Clopper-Pearson interval; the test treats the reference as exact, so it "
        "overstates the certainty of the comparison), never with held-out fold means.",
        "",
    ]
    row_lstms = [e["baseline"] for e in summary["comparisons"].get("vs_row_lstm", {}).values()]
    for name in dict.fromkeys([best, *row_lstms]):
        test = reference["models"][name]
        if below_alpha(test["p_binomial"]):
            word = "above" if test["test_accuracy"] > figure else "below"
        else:
            word = "not distinguishable from"
        role = "the best hybrid by held-out accuracy" if name == best else "this study's row-LSTM"
        lines.append(
            f"- **{name}** ({role}), {budget_phrase(summary['conditions'])}: fold ensemble "
            f"{test['test_accuracy'] * 100:.2f}% test accuracy (95% CI [{test['ci95_low'] * 100:.2f}, "
            f"{test['ci95_high'] * 100:.2f}]%), **{word}** {figure:.2%} (binomial p {_p_phrase(test['p_binomial'])})."
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
    conditions, margin = summary["conditions"], summary["equivalence_margin"]
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
        "Within each question the p-values of its pairs are Holm-adjusted (raw p shown next to the adjusted "
        "one); the verdict uses the adjusted corrected t-test: **better** or **worse** when it is "
        "significant; **equivalent** when it is not and two one-sided tests (TOST, same corrected variance, "
        f"Holm-adjusted) place the difference inside the equivalence margin of ±{margin * 100:.2f} pp fixed in "
        "advance (params `study.equivalence_margin`); **inconclusive** otherwise. A non-significant p alone is "
        "never read as \"no difference\". Std is the sample standard deviation over folds.",
        f"## Conditions\n\nEvery model was trained the same way: {schedule_phrase(conditions)}. Every verdict "
        f"below holds **{budget_phrase(conditions)}**; it answers which model is better after "
        f"{conditions['epochs']} epochs of this schedule, and may change with a longer budget or another "
        "schedule. How the answers move with the budget (other runs, each with its own conditions): "
        "[budget/budget.md](budget/budget.md), made by the `budget` stage.",
        "## Answers",
        f"### 1. {TITLES['lstm_vs_cnn']}\n\n{lstm_vs_cnn(summary)}",
        f"### 2. {TITLES['param_matched']}\n\n{param_matched(summary)}",
        f"### 3. {TITLES['bidirectional']}\n\n{bidirectional(summary, models)}",
        f"### 4. {TITLES['vs_row_lstm']}\n\n{vs_row_lstm(summary)}",
        f"### 5. {TITLES['vs_reference']}\n\n{vs_reference(summary)}",
        f"## Models\n\nAll numbers {budget_phrase(conditions)}. Accuracy, macro-F1, macro AUROC and log loss: "
        "mean ± std over the held-out folds. "
        "Test accuracy: the fold ensemble on the official test set. Timings are from the machine that ran "
        f"the study ({', '.join(sorted(set(models['device'])))}).\n\n"
        + (tables_dir / "models.md").read_text(),
        f"## Paired comparisons\n\n{budget_phrase(conditions).capitalize()}. Differences are model − baseline in "
        "percentage points of held-out accuracy; each p-value raw, Holm-adjusted within the question in brackets. "
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
