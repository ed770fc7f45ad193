"""ARCHITECTURE.md maps every module of the package (as CausalPy's check_architecture_inventory does)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_module_is_listed_in_the_architecture_map():
    text = (ROOT / "ARCHITECTURE.md").read_text()
    listed = set(re.findall(r"`(forecast/[\w/]+\.py)`", text))
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "forecast").rglob("*.py")}
    assert modules - listed == set(), f"add these modules to ARCHITECTURE.md: {sorted(modules - listed)}"
    assert listed - modules == set(), f"ARCHITECTURE.md lists modules that do not exist: {sorted(listed - modules)}"
