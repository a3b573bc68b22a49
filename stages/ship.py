"""Stage ship: the best model's trained folds (models/<best>/fold*.pt) -> pretrained/<best>/fold*.pt
(fp16) and pretrained/manifest.json, committed to git so a fresh clone can predict at once."""

from pathlib import Path

from cnnlstm.core.errors import exit_on_error
from cnnlstm.prediction.shipped import ship_best_model

SHIPPED = Path("pretrained")


@exit_on_error
def main() -> None:
    manifest = ship_best_model(Path("models"), Path("metrics/summary.json"), SHIPPED)
    size = sum(entry["bytes"] for entry in manifest["files"])
    print(f"{SHIPPED}/{manifest['model']}: {len(manifest['files'])} fold models, fp16, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
