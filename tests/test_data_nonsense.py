"""Observations refuse nonsense with a named error (issue 15), and a property-based fuzz of the rules."""

from __future__ import annotations

import datetime
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import forecast as fc
from forecast.data import FLOPS_FACTOR_ERROR, NUMERIC, DataValidationError, DataWarning


def good(**changes) -> pd.DataFrame:
    df = pd.DataFrame({
        "family": ["a"] * 3 + ["b"] * 3,
        "params": [1e8, 4e8, 1e9, 2e8, 5e8, 2e9],
        "tokens": [2e9, 1e10, 5e9, 3e9, 2e9, 4e10],
        "loss": [3.2, 2.9, 2.7, 3.1, 2.85, 2.6],
    })
    for k, v in changes.items():
        df[k] = v
    return df


def problems_of(df, **kwargs) -> str:
    with pytest.raises(DataValidationError) as err, warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        fc.Observations(df, **kwargs)
    return str(err.value)


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("loss", [True, False, True, True, False, True], "true/false values"),  # bool loss read as 1.0
        ("loss", np.array([3.2, 2.9, 2.7, 3.1, 2.85, 2.6]) + 0.5j, "complex values"),  # real part kept
        ("tokens", pd.to_timedelta([1, 2, 3, 4, 5, 6], unit="s"), "time-difference values"),  # as ns
        ("loss", [3.2, 2.9, 2.7, 3.1, 2.85, 1e-300], "(loss) is below 0.0001 nats"),  # loss 1e-300
        ("params", [1e8, 4e8, 1e9, 2e8, 5e8, datetime.datetime(2024, 1, 1)], "date/time values"),
        ("loss", [3.2, 2.9, 2.7, 3.1, 2.85, b"2.6"], "bytes values"),
    ],
)
def test_values_that_are_not_real_numbers_are_refused(column, values, message):
    msg = problems_of(good(**{column: values}))
    assert message in msg and f"'{column}'" in msg


def test_families_one_and_text_one_are_not_merged():
    # families 1 and "1" merged
    msg = problems_of(good(family=[1, 1, 1, "1", "1", "1"]))
    assert "mixes number and text" in msg


@pytest.mark.parametrize("name", ["", "   "])
def test_empty_or_blank_family_names_are_refused(name):
    msg = problems_of(good(family=["a", "a", "a", name, name, name]))
    assert "empty or blank names in rows 3, 4, 5" in msg


def test_family_names_are_compared_after_stripping():
    obs = fc.Observations(good(family=["a", " a", "a ", "b", "b", "b\t"]))
    assert obs.families == ["a", "b"]


@pytest.mark.parametrize("name", ["new", "population", " New "])
def test_reserved_family_names_are_refused(name):
    # a family named "new" was silently replaced by a draw from the population;
    # one named "population" gave two population rows in summary()
    msg = problems_of(good(family=["a"] * 3 + [name] * 3))
    assert "reserved" in msg and "rename" in msg


def test_flops_a_thousand_times_off_six_n_d_is_refused_and_a_little_off_warns():
    df = good()
    df["flops"] = 6 * df["params"] * df["tokens"]
    df.loc[0, "flops"] *= 1000
    msg = problems_of(df)
    assert f"more than {FLOPS_FACTOR_ERROR:g}x away from 6 x params x tokens in row 0" in msg
    df["flops"] = 6 * df["params"] * df["tokens"]
    df.loc[1, "flops"] *= 2.5
    with pytest.warns(DataWarning, match="differs from 6 x params x tokens by more than 50% in row 1"):
        fc.Observations(df)


def test_nan_run_ids_are_refused():
    # NaN run ids became the run "nan"
    msg = problems_of(good(run=["r1", "r1", np.nan, "r2", "r2", "r3"]))
    assert "column 'run' (run) is empty in row 2" in msg


def test_duplicate_column_names_are_refused():
    # duplicate column names crashed with TypeError/ValueError
    df = good()
    df.insert(4, "loss_copy", df["loss"])
    df.columns = ["family", "params", "tokens", "loss", "loss"]
    msg = problems_of(df)
    assert "column 'loss' appears 2 times" in msg


def test_duplicated_csv_header_is_refused(tmp_path):
    # a duplicated CSV header was silently renamed (loss.1) and ignored
    path = tmp_path / "dup.csv"
    path.write_text("family,params,tokens,loss,loss\na,1e8,2e9,3.2,9\na,4e8,5e9,2.9,9\na,1e9,2e10,2.7,9\n")
    with pytest.raises(DataValidationError, match="names column 'loss' 2 times"):
        fc.Observations.from_csv(path)


@pytest.mark.parametrize(("sep", "hint"), [(";", "sep=';'"), ("\t", "sep='\\\\t'")])
def test_other_separators_get_a_hint(tmp_path, sep, hint):
    # semicolon or tab files got "column 'family' is missing" with no hint
    path = tmp_path / "runs.csv"
    rows = ["family,params,tokens,loss", "a,1e8,2e9,3.2", "a,4e8,5e9,2.9", "a,1e9,2e10,2.7"]
    path.write_text("\n".join(r.replace(",", sep) for r in rows) + "\n")
    with pytest.raises(DataValidationError, match=hint):
        fc.Observations.from_csv(path)
    with pytest.warns(DataWarning, match="only one family"):
        assert len(fc.Observations.from_csv(path, sep=sep)) == 3


def test_decimal_commas_get_a_hint_and_can_be_read(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text('family;params;tokens;loss\na;1e8;2e9;3,2\na;4e8;5e9;2,9\na;1e9;2e10;2,7\n')
    with pytest.raises(DataValidationError, match="decimal=','"):
        fc.Observations.from_csv(path, sep=";")
    with pytest.warns(DataWarning):
        obs = fc.Observations.from_csv(path, sep=";", decimal=",")
    assert obs.table["loss"].tolist() == [3.2, 2.9, 2.7]


def test_families_named_none_na_nan_are_names(tmp_path):
    # families literally named None, NA, nan were read as missing
    path = tmp_path / "runs.csv"
    lines = ["family,params,tokens,loss"]
    for fam in ("None", "NA", "nan"):
        lines += [f"{fam},1e8,2e9,3.2", f"{fam},4e8,5e9,2.9", f"{fam},1e9,2e10,2.7"]
    path.write_text("\n".join(lines) + "\n")
    assert fc.Observations.from_csv(path).families == ["None", "NA", "nan"]
    path.write_text("family,params,tokens,loss\na,1e8,2e9,NA\na,4e8,5e9,2.9\na,1e9,2e10,2.7\n")
    with pytest.raises(DataValidationError, match=r"missing \(NaN\) values in row 0"):
        fc.Observations.from_csv(path)


# ------------------------------------------------------------------ fuzz
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=1e-3, max_value=1e13),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from(["1.4T", "", " ", "nan", "1e9", "7e10", "inf", "-1"]),
    st.booleans(),
    st.none(),
    st.complex_numbers(max_magnitude=1e12, allow_nan=False),
)
PLAUSIBLE = {
    "params": st.floats(min_value=1e6, max_value=1e12),
    "tokens": st.floats(min_value=1e8, max_value=1e13),
    "loss": st.floats(min_value=0.5, max_value=6.0),
    "flops": st.floats(min_value=1e15, max_value=1e26),
    "unique_tokens": st.floats(min_value=1e8, max_value=1e13),
    "epochs": st.floats(min_value=0.5, max_value=100.0),
}
FAMILIES = st.one_of(st.sampled_from(["a", "b", "c", " a", "new", "", None, 1, "1", "NA"]), st.text(max_size=3))


@st.composite
def tables(draw):
    """Tables where each column is, independently, either plausible or mixed with anything at all."""
    n = draw(st.integers(min_value=1, max_value=12))
    columns = draw(st.lists(st.sampled_from(["flops", "unique_tokens", "epochs", "run"]), unique=True))
    wild = st.integers(min_value=0, max_value=3).map(lambda k: k == 0)  # one column in four is wild
    family = FAMILIES if draw(wild) else st.sampled_from(["a", "b", "c"])
    df = pd.DataFrame({"family": draw(st.lists(family, min_size=n, max_size=n))})
    for name in ["params", "tokens", "loss", *[c for c in columns if c != "run"]]:
        if draw(wild):
            values = draw(st.lists(st.one_of(PLAUSIBLE[name], NUMBERS), min_size=n, max_size=n))
            df[name] = pd.Series(values, dtype=object)
            if draw(st.booleans()):
                df[name] = df[name].infer_objects()
        elif name == "flops":
            factor = draw(st.floats(min_value=0.3, max_value=3.0))
            df[name] = 6 * pd.to_numeric(df["params"], errors="coerce") * pd.to_numeric(
                df["tokens"], errors="coerce") * factor
        else:
            df[name] = draw(st.lists(PLAUSIBLE[name], min_size=n, max_size=n))
    if "run" in columns:
        run = st.one_of(st.sampled_from(["r1", "r2"]), st.none()) if draw(wild) else st.sampled_from(["r1", "r2"])
        df["run"] = draw(st.lists(run, min_size=n, max_size=n))
    return df


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.integers(min_value=1, max_value=3))
def test_fuzz_observations_refuse_with_a_named_column_or_give_a_sound_table(df, min_points):
    columns = set(df.columns) - {"family", "run"}
    kwargs = {c: c for c in ("flops", "unique_tokens", "epochs", "run") if c in df.columns}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            obs = fc.Observations(df, min_points=min_points, **kwargs)
    except DataValidationError as err:
        assert err.problems
        for problem in err.problems:
            # every problem names a column (or the family, whose name is a column's value)
            assert "column '" in problem or "family '" in problem or "derived as" in problem, problem
        return
    table = obs.table
    numeric = [c for c in NUMERIC if c in table]
    values = table[numeric].to_numpy(dtype=float)
    assert np.isfinite(values).all() and (values > 0).all()
    ratio = table["flops"] / (6 * table["params"] * table["tokens"])
    assert ((ratio <= FLOPS_FACTOR_ERROR) & (ratio >= 1 / FLOPS_FACTOR_ERROR)).all()
    if "flops" not in columns:
        np.testing.assert_allclose(ratio, 1.0, rtol=1e-12)
    assert (table["family"].str.strip() == table["family"]).all() and (table["family"] != "").all()
    assert not table["family"].str.lower().isin(["new", "population"]).any()
    assert (table["params"] >= 1e5).all() and (table["tokens"] >= 1e7).all()
    assert ((table["loss"] >= 1e-4) & (table["loss"] <= 12)).all()
    assert len(obs) == len(df)
