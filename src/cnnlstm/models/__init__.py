"""The study's models: configs (configs.py, torch-free) and builders (registry.py)."""
