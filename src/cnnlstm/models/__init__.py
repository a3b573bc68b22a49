"""The study's models, built by name from params.yaml through one registry."""

from cnnlstm.models.registry import FAMILIES, build_model, parse_config

__all__ = ["FAMILIES", "build_model", "parse_config"]
