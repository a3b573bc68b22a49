"""Stage ship: the best and the proposed model's trained folds (models/<name>/fold*.pt) ->
pretrained/<name>/fold*.pt (fp16) and pretrained/manifest.json, committed to git so a fresh clone
can predict at once. A partial or small-slice run ships nothing and keeps what is there."""

from pathlib import Path

from cnnlstm.core.errors import exit_on_error
from cnnlstm.prediction.shipped import ship_models


@exit_on_error
def main() -> None:
    lines = ship_models(Path("models"), Path("metrics/summary.json"), Path("metrics/runs"), Path("logs/train"),
                        Path("pretrained"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
