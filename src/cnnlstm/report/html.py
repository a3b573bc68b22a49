"""The report's HTML twin: one self-contained file (figures embedded as base64 PNG, styles inline), so it
opens offline and can be mailed or attached as it is."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from markdown_it import MarkdownIt

STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 1180px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.7em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 12.5px; margin: .8em 0; display: block; overflow-x: auto; }
th, td { border: 1px solid #ddd; padding: 2px 7px; text-align: left; white-space: nowrap; }
th { background: #f4f4f4; } img { max-width: 100%; height: auto; } code { background: #f4f4f4; padding: 0 3px; }
"""
_IMG = re.compile(r'<img src="([^"]+\.png)"')


def _embed(body: str, base: Path) -> str:
    """Every <img src="relative.png"> as a data URI; a missing figure is an error, not a broken image."""
    def data_uri(match: re.Match[str]) -> str:
        path = base / html.unescape(match.group(1))
        return f'<img src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}"'
    return _IMG.sub(data_uri, body)


def report_html(markdown: str, base: Path, title: str) -> str:
    """`markdown` (links relative to `base`) as one HTML page."""
    body = MarkdownIt("commonmark").enable("table").render(markdown)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(title)}</title>\n'
            f"<style>{STYLE}</style>\n</head>\n<body>\n{_embed(body, base)}</body>\n</html>\n")
