"""Cross-fold statistics, comparisons and tables of the whole study."""
