"""Inputs checked everywhere, outputs checked before work, bounded memory (issue 15): the inputs it quotes."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import forecast as fc
from forecast.cli import app
from forecast.datawall import Scenario, data_wall
from forecast.predict import ExtrapolationWarning, Forecast, predict, quantiles_last_axis
from forecast.testing import fake_fit

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def assert_one_error_line(result, *fragments: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output and "╭" not in result.output
    for fragment in fragments:
        assert fragment.lower() in result.stderr.lower(), (fragment, result.stderr)


@pytest.fixture(scope="module")
def fit():
    return fake_fit(draws=100, seed=5)


@pytest.fixture(scope="module")
def model_path(fit, tmp_path_factory) -> Path:
    return fit.save(tmp_path_factory.mktemp("m") / "fake.nc")


# ------------------------------------------------------------------ predict
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(params=70, tokens=1400), r"params has values below 1e\+05 \(e.g. 70\)"),  # gave 220 nats
        (dict(params=1e-300, tokens=1e12), r"params has values below 1e\+05"),  # gave 1.9e112
        (dict(params=1e300, tokens=1e12), r"flops \(from the others by C = 6 N D\) is inf"),  # flops=inf
        (dict(params=[True], tokens=[1e12]), "true/false values"),
        (dict(params=[7e10 + 1j], tokens=[1e12]), "complex values"),
    ],
)
def test_predict_checks_its_inputs_like_observations(fit, kwargs, message):
    with pytest.raises(ValueError, match=message):
        predict(fit, family="population", **kwargs)


def test_predict_refuses_a_family_asked_twice(fit):
    # --family new,new printed two different rows both labelled new
    with pytest.raises(ValueError, match="asked for twice"):
        predict(fit, params=1e9, tokens=2e10, family=["new", "new"])


def test_far_forecast_warns_how_many_decades(fit):
    top = fit.observations.table["flops"].max()
    with pytest.warns(ExtrapolationWarning, match=r"flops up to .*, 4\.0 decades above the largest"):
        predict(fit, flops=top * 1e4, params=1e12, family="population")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtrapolationWarning)
        predict(fit, flops=top * 10, params=1e10, family="population")  # one decade: no warning


def test_blocked_forecast_equals_one_block_and_draws_agree_with_table(fit, monkeypatch):
    """Blocks of points give the same draws (noise included) as one block, and the table matches np.quantile."""
    kw = dict(params=np.logspace(8, 10, 37), tokens=np.logspace(9.5, 11, 37), family=["new", "population"],
              include_noise=True, random_seed=3)
    monkeypatch.setattr(fc.predict, "BLOCK_ELEMENTS", 7 * 200 * 2)  # blocks of 7 points
    blocked = predict(fit, **kw)
    assert blocked._blocks.step == 7
    again = predict(fit, **kw)
    np.testing.assert_array_equal(blocked.table(0.9)["median"], again.table(0.9)["median"])
    draws = blocked.draws.values
    table = blocked.table([0.5, 0.9])
    flat = draws.reshape(-1, 2, 37)
    want = np.quantile(flat, [0.05, 0.5, 0.95], axis=0)
    got = table[table["ci"] == 0.9]
    np.testing.assert_allclose(got["lower"], want[0].ravel(), rtol=1e-12)
    np.testing.assert_allclose(got["median"], want[1].ravel(), rtol=1e-12)
    np.testing.assert_allclose(got["upper"], want[2].ravel(), rtol=1e-12)
    np.testing.assert_allclose(got["mean"], flat.mean(axis=0).ravel(), rtol=1e-12)
    # a materialised forecast gives the same table as the lazy one
    eager = Forecast(blocked.draws, blocked.include_noise, blocked.families, blocked.fit_info,
                     horizon=blocked.horizon, extrapolation=blocked.extrapolation)
    pd.testing.assert_frame_equal(eager.table([0.5, 0.9]), table)


def test_quantiles_by_partial_sort_match_numpy():
    x = np.random.default_rng(1).standard_normal((5, 3, 4001))
    levels = [0.0, 0.025, 0.05, 0.5, 0.95, 0.975, 1.0]
    np.testing.assert_allclose(quantiles_last_axis(x, levels), np.quantile(x, levels, axis=-1), rtol=0, atol=0)


def test_huge_forecast_draws_are_refused_with_a_clear_error(fit):
    # 1e6 points x 200 draws x 4000 families would be far beyond memory: the table works in blocks,
    # the whole array is refused with the size and the way out
    big = predict(fit, params=np.full(10**6, 1e9), tokens=1e10, family=["population"])
    big._blocks.coords["chain"] = np.arange(10**4)  # pretend: 10^4 chains
    with pytest.raises(MemoryError, match=r"GiB.*use Forecast.table\(\)"):
        _ = big.draws


def test_frontier_refuses_true_false_budgets(fit):
    with pytest.raises(ValueError, match="true/false"):
        fit.frontier([True, False])


# ------------------------------------------------------------------ data wall
def test_wall_year_counts_match_a_sorted_copy(fit):
    wall = data_wall(fit, Scenario.epoch2024(), n_samples=300, pairing="cross", random_seed=2)
    years = np.sort(np.asarray(wall.draws["wall_year"], dtype=float).ravel())
    levels = [0.0, 0.05, 0.5, 0.95, 0.999, 1.0]
    np.testing.assert_array_equal(wall.year_quantiles(levels).to_numpy(),
                                  np.quantile(years, levels, method="inverted_cdf"))
    counts = np.searchsorted(years, wall.years, side="right") / years.size
    np.testing.assert_array_equal(wall.prob_by_year()["prob"].to_numpy(), counts)
    assert wall.n_mc == 300 * 200


def test_wall_refuses_samples_that_cannot_fit_in_memory(fit):
    # "wall --samples 1e9 ends in a traceback"
    with pytest.raises(MemoryError, match="use at most about"):
        data_wall(fit, Scenario.epoch2024(), n_samples=10**12)
    with pytest.raises(ValueError, match="positive whole number"):
        data_wall(fit, Scenario.epoch2024(), n_samples=2.5)


# ------------------------------------------------------------------ CLI
def test_fit_into_a_path_under_a_file_fails_before_sampling(tmp_path):
    # "forecast fit good.csv -o good.csv/f.nc samples to the end, then dies with an OSError traceback"
    good = tmp_path / "good.csv"
    good.write_text(Path(fc.datasets.demo_path()).read_text())
    result = run("fit", good, "-o", good / "f.nc", "--draws", 10, "--tune", 10)
    assert_one_error_line(result, "good.csv is a file, not a folder")
    assert "Fitting" not in result.stdout  # refused before the sampler started


def test_demo_into_a_file_fails_before_sampling(tmp_path):
    out = tmp_path / "file"
    out.write_text("x")
    assert_one_error_line(run("demo", "--out", out, "--quick"), "is a file, not a folder")


def test_predict_csv_into_a_folder_and_report_into_a_file_path(model_path, tmp_path):
    result = run("predict", model_path, "--params", "7e10", "--tokens", "1.4e12", "--csv", tmp_path)
    assert_one_error_line(result, "is a folder")
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    assert_one_error_line(run("report", model_path, "-o", blocker / "r.html"), "is a file, not a folder")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_report_into_a_read_only_folder(model_path, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert_one_error_line(run("report", model_path, "-o", folder / "r.html"), "cannot write")
    finally:
        folder.chmod(0o755)


def test_predict_nonsense_scale_is_refused(model_path):
    # "--params 70 --tokens 1400 gives 220 nats, exit 0"
    assert_one_error_line(run("predict", model_path, "--params", "70", "--tokens", "1400"),
                          "params has values below 1e+05")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["fit", "runs.csv"], "Missing option '--out'"),
        (["predict", "m.nc", "--seed", "-1"], "--seed"),  # crashed in nutpie after compiling
        (["wall", "m.nc", "--samples", "1e9"], "--samples"),
        (["predict", "m.nc", "--nonsense"], "No such option"),
        (["predict"], "Missing argument"),
    ],
)
def test_usage_errors_are_one_line(args, fragment):
    result = run(*args)
    assert_one_error_line(result, fragment)


def test_duplicate_families_are_refused(model_path):
    assert_one_error_line(run("predict", model_path, "--params", "7e10", "--tokens", "1.4e12",
                              "--family", "new,new"), "more than once")


def test_truncated_card_error_names_the_file(model_path, tmp_path):
    broken = tmp_path / "broken.nc"
    broken.write_bytes(model_path.read_bytes()[:-2000])
    assert_one_error_line(run("predict", broken, "--params", "7e10", "--tokens", "1.4e12"), "broken.nc")


def test_long_tables_are_cut_on_the_terminal_and_whole_in_the_csv(model_path, tmp_path):
    csv = tmp_path / "grid.csv"
    params = ",".join(f"{x:.3g}" for x in np.logspace(8, 10, 30))
    tokens = ",".join(f"{x:.3g}" for x in np.logspace(10, 11, 10))
    result = run("predict", model_path, "--params", params, "--tokens", tokens, "--grid", "--csv", csv,
                 "--family", "population")
    assert result.exit_code == 0, result.output
    assert "first 200 of 300 rows" in result.stdout
    assert len(pd.read_csv(csv)) == 300
