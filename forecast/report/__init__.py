"""Forecast reports: one self-contained HTML file, or Markdown for pasting into documents.

See :func:`write_report`.
"""

from forecast.report.render import write_report

__all__ = ["write_report"]
