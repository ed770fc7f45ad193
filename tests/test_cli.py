"""The ``forecast`` command line: every command, its output against the Python API, and bad input.

Plumbing tests use a fake posterior saved to disk (``fake_fit(...).save``); one
test runs ``forecast demo --quick`` end to end with real (small) sampling.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from forecast.cli import app, parse_numbers, parse_pooling, parse_range
from forecast.datasets import demo_path
from forecast.fit import load_fit
from forecast.testing import fake_fit

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def assert_user_error(result, *fragments: str) -> None:
    """Exit code 2, exactly one ``error:`` line on stderr (DataValidationError may list problems), no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert lines and lines[0].startswith("error: "), result.stderr
    assert all(line.startswith("  - ") for line in lines[1:]), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment.lower() in result.stderr.lower(), (fragment, result.stderr)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("models") / "fake.nc"
    fake_fit(draws=200, seed=3).save(path)
    return path


@pytest.fixture(scope="module")
def demo_csv(tmp_path_factory) -> Path:
    """The demo table with renamed columns, to exercise the column options."""
    df = pd.read_csv(demo_path()).rename(columns={"family": "lab", "params": "N", "tokens": "D", "loss": "L"})
    path = tmp_path_factory.mktemp("data") / "runs.csv"
    df.to_csv(path, index=False)
    return path


# ------------------------------------------------------------------ parsing
def test_parse_numbers_accepts_scientific_notation_and_spaces():
    np.testing.assert_array_equal(
        parse_numbers("7e10, 1.4E11,3000000", option="--params"), [7e10, 1.4e11, 3e6]
    )


@pytest.mark.parametrize("text", ["7B", "1e10,,2e10", "-1e9", "0", "nan", "inf", ""])
def test_parse_numbers_rejects_what_is_not_a_positive_number(text):
    with pytest.raises(ValueError, match="--params"):
        parse_numbers(text, option="--params")


def test_parse_range_and_pooling():
    assert parse_range("1e14:1e15", option="--stock") == (1e14, 1e15)
    assert parse_range("1e15", option="--stock") == (1e15, 1e15)  # a single number is a fixed value
    for bad in ("1e15:1e14", "a:b", "1:2:3", "1e14,1e15", "7B"):
        with pytest.raises(ValueError, match="--stock"):
            parse_range(bad, option="--stock")
    assert parse_pooling("none") == "none"
    assert parse_pooling("alpha=none, E=complete") == {"alpha": "none", "E": "complete"}
    with pytest.raises(ValueError, match="param=mode"):
        parse_pooling("alpha=none,E")


# --------------------------------------------------------------------- help
@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("demo", ["--out", "--draws", "--seed", "--quick"]),
        ("fit", ["--law", "--pool", "--family-col", "--params-col", "--tokens-col", "--loss-col", "--out"]),
        ("predict", ["--params", "--tokens", "--flops", "--family", "--ci", "--noise", "--csv"]),
        ("wall", ["--scenario", "--stock", "--compute-growth", "--tokens-per-param", "--csv"]),
        ("report", ["--out", "--wall", "--flops"]),
    ],
)
def test_every_command_documents_its_options(command, options):
    result = run(command, "--help")
    assert result.exit_code == 0
    for option in options:
        assert option in result.stdout, (command, option)


def test_no_command_prints_the_command_list():
    result = run()
    for command in ("demo", "fit", "predict", "wall", "report"):
        assert command in result.output


# ---------------------------------------------------------------------- fit
@pytest.fixture
def fake_sampler(monkeypatch):
    """Replace sampling by a fake posterior: these tests check the plumbing from options to the model."""
    from forecast.model import ScalingModel

    calls = []

    def fake(self, obs, **kwargs):
        calls.append({"model": self, "obs": obs, **kwargs})
        return fake_fit(obs, self, draws=50)

    monkeypatch.setattr(ScalingModel, "fit", fake)
    return calls


def test_fit_maps_columns_and_options_into_the_model_and_saves_a_loadable_fit(
    demo_csv, tmp_path, fake_sampler
):
    out = tmp_path / "models" / "runs.nc"
    result = run(
        "fit",
        demo_csv,
        "--family-col",
        "lab",
        "--params-col",
        "N",
        "--tokens-col",
        "D",
        "--loss-col",
        "L",
        "--pool",
        "alpha=none,E=complete",
        "--draws",
        "123",
        "--chains",
        "3",
        "--seed",
        "7",
        "-o",
        out,
        "--no-progress",
    )
    assert result.exit_code == 0, result.output
    (call,) = fake_sampler
    assert (call["draws"], call["chains"], call["random_seed"], call["progressbar"]) == (123, 3, 7, False)
    assert call["model"].pooling["log_alpha"] == "none"
    assert call["model"].pooling["log_E"] == "complete"
    assert call["model"].pooling["a"] == "partial"
    assert call["obs"].families == ["besiroglu-2024", "hoffmann-2022", "muennighoff-2023", "small-lab"]
    loaded = load_fit(out)
    assert loaded.model.pooling == call["model"].pooling
    assert len(loaded.observations) == 94
    assert json.loads(out.with_suffix(".json").read_text())["data"]["rows"] == 94
    # the terminal shows the parameters and the gate's verdict
    assert "alpha" in result.stdout and "Convergence gate" in result.stdout


def test_fit_single_family_table_with_family_name(tmp_path, fake_sampler):
    df = pd.read_csv(demo_path())
    df = df[df["family"] == "hoffmann-2022"].drop(columns="family")
    csv = tmp_path / "one.csv"
    df.to_csv(csv, index=False)
    result = run("fit", csv, "--family-name", "chinchilla", "-o", tmp_path / "one.nc")
    assert result.exit_code == 0, result.output
    assert fake_sampler[0]["obs"].families == ["chinchilla"]
    # a single family cannot be pooled: the package warns, and the CLI shows it as a warning line
    assert "warning: only one family" in result.stderr


def test_fit_missing_file(tmp_path):
    assert_user_error(run("fit", tmp_path / "nope.csv", "-o", tmp_path / "m.nc"), "no such data file")


def test_fit_unreadable_csv(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfe\x00\x01garbage\x00\x9c")
    assert_user_error(run("fit", bad, "-o", tmp_path / "m.nc"), "not a readable CSV")


def test_fit_csv_missing_columns_lists_each_problem(tmp_path):
    bad = tmp_path / "cols.csv"
    pd.DataFrame({"family": ["a"] * 3, "N": [1e8, 2e8, 4e8], "loss": [3.0, 2.9, 2.8]}).to_csv(
        bad, index=False
    )
    result = run("fit", bad, "-o", tmp_path / "m.nc")
    assert_user_error(result, "problem(s) in the data", "column 'params'", "column 'tokens'")
    assert len(result.stderr.strip().splitlines()) == 3


def test_fit_values_in_wrong_units(tmp_path):
    bad = tmp_path / "units.csv"
    pd.DataFrame(
        {"family": ["a"] * 3, "params": [7, 13, 70], "tokens": [1e10, 2e10, 4e10], "loss": [3.0, 2.9, 2.8]}
    ).to_csv(bad, index=False)
    assert_user_error(run("fit", bad, "-o", tmp_path / "m.nc"), "raw parameter counts")


def test_fit_unknown_law(demo_csv, tmp_path):
    assert_user_error(
        run("fit", demo_csv, "--law", "chinchila", "-o", tmp_path / "m.nc"),
        "unknown law 'chinchila'",
        "chinchilla",
    )


@pytest.mark.parametrize(
    ("pool", "fragment"),
    [("partly", "pooling"), ("gamma=none", "no parameter 'gamma'"), ("alpha=", "param=mode")],
)
def test_fit_bad_pooling(demo_csv, tmp_path, pool, fragment):
    assert_user_error(run("fit", demo_csv, "--pool", pool, "-o", tmp_path / "m.nc"), fragment)


def test_fit_output_must_be_netcdf(demo_csv, tmp_path):
    assert_user_error(run("fit", demo_csv, "-o", tmp_path / "m.csv"), ".nc")


# ------------------------------------------------------------------ predict
def test_predict_csv_equals_the_python_api(model_path, tmp_path):
    from forecast.predict import predict

    out = tmp_path / "fc.csv"
    result = run(
        "predict",
        model_path,
        "--params",
        "7e10,4e11",
        "--tokens",
        "1.4e12,1.5e13",
        "--family",
        "new,small-lab",
        "--ci",
        "0.8",
        "--seed",
        "5",
        "--csv",
        out,
    )
    assert result.exit_code == 0, result.output
    got = pd.read_csv(out)
    want = predict(
        load_fit(model_path),
        params=[7e10, 4e11],
        tokens=[1.4e12, 1.5e13],
        family=["new", "small-lab"],
        random_seed=5,
    ).table(0.8)
    assert list(got["family"]) == list(want["family"])
    for col in ("params", "tokens", "flops", "median", "lower", "upper", "ci"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-9, err_msg=col)
    # the terminal table shows the same medians, rounded, and says what the band includes
    assert f"{want['median'].iloc[0]:.3f}" in result.stdout
    assert "without the noise" in result.stdout


def test_predict_noise_widens_and_is_announced(model_path, tmp_path):
    plain, noisy = tmp_path / "plain.csv", tmp_path / "noisy.csv"
    assert (
        run(
            "predict",
            model_path,
            "--params",
            "7e10",
            "--tokens",
            "1.4e12",
            "--family",
            "small-lab",
            "--csv",
            plain,
        ).exit_code
        == 0
    )
    result = run(
        "predict",
        model_path,
        "--params",
        "7e10",
        "--tokens",
        "1.4e12",
        "--family",
        "small-lab",
        "--noise",
        "--csv",
        noisy,
    )
    assert result.exit_code == 0
    a, b = pd.read_csv(plain).iloc[0], pd.read_csv(noisy).iloc[0]
    assert (b["upper"] - b["lower"]) > (a["upper"] - a["lower"])
    assert bool(b["includes_noise"]) and not bool(a["includes_noise"])
    assert "include parameter uncertainty and the observation noise" in " ".join(result.stdout.split())


def test_predict_flops_alone_uses_the_compute_optimal_split(model_path, tmp_path):
    from forecast.frontier import compute_optimal

    out = tmp_path / "c.csv"
    result = run("predict", model_path, "--flops", "1e24,1e25", "--csv", out)
    assert result.exit_code == 0, result.output
    got = pd.read_csv(out)
    np.testing.assert_allclose(got["flops"], [1e24, 1e25], rtol=1e-12)
    opt = compute_optimal(load_fit(model_path).parameter_draws("population"), [1e24, 1e25])
    np.testing.assert_allclose(got["params"], opt["params"].median(("chain", "draw")), rtol=1e-9)
    assert "compute-optimal split" in " ".join(result.stdout.split())


def test_predict_grid_crosses_params_and_tokens(model_path, tmp_path):
    out = tmp_path / "g.csv"
    result = run(
        "predict", model_path, "--params", "1e9,1e10,1e11", "--tokens", "2e10,2e12", "--grid", "--csv", out
    )
    assert result.exit_code == 0, result.output
    got = pd.read_csv(out)
    assert len(got) == 6
    assert set(zip(got["params"], got["tokens"], strict=True)) == {
        (n, d) for n in (1e9, 1e10, 1e11) for d in (2e10, 2e12)
    }


def test_predict_unknown_family(model_path):
    assert_user_error(
        run("predict", model_path, "--params", "7e10", "--tokens", "1e12", "--family", "gpt-9"),
        "unknown family 'gpt-9'",
        "small-lab",
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--params", "70B", "--tokens", "1e12"], "'70B' is not a number"),
        (["--params", "-7e10", "--tokens", "1e12"], "positive"),
        (["--params", "7e10,8e10,9e10", "--tokens", "1e12,2e12"], "paired"),
        (["--params", "7e10"], "params, tokens, flops"),
        ([], "nothing to forecast"),
        (["--params", "7e10", "--tokens", "1e12", "--ci", "90"], "between 0 and 1"),
        (["--flops", "1e24", "--grid"], "--grid"),
    ],
)
def test_predict_invalid_numbers(model_path, args, fragment):
    assert_user_error(run("predict", model_path, *args), fragment)


def test_predict_missing_model_file(tmp_path):
    assert_user_error(run("predict", tmp_path / "none.nc", "--flops", "1e24"), "no saved fit")


def test_predict_file_that_is_not_a_saved_fit(tmp_path):
    fake = tmp_path / "notes.nc"
    fake.write_text("these are not the posterior draws you are looking for")
    assert_user_error(run("predict", fake, "--flops", "1e24"), "not a saved forecast fit")
    assert_user_error(run("predict", tmp_path, "--flops", "1e24"), "folder")


# --------------------------------------------------------------------- wall
def test_wall_prints_probabilities_and_matches_the_python_api(model_path, tmp_path):
    from forecast.datawall import Scenario, data_wall

    out = tmp_path / "wall.csv"
    result = run("wall", model_path, "--samples", "300", "--seed", "4", "--csv", out)
    assert result.exit_code == 0, result.output
    got = pd.read_csv(out)
    want = data_wall(load_fit(model_path), Scenario.epoch2024(), n_samples=300, random_seed=4).prob_by_year()
    np.testing.assert_array_equal(got["year"], want["year"])
    np.testing.assert_allclose(got["prob"], want["prob"])
    assert np.all(np.diff(got["prob"]) >= 0)  # P(wall by year) is a cumulative probability
    assert "Scenario assumptions" in result.stdout


def test_wall_stock_option_moves_the_wall(model_path, tmp_path):
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    assert run("wall", model_path, "--stock", "5e13:1e14", "--samples", "300", "--csv", small).exit_code == 0
    assert run("wall", model_path, "--stock", "5e15:1e16", "--samples", "300", "--csv", large).exit_code == 0
    p_small, p_large = pd.read_csv(small)["prob"], pd.read_csv(large)["prob"]
    # a smaller stock of text runs out sooner: a higher probability of the wall by every year
    assert (p_small.to_numpy() >= p_large.to_numpy()).all() and p_small.sum() > p_large.sum()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--stock", "1e14,1e15"], "LOW:HIGH"),
        (["--stock", "1e15:1e14"], "must not exceed"),
        (["--compute-growth", "four:five"], "not a number"),
        (["--tokens-per-param", "-5"], "positive"),
        (["--scenario", "doom2030"], "unknown scenario"),
    ],
)
def test_wall_bad_input(model_path, args, fragment):
    assert_user_error(run("wall", model_path, *args), fragment)


def test_wall_missing_file(tmp_path):
    assert_user_error(run("wall", tmp_path / "none.nc"), "no saved fit")


# ------------------------------------------------------------------- report
def test_report_writes_html_with_the_requested_forecast(model_path, tmp_path):
    out = tmp_path / "r" / "report.html"
    result = run(
        "report",
        model_path,
        "-o",
        out,
        "--flops",
        "1e24",
        "--family",
        "new,small-lab",
        "--title",
        "Test report",
    )
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "Test report" in html and "small-lab" in html


def test_report_gives_a_frontier_for_any_law_that_splits_compute(tmp_path):
    """The report asks the law (a frontier of N and D, closed-form or numerical), not its name."""
    from forecast.model import ScalingModel

    for law, has_frontier in (("kaplan", True), ("compute", False)):
        path = tmp_path / f"{law}.nc"
        fake_fit(model=ScalingModel(law=law), draws=100, seed=3).save(path)
        out = tmp_path / f"{law}.md"
        assert run("report", path, "-o", out, "--no-figures").exit_code == 0
        assert ("## Compute-optimal frontier" in out.read_text()) == has_frontier, law


def test_report_markdown_by_suffix(model_path, tmp_path):
    out = tmp_path / "report.md"
    assert run("report", model_path, "-o", out, "--no-figures").exit_code == 0
    text = out.read_text()
    assert text.lstrip().startswith("#") and "<html" not in text.lower()


def test_report_with_wall_lists_the_scenario_and_its_sources(model_path, tmp_path):
    out = tmp_path / "wall.html"
    result = run("report", model_path, "-o", out, "--wall", "--samples", "200", "--no-figures")
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert "Villalobos" in html and "P(wall by" in html
    plain = tmp_path / "plain.html"
    assert run("report", model_path, "-o", plain, "--no-figures").exit_code == 0
    assert "Villalobos" not in plain.read_text()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["-o", "report.pdf"], ".html or .md"),
        (["-o", "report.html", "--family", "gpt-9"], "unknown family"),
        (["-o", "report.html", "--flops", "1e24,abc"], "not a number"),
    ],
)
def test_report_bad_input(model_path, tmp_path, args, fragment):
    args = [str(tmp_path / a) if a.startswith("report.") else a for a in args]
    assert_user_error(run("report", model_path, *args), fragment)


def test_report_missing_file(tmp_path):
    assert_user_error(run("report", tmp_path / "none.nc", "-o", tmp_path / "r.html"), "no saved fit")


# --------------------------------------------------------------------- demo
def test_demo_quick_end_to_end(tmp_path):
    """Real (small) sampling on the bundled real runs: report and saved fit written, sources cited."""
    out = tmp_path / "demo-out"
    result = run("demo", "--out", out, "--quick", "--no-progress", "--samples", "200", "--seed", "11")
    assert result.exit_code == 0, (result.output, result.exception)
    html = (out / "report.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    loaded = load_fit(out / "demo.nc")
    assert loaded.families == ["chinchilla", "opt"]
    # the report and the terminal name where the runs come from
    for who in ("Besiroglu", "OPT: Open Pre-trained Transformer"):
        assert who in html and who in result.stdout
    assert loaded.sampler_settings["draws"] == 300 and loaded.sampler_settings["random_seed"] == 11
    assert (out / "demo.json").exists()
    # the terminal summary: parameters, the gate's verdict, the forecast and the wall sentence
    text = " ".join(result.stdout.split())
    assert "Convergence gate: " in text and "Data wall" in text and "new" in text
    # Chinchilla's parameter exponent comes back near Besiroglu et al.'s refit (0.348, 95% 0.317-0.373)
    alpha = float(loaded.parameter_draws("chinchilla")["alpha"].median())
    assert 0.3 < alpha < 0.4


def test_wall_fixed_rule_is_added_and_compared(model_path, tmp_path):
    from forecast.datawall import Scenario, data_wall

    out = tmp_path / "both.csv"
    result = run("wall", model_path, "--tokens-per-param", "20", "--samples", "300", "--csv", out)
    assert result.exit_code == 0, result.output
    got = pd.read_csv(out)
    want = data_wall(None, Scenario.epoch2024(tokens_per_param=20), n_samples=300).prob_by_year()
    np.testing.assert_allclose(got["prob_fixed_rule"], want["prob"])
    assert "fixed 20 tokens per parameter" in " ".join(result.stdout.split())
