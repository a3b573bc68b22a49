"""Stage report: metrics/summary.json, reports/tables and plots/figures -> reports/REPORT.md."""

from pathlib import Path

from cnnlstm.core.atomic import write_text
from cnnlstm.core.errors import exit_on_error
from cnnlstm.report.build import build_report
from cnnlstm.core.jsonio import read_summary
from cnnlstm.core.params import load_params

REPORT = Path("reports/REPORT.md")


@exit_on_error
def main() -> None:
    params = load_params()
    summary = read_summary(Path("metrics/summary.json"), params.all_models)
    write_text(REPORT, build_report(summary, Path("reports/tables"), Path("plots/figures"), REPORT.parent))
    print(f"{REPORT}: written")


if __name__ == "__main__":
    main()
