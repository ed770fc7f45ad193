"""``forecast wall`` with efficiency, demand and slowdown options: same answer as the Python API, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from forecast.cli import app, efficiency_overrides
from forecast.fit import load_fit
from forecast.scenarios import COMPUTE_SLOWDOWN_2030, EFFICIENCY_HO_2024
from forecast.testing import fake_fit

runner = CliRunner()


def run(*args) -> object:
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("models") / "fake.nc"
    fake_fit(draws=100, seed=3).save(path)
    return path


def test_options_build_the_scenario_overrides():
    got = efficiency_overrides(
        efficiency_growth="ho2024",
        data_efficiency="1:1.3",
        overtraining="5",
        epochs="1:4",
        stock_growth="1.03:1.04",
        slowdown=["epoch2030", "2035=1:1.5"],
        compute_cap="1e29",
    )
    assert got == {
        "efficiency_growth": EFFICIENCY_HO_2024,
        "data_efficiency_growth": (1.0, 1.3),
        "overtraining": 5.0,
        "epochs": (1.0, 4.0),
        "stock_growth": (1.03, 1.04),
        "compute_cap": 1e29,
        "growth_changes": {"compute_growth": {**COMPUTE_SLOWDOWN_2030, 2035: (1.0, 1.5)}},
    }
    assert efficiency_overrides() == {}


def test_wall_with_efficiency_and_slowdown_matches_the_python_api(model_path, tmp_path):
    from forecast.datawall import Scenario, data_wall

    out = tmp_path / "wall.csv"
    args = [
        "--efficiency-growth",
        "ho2024",
        "--slowdown",
        "2030=1.3:3.2",
        "--epochs",
        "2",
        "--overtraining",
        "3",
    ]
    result = run("wall", model_path, *args, "--samples", "300", "--seed", "4", "--csv", out)
    assert result.exit_code == 0, result.output
    scenario = Scenario.epoch2024(
        efficiency_growth=EFFICIENCY_HO_2024,
        growth_changes={"compute_growth": {2030: (1.3, 3.2)}},
        epochs=2.0,
        overtraining=3.0,
    )
    want = data_wall(load_fit(model_path), scenario, n_samples=300, random_seed=4)
    np.testing.assert_allclose(pd.read_csv(out)["prob"], want.prob_by_year()["prob"])
    flat = " ".join(result.stdout.split())
    assert "compute_growth from 2030" in flat and "Ho et al. 2024" in flat
    assert "Algorithmic efficiency" in flat and "doubles" in flat
    assert "falls below 0.005 nats/token" in flat
    slow = run(
        "wall", model_path, "--slowdown", "2026=1:1.2", "--samples", "300", "--seed", "4", "--csv", out
    )
    assert slow.exit_code == 0, slow.output
    # compute growing slowly from 2026 meets the stock later: a lower P(wall) by every year
    p_slow = pd.read_csv(out)["prob"].to_numpy()
    assert (p_slow <= want.prob_by_year()["prob"].to_numpy()).all() and p_slow.sum() < want.prob_by_year()[
        "prob"
    ].sum()


def test_min_yearly_gain_option_reaches_the_text(model_path):
    result = run("wall", model_path, "--samples", "100", "--min-yearly-gain", "0.002")
    assert result.exit_code == 0, result.output
    assert "falls below 0.002 nats/token" in " ".join(result.stdout.split())


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (
            ["--slowdown", "2020=2:3"],
            "growth_changes['compute_growth'][2020]: the change year 2020 is not after",
        ),
        (["--slowdown", "2030:2:3"], "--slowdown must be YEAR=LOW:HIGH"),
        (["--slowdown", "2030=0.5"], "must be >= 1"),
        (["--efficiency-growth", "0.5"], "Scenario.efficiency_growth must be >= 1"),
        (["--efficiency-growth", "ho2023"], "not a number"),
        (["--data-efficiency", "0.9:1.2"], "Scenario.data_efficiency_growth"),
        (["--compute-cap", "1e20"], "Scenario.compute_cap: the cap"),
        (["--epochs", "0.5"], "Scenario.epochs must be >= 1"),
        (["--stock-growth", "0.035"], "not 0.035"),
        (["--overtraining", "2:1"], "must not exceed"),
    ],
)
def test_bad_options_name_the_field(model_path, args, fragment):
    result = run("wall", model_path, *args, "--samples", "50")
    assert result.exit_code == 2, result.output
    assert fragment.lower() in result.stderr.lower(), result.stderr
    assert "Traceback" not in result.output


def test_report_wall_takes_the_efficiency_options(model_path, tmp_path):
    # `report --wall` builds its scenario with the same options as `wall`: with efficiency on, the report's
    # data-wall section counts efficiency doublings to the wall; without it, it says efficiency is held fixed
    with_eff, without = tmp_path / "eff.html", tmp_path / "plain.html"
    ran = run("report", model_path, "-o", with_eff, "--wall", "--efficiency-growth", "ho2024", "--samples", 2000)
    assert ran.exit_code == 0, ran.output
    ran = run("report", model_path, "-o", without, "--wall", "--samples", 2000)
    assert ran.exit_code == 0, ran.output
    text_eff, text_plain = with_eff.read_text(), without.read_text()
    assert "efficiency is held fixed" in text_plain and "efficiency is held fixed" not in text_eff
    assert "doublings" in text_eff
