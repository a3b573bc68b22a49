"""reports/REPORT.md: a report a supervisor reads in five minutes: the answer and its budget first, then
methods in brief, results with their figures, what the budget and seed runs change, limitations, and
where it came from (the last commit of code and parameters, its date, the hardware). The conditions
every number holds under are stated once.
Every sentence is derived from metrics/summary.json and the tables; nothing is written by hand."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pandas as pd

from cnnlstm.report.findings import (ARM_MODELS, MAIN_MODELS, budget_finding, budget_words, convergence_finding,
                                     extension_primary, other_precision_primary, precision_check, precision_finding,
                                     primary_change, progress_finding, seed_finding)
from cnnlstm.study.conditions import budget_phrase, recipe, schedule_phrase
from cnnlstm.study.fp32_arm import ARM_PRECISION
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
    return f"- {pair}: **{verdict_phrase(stats, margin)}**{wilcoxon_note(stats)}: {evidence(stats, margin)}."


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
    lines = [f"Hybrids against their CNN: {tally(entries)}.", ""]
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
             f"not in this question): {tally(entries)}.", ""]
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
            f"- **{name}** ({role}): fold ensemble "
            f"{test['test_accuracy'] * 100:.2f}% test accuracy (95% CI [{test['ci95_low'] * 100:.2f}, "
            f"{test['ci95_high'] * 100:.2f}]%), **{word}** {figure:.2%} (binomial p {_p_phrase(test['p_binomial'])})."
        )
    return "\n".join(lines) + "\n"


def figure(path: Path, report_dir: Path, caption: str) -> str:
    return f"![{caption}]({os.path.relpath(path, report_dir)})\n\n*{caption}*\n"


@dataclasses.dataclass(frozen=True)
class Inputs:
    """Where the report reads from, and where it came from."""
    tables: Path          # reports/tables (aggregate stage)
    figures: Path         # plots/figures (plots stage)
    budget: Path          # reports/budget (budget stage)
    budget_plots: Path    # plots/budget
    seeds: Path           # reports/seeds (seeds stage)
    seed_plots: Path      # plots/seeds
    code: str             # the code's last commit and its date (provenance.code_version)


ANSWERS = {BETTER: "improves it", WORSE: "makes it worse", EQUIVALENT: "changes it by less than the margin",
           INCONCLUSIVE: "is not shown to improve it"}


def _proposed_pair(summary: dict[str, Any]) -> dict[str, Any] | None:
    proposed = summary["proposed_model"]
    return next((e for e in summary["comparisons"].get("lstm_vs_cnn", {}).values() if e["model"] == proposed), None)


def hardware(summary: dict[str, Any], models: pd.DataFrame) -> str:
    c = summary["conditions"]
    machines = c.get("train_hardware") or {}  # recorded by every run since the converged study
    where = ", ".join(f"{machine} ({runs} runs)" for machine, runs in machines.items()) or c["train_device"]
    return (f"trained on {where} in {c['train_precision']}, evaluated on {c['eval_device']} in "
            f"{c['eval_precision']}; inference timings on {', '.join(sorted(set(models['device'])))} (the evaluation "
            "does not record the processor model; `reports/timing/` has the machine of each `make repro`)")


def summary_section(summary: dict[str, Any], models: pd.DataFrame, inputs: Inputs) -> str:
    """The answer with its budget, the best model, and what more epochs and other seeds change."""
    conditions, margin = summary["conditions"], summary["equivalence_margin"]
    best, proposed = summary["best_model"], summary["proposed_model"]
    lines = [f"**Conditions of every number below, unless a line says otherwise: {budget_phrase(conditions)}** "
             f"({summary['folds']}-fold cross-validation; the recipe under *Methods*).", ""]
    progress = progress_finding(summary)
    if progress:
        lines += [progress, ""]
    epochs, main_models = conditions["epochs"], summary["analysis"]["main_models"]
    converged, check = convergence_finding(inputs.budget / "budget_convergence.csv", epochs, main_models)
    study_recipe = recipe(conditions)
    extended = extension_primary(inputs.budget, epochs, study_recipe)
    in_arm = extended is not None and extended["recipe"] != study_recipe  # Amendment 2's fp32 arm
    if extended is not None:  # Amendments 1 and 2: the answer is stated at the extension's budget
        checked = summary["analysis"]["primary"] if in_arm else main_models  # the arm trains the pair alone
        extended_check = convergence_finding(inputs.budget / "budget_convergence.csv", extended["epochs"], checked,
                                             extended["point"], ARM_MODELS if in_arm else MAIN_MODELS)
        lines.append(_extension_answer(extended, extended_check[0], inputs.budget, epochs, margin, in_arm))
    pair = _proposed_pair(summary)
    if pair is not None:
        stats = pair["accuracy"]
        # As pre-registered: a budget that fails the convergence check is named in the answer itself.
        said = f"adding an LSTM to the CNN {ANSWERS[stats['verdict']]} {budget_words(epochs, converged)}."
        lead = (f"**Answer: {said}**" if extended is None
                else f"The pre-registered {epochs}-epoch study, all {len(summary['models'])} models: {said}")
        lines.append(f"- {lead} The proposed **{proposed}** against **{pair['baseline']}**, the CNN with "
                     f"the same convolutions: **{verdict_phrase(stats, margin)}**, {evidence(stats, margin)}.")
    def heldout(name: str) -> str:
        return f"{models.loc[name, 'accuracy_mean'] * 100:.2f} ± {models.loc[name, 'accuracy_std'] * 100:.2f}%"

    lines.append(f"- Best model by held-out accuracy: **{best}**, {heldout(best)} (mean ± std over folds); its fold "
                 f"ensemble scores {summary['models'][best]['test_ensemble']['accuracy'] * 100:.2f}% on the official "
                 f"test set. The proposed model: {heldout(proposed)}.")
    if pair is not None and (inputs.budget / "budget_comparisons.csv").is_file():
        moved = budget_finding(inputs.budget / "budget_comparisons.csv", proposed, pair["baseline"])
        if moved is not None:
            lines.append(f"- {moved}")
    if pair is not None and (inputs.seeds / "seed_comparisons.csv").is_file():
        for line in seed_finding(inputs.seeds / "seed_comparisons.csv", proposed, pair["baseline"]):
            lines.append(f"- Seeds, {line}")
    lines.append(f"- {check}")
    if extended is not None:
        lines.append(f"- {extended_check[1]}")
    lines += _precision_lines(inputs.budget, epochs, study_recipe, extended, margin)
    return "## Summary\n\n" + "\n".join(lines)


def _precision_lines(budget: Path, study_epochs: int, study_recipe: str, extended: pd.Series | None,
                     margin: float) -> list[str]:
    """Amendment 2 beside the answer: its precision check, and the fp32 arm's verdict at the extension's
    budget where the answer is not stated there."""
    check = precision_check(budget, study_epochs, study_recipe)
    lines = [] if check is None else [f"- {precision_finding(check, margin)}"]
    other = other_precision_primary(budget, study_epochs, None if extended is None else extended["point"])
    if other is not None:
        lines.append(f"- In {ARM_PRECISION} (Amendment 2's arm, {other['point']}), not the answer: "
                     f"{other['model']} − {other['baseline']} **{other['verdict']}**, {other['mean_diff'] * 100:+.2f} pp "
                     f"(95% CI [{other['ci95_low'] * 100:+.2f}, {other['ci95_high'] * 100:+.2f}], corrected t-test p "
                     f"{_p_phrase(other['p_ttest'])}), higher on {other['wins']} of {other['folds']} folds.")
    return lines


def _extension_answer(row: pd.Series, converged: bool | None, budget: Path, study_epochs: int, margin: float,
                      in_arm: bool) -> str:
    """The answer at the extension's budget (Amendment 1, or Amendment 2's fp32 arm): the primary pair there,
    unadjusted as pre-registered, and how it changed from the study's budget (the interaction test)."""
    stats = {**row.to_dict(), "within_margin": below_alpha(row["p_tost"])}
    dz = "–" if pd.isna(row["cohens_dz"]) else f"{row['cohens_dz']:+.2f}"
    change = primary_change(budget, row, study_epochs)
    words = budget_words(row["epochs"], converged, ARM_PRECISION if in_arm else None)
    trained = (f"Amendment 2 (docs/preregistration.md): the primary pair trained in {ARM_PRECISION} at twice the "
               f"pre-registered budget ({row['point']}), the precision shown immaterial at the study's budget by the "
               "precision check below" if in_arm else "Amendment 1 (docs/preregistration.md): the main models trained "
               f"again at twice the pre-registered budget ({row['point']})")
    return (f"- **Answer: adding an LSTM to the CNN {ANSWERS[row['verdict']]} {words}.** "
            f"{trained}. The proposed **{row['model']}** against **{row['baseline']}**: "
            f"**{verdict_phrase(stats, margin)}**, {row['mean_diff'] * 100:+.2f} pp held-out accuracy (95% CI "
            f"[{row['ci95_low'] * 100:+.2f}, {row['ci95_high'] * 100:+.2f}] pp), corrected t-test p "
            f"{_p_phrase(row['p_ttest'])} (the primary test, not adjusted), Wilcoxon p {_p_phrase(row['p_wilcoxon'])}, "
            f"TOST ±{margin * 100:.2f} pp p {_p_phrase(row['p_tost'])}, d_z {dz}, higher on {row['wins']} of "
            f"{row['folds']} folds" + (f"; {change}" if change else "") + ".")


def _left_out(summary: dict[str, Any]) -> str:
    incomplete = summary.get("incomplete") or {}
    return f" complete of {len(summary['models']) + len(incomplete)} ({', '.join(incomplete)} not yet)" if incomplete else ""


def methods_section(summary: dict[str, Any]) -> str:
    sizes, margin = summary["fold_sizes"], summary["equivalence_margin"]
    return (
        "## Methods in brief\n\n"
        f"- **Models:** {len(summary['models'])}{_left_out(summary)}: plain CNNs, the same CNNs with an LSTM reading the feature map's "
        f"rows, a BiLSTM2D and a pure row-LSTM; the proposed model is **{summary['proposed_model']}**.\n"
        f"- **Data:** Fashion-MNIST, {summary['folds']} stratified cross-validation folds (about "
        f"{sizes['train']:,.0f} training and {sizes['heldout']:,.0f} held-out images each); the "
        f"{summary['test_images']:,} official test images are used only for each model's fold ensemble (the fold "
        "models' probabilities averaged).\n"
        f"- **Training:** {schedule_phrase(summary['conditions'])}; epochs chosen on a validation slice of each "
        "fold's training part.\n"
        "- **Statistics:** models are compared on the held-out folds, paired fold by fold, with the corrected "
        f"resampled t-test of Nadeau & Bengio (2003) at a two-sided level of {ALPHA}, Holm-adjusted within each "
        "question (the Wilcoxon signed-rank test as a check). **better/worse**: significant; **equivalent**: not, "
        f"and two one-sided tests place the difference inside ±{margin * 100:.2f} pp, a margin fixed in advance "
        "(params `study.equivalence_margin`); **inconclusive** otherwise. A non-significant p alone is never read "
        "as \"no difference\"."
    )


def budget_and_seeds_section(inputs: Inputs, report_dir: Path) -> str:
    """The budget and seed stages' own reports, as they wrote them, with their figures (a study with
    neither, e.g. a smoke run in a fresh folder, says so)."""
    if not (inputs.budget / "budget.md").is_file() and not (inputs.seeds / "seeds.md").is_file():
        return ("## What more epochs and other seeds change\n\nNo budget or seed points here "
                "(`metrics/budgets/`, `metrics/seeds/`; docs/budget.md says how they are made).")
    parts = ["## What more epochs and other seeds change\n\n"
             "Each budget point is a whole study run of its own (the recipe the same but for the epochs); each "
             "seed point the same study trained again with other training seeds. Their conditions are given "
             "with each point."]
    if (inputs.budget / "budget.md").is_file():
        parts.append(figure(inputs.budget_plots / "paired_differences.png", report_dir,
                            "Paired differences in held-out accuracy per budget point: mean and 95% CI, ±margin band"))
        parts.append(figure(inputs.budget_plots / "accuracy_vs_budget.png", report_dir,
                            "Held-out accuracy against training epochs and training FLOPs"))
        parts.append("### Budget points\n\n" + (inputs.budget / "budget.md").read_text())
    if (inputs.seeds / "seeds.md").is_file():
        parts.append("### Seed variance\n\n" + (inputs.seeds / "seeds.md").read_text().replace("### ", "#### "))
    for plot in sorted(inputs.seed_plots.glob("*.png")):
        parts.append(figure(plot, report_dir, f"{plot.stem}: held-out accuracy per fold at each training seed, "
                                              "and the paired differences with the ±margin band"))
    return "\n\n".join(p.rstrip("\n") for p in parts)


def limitations_section(summary: dict[str, Any], inputs: Inputs) -> str:
    c = summary["conditions"]
    converged, check = convergence_finding(inputs.budget / "budget_convergence.csv", c["epochs"],
                                           summary["analysis"]["main_models"])
    budget = (f"{check} A verdict may change with a longer budget; the budget points show how it moved."
              if not converged else f"{check} Longer training is not expected to move a difference worth reporting.")
    return (
        "## Limitations\n\n"
        f"- **Budget.** {c['epochs']} epochs{', no augmentation' if not any(c['augment'].values()) else ''}. {budget}\n"
        "- **One training seed** in the main study: a paired difference carries seed noise (the seed variance "
        "section); a close verdict can flip with the seed.\n"
        f"- **Hardware.** Trained in {c['train_precision']} on {c['train_device']}: rerun numbers move by "
        "floating-point kernel differences between CPUs and GPUs (bf16 rounding, other summation orders), "
        "typically a few tenths of a point per fold, less on means over folds.\n"
        "- **The reference row-LSTM figure** has no located source; it is compared with test-set numbers only.\n"
        "- **One data set** (Fashion-MNIST, 28×28 grayscale): nothing here is shown for other images."
    )


def build_report(summary: dict[str, Any], inputs: Inputs, report_dir: Path) -> str:
    """The whole Markdown report; links are relative to `report_dir`."""
    tables_dir, figs = inputs.tables, inputs.figures
    models = pd.read_csv(tables_dir / "models.csv").set_index("model")
    per_class = pd.read_csv(tables_dir / "per_class.csv")
    best, proposed = summary["best_model"], summary["proposed_model"]
    best_recall = per_class[per_class["model"] == best].set_index("class")["cv_recall"]
    worst = best_recall.idxmin()
    sections = [
        "# Does an LSTM reading image rows make a CNN a better Fashion-MNIST classifier?",
        f"*Code and parameters of {inputs.code}; {hardware(summary, models)}. Generated by "
        "`dvc repro` (stage `report`) from `metrics/summary.json` and `reports/`; do not edit by hand.*",
        summary_section(summary, models, inputs),
        methods_section(summary),
        "## Results",
        f"### 1. {TITLES['lstm_vs_cnn']}\n\n{lstm_vs_cnn(summary)}",
        figure(figs / "paired_differences.png", report_dir,
               "Paired differences in held-out accuracy, fold by fold (dots), mean and 95% CI (bars), ±margin band"),
        f"### 2. {TITLES['param_matched']}\n\n{param_matched(summary)}",
        f"### 3. {TITLES['bidirectional']}\n\n{bidirectional(summary, models)}",
        f"### 4. {TITLES['vs_row_lstm']}\n\n{vs_row_lstm(summary)}",
        f"### 5. {TITLES['vs_reference']}\n\n{vs_reference(summary)}",
        "### Every model\n\nAccuracy, macro-F1, macro AUROC and log loss: mean ± std over the held-out folds. "
        "Test accuracy: the fold ensemble on the official test set. Timings: the machine that ran the study.\n\n"
        + (tables_dir / "models.md").read_text(),
        figure(figs / "learning_curves.png", report_dir, "Validation accuracy per epoch, mean ± std over folds"),
        figure(figs / "accuracy_vs_cost.png", report_dir,
               "Held-out accuracy against parameters, FLOPs and training time (bars: spread over folds, not the "
               "paired difference)"),
        figure(figs / "roc_worst_class.png", report_dir,
               f"ROC of the class the best model recalls worst ({worst}), every model (fold ensembles, test set)"),
        *(figure(figs / "confusion" / f"{name}.png", report_dir, f"Normalised test-set confusion matrix of {name}")
          for name in dict.fromkeys([proposed, best])),
        budget_and_seeds_section(inputs, report_dir),
        limitations_section(summary, inputs),
        "## Details",
        "### Paired comparisons\n\nDifferences are model − baseline in percentage points of held-out accuracy; "
        "each p-value raw, Holm-adjusted within the question in brackets. `reports/tables/comparisons.csv` also "
        "has macro-F1 and macro AUROC.\n\n" + (tables_dir / "comparisons.md").read_text(),
        "### Recall per class (%, held-out mean over folds)\n\n" + (tables_dir / "per_class.md").read_text(),
        figure(figs / "roc_best_model.png", report_dir, f"One-vs-rest ROC per class of the best model ({best})"),
        figure(figs / "tsne.png", report_dir, "t-SNE of the penultimate-layer features of the best and the "
                                             "proposed model, coloured by true class"),
    ]
    return "\n\n".join(section.rstrip("\n") for section in sections) + "\n"
