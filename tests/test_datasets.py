"""The bundled real tables: catalogue, loading, citations carried into fits and reports."""

from __future__ import annotations

import gzip
import os
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape as html_escape

import forecast as fc
from forecast.datasets import CATALOG
from forecast.testing import fake_fit

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FORECAST_DATA", ROOT.parent / "shared" / "data"))
RUNS = [n for n, d in CATALOG.items() if d.kind == "runs"]


def test_describe_lists_every_bundled_table_with_source_licence_and_citation():
    table = fc.datasets.describe()
    assert list(table.columns) == ["name", "rows", "families", "what", "source", "licence", "citation"]
    assert set(table["name"]) == {*CATALOG, "simulated"}
    assert table[["what", "source", "licence", "citation"]].map(lambda s: isinstance(s, str) and len(s) >= 3).all().all()
    sim = table.set_index("name").loc["simulated"]
    assert "SIMULATED" in sim["what"] and "not measurements" in sim["citation"]
    # published row counts (shared/data/README.md); chinchilla without Epoch's 5 dropped points
    rows = table.set_index("name")["rows"].to_dict()
    assert rows == {"chinchilla": 240, "datablations_c4": 229, "opt_checkpoints": 142,
                    "epoch_language_models": 479, "obsscaling_benchmarks": 148, "simulated": 94}
    assert table.set_index("name").loc["obsscaling_benchmarks", "families"] == 47


@pytest.mark.parametrize("name", RUNS)
def test_run_tables_load_as_validated_cited_observations(name):
    obs = fc.datasets.load(name)
    assert isinstance(obs, fc.Observations)
    assert obs.citation == CATALOG[name].citation
    assert name in obs.source
    assert (obs.table["params"] > 1e6).all() and (obs.table["loss"] > 1).all()
    # flops as published, not refilled as 6ND
    raw = fc.datasets.load_table(name)
    assert set(np.round(np.log10(obs.table["flops"]), 6)) <= set(np.round(np.log10(raw["flops"]), 6))


def test_opt_checkpoints_keep_their_run_and_chinchilla_drops_epochs_five_points():
    opt = fc.datasets.load("opt_checkpoints")
    assert opt.table["run"].nunique() == 6 and "OPT-175b" in set(opt.table["run"])
    raw = fc.datasets.load_table("chinchilla")
    kept = fc.datasets.load("chinchilla").table
    assert len(raw) - len(kept) == 5
    assert kept["loss"].max() < raw["loss"].nlargest(5).min()


def test_other_tables_load_as_cited_tables():
    models = fc.datasets.load("epoch_language_models")
    assert isinstance(models, fc.datasets.Table) and "CC BY 4.0" in models.citation
    assert pd.api.types.is_datetime64_any_dtype(models.table["date"])
    growth = fc.growth_from_history(models.table, "flops", since=2018)
    assert 2 < growth.factor < 10  # Epoch AI: frontier training compute grows ~4-5x a year
    bench = fc.datasets.load_table("obsscaling_benchmarks")
    assert {"MMLU", "Model Family", "FLOPs (1E21)"} <= set(bench.columns)
    assert bench.attrs["licence"] == "Apache-2.0"


def test_unknown_name_is_a_clear_error():
    with pytest.raises(ValueError, match="no bundled dataset named 'chinchila'.*chinchilla"):
        fc.datasets.load("chinchila")


@pytest.mark.skipif(not SHARED.is_dir(), reason="no ../shared/data to compare with")
@pytest.mark.parametrize("name", list(CATALOG))
def test_bundled_files_are_the_published_tables(name):
    bundled = gzip.decompress(fc.datasets.path(name).read_bytes())
    assert bundled == (SHARED / f"{name}.csv").read_bytes()


def test_every_bundled_file_ships_with_the_package_and_is_in_the_notice():
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "data/*.csv.gz" in globs["forecast.datasets"] and "data/NOTICE.md" in globs["forecast.datasets"]
    notice = (ROOT / "forecast" / "datasets" / "data" / "NOTICE.md").read_text()
    for name in CATALOG:
        assert fc.datasets.path(name).is_file()
        assert f"## {name}.csv.gz" in notice
    assert not list((ROOT / "forecast" / "datasets" / "data").glob("porian*")), "Porian's licence is unknown"


def test_pool_keeps_every_citation_and_refuses_clashing_families():
    both = fc.datasets.pool(fc.datasets.load("chinchilla"), fc.datasets.load("opt_checkpoints"))
    assert both.families == ["chinchilla", "opt"] and len(both) == 240 + 142
    assert both.citation.splitlines() == [CATALOG["chinchilla"].citation, CATALOG["opt_checkpoints"].citation]
    with pytest.raises(ValueError, match="family 'chinchilla' appears in parts 0 and 1"):
        fc.datasets.pool(fc.datasets.load("chinchilla"), fc.datasets.load("chinchilla"))


def test_citation_survives_save_load_and_reaches_the_report(tmp_path):
    obs = fc.datasets.pool(fc.datasets.load("chinchilla"), fc.datasets.load("opt_checkpoints"))
    fit = fake_fit(obs=obs, chains=4, draws=500, seed=3)  # iid draws: the gate passes
    again = fc.load_fit(fit.save(tmp_path / "f.nc"))
    assert again.observations.citation == obs.citation
    html = fc.write_report(tmp_path / "r.html", fit=again, figures=False).read_text()
    md = fc.write_report(tmp_path / "r.md", fit=again, figures=False, fmt="markdown").read_text()
    for citation in obs.citation.splitlines():
        assert str(html_escape(citation)) in html
        assert f"- {citation}" in md
