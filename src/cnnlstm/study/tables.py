"""The study's tables as pandas frames, written as CSV (for tools) and Markdown (for people)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from cnnlstm.core.atomic import write_text
from cnnlstm.study.formatting import format_p, plus_minus
from cnnlstm.study.labels import display_names
from cnnlstm.evaluation.metrics import SCALAR_METRICS
from cnnlstm.study.questions import COMPARED_METRICS, QUESTIONS
from cnnlstm.study.runs import Run, per_class_cv, timing_summary


def model_table(summary: dict[str, Any], study: dict[str, list[Run]], families: dict[str, str]) -> pd.DataFrame:
    """One row per model: mean and std over folds, fold-ensemble test metrics, cost."""
    rows = []
    labels = display_names(summary)
    for name, entry in summary["models"].items():
        row: dict[str, Any] = {"model": name, "label": labels[name], "family": families[name],
                               "proposed": name == summary["proposed_model"]}
        for metric in SCALAR_METRICS:
            row[f"{metric}_mean"] = entry["cv"][metric]["mean"]
            row[f"{metric}_std"] = entry["cv"][metric]["std"]
        row.update({f"test_{metric}": entry["test_ensemble"][metric] for metric in SCALAR_METRICS})
        row.update(params=entry["params"], flops_per_image=entry["flops_per_image"], **timing_summary(study[name]))
        rows.append(row)
    return pd.DataFrame(rows)


def comparison_table(comparisons: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per (question, pair, metric) with every statistic; differences are model - baseline."""
    rows = [
        {"question": question, "model": entry["model"], "baseline": entry["baseline"], "metric": metric,
         **entry[metric]}
        for question, pairs in comparisons.items()
        for entry in pairs.values()
        for metric in COMPARED_METRICS
        if metric in entry
    ]
    return pd.DataFrame(rows)


def per_class_table(study: dict[str, list[Run]], ensembles: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per (model, class): held-out means over folds and fold-ensemble test values."""
    rows = []
    for name, runs in study.items():
        cv = {kind: per_class_cv(runs, kind) for kind in ("precision", "recall", "auroc")}
        test = ensembles[name]["per_class"]
        for cls in cv["recall"]:
            rows.append({"model": name, "class": cls,
                         **{f"cv_{kind}": round(cv[kind][cls], 6) for kind in cv},
                         **{f"test_{kind}": test[kind][cls] for kind in ("precision", "recall", "auroc")}})
    return pd.DataFrame(rows)


def model_markdown(table: pd.DataFrame) -> str:
    """The headline table: mean ± std over folds (held-out), fold ensemble on the test set, cost."""
    shown = pd.DataFrame({
        "model": [f"**{label}**" if p else label for label, p in zip(table["label"], table["proposed"])],
        "accuracy %": [plus_minus(m, s, True) for m, s in zip(table["accuracy_mean"], table["accuracy_std"])],
        "macro-F1 %": [plus_minus(m, s, True) for m, s in zip(table["f1_macro_mean"], table["f1_macro_std"])],
        "macro AUROC": [plus_minus(m, s, False) for m, s in zip(table["auroc_macro_mean"], table["auroc_macro_std"])],
        "log loss": [plus_minus(m, s, False) for m, s in zip(table["log_loss_mean"], table["log_loss_std"])],
        "test acc % (ensemble)": (table["test_accuracy"] * 100).map("{:.2f}".format),
        "params": table["params"].map("{:,}".format),
        "MFLOP/image": (table["flops_per_image"] / 1e6).map("{:.2f}".format),
        "train s/fold": table["train_seconds"].map("{:.0f}".format),
        "inference img/s": table["inference_images_per_s"].map("{:,.0f}".format),
        "latency ms": table["latency_ms"].map("{:.2f}".format),
    })
    return shown.to_markdown(index=False, disable_numparse=True) + "\n"


def _raw_and_holm(raw: pd.Series, adjusted: pd.Series) -> list[str]:
    return [f"{format_p(p)} ({format_p(h)})" for p, h in zip(raw, adjusted)]


def comparison_markdown(table: pd.DataFrame, metric: str = "accuracy") -> str:
    """Per question, the paired differences of `metric` in percentage points; each p-value raw, then
    Holm-adjusted within the question in brackets; the verdict from the adjusted ones."""
    sections = []
    for question in QUESTIONS:
        rows = table[(table["question"] == question.key) & (table["metric"] == metric)]
        if rows.empty:
            continue
        shown = pd.DataFrame({
            "model": rows["model"],
            "baseline": rows["baseline"],
            f"Δ {metric} (pp)": (rows["mean_diff"] * 100).map("{:+.2f}".format),
            "95% CI (pp)": [f"[{lo * 100:+.2f}, {hi * 100:+.2f}]"
                            for lo, hi in zip(rows["ci95_low"], rows["ci95_high"])],
            "p corrected t (Holm)": _raw_and_holm(rows["p_ttest"], rows["p_ttest_holm"]),
            "p Wilcoxon (Holm)": _raw_and_holm(rows["p_wilcoxon"], rows["p_wilcoxon_holm"]),
            "p TOST (Holm)": _raw_and_holm(rows["p_tost"], rows["p_tost_holm"]),
            "d_z": rows["cohens_dz"].map(lambda d: "–" if pd.isna(d) else f"{d:+.2f}"),
            "wins/losses": [f"{w}/{l}" for w, l in zip(rows["wins"], rows["losses"])],
            "verdict": [f"{v}, borderline ({alt} with the other n_train)" if b else v
                        for v, b, alt in zip(rows["verdict"], rows["borderline"], rows["alternative_verdict"])],
        })
        sections.append(f"**{question.title}**\n\n{shown.to_markdown(index=False, disable_numparse=True)}\n")
    return "\n".join(sections)


def per_class_markdown(table: pd.DataFrame, column: str = "cv_recall") -> str:
    """Classes × models, recall in %, held-out mean over folds."""
    wide = table.pivot(index="class", columns="model", values=column) * 100
    wide = wide.loc[list(dict.fromkeys(table["class"])), list(dict.fromkeys(table["model"]))]
    return wide.round(1).astype(str).to_markdown(disable_numparse=True) + "\n"


def write_tables(
    folder: Path, summary: dict[str, Any], study: dict[str, list[Run]], ensembles: dict[str, dict[str, Any]],
    comparisons: dict[str, dict[str, Any]], families: dict[str, str],
) -> None:
    """models, comparisons and per_class tables, each as .csv and .md, into `folder`."""
    models = model_table(summary, study, families)
    comparisons = comparison_table(comparisons)
    per_class = per_class_table(study, ensembles)
    for name, frame in (("models", models), ("comparisons", comparisons), ("per_class", per_class)):
        write_text(folder / f"{name}.csv", frame.to_csv(index=False))
    write_text(folder / "models.md", model_markdown(models))
    write_text(folder / "comparisons.md", comparison_markdown(comparisons))
    write_text(folder / "per_class.md", per_class_markdown(per_class))
