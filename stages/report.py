"""Stage report: metrics/summary.json, reports/tables and plots/figures -> reports/REPORT.md."""

from pathlib import Path

from cnnlstm.atomic import write_text
from cnnlstm.errors import exit_on_error
from cnnlstm.evaluation.report import build_report
from cnnlstm.evaluation.jsonio import read_summary
from cnnlstm.params import load_params

REPORT = Path("reports/REPORT.md")


@exit_on_error
def main() -> None:
    params = load_params()
    summary = read_summary(Path("metrics/summary.json"), params.all_models)
    write_text(REPORT, build_report(summary, Path("reports/tables"), Path("plots/figures"), REPORT.parent))
    print(f"{REPORT}: written")


if __name__ == "__main__":
    main()
