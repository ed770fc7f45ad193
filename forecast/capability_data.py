"""BenchmarkScores: a validated, tidy table of benchmark scores of trained models.

One row per model x benchmark: ``model, family, flops, benchmark, score`` and,
where known, ``n_items`` (the number of questions, which turns the noise model
into a beta-binomial). Every problem found is collected into one
:class:`forecast.data.DataValidationError`, worded like the one
:class:`forecast.Observations` raises: the column, the rows and the fix.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.data import DataValidationError, _rows

CHANCE_LEVELS: dict[str, float] = {
    # multiple choice: 1 / number of options
    "MMLU": 0.25,
    "ARC-C": 0.25,
    "ARC-Challenge": 0.25,
    "ARC-E": 0.25,
    "ARC-Easy": 0.25,
    "HellaSwag": 0.25,
    "Winograd": 0.5,  # WinoGrande, two options
    "WinoGrande": 0.5,
    "XWinograd": 0.5,
    "PIQA": 0.5,
    "BoolQ": 0.5,
    "OpenBookQA": 0.25,
    # TruthfulQA MC2 (Open LLM Leaderboard): normalised probability on the true answers; a model
    # that spreads its probability evenly scores about the share of true options, ~0.25.
    "TruthfulQA": 0.25,
    # generation scored by exact match or unit tests: no floor
    "GSM8K": 0.0,
    "MATH": 0.0,
    "HumanEval": 0.0,
    "MBPP": 0.0,
}
"""Score of random guessing on common benchmarks (override with ``BenchmarkScores(chance=...)``)."""

OBSSCALING_BENCHMARKS = ("MMLU", "ARC-C", "HellaSwag", "Winograd", "TruthfulQA", "GSM8K", "XWinograd",
                         "HumanEval")
"""The eight benchmarks of the ObsScaling table (Ruan et al. 2024)."""

MIN_FLOPS = 1e15
"""Plausibility floor for training compute: smaller values are almost surely in other units."""



def obsscaling_path() -> Path:
    """The bundled ObsScaling table (``forecast.datasets``, gzip-compressed CSV; see its NOTICE)."""
    from forecast.datasets import path

    return path("obsscaling_benchmarks")


class BenchmarkScores:
    """Validated benchmark scores in tidy long format, one row per model x benchmark.

    Columns of :attr:`table`: ``model, family, flops, benchmark, score, chance``
    and ``n_items`` (NaN where unknown). ``score`` is a fraction in [0, 1],
    ``flops`` the training compute in raw FLOP.

    Parameters
    ----------
    df : pandas.DataFrame
        The scores, one per row.
    model, family, flops, benchmark, score : str
        Column names in ``df`` for each field. When the ``flops`` column is
        absent (or empty in some rows) and the table has ``params`` and
        ``tokens`` columns, flops are filled as ``6 N D``.
    n_items : str, optional
        Column with the number of questions of the benchmark; with it the
        model uses a beta-binomial likelihood on the count of right answers.
    chance : dict, optional
        Chance score by benchmark, for benchmarks not in :data:`CHANCE_LEVELS`
        or to override them, e.g. ``{"MMLU": 0.25, "GSM8K": 0.0}``.
    params, tokens : str
        Columns used to derive flops as 6 N D where flops are missing.

    Raises
    ------
    DataValidationError
        Listing every problem found, each with the column, the rows and the fix.

    Examples
    --------
    >>> import pandas as pd, forecast as fc
    >>> df = pd.DataFrame({"model": ["a-1b", "a-7b"], "family": ["a", "a"], "flops": [1e21, 8e22],
    ...                    "benchmark": ["MMLU", "MMLU"], "score": [0.27, 0.45]})
    >>> fc.BenchmarkScores(df).benchmarks
    ['MMLU']
    """

    def __init__(
        self,
        df: pd.DataFrame,
        *,
        model: str = "model",
        family: str = "family",
        flops: str = "flops",
        benchmark: str = "benchmark",
        score: str = "score",
        n_items: str | None = None,
        chance: Mapping[str, float] | None = None,
        params: str = "params",
        tokens: str = "tokens",
    ) -> None:
        if not isinstance(df, pd.DataFrame):
            raise DataValidationError(
                [f"expected a pandas DataFrame, got {type(df).__name__}; read a file with pandas.read_csv"]
            )
        self.chance_given = {str(k): float(v) for k, v in (chance or {}).items()} if chance is not None else {}
        mapping = {"model": model, "family": family, "flops": flops, "benchmark": benchmark,
                   "score": score, "n_items": n_items, "params": params, "tokens": tokens}
        self._mapping = mapping
        self.table = self._validate(df, mapping, chance)

    source: str | None = None
    flops_source: str = "given"

    # ------------------------------------------------------------- validate
    def _validate(self, df: pd.DataFrame, m: dict, chance) -> pd.DataFrame:
        problems: list[str] = []
        if len(df) == 0:
            raise DataValidationError(["the table is empty: it needs one row per model x benchmark"])
        columns = list(df.columns)
        can_derive = m["params"] in df.columns and m["tokens"] in df.columns
        for name in ("model", "family", "benchmark", "score"):
            if m[name] not in df.columns:
                problems.append(f"column '{m[name]}' ({name}) is missing; the table has {columns}; "
                                f"pass {name}='<column>' to name the column that holds it")
        if m["flops"] not in df.columns and not can_derive:
            problems.append(
                f"column '{m['flops']}' (flops) is missing; the table has {columns}; pass "
                "flops='<column>' with training compute in FLOP, or give 'params' and 'tokens' "
                "columns so flops are derived as 6 N D"
            )
        if m["n_items"] is not None and m["n_items"] not in df.columns:
            problems.append(f"column '{m['n_items']}' (n_items) is missing; the table has {columns}; "
                            "pass n_items=None if the number of questions is unknown")
        if problems:
            raise DataValidationError(problems)

        out = pd.DataFrame(index=df.index)
        for name in ("model", "family", "benchmark"):
            col = df[m[name]]
            if col.isna().any():
                problems.append(f"column '{m[name]}' ({name}) is empty in {_rows(col.isna(), df.index)}; "
                                f"give every row a {name} name")
            out[name] = col.astype(str)

        def numeric(col_name: str, name: str) -> pd.Series:
            raw = df[col_name]
            values = pd.to_numeric(raw, errors="coerce")
            bad = values.isna() & raw.notna()
            if bad.any():
                examples = ", ".join(repr(v) for v in raw[bad].head(3))
                problems.append(f"column '{col_name}' ({name}) has non-numeric values ({examples}) in "
                                f"{_rows(bad, df.index)}; write raw numbers such as 0.62 or 3.1e23")
            return values.astype(float)

        # ---- score
        s = numeric(m["score"], "score")
        nan = df[m["score"]].isna()
        if nan.any():
            problems.append(f"column '{m['score']}' (score) has missing (NaN) values in "
                            f"{_rows(nan, df.index)}; drop those rows (a benchmark not run is no row)")
        finite = s[np.isfinite(s)]
        if len(finite) and finite.max() > 1 and finite.min() >= 0 and finite.max() <= 100:
            problems.append(
                f"column '{m['score']}' (score) has values above 1 (up to {finite.max():g}) in "
                f"{_rows(s > 1, df.index)}; these look like percentages: give scores as fractions "
                "in [0, 1] (divide by 100)"
            )
        else:
            outside = np.isfinite(s) & ((s < 0) | (s > 1))
            if outside.any():
                problems.append(f"column '{m['score']}' (score) is outside [0, 1] in {_rows(outside, df.index)} "
                                f"(e.g. {s[outside].iloc[0]:g}); give the fraction of items right, in [0, 1]")
        out["score"] = s

        # ---- flops (6 N D where missing and derivable)
        f = numeric(m["flops"], "flops") if m["flops"] in df.columns else pd.Series(np.nan, index=df.index)
        if can_derive:
            n = pd.to_numeric(df[m["params"]], errors="coerce")
            d = pd.to_numeric(df[m["tokens"]], errors="coerce")
            fill = f.isna() & n.notna() & d.notna()
            if fill.any():
                f = f.where(~fill, 6.0 * n * d)
                self.flops_source = "6 N D" if fill.all() else "given, 6 N D where missing"
        nan = f.isna()
        if m["flops"] in df.columns:
            nan = nan & df[m["flops"]].isna()
        if nan.any():
            hint = ("give params and tokens in those rows so flops = 6 N D, or drop them" if can_derive
                    else "fill them in, give 'params' and 'tokens' columns so flops = 6 N D, or drop those rows")
            problems.append(f"column '{m['flops']}' (flops) has missing values in {_rows(nan, df.index)}; {hint}")
        nonpos = f <= 0
        if nonpos.any():
            problems.append(f"column '{m['flops']}' (flops) must be positive but is <= 0 in "
                            f"{_rows(nonpos, df.index)}; give training compute in FLOP")
        inf = np.isinf(f)
        if inf.any():
            problems.append(f"column '{m['flops']}' (flops) has infinite values in {_rows(inf, df.index)}; "
                            "replace them with finite numbers or drop those rows")
        small = (f > 0) & (f < MIN_FLOPS)
        if small.any():
            problems.append(
                f"column '{m['flops']}' (flops) has values below {MIN_FLOPS:.0e} in {_rows(small, df.index)} "
                f"(e.g. {f[small].iloc[0]:g}); these look like a scaled unit (e.g. units of 1e21 FLOP): "
                "give raw FLOP (8.4e22, not 84)"
            )
        out["flops"] = f

        # ---- n_items
        if m["n_items"] is not None:
            k = numeric(m["n_items"], "n_items")
            bad = k.notna() & ((k < 1) | (k != np.round(k)))
            if bad.any():
                problems.append(f"column '{m['n_items']}' (n_items) must be a positive whole number in "
                                f"{_rows(bad, df.index)}; give the number of questions, or leave it empty")
            out["n_items"] = k
        else:
            out["n_items"] = np.nan

        # ---- chance levels
        given = {} if chance is None else dict(chance)
        for b, c in given.items():
            try:
                ok = 0.0 <= float(c) < 1.0
            except (TypeError, ValueError):
                ok = False
            if not ok:
                problems.append(f"chance level of '{b}' is {c!r}; give the score of random guessing as a "
                                "fraction in [0, 1), e.g. chance={'MMLU': 0.25}")
        levels = {**CHANCE_LEVELS, **{str(b): float(c) for b, c in given.items()
                                      if isinstance(c, int | float) and 0 <= c < 1}}
        unknown = [b for b in dict.fromkeys(out["benchmark"]) if b not in levels]
        if unknown:
            rows = out["benchmark"].isin(unknown)
            problems.append(
                f"column '{m['benchmark']}' (benchmark) has no known chance level for {unknown} "
                f"({_rows(rows, df.index)}); pass chance={{{unknown[0]!r}: 0.25}} (the score of random "
                "guessing: 1/options for multiple choice, 0 for generation)"
            )
        out["chance"] = out["benchmark"].map(levels).astype(float)

        # ---- duplicates and per-model consistency
        dup = out.duplicated(["model", "benchmark"], keep=False)
        if dup.any():
            first = out[dup].iloc[0]
            problems.append(
                f"columns '{m['model']}' x '{m['benchmark']}' repeat in {_rows(dup, df.index)} "
                f"(e.g. {first['model']!r} on {first['benchmark']!r}); keep one score per model and "
                "benchmark (average repeated runs first)"
            )
        per_model = out.groupby("model", sort=False).agg(fam=("family", "nunique"), fl=("flops", "nunique"))
        for what, col in (("family", "fam"), ("flops", "fl")):
            bad_models = per_model.index[per_model[col] > 1]
            if len(bad_models):
                rows = out["model"].isin(bad_models)
                problems.append(
                    f"column '{m[what]}' ({what}) differs between rows of the same model "
                    f"{list(bad_models[:3])} ({_rows(rows, df.index)}); a model has one {what}: fix the "
                    "rows or give the variants different model names"
                )
        if problems:
            raise DataValidationError(problems)
        cols = ["model", "family", "flops", "benchmark", "score", "chance", "n_items"]
        return out[cols].reset_index(drop=True)

    # -------------------------------------------------------------- build
    @classmethod
    def from_wide(cls, df: pd.DataFrame, *, benchmarks: Sequence[str], model: str = "model",
                  family: str = "family", flops: str = "flops", flops_unit: float = 1.0,
                  chance: Mapping[str, float] | None = None) -> BenchmarkScores:
        """Build from a wide table with one column per benchmark (empty cells: not run).

        ``flops_unit`` multiplies the flops column (1e21 for a column in units of 1e21 FLOP).

        Examples
        --------
        >>> import pandas as pd, forecast as fc
        >>> wide = pd.DataFrame({"model": ["a"], "family": ["f"], "flops": [84.0], "MMLU": [0.44]})
        >>> fc.BenchmarkScores.from_wide(wide, benchmarks=["MMLU"], flops_unit=1e21).table["flops"][0]
        np.float64(8.4e+22)
        """
        missing = [b for b in benchmarks if b not in df.columns]
        if missing:
            raise DataValidationError([f"benchmark column(s) {missing} are missing; the table has "
                                       f"{list(df.columns)}; list the columns that hold scores"])
        base = df[[model, family, flops]].copy()
        base[flops] = pd.to_numeric(base[flops], errors="coerce") * flops_unit
        long = base.join(df[list(benchmarks)]).melt(id_vars=[model, family, flops], var_name="benchmark",
                                                   value_name="score")
        long = long[long["score"].notna()].reset_index(drop=True)
        return cls(long, model=model, family=family, flops=flops, chance=chance)

    @classmethod
    def from_table(cls, table: pd.DataFrame) -> BenchmarkScores:
        """Rebuild from a tidy table (as stored in a saved fit)."""
        chance = dict(zip(table["benchmark"], table["chance"], strict=True))
        n_items = "n_items" if table["n_items"].notna().any() else None
        return cls(table.drop(columns="chance"), n_items=n_items, chance=chance)

    # ------------------------------------------------------------ accessors
    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        return (f"BenchmarkScores({len(self)} scores: {len(self.models)} models in {len(self.families)} "
                f"families on {len(self.benchmarks)} benchmarks)")

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(self.table["model"]))

    @property
    def families(self) -> list[str]:
        return list(dict.fromkeys(self.table["family"]))

    @property
    def benchmarks(self) -> list[str]:
        return list(dict.fromkeys(self.table["benchmark"]))

    @property
    def chance(self) -> dict[str, float]:
        """Chance score of each benchmark in the table."""
        first = self.table.drop_duplicates("benchmark")
        return dict(zip(first["benchmark"], first["chance"].astype(float), strict=True))

    def subset(self, mask) -> BenchmarkScores:
        """Scores restricted to the rows where ``mask`` is true (re-validated)."""
        out = BenchmarkScores.from_table(self.table[np.asarray(mask, dtype=bool)].reset_index(drop=True))
        out.source = self.source
        return out

    def hash(self) -> str:
        """Stable short hash of the tidy table."""
        payload = self.table.to_csv(index=False, float_format="%.17g").encode()
        return hashlib.sha256(payload).hexdigest()[:16]


def load_obsscaling(path: str | os.PathLike | None = None) -> BenchmarkScores:
    """The ObsScaling table (Ruan et al. 2024): base LLMs with training FLOP known, on eight benchmarks.

    Models whose training FLOP the table does not give (unknown data size) are
    left out; their number is in ``scores.dropped_models``.

    Examples
    --------
    >>> scores = load_obsscaling()   # doctest: +SKIP
    >>> scores.benchmarks            # doctest: +SKIP
    """
    path = Path(path) if path is not None else obsscaling_path()
    if not path.exists():
        raise FileNotFoundError(f"no ObsScaling table at {path}")
    wide = pd.read_csv(path)
    known = wide["FLOPs (1E21)"].notna()
    scores = BenchmarkScores.from_wide(
        wide[known], benchmarks=list(OBSSCALING_BENCHMARKS), model="Model", family="Model Family",
        flops="FLOPs (1E21)", flops_unit=1e21,
    )
    scores.source = str(path)
    scores.dropped_models = list(wide.loc[~known, "Model"])
    return scores
