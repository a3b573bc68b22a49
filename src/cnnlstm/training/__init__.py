"""Training one model on one fold: fast, deterministic on the CPU, resumable."""
