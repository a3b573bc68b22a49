"""Regression gate: the smoke profile run in a throwaway copy, compared with a committed baseline."""
