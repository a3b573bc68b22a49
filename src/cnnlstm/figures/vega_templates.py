"""The `dvc plots` templates' colour scales, written from the palette so that `dvc plots show/diff`
draws each model and class in the colour every PNG uses, and the proposed model red and larger.

Vega-lite needs the model names in the template (a scale's domain), so the templates are written
for params.yaml's models: `python -m cnnlstm.figures.vega_templates` after adding a model or changing
model.name; tests/test_palette.py fails while they disagree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cnnlstm.core.atomic import write_text
from cnnlstm.core.params import load_params
from cnnlstm.data.fashion_mnist import CLASSES
from cnnlstm.figures import palette

TEMPLATES = Path(".dvc/plots")


def scales(models: tuple[str, ...], proposed: str) -> dict[str, dict[str, list[str]]]:
    """{field: vega-lite scale} for the colour channels: `model` and `class`."""
    return {
        "model": {"domain": list(models), "range": [palette.style(m, proposed).color for m in models]},
        "class": {"domain": list(CLASSES), "range": list(palette.CLASS_COLORS)},
    }


def _emphasis(proposed: str, value: float, strong: float) -> dict[str, Any]:
    return {"condition": {"test": f"datum.model === {json.dumps(proposed)}", "value": strong}, "value": value}


def with_palette(template: Any, models: tuple[str, ...], proposed: str) -> Any:
    """`template` with every colour encoding on `model` or `class` given the palette's scale, and the
    proposed model's lines and points drawn thicker and larger."""
    if isinstance(template, list):
        return [with_palette(item, models, proposed) for item in template]
    if not isinstance(template, dict):
        return template
    out = {key: with_palette(value, models, proposed) for key, value in template.items()}
    encoding = out.get("encoding")
    color = encoding.get("color") if isinstance(encoding, dict) else None
    if isinstance(color, dict) and color.get("field") in ("model", "class"):
        encoding["color"] = {**color, "scale": scales(models, proposed)[color["field"]]}
        if color["field"] == "model":
            for node in [out, *out.get("layer", [])]:  # the marks this colour applies to
                _emphasise(node, proposed)
    return out


def _emphasise(node: dict[str, Any], proposed: str) -> None:
    mark = node.get("mark", {})
    kind = mark.get("type") if isinstance(mark, dict) else mark
    channel = {"line": ("strokeWidth", 1.5, 4), "point": ("size", 80, 260)}.get(kind)
    if channel is not None:
        name, value, strong = channel
        node.setdefault("encoding", {})[name] = _emphasis(proposed, value, strong)


def template_files(folder: Path = TEMPLATES) -> list[Path]:
    return sorted(folder.glob("*.json"))


def expected(path: Path, models: tuple[str, ...], proposed: str) -> str:
    """The text `path` should hold: its own content with the palette's scales."""
    return json.dumps(with_palette(json.loads(path.read_text()), models, proposed), indent=2) + "\n"


def main() -> None:
    params = load_params()
    for path in template_files():
        write_text(path, expected(path, params.all_models, params.model["name"]))
        print(f"{path}: palette of {len(params.all_models)} models")


if __name__ == "__main__":
    main()
