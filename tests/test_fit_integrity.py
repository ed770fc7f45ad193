"""Saved fits that detect damage, refuse what cannot load back, and leave nothing behind (issue 15)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import forecast as fc
from forecast.fit import CARD_ATTR, CARD_HASH_ATTR, FitFileError, check_writable, remove_stale_temporaries
from forecast.testing import fake_fit


@pytest.fixture(scope="module")
def fit():
    return fake_fit(chains=2, draws=100, seed=3)


@pytest.fixture(scope="module")
def small_fit():
    # few variables, so that 40 loads stay fast; the checks are the same for any model
    return fake_fit(model=fc.ScalingModel(pooling="complete"), chains=2, draws=100, seed=3)


@pytest.fixture(scope="module")
def saved(small_fit, tmp_path_factory):
    path = tmp_path_factory.mktemp("saved") / "fit.nc"
    small_fit.save(path)
    return path


def assert_identical(a: fc.Fit, b: fc.Fit) -> None:
    assert a.idata.keys() == b.idata.keys()
    for name in a.idata.children:
        xr.testing.assert_identical(a.idata[name].to_dataset(), b.idata[name].to_dataset())
    pd.testing.assert_frame_equal(a.observations.table, b.observations.table)
    assert a.model.settings() == b.model.settings()
    assert a.sampler_settings == b.sampler_settings
    assert a.id == b.id


def rewrite(tree: xr.DataTree, path, *, card: dict | None = None, rehash: bool = True) -> None:
    """Write ``tree`` with an edited card (checksum recomputed unless ``rehash=False``)."""
    if card is not None:
        tree.attrs[CARD_ATTR] = json.dumps(card)
        if rehash:
            tree.attrs[CARD_HASH_ATTR] = hashlib.sha256(tree.attrs[CARD_ATTR].encode()).hexdigest()
    tree.to_netcdf(path, engine="h5netcdf")


def test_forty_random_byte_flips_raise_or_load_identical(small_fit, saved, tmp_path):
    """The issue's probe: one byte changed at 40 random offsets; each loads identical or is refused."""
    reference = fc.load_fit(saved)
    assert_identical(reference, small_fit)
    data = saved.read_bytes()
    rng = np.random.default_rng(15)
    outcomes = {"refused": 0, "identical": 0}
    for i, offset in enumerate(rng.choice(len(data), size=40, replace=False)):
        damaged = bytearray(data)
        damaged[offset] ^= int(rng.integers(1, 256))
        path = tmp_path / f"flip{i}.nc"
        path.write_bytes(bytes(damaged))
        try:
            again = fc.load_fit(path)
        except FitFileError as err:
            assert str(path) in str(err)
            outcomes["refused"] += 1
            continue
        assert_identical(again, reference)
        outcomes["identical"] += 1
    assert sum(outcomes.values()) == 40


def test_changed_posterior_value_is_refused(fit, tmp_path):
    # "one draw of log_alpha_tau changed by 3.9e3"
    tree = fit.to_datatree()
    post = tree["posterior"].to_dataset().copy(deep=True)
    post["log_alpha_tau"][0, 0] = post["log_alpha_tau"][0, 0] + 3.9e3
    tree["posterior"] = xr.DataTree(post)
    path = tmp_path / "edited.nc"
    rewrite(tree, path)
    with pytest.raises(FitFileError, match=r"edited\.nc .*group 'posterior' do not match"):
        fc.load_fit(path)


def test_changed_training_data_is_refused_even_with_matching_checksums(fit, tmp_path):
    # "the stored training data changed while card['data']['hash'] no longer matched"
    tree = fit.to_datatree()
    data = tree["fit_data"].to_dataset().copy(deep=True)
    data["loss"][0] = data["loss"][0] * 1.01
    tree["fit_data"] = xr.DataTree(data)
    card = json.loads(tree.attrs[CARD_ATTR])
    card["checksums"]["fit_data"] = fc.fit.dataset_checksums(data)  # an editor who fixes the checksums
    path = tmp_path / "data.nc"
    rewrite(tree, path, card=card)
    with pytest.raises(FitFileError, match="do not match the data hash"):
        fc.load_fit(path)


def test_edited_likelihood_is_refused(fit, tmp_path):
    # "an edited likelihood loads silently"
    tree = fit.to_datatree()
    card = json.loads(tree.attrs[CARD_ATTR])
    card["model"]["likelihood"] = "normal"
    path = tmp_path / "lik.nc"
    rewrite(tree, path, card=card, rehash=False)
    with pytest.raises(FitFileError, match="card does not match"):
        fc.load_fit(path)
    rewrite(fit.to_datatree(), path, card=card, rehash=True)  # checksum recomputed: the id catches it
    with pytest.raises(FitFileError, match="not the stored id"):
        fc.load_fit(path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c.pop("model"), "'model' entry is missing"),  # was KeyError
        (lambda c: c.update(sampler=[1, 2]), "'sampler' entry"),  # was TypeError
        (lambda c: c.update(format_version="2"), "format_version"),
        (lambda c: c["data"].pop("hash"), r"data\.hash"),
        (lambda c: c["data"].update(min_points="x"), r"data\.min_points"),
        (lambda c: c["model"].update(law="nonsense"), "model settings are not valid"),
        (lambda c: c.update(checksums={}), "card lists"),
    ],
)
def test_every_card_problem_is_a_fit_file_error_naming_the_file(fit, tmp_path, edit, message):
    tree = fit.to_datatree()
    card = json.loads(tree.attrs[CARD_ATTR])
    edit(card)
    path = tmp_path / "card.nc"
    rewrite(tree, path, card=card)
    with pytest.raises(FitFileError, match=message) as err:
        fc.load_fit(path)
    assert "card.nc" in str(err.value) and ("refit" in str(err.value) or "upgrade" in str(err.value))


def test_truncated_card_is_a_fit_file_error_naming_the_file(fit, tmp_path):
    # was JSONDecodeError (a traceback on the command line)
    tree = fit.to_datatree()
    text = tree.attrs[CARD_ATTR][:-40]
    tree.attrs[CARD_ATTR] = text
    tree.attrs[CARD_HASH_ATTR] = hashlib.sha256(text.encode()).hexdigest()
    path = tmp_path / "truncated.nc"
    tree.to_netcdf(path, engine="h5netcdf")
    with pytest.raises(FitFileError, match=r"truncated\.nc .*not valid JSON"):
        fc.load_fit(path)


def test_truncated_file_is_a_fit_file_error(saved, tmp_path):
    path = tmp_path / "short.nc"
    path.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    with pytest.raises(FitFileError, match="short.nc"):
        fc.load_fit(path)


def test_extra_idata_groups_are_kept(fit, tmp_path):
    extra = xr.Dataset({"loss": (("chain", "draw", "obs"), np.ones((2, 100, 3)))})
    groups = {f"/{k}": v.to_dataset() for k, v in fit.idata.children.items()}
    groups["/posterior_predictive"] = extra
    f = fc.Fit(xr.DataTree.from_dict(groups), fit.observations, fit.model, fit.sampler_settings)
    again = fc.load_fit(f.save(tmp_path / "extra.nc"))
    assert "posterior_predictive" in again.idata
    xr.testing.assert_identical(again.idata["posterior_predictive"].to_dataset(), extra)


def test_id_does_not_depend_on_the_process(fit):
    settings = dict(fit.sampler_settings)
    a = fc.Fit(fit.idata, fit.observations, fit.model, {**settings, "worker_pid": 101})
    b = fc.Fit(fit.idata, fit.observations, fit.model, {**settings, "worker_pid": 202})
    assert a.id == b.id == fit.id


def test_save_refuses_what_load_would_refuse(fit, tmp_path):
    # "params and tokens of 1e150 ... derived flops = 6ND = inf is stored unchecked": the table itself
    # is now refused by Observations; a fit whose table was altered afterwards is refused by save.
    bad = fit.observations.table.copy()
    bad.loc[0, "flops"] = np.inf
    obs = fc.Observations.from_table(fit.observations.table)
    obs.table = bad
    f = fc.Fit(fit.idata, obs, fit.model, fit.sampler_settings)
    path = tmp_path / "bad.nc"
    with pytest.raises(FitFileError, match=r"cannot save .*bad\.nc.*would not load back"):
        f.save(path)
    assert not path.exists()
    f = fc.Fit(fit.idata, fit.observations, fit.model, {**fit.sampler_settings, "note": np.nan})
    with pytest.raises(FitFileError, match="not plain JSON"):
        f.save(path)
    assert not path.exists()


def test_huge_params_and_tokens_are_refused_before_fitting():
    # the input: params and tokens of 1e150 (6ND = inf)
    df = pd.DataFrame({"family": ["a"] * 3, "params": [1e150] * 3, "tokens": [1e150, 2e150, 3e150],
                       "loss": [3.0, 2.9, 2.8]})
    with pytest.raises(fc.DataValidationError, match=r"params \(column 'params'\) exceeds 1e\+16") as err:
        fc.Observations(df)
    assert "tokens (column 'tokens') exceeds" in str(err.value)
    df[["params", "tokens"]] = [[1e9, 1e307], [2e9, 1e307], [3e9, 1e307]]
    with pytest.raises(fc.DataValidationError, match=r"flops \(derived as 6 N D\) has infinite"):
        fc.Observations(df)


def test_save_to_unwritable_path_fails_before_writing(fit, tmp_path):
    # "forecast fit good.csv -o good.csv/f.nc"
    good = tmp_path / "good.csv"
    good.write_text("x")
    with pytest.raises(NotADirectoryError, match=r"good\.csv is a file, not a folder"):
        fit.save(good / "f.nc")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        check_writable(tmp_path)


def test_interrupted_save_temporaries_are_removed_by_next_save(fit, tmp_path):
    path = tmp_path / "f.nc"
    # what a SIGKILL mid-save leaves: a temporary of a dead process, and an old one without a pid
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    orphan = tmp_path / f".f.nc.{int(dead.stdout)}.abc123.tmp"
    orphan.write_bytes(b"x" * 1000)
    legacy = tmp_path / ".f.nc.k2j3h4.tmp"
    legacy.write_bytes(b"x")
    os.utime(legacy, (0, 0))
    live = tmp_path / f".f.nc.{os.getppid()}.zzz.tmp"  # a writer that is still running
    live.write_bytes(b"x")
    fit.save(path)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["f.nc", "f.json", live.name])
    assert remove_stale_temporaries(path) == []


def test_format_one_files_still_load(fit, tmp_path):
    """A file of the first format (no checksums) loads, with its data hash still checked."""
    tree = fit.to_datatree()
    card = json.loads(tree.attrs[CARD_ATTR])
    card["format_version"] = 1
    del card["checksums"]
    del tree.attrs[CARD_HASH_ATTR]
    path = tmp_path / "v1.nc"
    rewrite(tree, path, card=card, rehash=False)
    assert_identical(fc.load_fit(path), fit)
    card["data"]["hash"] = "0" * 16
    tree = fit.to_datatree()
    del tree.attrs[CARD_HASH_ATTR]
    rewrite(tree, path, card=card, rehash=False)
    with pytest.raises(FitFileError, match="data hash"):
        fc.load_fit(path)


@pytest.mark.slow
def test_sigkill_during_saves_leaves_nothing_after_the_next_save(fit, tmp_path):
    """A real SIGKILL mid-save: the old file stays loadable and the next save removes the orphans."""
    import signal
    import time

    path = tmp_path / "killed.nc"
    fit.save(path)
    code = (
        "import sys\nfrom forecast.testing import fake_fit\nf = fake_fit(chains=2, draws=100, seed=3)\n"
        "print('ready', flush=True)\nwhile True:\n    f.save(sys.argv[1])\n"
    )
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(fc.__file__))}
    rng = np.random.default_rng(0)
    for _ in range(5):
        proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, env=env)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(float(rng.uniform(0.05, 0.5)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        fc.load_fit(path)  # whatever the moment of the kill, the saved fit is whole
    fit.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["killed.json", "killed.nc"]


def test_saved_file_ends_with_its_checksum_and_stays_plain_netcdf(saved, tmp_path):
    # a damaged structure can send the HDF5 reader into a long loop: the trailer is checked before parsing
    raw = saved.read_bytes()
    prefix = fc.fit.FILE_CHECKSUM_PREFIX
    assert raw[-(len(prefix) + 65):].startswith(prefix)
    assert raw[-65:-1].decode() == hashlib.sha256(raw[: -(len(prefix) + 65)]).hexdigest()
    with xr.open_datatree(saved, engine="h5netcdf") as tree:
        assert "posterior" in tree
    damaged = bytearray(raw)
    damaged[len(raw) // 2] ^= 0x01
    path = tmp_path / "half.nc"
    path.write_bytes(bytes(damaged))
    with pytest.raises(FitFileError, match="do not match the file's checksum"):
        fc.load_fit(path)
