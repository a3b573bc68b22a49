"""Evaluation: predictions of each trained run, their metrics, statistics across folds, plots, report."""
