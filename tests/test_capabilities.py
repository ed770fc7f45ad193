"""Benchmark scores vs compute: validation, the capability model's answers, save/load, recovery."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import forecast as fc
from forecast.capabilities import CapabilityModel, logistic_baseline, simulate_scores
from forecast.capability_data import CHANCE_LEVELS, OBSSCALING_BENCHMARKS, obsscaling_path
from forecast.testing import fake_capability_fit


def _table(**overrides) -> pd.DataFrame:
    df = pd.DataFrame({
        "model": ["a-1b", "a-1b", "a-7b", "a-7b", "b-3b", "b-3b"],
        "family": ["a", "a", "a", "a", "b", "b"],
        "flops": [1e21, 1e21, 8e22, 8e22, 1e22, 1e22],
        "benchmark": ["MMLU", "GSM8K"] * 3,
        "score": [0.26, 0.02, 0.45, 0.15, 0.30, 0.05],
    })
    for k, v in overrides.items():
        df[k] = v
    return df


def _error(df, **kwargs) -> str:
    with pytest.raises(fc.DataValidationError) as info:
        fc.BenchmarkScores(df, **kwargs)
    return str(info.value)


# ----------------------------------------------------------------- validation
def test_valid_table_is_tidy_with_chance_levels():
    scores = fc.BenchmarkScores(_table())
    assert list(scores.table.columns) == ["model", "family", "flops", "benchmark", "score", "chance", "n_items"]
    assert scores.chance == {"MMLU": 0.25, "GSM8K": 0.0}
    assert scores.models == ["a-1b", "a-7b", "b-3b"]


def test_builtin_chance_levels_cover_the_obsscaling_benchmarks():
    assert set(OBSSCALING_BENCHMARKS) <= set(CHANCE_LEVELS)
    assert CHANCE_LEVELS["Winograd"] == 0.5 and CHANCE_LEVELS["HumanEval"] == 0.0


def test_scores_in_percent_are_named():
    df = _table(score=[26.0, 2.0, 45.0, 15.0, 30.0, 5.0])
    msg = _error(df)
    assert "column 'score' (score)" in msg and "percentages" in msg and "divide by 100" in msg
    assert "rows 0, 1, 2, 3, 4, 5" in msg


def test_scores_outside_unit_interval():
    msg = _error(_table(score=[0.26, -0.1, 0.45, 0.15, 0.30, 0.05]))
    assert "outside [0, 1] in row 1" in msg and "fraction" in msg


def test_missing_score():
    msg = _error(_table(score=[0.26, np.nan, 0.45, 0.15, 0.30, 0.05]))
    assert "missing (NaN) values in row 1" in msg and "drop those rows" in msg


def test_non_positive_flops():
    msg = _error(_table(flops=[1e21, 1e21, 0.0, 0.0, 1e22, 1e22]))
    assert "column 'flops' (flops) must be positive but is <= 0 in rows 2, 3" in msg


def test_flops_in_scaled_units():
    msg = _error(_table(flops=[1.0, 1.0, 80.0, 80.0, 10.0, 10.0]))
    assert "look like a scaled unit" in msg and "raw FLOP" in msg


def test_flops_missing_and_not_derivable():
    msg = _error(_table().drop(columns="flops"))
    assert "column 'flops' (flops) is missing" in msg and "6 N D" in msg


def test_flops_derived_from_params_and_tokens():
    df = _table().drop(columns="flops")
    df["params"] = [1e9, 1e9, 7e9, 7e9, 3e9, 3e9]
    df["tokens"] = [2e11] * 6
    scores = fc.BenchmarkScores(df)
    assert scores.flops_source == "6 N D"
    np.testing.assert_allclose(scores.table["flops"], 6 * df["params"] * df["tokens"])


def test_unknown_chance_level_and_the_fix():
    df = _table(benchmark=["MMLU", "MyBench"] * 3)
    msg = _error(df)
    assert "no known chance level for ['MyBench']" in msg and "chance={'MyBench': 0.25}" in msg
    scores = fc.BenchmarkScores(df, chance={"MyBench": 0.1})
    assert scores.chance["MyBench"] == 0.1


def test_bad_chance_value():
    msg = _error(_table(), chance={"MMLU": 1.5})
    assert "chance level of 'MMLU' is 1.5" in msg


def test_duplicate_model_benchmark_rows():
    df = _table(benchmark=["MMLU"] * 6)
    msg = _error(df)
    assert "columns 'model' x 'benchmark' repeat in rows 0, 1, 2, 3, 4, 5" in msg and "one score per model" in msg


def test_model_with_two_families_or_flops():
    msg = _error(_table(flops=[1e21, 2e21, 8e22, 8e22, 1e22, 1e22]))
    assert "differs between rows of the same model ['a-1b']" in msg


def test_missing_column_and_not_a_dataframe_and_empty():
    assert "column 'score' (score) is missing" in _error(_table().drop(columns="score"))
    with pytest.raises(fc.DataValidationError, match="expected a pandas DataFrame"):
        fc.BenchmarkScores({"score": [0.1]})
    assert "the table is empty" in _error(_table().iloc[:0])


def test_bad_n_items():
    msg = _error(_table(n=[100, 0, 100, 100, 100, 100]), n_items="n")
    assert "column 'n' (n_items) must be a positive whole number in row 1" in msg


def test_all_problems_in_one_error():
    msg = _error(_table(score=[0.26, -0.1, 0.45, 0.15, 0.30, 0.05], flops=[1e21, 1e21, -1, -1, 1e22, 1e22]))
    assert msg.startswith("2 problem(s)")


def test_from_wide_scales_flops_and_drops_empty_cells():
    wide = pd.DataFrame({"model": ["a", "b"], "family": ["f", "f"], "flops": [84.0, 156.0],
                         "MMLU": [0.44, np.nan], "GSM8K": [0.14, 0.23]})
    scores = fc.BenchmarkScores.from_wide(wide, benchmarks=["MMLU", "GSM8K"], flops_unit=1e21)
    assert len(scores) == 3
    assert scores.table.set_index(["model", "benchmark"]).loc[("a", "MMLU"), "flops"] == pytest.approx(8.4e22)


def test_obsscaling_table_loads():
    if not obsscaling_path().exists():
        pytest.skip("ObsScaling table not present")
    scores = fc.load_obsscaling()
    assert scores.benchmarks == list(OBSSCALING_BENCHMARKS)
    assert len(scores.models) + len(scores.dropped_models) == 148
    assert scores.table["flops"].min() > 1e18 and scores.table["flops"].max() < 1e26  # raw FLOP, not 1e21 units


# ------------------------------------------------------------ answers (plumbing)
@pytest.fixture(scope="module")
def fake():
    return fake_capability_fit()


def test_predict_table_columns_and_order(fake):
    table = fake.predict([1e22, 1e24], family="fam0", benchmark=["MC-A", "Gen"]).table(ci=0.8)
    assert list(table.columns) == ["benchmark", "family", "flops", "mean", "median", "lower", "upper", "ci",
                                   "includes_noise"]
    assert len(table) == 4 and set(table["ci"]) == {0.8} and not table["includes_noise"].any()
    assert (table["lower"] <= table["median"]).all() and (table["median"] <= table["upper"]).all()
    # more compute never lowers the typical model's score
    up = table.pivot(index="benchmark", columns="flops", values="median")
    assert (up[1e24] > up[1e22]).all()


def test_noise_widens_the_interval_and_stays_in_unit_interval(fake):
    plain = fake.predict([1e23], benchmark="Gen").table()
    noisy = fake.predict([1e23], benchmark="Gen", include_noise=True).table()
    assert (noisy["upper"] - noisy["lower"]).iloc[0] > (plain["upper"] - plain["lower"]).iloc[0]
    draws = fake.predict([1e20, 1e26], include_noise=True).draws
    assert float(draws.min()) >= 0 and float(draws.max()) <= 1


def test_family_offset_shifts_compute(fake):
    offsets = fake.family_offsets().set_index("family")["median"]
    best, worst = offsets.idxmax(), offsets.idxmin()
    t_best = fake.predict([1e22], family=best, benchmark="MC-A").table()["median"].iloc[0]
    t_worst = fake.predict([1e22], family=worst, benchmark="MC-A").table()["median"].iloc[0]
    assert t_best > t_worst


def test_unknown_names_are_errors(fake):
    with pytest.raises(ValueError, match="unknown family 'nope'.*'new'"):
        fake.predict([1e22], family="nope")
    with pytest.raises(ValueError, match="unknown benchmark 'nope'"):
        fake.predict([1e22], benchmark="nope")
    with pytest.raises(ValueError, match="flops must be positive"):
        fake.predict([-1.0])


def test_compute_to_reach_inverts_the_curve(fake):
    need = fake.compute_to_reach(0.6, benchmark="MC-A", family="fam1").iloc[0]
    assert need["p_reachable"] == 1.0
    at = fake.predict([need["median"]], family="fam1", benchmark="MC-A").table()["median"].iloc[0]
    assert at == pytest.approx(0.6, abs=0.01)


def test_unreachable_score_has_zero_probability(fake):
    ceiling = fake.parameters()["ceiling"].sel(benchmark="Gen").max().item()
    need = fake.compute_to_reach(min(ceiling + 0.02, 0.999), benchmark="Gen").iloc[0]
    assert need["p_reachable"] == 0.0 and np.isinf(need["median"])


def test_prob_by_year_rises_with_compute(fake):
    slow = fc.Scenario(compute=1e21, compute_growth=2.0, base_year=2020)
    table = fake.prob_by_year(0.7, benchmark="MC-A", scenario=slow, years=range(2020, 2036))
    p = table["probability"].to_numpy()
    assert p[0] < 0.2 and p[-1] > 0.8 and np.all(np.diff(p) >= -0.03)


def test_family_offsets_ranked(fake):
    table = fake.family_offsets()
    assert list(table["rank"]) == list(range(1, len(table) + 1))
    assert table["median"].is_monotonic_decreasing
    assert (table["lower"] <= table["upper"]).all()


def test_summary_has_every_parameter(fake):
    summ = fake.summary()
    assert {"midpoint", "slope", "ceiling", "precision", "family_offset", "family_tau", "model_sd",
            "family_benchmark_sd"} == set(summ["parameter"])
    assert summ.attrs["diagnostics_ok"]


def test_family_by_benchmark_offsets_are_centred_and_move_the_forecast(fake):
    # the default model: a family's benchmark-specific offsets sum to zero over benchmarks (so its shared
    # offset is its mean efficiency) and shift its forecast on each benchmark
    e = fake.parameters()["family_benchmark_offset"]
    assert float(abs(e.sum("benchmark")).max()) < 1e-9
    assert float(abs(e).max()) > 0.05
    f = fake.families[0]
    table = fake.predict([1e22], family=f).table().set_index("benchmark")
    p = fake._flat()
    for j, b in enumerate(fake.benchmarks):
        c = p["chance"][j]
        x = 22.0 - fake.centre + p["family_offset"][:, 0] + p["family_benchmark_offset"][:, 0, j]
        mean = c + (p["ceiling"][:, j] - c) / (1 + np.exp(-p["slope"][:, j] * (x - p["midpoint"][:, j] + fake.centre)))
        assert table.loc[b, "median"] == pytest.approx(np.median(mean), abs=1e-9)


def test_model_options_are_checked_and_old_cards_keep_their_model():
    with pytest.raises(ValueError, match="family_benchmark_spread"):
        CapabilityModel(family_benchmark_spread="per_family")
    with pytest.raises(ValueError, match="prior_ceiling_lower"):
        CapabilityModel(prior_ceiling_lower=3.5)
    # a card written before the zero-sum offsets and the ceiling truncation at 1 rebuilds the model it fitted
    old = {k: v for k, v in CapabilityModel(family_by_benchmark=False).settings().items()
           if k not in ("family_benchmark_spread", "family_benchmark_zero_sum", "latent_loadings",
                        "prior_slope_spread", "prior_ceiling_lower", "model_effects")}
    model = CapabilityModel.from_settings(old)
    assert not model.family_by_benchmark and not model.family_benchmark_zero_sum
    assert model.prior_ceiling_lower == 0.0 and model.model_effects == "noncentred"
    assert CapabilityModel.from_settings(CapabilityModel().settings()) == CapabilityModel()


def test_save_load_round_trip(fake, tmp_path):
    path = fake.save(tmp_path / "cap.nc")
    back = fc.load_capability_fit(path)
    assert back.id == fake.id and back.benchmarks == fake.benchmarks
    a = fake.predict([1e23], family="fam2").table()
    b = back.predict([1e23], family="fam2").table()
    pd.testing.assert_frame_equal(a, b)
    assert (tmp_path / "cap.json").exists()


def test_load_rejects_other_files(tmp_path):
    other = tmp_path / "x.nc"
    other.write_text("not netcdf")
    with pytest.raises(fc.FitFileError, match="not a saved forecast fit"):
        fc.load_capability_fit(other)


def test_logistic_baseline_recovers_a_clean_curve():
    x = np.linspace(20, 25, 12)
    y = 0.25 + 0.75 / (1 + np.exp(-1.5 * (x - 22.5)))
    df = pd.DataFrame({"model": [f"m{i}" for i in range(12)], "family": "f", "flops": 10**x,
                       "benchmark": "MMLU", "score": y})
    pred = logistic_baseline(fc.BenchmarkScores(df), [10**26.0], ["MMLU"])
    assert pred[0] == pytest.approx(0.25 + 0.75 / (1 + np.exp(-1.5 * 3.5)), abs=1e-3)


@pytest.mark.filterwarnings("ignore:Numba will use object mode")  # drawing from the truncated prior
def test_ceiling_prior_is_truncated_where_asked():
    # a flat benchmark (TruthfulQA) must not fit as "saturated near chance", nor a still-rising one (MMLU) as
    # "saturating just above the best score seen": those second modes split the chains of the ObsScaling
    # backtest fits (docs/capabilities.md)
    import pymc as pm

    scores = fc.BenchmarkScores(_table())
    model = CapabilityModel(prior_ceiling_logit=0.5, prior_ceiling_sd=1.0, prior_ceiling_lower=0.0).build(scores)
    k = pm.draw(model["ceiling_logit"], draws=2000, random_seed=1)
    assert k.min() >= 0.0
    assert np.median(k) > 0.5  # truncated, not moved: the mass above 0 keeps its shape
    k = pm.draw(CapabilityModel().build(scores)["ceiling_logit"], draws=2000, random_seed=1)
    assert k.min() >= 1.0  # the default: every ceiling at least 73% of the way from chance to 1
    assert np.median(k) == pytest.approx(3.0, abs=0.1)


def test_model_effects_centred_or_not_are_the_same_prior():
    """Centred (default) and non-centred model effects: other free variables, the same prior on u_i."""
    import pymc as pm

    scores = fc.BenchmarkScores(_table())
    centred = CapabilityModel().build(scores)
    plain = CapabilityModel(model_effects="noncentred").build(scores)
    assert "model_effect" in centred.named_vars and "model_z" not in centred.named_vars
    assert "model_z" in plain.named_vars and "model_effect" not in plain.named_vars
    u = pm.draw(centred["model_effect"], draws=4000, random_seed=2)
    sd = pm.draw(centred["model_sd"], draws=4000, random_seed=3)
    z = pm.draw(plain["model_z"], draws=4000, random_seed=4)
    # u / model_sd is standard normal in both: compare its spread with z's
    assert np.std(u) == pytest.approx(np.std(sd[:, None] * z), rel=0.1)
    with pytest.raises(ValueError, match="model_effects"):
        CapabilityModel(model_effects="centered")


def test_a_failed_capability_fit_is_retried_once_and_says_so(caplog):
    """As ScalingModel.fit: a fit failing the gate is sampled once more with 4x the draws and 2x the tuning,
    logged, with the first run in the card; a shortened run is retried only when asked."""
    from forecast.capabilities import FIT_TARGET_ACCEPT

    scores, _ = simulate_scores(benchmarks={"MC-A": 0.25, "Gen-A": 0.0}, n_families=3, models_per_family=3,
                                seed=5)
    kw = {"chains": 2, "progressbar": False, "warn": False, "random_seed": 1}
    with caplog.at_level("WARNING", logger="forecast"):
        fit = CapabilityModel().fit(scores, draws=10, tune=10, retry=True, **kw)  # far too short to pass
    card = fit.sampler_settings
    assert card["retry"]["first"] == {"draws": 10, "tune": 10, "target_accept": FIT_TARGET_ACCEPT}
    assert card["retry"]["first_problems"]
    assert (card["draws"], card["tune"]) == (40, 20) and fit.posterior.sizes["draw"] == 40
    assert len([r for r in caplog.records if "sampling once more" in r.getMessage()]) == 1
    plain = CapabilityModel().fit(scores, draws=10, tune=10, **kw)
    assert "retry" not in plain.sampler_settings and plain.posterior.sizes["draw"] == 10


# ------------------------------------------------------------- statistical
@pytest.mark.slow
def test_parameter_recovery_on_simulated_scores():
    """Fit data simulated from the model: truths inside the 90% intervals at about the nominal rate."""
    chance = {"MC-A": 0.25, "MC-B": 0.25, "MC-C": 0.25, "Binary": 0.5, "Gen-A": 0.0, "Gen-B": 0.0}
    scores, truth = simulate_scores(benchmarks=chance, n_families=10, models_per_family=5, seed=3)
    fit = CapabilityModel().fit(scores, random_seed=3, progressbar=False)  # the package defaults
    assert fit.diagnostics().ok
    summ = fit.summary().set_index(["parameter", "group"])
    hits = []
    for name in ("midpoint", "slope", "ceiling"):
        for b, value in zip(truth["benchmarks"], truth[name], strict=True):
            row = summ.loc[(name, b)]
            hits.append(row["lower"] <= value <= row["upper"])
    for f, value in zip(truth["families"], truth["family_offset"], strict=True):
        row = summ.loc[("family_offset", f)]
        hits.append(row["lower"] <= value <= row["upper"])
    assert np.mean(hits) >= 0.7, f"{np.mean(hits):.2f} of {len(hits)} truths covered"
    sd = summ.loc[("model_sd", "population")]
    assert sd["lower"] <= truth["model_sd"] <= sd["upper"]
    assert re.search("PASS", summ.attrs["diagnostics"])


# ---------------------------------------------------------------------- CLI
def test_cli_forecasts_from_a_saved_fit(fake, tmp_path):
    from typer.testing import CliRunner

    from forecast.cli import app

    path = fake.save(tmp_path / "cap.nc")
    out_csv = tmp_path / "f.csv"
    result = CliRunner().invoke(app, ["capabilities", str(path), "--flops", "1e22,1e24", "--family", "fam0",
                                      "--benchmark", "MC-A", "--reach", "0.6", "--csv", str(out_csv)])
    assert result.exit_code == 0, result.output
    assert "Training FLOP to reach a score of 0.6" in result.output and "Convergence gate: PASS" in result.output
    written = pd.read_csv(out_csv)
    expected = fake.predict([1e22, 1e24], family="fam0", benchmark="MC-A", random_seed=fc.config.DEFAULT_SEED).table()
    np.testing.assert_allclose(written["median"], expected["median"])


def test_cli_bad_table_is_one_error(tmp_path):
    from typer.testing import CliRunner

    from forecast.cli import app

    bad = tmp_path / "bad.csv"
    _table(score=[26.0, 2.0, 45.0, 15.0, 30.0, 5.0]).to_csv(bad, index=False)
    result = CliRunner().invoke(app, ["capabilities", str(bad)])
    assert result.exit_code == 2 and "percentages" in result.stderr and "Traceback" not in result.output


# -------------------------------------------------------------------- plots
def test_plot_capabilities_draws_band_points_and_caption(fake):
    from forecast.plots import plot_capabilities

    fig = plot_capabilities(fake, benchmarks=["MC-A", "Gen"], family="fam0", include_noise=True)
    assert len(fig.axes) == 2
    first = fig.axes[0]
    assert first.get_xscale() == "log" and first.get_title() == "MC-A"
    n_points = sum(len(c.get_offsets()) for c in first.collections[1:])
    assert n_points == (fake.scores.table["benchmark"] == "MC-A").sum()
    assert any("one new model" in t.get_text() for t in fig.texts)


def test_plot_family_offsets_ranks_families(fake):
    from forecast.plots import plot_family_offsets

    fig = plot_family_offsets(fake)
    ticks = sorted(fig.axes[0].get_yticklabels(), key=lambda t: -t.get_position()[1])  # top to bottom
    assert [t.get_text().split(" (")[0] for t in ticks] == list(fake.family_offsets()["family"])


# ------------------------------------------------------------------- report
@pytest.mark.parametrize("suffix", [".html", ".md"])
def test_capability_report_states_gate_answers_and_intervals(fake, tmp_path, suffix):
    fcast = fake.predict([1e24], family="fam0")
    path = fc.write_capability_report(tmp_path / f"cap{suffix}", fit=fake, forecasts=fcast, reach=0.6,
                                      figures=suffix == ".html")
    text = path.read_text()
    assert "Convergence gate: PASS" in text
    assert "reaches 0.6" in text and "90% equal-tailed intervals" in text
    top = fake.family_offsets().iloc[0]["family"]
    assert f"Most efficient: {top}" in text
    if suffix == ".html":
        assert text.count("<svg") == 2 and "http" not in text.split("<body>")[1].split("Versions")[0]
