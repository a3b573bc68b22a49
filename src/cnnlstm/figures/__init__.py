"""Figures of the study and their data for dvc plots."""
