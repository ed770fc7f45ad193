"""Issue 16: no answer the data cannot support, defaults that do the expected thing, Python and CLI agree.

Plumbing uses fake posteriors on the real tables' runs (the lock-step verdict reads the runs, the
contraction the posterior); the slow tests fit the real tables (``benchmarks/identifiability.py``
prints the same figures).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import forecast as fc
from forecast.cli import app, cli_words
from forecast.data import DataWarning
from forecast.identify import IdentifiabilityWarning, identify_split, lockstep_table
from forecast.testing import fake_fit

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def quiet(make):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return make()


@pytest.fixture(scope="module")
def porian_obs(shared_data):
    return quiet(lambda: fc.Observations.from_csv(shared_data / "porian_compute_optimal.csv"))


@pytest.fixture(scope="module")
def chinchilla_obs(shared_data):
    df = pd.read_csv(shared_data / "chinchilla.csv")
    df = df.drop(df["loss"].nlargest(5).index)  # Epoch AI drop the 5 highest-loss runs: 240 left
    return quiet(lambda: fc.Observations(df))


@pytest.fixture(scope="module")
def porian_fake(porian_obs):
    return fake_fit(porian_obs, draws=500)  # enough draws for 10 families' fake ESS to pass the gate


@pytest.fixture(scope="module")
def chinchilla_fake(chinchilla_obs):
    return fake_fit(chinchilla_obs, draws=200)


# ------------------------------------------------------------- lock-step
def test_lockstep_catches_every_porian_family_and_no_chinchilla_run(porian_obs, chinchilla_obs):
    porian = lockstep_table(porian_obs)
    assert porian["lockstep"].all() and len(porian) == 10
    # the old rule (|correlation of the logs| > 0.995) caught only 2 of these 10
    assert (porian["log_correlation"].abs() > 0.995).sum() == 2
    assert porian["spread_decades"].max() < 0.1
    chin = lockstep_table(chinchilla_obs)
    assert not chin["lockstep"].any() and chin["spread_decades"].iloc[0] > 0.3


def test_porian_table_warns_once_naming_all_ten_families(shared_data):
    with pytest.warns(DataWarning) as caught:
        fc.Observations.from_csv(shared_data / "porian_compute_optimal.csv")
    lockstep = [w for w in caught if "lock-step" in str(w.message)]
    assert len(lockstep) == 1 and "10 of 10 families" in str(lockstep[0].message)
    assert "compute law" in str(lockstep[0].message)


def test_demo_data_are_not_called_lockstep():
    """The demo's 4-run family lies near a line by chance; four points are not judged unless exactly on one."""
    assert not lockstep_table(fc.datasets.load_demo())["lockstep"].any()


# --------------------------------------------------------- identification
def test_porian_split_and_wall_are_not_identified(porian_fake):
    with pytest.warns(IdentifiabilityWarning, match="NOT identified"):
        fr = porian_fake.frontier([1e23, 1e27])
    assert fr.identified is False
    assert "lock-step" in fr.identification.reason and "off the compute-optimal line" in repr(fr)
    assert "compute law" in fr.identification.reason
    with pytest.warns(IdentifiabilityWarning):
        wall = fc.data_wall(porian_fake, fc.Scenario.epoch2024(), n_samples=200)
    assert wall.identified is False and "NOT identified" in wall.text


def test_chinchilla_split_and_wall_are_identified(chinchilla_fake):
    with warnings.catch_warnings():
        warnings.simplefilter("error", IdentifiabilityWarning)
        fr = chinchilla_fake.frontier([1e23, 1e27])
        wall = fc.data_wall(chinchilla_fake, fc.Scenario.epoch2024(), n_samples=200)
    assert fr.identified and wall.identified
    assert "NOT" not in wall.text and "is identified" in fr.identification.reason


def test_a_posterior_as_wide_as_the_prior_is_not_identified(chinchilla_obs):
    """No lock-step, but the data taught nothing: contraction near 0 fails the verdict."""
    wide = fake_fit(chinchilla_obs, draws=400, scale=0.4)  # sampled-space sd 0.4 = the exponents' prior sd
    ident = identify_split(wide)
    assert not ident.identified and not ident.lockstep
    assert ident.contraction["a"] < 0.3
    narrow = identify_split(fake_fit(chinchilla_obs, draws=400, scale=0.02))
    assert narrow.identified and narrow.contraction["a"] > 0.8


def test_identifiability_warning_is_exported():
    assert issubclass(fc.IdentifiabilityWarning, UserWarning) and "IdentifiabilityWarning" in fc.__all__


# --------------------------------------------------------------- defaults
def test_single_family_forecasts_that_family_by_default(chinchilla_fake):
    # the exact call of the issue
    default = chinchilla_fake.predict(params=7e10, tokens=1.4e12)
    named = chinchilla_fake.predict(params=7e10, tokens=1.4e12, family="chinchilla")
    new = chinchilla_fake.predict(params=7e10, tokens=1.4e12, family="new")
    assert default.families == ["chinchilla"]
    pd.testing.assert_frame_equal(default.table(), named.table(), check_like=True)
    assert "only family" in default.fit_info["family_note"] and "only family" in repr(default)
    width = default.table()["upper"] - default.table()["lower"]
    assert float(width.iloc[0]) < float((new.table()["upper"] - new.table()["lower"]).iloc[0])


def test_several_families_default_to_new_and_say_so():
    fc_ = fake_fit(draws=50).predict(params=7e10, tokens=1.4e12)
    assert fc_.families == ["new"] and "the default with 4 fitted families" in fc_.fit_info["family_note"]
    assert fc_.table().attrs["family_note"] == fc_.fit_info["family_note"]


def test_flops_alone_uses_the_frontier_in_python_as_in_the_cli(chinchilla_fake, tmp_path):
    fc_ = chinchilla_fake.predict(flops=1e24, family="chinchilla")  # raised "missing params, tokens" before
    row = fc_.table().iloc[0]
    fr = quiet(lambda: chinchilla_fake.frontier([1e24], family="chinchilla"))
    assert row["params"] == pytest.approx(float(fr.params.median()), rel=1e-9)
    assert row["params"] * row["tokens"] * 6 == pytest.approx(1e24)
    assert "compute-optimal frontier of family 'chinchilla'" in fc_.fit_info["split_note"]
    path = tmp_path / "chin.nc"
    chinchilla_fake.save(path)
    result = run("predict", path, "--flops", "1e24", "--csv", tmp_path / "f.csv")
    assert result.exit_code == 0, result.output
    cli = pd.read_csv(tmp_path / "f.csv").iloc[0]
    assert cli["family"] == "chinchilla"  # the CLI's default is the fit's only family too
    assert cli["params"] == pytest.approx(row["params"], rel=1e-6)
    assert cli["median"] == pytest.approx(row["median"], rel=1e-9)
    assert "compute-optimal frontier" in result.stdout and "Identified" in result.stdout


def test_misspelt_family_says_did_you_mean_before_anything_else(chinchilla_fake):
    with pytest.raises(ValueError, match=r"unknown family 'chinchila' \(did you mean 'chinchilla'\?\)"):
        chinchilla_fake.predict(flops=1e24, family="chinchila")


# -------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def porian_path(porian_fake, tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "porian.nc"
    porian_fake.save(path)
    return path


def test_cli_says_porian_split_and_wall_are_not_identified(porian_path, tmp_path):
    wall = run("wall", porian_path, "--stock", "1e15", "--samples", "200")
    assert wall.exit_code == 0, wall.output
    out = " ".join(wall.stdout.split())
    assert "NOT IDENTIFIED" in out and "--law compute" in out
    report = run("report", porian_path, "-o", tmp_path / "r.html", "--wall", "--no-figures", "--samples", "200")
    assert report.exit_code == 0, report.output
    assert report.stdout.count("NOT IDENTIFIED") == 2  # the split and the wall
    html = (tmp_path / "r.html").read_text()
    assert 'id="frontier-identification"' in html and 'id="wall-identification"' in html
    answers = html[html.index('id="answers"') : html.index('id="data"')]
    assert answers.count("NOT identified by these data") >= 2
    assert "(lock-step)" in html[html.index('id="data-table"') :]


def test_cli_chinchilla_report_does_not_say_not_identified(chinchilla_fake, tmp_path):
    path = tmp_path / "chin.nc"
    chinchilla_fake.save(path)
    report = run("report", path, "-o", tmp_path / "r.html", "--wall", "--no-figures", "--samples", "200")
    assert report.exit_code == 0, report.output
    assert "NOT IDENTIFIED" not in report.stdout and "Identified:" in report.stdout
    assert "not identified" not in (tmp_path / "r.html").read_text().lower()


def test_cli_hints_name_flags_and_guess_columns(tmp_path):
    lab = tmp_path / "lab.csv"
    pd.DataFrame(
        {"model_family": ["a"] * 3, "n_params": [1e8, 2e8, 4e8], "n_tokens": [2e9, 8e9, 3e10],
         "val_loss": [3.0, 2.9, 2.8]}
    ).to_csv(lab, index=False)
    result = run("fit", lab, "-o", tmp_path / "m.nc")
    assert result.exit_code == 2
    err = result.stderr
    for flag, col in (("--family-col", "model_family"), ("--params-col", "n_params"),
                      ("--tokens-col", "n_tokens"), ("--loss-col", "val_loss")):
        assert f"did you mean {flag} {col}?" in err, err
    assert "params='" not in err and "family_name=" not in err


def test_cli_did_you_mean_for_laws_families_and_scenarios(porian_path, tmp_path):
    law = run("fit", fc.datasets.demo_path(), "--law", "chinchila", "-o", tmp_path / "m.nc")
    assert "did you mean 'chinchilla'" in law.stderr
    fam = run("predict", porian_path, "--params", "7e10", "--tokens", "1e12",
              "--family", "refinedweb/base-long-warmup-kaplan-decay-kaplan-count-train-los")
    assert "did you mean 'refinedweb/base-long-warmup-kaplan-decay-kaplan-count-train-loss'" in fam.stderr
    scen = run("wall", porian_path, "--scenario", "epoch2042")
    assert "did you mean 'epoch2024'" in scen.stderr


def test_cli_fit_has_the_python_sampler_and_validation_options():
    import typer

    command = typer.main.get_command(app).commands["fit"]
    text = " ".join(opt for param in command.params for opt in param.opts)
    for flag in ("--draws", "--tune", "--chains", "--target-accept", "--min-points", "--noise-pooling",
                 "--likelihood", "--sampler", "--adaptation", "--epochs-col", "--shared-exponent"):
        assert flag in text, flag


def test_min_points_reaches_the_validation(tmp_path):
    path = tmp_path / "few.csv"
    pd.DataFrame({"family": ["a"] * 4, "params": [1e8, 2e8, 4e8, 8e8], "tokens": [2e9, 3e9, 9e9, 2e10],
                  "loss": [3.0, 2.9, 2.8, 2.7]}).to_csv(path, index=False)
    result = run("fit", path, "-o", tmp_path / "m.nc", "--min-points", "5")
    assert result.exit_code == 2 and "at least 5 are needed" in result.stderr


def test_scenario_options_are_shared_and_take_single_numbers(model_path_fake, tmp_path):
    for cmd in (["wall", model_path_fake], ["report", model_path_fake, "-o", tmp_path / "r.md", "--wall",
                                            "--no-figures"]):
        result = run(*cmd, "--stock", "1e15", "--compute-growth", "4.5", "--tokens-per-param", "20",
                     "--samples", "100")
        assert result.exit_code == 0, result.output
    md = (tmp_path / "r.md").read_text()
    assert "1e+15" in md or "1e15" in md
    assert "ignored" not in md and "used by the fixed-rule comparison" in md
    assert "with a fixed 20 tokens per parameter" in md  # the comparison the assumption is used for


@pytest.fixture(scope="module")
def model_path_fake(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "fake.nc"
    fake_fit(draws=100, seed=3).save(path)
    return path


def test_report_wall_options_need_wall(model_path_fake, tmp_path):
    result = run("report", model_path_fake, "-o", tmp_path / "r.md", "--stock", "1e15")
    assert result.exit_code == 2 and "add --wall" in result.stderr


def test_convergence_warning_names_the_cli_flag(tmp_path):
    fit = fake_fit(draws=100)
    fit.idata["sample_stats"]["diverging"].values[0, :3] = True
    path = tmp_path / "bad.nc"
    fit.save(path)
    result = run("report", path, "-o", tmp_path / "r.md", "--no-figures")
    assert "raise --target-accept" in result.stderr and "target_accept" not in result.stderr
    assert cli_words("run more tune/draws, raise target_accept") == "run more --tune/--draws, raise --target-accept"


# ------------------------------------------------------------- the report
def test_report_shows_the_fit_and_folds_the_parameter_table(tmp_path):
    fit = fake_fit(draws=500)
    html = fc.write_report(tmp_path / "r.html", fit=fit).read_text()
    for fig in ("ppc", "residuals"):
        assert f'id="figure-{fig}"' in html
    assert re.search(r"\d+ of 94 runs \(\d+%\) lie inside their 90% posterior predictive interval", html)
    short = html[html.index('id="parameter-short"') : html.index("<details")]
    assert short.count("<tr>") == 1 + 6  # header, E A B alpha beta, sigma
    folded = html[html.index("<details") : html.index("</details>")]
    assert 'id="parameter-table"' in folded and "tau[" in folded


def test_ppc_coverage_counts_runs_inside_their_interval(chinchilla_fake):
    from forecast.plots import _run_predictions

    runs, q = _run_predictions(chinchilla_fake, "chinchilla", include_noise=True, ci=0.9)
    assert q.shape == (3, len(runs)) and (q[0] <= q[1]).all() and (q[1] <= q[2]).all()
    fig = fc.plots.plot_ppc(chinchilla_fake)
    inside = ((runs["loss"] >= q[0]) & (runs["loss"] <= q[2])).mean()
    assert f"{inside:.0%} of 240 runs" in fig._suptitle.get_text()


def test_many_families_get_small_multiples_and_an_outside_legend(porian_fake):
    fig = fc.plots.plot_ppc(porian_fake)
    assert len([a for a in fig.axes if a.get_visible()]) == 10
    fit_fig = fc.plots.plot_fit(porian_fake)
    assert fit_fig.legends and not fit_fig.axes[0].get_legend()  # beside the axes, not over the curves
    titles = [a.get_title() for a in fc.plots.plot_shrinkage(porian_fake, param=["E", "alpha", "beta"]).axes]
    assert all("\n" in t for t in titles)


@pytest.mark.parametrize(
    ("value", "text"), [(7e9, "7.0B"), (1.4e12, "1.4T"), (999.6e9, "1.0T"), (9.6e15, "9.6e15"), (4.12e11, "410B")]
)
def test_counts_read_like_people_write_them(value, text):
    from forecast.report.formatting import count

    assert count(value) == text


# --------------------------------------------------------- data-constrained
def test_epochs_must_match_tokens_over_unique_tokens(shared_data):
    df = pd.read_csv(shared_data / "datablations_c4.csv")
    quiet(lambda: fc.Observations(df, unique_tokens="unique_tokens", epochs="epochs"))  # the corrected table
    df["unique_tokens"] = 1.5e9  # the source's wrong per-epoch column
    with pytest.raises(fc.DataValidationError, match=r"epochs.*disagree.*tokens / unique_tokens = "):
        quiet(lambda: fc.Observations(df, unique_tokens="unique_tokens", epochs="epochs"))


def test_one_pass_over_part_of_a_pool_is_no_disagreement():
    df = pd.DataFrame({"family": ["a"] * 3, "params": [1e8, 2e8, 4e8], "tokens": [2e9, 4e9, 8e9],
                       "unique_tokens": [1e11] * 3, "epochs": [1.0] * 3, "loss": [3.0, 2.9, 2.8]})
    quiet(lambda: fc.Observations(df, unique_tokens="unique_tokens", epochs="epochs"))


def test_shared_exponent_ties_beta_to_alpha(tmp_path):
    from forecast.datasets import simulate

    runs, _ = simulate(n_families=2, runs_per_family=8, seed=2)
    runs["unique_tokens"] = runs["tokens"] / 4
    obs = quiet(lambda: fc.Observations(runs, unique_tokens="unique_tokens"))
    model = fc.ScalingModel(law="data_constrained", shared_exponent=True)
    free = {v.name for v in model.build(obs).free_RVs}
    assert not any(name.startswith("log_beta") for name in free) and "log_alpha_mu" in free
    fit = fake_fit(obs, model, draws=500)
    for family in (None, "new"):
        draws = fit.parameter_draws(family)
        np.testing.assert_array_equal(draws["alpha"].values, draws["beta"].values)
    assert "tau[log_beta]" not in set(fit.summary()["parameter"])
    fit.save(tmp_path / "m.nc")
    assert fc.load_fit(tmp_path / "m.nc").model.shared_exponent is True
    with pytest.raises(ValueError, match="no alpha and beta"):
        fc.ScalingModel(law="compute", shared_exponent=True)


@pytest.mark.slow
def test_real_fits_porian_not_identified_chinchilla_identified(porian_obs, chinchilla_obs):
    """The issue's claim on real posteriors (small sampling): see benchmarks/identifiability.py for the figures."""
    kw = {"draws": 300, "tune": 300, "chains": 2, "random_seed": 1, "progressbar": False, "warn": False}
    porian = fc.ScalingModel().fit(porian_obs, **kw)
    chin = fc.ScalingModel().fit(chinchilla_obs, **kw)
    assert not identify_split(porian).identified
    ident = identify_split(chin)
    assert ident.identified and ident.contraction["a"] > 0.8
    lo, hi = chin.predict(params=7e10, tokens=1.4e12).table()[["lower", "upper"]].iloc[0]
    assert hi - lo < 0.1  # the fitted family's band, not the prior spread of a new family
