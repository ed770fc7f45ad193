"""Forecast reports: one self-contained HTML file, or Markdown for pasting into documents.

See :func:`write_report`.
"""

from forecast.report.capabilities import write_capability_report
from forecast.report.render import write_report

__all__ = ["write_capability_report", "write_report"]
