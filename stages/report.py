"""Stage report: metrics/summary.json, reports/tables, plots/figures and the budget and seed stages'
reports -> reports/REPORT.md and its self-contained twin reports/REPORT.html."""

from pathlib import Path

from cnnlstm.core.atomic import write_text
from cnnlstm.core.errors import exit_on_error
from cnnlstm.core.params import load_params
from cnnlstm.prediction.provenance import code_version
from cnnlstm.report.build import Inputs, build_report
from cnnlstm.report.html import report_html
from cnnlstm.study.summary_file import read_study_summary

REPORT = Path("reports/REPORT.md")
HTML = REPORT.with_suffix(".html")


@exit_on_error
def main() -> None:
    params = load_params()
    summary, _ = read_study_summary(Path("metrics/summary.json"), params.all_models)
    inputs = Inputs(Path("reports/tables"), Path("plots/figures"), Path("reports/budget"), Path("plots/budget"),
                    Path("reports/seeds"), Path("plots/seeds"), code_version())
    markdown = build_report(summary, inputs, REPORT.parent)
    page = report_html(markdown, REPORT.parent, "cnnlstm: does an LSTM make a CNN a better classifier?")
    write_text(REPORT, markdown)
    write_text(HTML, page)
    print(f"{REPORT} and {HTML} ({len(page.encode()) / 1e6:.1f} MB, figures embedded): written")


if __name__ == "__main__":
    main()
