"""The generated REPORT.md."""
