"""Stage download: fill data/raw with the four official Fashion-MNIST files, verified."""

from cnnlstm.data.source import fetch_raw
from cnnlstm.core.errors import exit_on_error
from cnnlstm.core.params import load_params


@exit_on_error
def main() -> None:
    params = load_params()
    origin = fetch_raw(params.data.source, "data/raw")
    print(f"data/raw: four files verified by SHA-256 (from {origin})")


if __name__ == "__main__":
    main()
