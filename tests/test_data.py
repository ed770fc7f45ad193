"""Every validation rule of Observations: feed the bad input, check the message names problem and fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import forecast as fc
from forecast import DataValidationError, DataWarning


def good(n_fam: int = 2, n: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for f in range(n_fam):
        params = np.geomspace(1e8, 1e10, n)
        tokens = params * rng.uniform(5, 80, n)
        loss = 1.8 + 400 / params**0.34 + 400 / tokens**0.28 + f * 0.05
        rows.append(pd.DataFrame({"family": f"f{f}", "params": params, "tokens": tokens, "loss": loss}))
    return pd.concat(rows, ignore_index=True)


def problems_of(df, **kw) -> str:
    with pytest.raises(DataValidationError) as err:
        fc.Observations(df, **kw)
    return str(err.value)


def test_good_table_is_tidy_and_fills_flops():
    obs = fc.Observations(good())
    assert list(obs.table.columns) == ["family", "params", "tokens", "loss", "flops"]
    np.testing.assert_allclose(obs.table["flops"], 6 * obs.table["params"] * obs.table["tokens"])
    assert obs.families == ["f0", "f1"]
    assert obs.family_index.tolist() == [0] * 5 + [1] * 5


def test_column_mapping():
    df = good().rename(columns={"family": "lab", "params": "N", "tokens": "D", "loss": "val_loss"})
    obs = fc.Observations(df, family="lab", params="N", tokens="D", loss="val_loss")
    assert obs.table["loss"].tolist() == df["val_loss"].tolist()


def test_empty_table():
    assert "empty" in problems_of(good().iloc[:0])


def test_missing_columns_are_all_named_with_the_fix():
    msg = problems_of(good().drop(columns=["loss", "tokens"]))
    assert "'loss'" in msg and "'tokens'" in msg
    assert "pass loss='<column>'" in msg
    assert "the table has" in msg


def test_missing_family_column_suggests_family_name():
    msg = problems_of(good().drop(columns=["family"]))
    assert "family_name=" in msg


def test_family_name_for_single_family_tables():
    with pytest.warns(DataWarning, match="only one family"):
        obs = fc.Observations(good(1).drop(columns=["family"]), family_name="mine")
    assert obs.families == ["mine"]


def test_non_numeric_values_name_rows_and_fix():
    df = good()
    df["tokens"] = df["tokens"].astype(object)
    df.loc[3, "tokens"] = "1.4T"
    msg = problems_of(df)
    assert "non-numeric" in msg and "'1.4T'" in msg and "row 3" in msg and "1.4e12" in msg


def test_nan_and_inf():
    df = good()
    df.loc[2, "loss"] = np.nan
    df.loc[4, "params"] = np.inf
    msg = problems_of(df)
    assert "missing (NaN)" in msg and "row 2" in msg
    assert "infinite" in msg and "row 4" in msg
    assert msg.startswith("2 problem(s)")


def test_non_positive_values():
    df = good()
    df.loc[1, "loss"] = -0.5
    msg = problems_of(df)
    assert "must be positive" in msg and "row 1" in msg


def test_params_in_billions():
    df = good()
    df["params"] = df["params"] / 1e9
    msg = problems_of(df)
    assert "look" in msg and "millions or billions" in msg and "7e9, not 7" in msg


def test_tokens_in_trillions():
    df = good()
    df["tokens"] = df["tokens"] / 1e12
    msg = problems_of(df)
    assert "billions or trillions" in msg and "1.4e12" in msg


def test_loss_that_looks_like_perplexity():
    df = good()
    df["loss"] = np.exp(df["loss"])
    df.loc[0, "loss"] = 30.0
    msg = problems_of(df)
    assert "perplexity or bits" in msg and "nats" in msg


def test_too_few_distinct_sizes_in_a_family():
    df = pd.concat([good(), good(1, 2).assign(family="tiny")], ignore_index=True)
    msg = problems_of(df)
    assert "family 'tiny' has only 2 distinct" in msg and "add runs" in msg


def test_unique_tokens_above_tokens_read_as_pool_size():
    df = good()
    df["unique_tokens"] = df["tokens"] / 4
    df.loc[0, "unique_tokens"] = df.loc[0, "tokens"] * 2
    with pytest.warns(DataWarning, match="size of the data pool"):
        obs = fc.Observations(df, unique_tokens="unique_tokens")
    assert obs.table.loc[0, "unique_tokens"] == obs.table.loc[0, "tokens"]
    assert obs.table.loc[1, "unique_tokens"] == df.loc[1, "tokens"] / 4


def test_all_problems_collected_in_one_error():
    df = good()
    df.loc[0, "loss"] = 50.0
    df.loc[1, "params"] = 7.0
    df.loc[2, "tokens"] = -1.0
    err = pytest.raises(DataValidationError, fc.Observations, df).value
    assert len(err.problems) == 3
    assert isinstance(err, ValueError)


def test_duplicate_rows_warn():
    df = pd.concat([good(), good().iloc[[0]]], ignore_index=True)
    with pytest.warns(DataWarning, match="1 exact duplicate"):
        fc.Observations(df)


def test_lockstep_n_and_d_warns():
    df = good()
    df["tokens"] = df["params"] * 20  # compute-optimal sweep: D = 20 N exactly
    with pytest.warns(DataWarning, match="lock-step"):
        fc.Observations(df)


def test_tokens_derived_from_flops():
    df = good()
    df["flops"] = 6 * df["params"] * df["tokens"]
    obs = fc.Observations(df.drop(columns=["tokens"]), flops="flops")
    np.testing.assert_allclose(obs.table["tokens"], df["tokens"])


def test_from_csv_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such data file"):
        fc.Observations.from_csv(tmp_path / "nope.csv")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x00\xff\xfe garbage")
    with pytest.raises(DataValidationError):
        fc.Observations.from_csv(bad)


def test_real_tables_load(shared_data):
    with pytest.warns(DataWarning, match="only one family"):
        obs = fc.Observations.from_csv(shared_data / "chinchilla.csv", flops="flops")
    assert len(obs) == 245 and obs.families == ["chinchilla"]
    with pytest.warns(DataWarning, match="lock-step"):
        porian = fc.Observations.from_csv(shared_data / "porian_compute_optimal.csv", flops="flops")
    assert len(porian.families) == 10
    with pytest.warns(DataWarning):
        dc = fc.Observations.from_csv(shared_data / "datablations_c4.csv", unique_tokens="unique_tokens",
                                      epochs="epochs", flops="flops")
    assert "unique_tokens" in dc.table


def test_subset_and_hash_are_stable():
    obs = fc.Observations(good())
    assert obs.hash() == fc.Observations(good()).hash()
    sub = obs.subset(obs.table["family"] == "f0")
    assert sub.families == ["f0"] and len(sub) == 5
    assert sub.hash() != obs.hash()


def test_simulated_families_stay_below_a_uniform_guess():
    """Many families with a wide spread: none may produce losses Observations rejects."""
    from forecast.datasets import simulate
    from forecast.laws import get_law

    spread = {"alpha": 0.2, "beta": 0.2, "B": 0.5}
    runs, truth = simulate(n_families=40, runs_per_family=5, spread=spread, seed=1)
    law = get_law("chinchilla")
    corner = [law.loss(truth.loc[f].to_dict(), params=3e7, tokens=1.2e8) for f in truth.index]
    assert max(corner) <= 10.0
    fc.Observations(runs)  # would raise on a loss above 12 nats
    # the same seed gives the same data (redraws use their own stream)
    again, _ = simulate(n_families=40, runs_per_family=5, spread=spread, seed=1)
    pd.testing.assert_frame_equal(runs, again)
    with pytest.raises(ValueError, match="params_range"):
        simulate(n_families=2, runs_per_family=5, max_loss=1.0, seed=1)
