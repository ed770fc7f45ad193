"""Observations: a validated, tidy table of training runs.

Every problem found in the input is collected into one
:class:`DataValidationError`, so a user fixes the table in one pass instead of
meeting the errors one at a time.
"""

from __future__ import annotations

import datetime
import difflib
import hashlib
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

REQUIRED = ("family", "params", "tokens", "loss")
OPTIONAL = ("flops", "unique_tokens", "epochs", "run")
NUMERIC = ("params", "tokens", "loss", "flops", "unique_tokens", "epochs")

# Plausibility floors: anything smaller is almost surely in other units.
MIN_PARAMS = 1e5
MIN_TOKENS = 1e7
# Ceilings: a thousand times beyond the largest runs on record; anything larger is a unit mistake.
MAX_PARAMS = 1e16
MAX_TOKENS = 1e18
MAX_LOSS_NATS = 12.0
MIN_LOSS_NATS = 1e-4
FLOPS_RTOL_WARN = 0.5
"""A given ``flops`` more than 50% off ``6 N D`` earns a :class:`DataWarning` (attention FLOPs and
other conventions move it by tens of percent)."""
FLOPS_FACTOR_ERROR = 10.0
"""A given ``flops`` more than 10x off ``6 N D`` is an error: a unit or column mix-up."""
RESERVED_FAMILIES = ("new", "population")
"""Family names the API gives a meaning (``family="new"``, ``"population"``): refused as data."""
_DEFAULT_NA = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
               "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")
"""What ``pandas.read_csv`` reads as missing; in name columns (family, run) these are names."""
LOCKSTEP_SPREAD = 0.15
"""Runs of a family spread less than this (decades) across their line in (log10 N, log10 D) are in
lock-step: runs on a compute-optimal line spread by 0.03-0.08 decades (Porian et al. 2024), an IsoFLOP
sweep by about 0.5 (Chinchilla)."""
LOCKSTEP_MIN_RUNS = 6
"""Families with fewer distinct (N, D) points are judged in lock-step only when they lie on a line exactly
(spread below 0.01 decades): five points or fewer often lie near a line by chance (the demo's 4-run family
spreads by 0.08 decades, a 5-run sweep at 5-80 tokens per parameter by 0.06, though their runs were drawn
off any line)."""


def is_lockstep(spread: float, distinct_points: int) -> bool:
    """Whether a family whose runs spread ``spread`` decades across their line is in lock-step."""
    if distinct_points < 3 or not np.isfinite(spread):
        return False
    return spread < (LOCKSTEP_SPREAD if distinct_points >= LOCKSTEP_MIN_RUNS else 0.01)
EPOCHS_RTOL = 0.05
"""Largest relative mismatch allowed between ``epochs`` and ``tokens / unique_tokens``."""


def lockstep_spread(log_params, log_tokens) -> float:
    """Spread (sd, in the inputs' log units) of runs across the principal line of (log N, log D).

    The smaller singular value of the centred points over sqrt(runs): zero
    when every run lies on one line (N and D in lock-step), whatever its slope.

    Examples
    --------
    >>> n = np.array([8.0, 9.0, 10.0])
    >>> lockstep_spread(n, n + 1.3)
    0.0
    """
    x = np.column_stack([np.asarray(log_params, dtype=float), np.asarray(log_tokens, dtype=float)])
    if len(x) < 3:
        return float("nan")
    x = x - x.mean(axis=0)
    return round(float(np.linalg.svd(x, compute_uv=False)[1] / np.sqrt(len(x))), 12)


class DataValidationError(ValueError):
    """The table of runs cannot be used as it is; the message lists every problem and its fix."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the observations:\n{lines}")


CHECKPOINT_COLUMNS = ("step", "checkpoint", "iteration", "iter")
"""Source columns that mark a table's rows as checkpoints of training runs."""
CHECKPOINTS_PER_RUN = 3
"""Rows per run from which a family counts as mostly checkpoints (and warns)."""


class DataWarning(UserWarning):
    """The table can be used, but something in it deserves a look."""


def _rows(mask: np.ndarray | pd.Series, index: pd.Index, limit: int = 8) -> str:
    """Describe which rows (by the user's index) a mask selects."""
    picked = list(index[np.asarray(mask, dtype=bool)])
    shown = ", ".join(str(i) for i in picked[:limit])
    more = f" and {len(picked) - limit} more" if len(picked) > limit else ""
    return f"row{'s' if len(picked) != 1 else ''} {shown}{more}"


def scale_problem(name: str, values: np.ndarray | pd.Series, *, where: str,
                  index: pd.Index | None = None) -> str | None:
    """The plausibility rule for ``params`` and ``tokens`` (raw counts, not millions), or None if met.

    Shared by :class:`Observations` and the forecasts' inputs, so both say the same thing.

    Examples
    --------
    >>> scale_problem("params", np.array([70.0]), where="params")[:39]
    'params has values below 1e+05 (e.g. 70)'
    """
    floor, unit, example = {"params": (MIN_PARAMS, "millions or billions", "parameter counts (7e9, not 7)"),
                            "tokens": (MIN_TOKENS, "billions or trillions", "token counts (1.4e12, not 1.4)")
                            }.get(name, (None, "", ""))
    if floor is None:
        return None
    values = pd.Series(np.asarray(values, dtype=float)) if index is None else pd.Series(values, index=index)
    small = (values > 0) & (values < floor)
    if not small.any():
        return None
    rows = f" in {_rows(small, values.index)}" if index is not None else ""
    return (f"{where} has values below {floor:.0e}{rows} (e.g. {values[small].iloc[0]:g}); these look "
            f"like {unit}: give raw {example}")


def _bad_number_types(raw: pd.Series) -> str | None:
    """The kind of value in a numeric column that is not a real number (bool, complex, time...), if any."""
    kind = raw.dtype.kind
    names = {"b": "true/false", "c": "complex", "m": "time-difference", "M": "date-time", "S": "bytes"}
    if kind in names:
        return names[kind]
    if kind == "O":
        for v in raw.dropna():
            if isinstance(v, bool | np.bool_):
                return "true/false"
            if isinstance(v, complex | np.complexfloating):
                return "complex"
            if isinstance(v, datetime.timedelta | datetime.date | np.timedelta64 | np.datetime64):
                return "date/time"
            if isinstance(v, bytes):
                return "bytes"
            if not isinstance(v, str | int | float | np.integer | np.floating):
                return type(v).__name__
    return None


def _name_column_problems(raw: pd.Series, col: str, name: str, index: pd.Index) -> list[str]:
    """Problems of a column of names (family, run): missing, empty, or of mixed types."""
    problems = []
    missing = raw.isna()
    if missing.any():
        problems.append(
            f"column '{col}' ({name}) is empty in {_rows(missing, index)}; give every run a {name} name"
        )
    present = raw[~missing]
    kinds = {("text" if isinstance(v, str) else "number" if isinstance(v, int | float | np.integer | np.floating)
              and not isinstance(v, bool | np.bool_) else type(v).__name__) for v in present}
    if len(kinds) > 1:
        problems.append(
            f"column '{col}' ({name}) mixes {' and '.join(sorted(kinds))} values (e.g. 1 and '1' would be "
            f"the same {name}); write every {name} name as text"
        )
    blank = ~missing & (raw.astype(str).str.strip() == "")
    if blank.any():
        problems.append(
            f"column '{col}' ({name}) has empty or blank names in {_rows(blank, index)}; "
            f"give every run a {name} name"
        )
    return problems


def _separator_hint(columns: list) -> str | None:
    """A hint when the header looks split by another separator than the comma."""
    text = " ".join(str(c) for c in columns)
    for sep, label in ((";", "';'"), ("\t", "a tab"), ("|", "'|'")):
        if sep in text:
            return (f"the header looks separated by {label}, not commas: read it with "
                    f"Observations.from_csv(path, sep={sep!r}) (and decimal=',' if numbers use decimal commas)")
    return None


class Observations:
    """Validated training runs in tidy long format.

    Columns: ``family, params, tokens, loss`` and, where known, ``flops``,
    ``unique_tokens``, ``epochs`` and ``run`` (the id of the training run a
    checkpoint belongs to). Units are raw counts: ``params`` is the number of
    parameters N, ``tokens`` the number of training tokens seen D, ``flops`` the
    training compute C and ``loss`` the loss in nats per token.

    Parameters
    ----------
    df : pandas.DataFrame
        The runs, one per row.
    family, params, tokens, loss, flops, unique_tokens, epochs, run : str, optional
        Column names in ``df`` for each field, when they differ from the tidy
        names. ``flops`` is optional: when absent it is filled as ``6 N D``.
        If ``tokens`` is absent but ``flops`` is present, tokens are
        ``C / (6 N)``. If the table has no family column, pass
        ``family_name="..."`` to treat every row as one family.
    family_name : str, optional
        Use this single family name for every row (the table then needs no
        family column).
    min_points : int
        Smallest number of distinct (N, D) points a family must have. Three is
        the least from which partial pooling can still learn something about a
        family; a family alone needs more.

    Raises
    ------
    DataValidationError
        Listing every problem found, each with the column, the rows and the fix.

    Examples
    --------
    >>> import pandas as pd, forecast as fc
    >>> df = pd.DataFrame({"family": ["a"] * 3, "params": [1e8, 4e8, 1e9],
    ...                    "tokens": [2e9, 8e9, 2e10], "loss": [3.2, 2.9, 2.7]})
    >>> obs = fc.Observations(df)
    >>> obs.families
    ['a']
    """

    def __init__(
        self,
        df: pd.DataFrame,
        *,
        family: str = "family",
        params: str = "params",
        tokens: str = "tokens",
        loss: str = "loss",
        flops: str | None = None,
        unique_tokens: str | None = None,
        epochs: str | None = None,
        run: str | None = None,
        family_name: str | None = None,
        min_points: int = 3,
    ) -> None:
        if not isinstance(df, pd.DataFrame):
            raise DataValidationError(
                [f"expected a pandas DataFrame, got {type(df).__name__}; "
                 "read a file with Observations.from_csv(path)"]
            )
        mapping = {"family": family, "params": params, "tokens": tokens, "loss": loss}
        for name, given in (("flops", flops), ("unique_tokens", unique_tokens),
                            ("epochs", epochs), ("run", run)):
            # Optional columns are picked up under their tidy name when not mapped.
            mapping[name] = given if given is not None else name
        self.min_points = int(min_points)
        self._source_columns = dict(mapping)
        self.table = self._validate(df, mapping, family_name, explicit_optional={
            "flops": flops, "unique_tokens": unique_tokens, "epochs": epochs, "run": run})

    # ------------------------------------------------------------------ build
    @classmethod
    def from_csv(cls, path: str | Path, *, sep: str = ",", decimal: str = ".", **kwargs) -> Observations:
        """Read a CSV file of runs; keyword arguments map column names as in the constructor.

        ``sep`` and ``decimal`` read files written with another separator
        (``sep=";"``, ``sep="\\t"``) or decimal commas (``decimal=","``). In the
        family and run columns every text is a name (a family called ``NA``
        or ``None`` stays one); only empty cells are missing. A header that
        names a column twice is refused.

        Examples
        --------
        >>> import forecast as fc
        >>> obs = fc.Observations.from_csv(fc.datasets.demo_path())
        >>> len(obs) > 0
        True
        """
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no such data file: {path}")
        names = {kwargs.get("family", "family"), kwargs.get("run") or "run"}
        try:
            header = pd.read_csv(path, sep=sep, nrows=1, header=None, dtype=str)
            df = pd.read_csv(path, sep=sep, decimal=decimal, keep_default_na=False, na_values={
                c: list(_DEFAULT_NA) for c in pd.read_csv(path, sep=sep, nrows=0).columns if c not in names
            } | {c: [""] for c in names})
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise DataValidationError(
                [f"{path} is not a readable CSV table ({err}); save it as comma-separated text "
                 "with a header row"]
            ) from None
        given = [str(c) for c in header.iloc[0].tolist()] if len(header) else []
        repeated = sorted({c for c in given if given.count(c) > 1})
        if repeated:
            raise DataValidationError([
                f"{path}: the header names column '{c}' {given.count(c)} times; rename or drop the "
                "copies so each column name is used once" for c in repeated
            ])
        obs = cls(df, **kwargs)
        obs.source = str(path)
        return obs

    source: str | None = None
    """Where the table was read from (a file path, or the bundled dataset's name and origin)."""
    citation: str | None = None
    """Whom to cite for the numbers (set by :func:`forecast.datasets.load`; reports print it)."""

    # ------------------------------------------------------------- validate
    def _validate(self, df, mapping, family_name, explicit_optional) -> pd.DataFrame:
        problems: list[str] = []
        if len(df) == 0:
            raise DataValidationError(["the table is empty: it needs at least one run per row"])

        columns = list(df.columns)
        dup_cols = pd.Index(columns)[pd.Index(columns).duplicated()].unique()
        if len(dup_cols):
            raise DataValidationError([
                f"column '{c}' appears {columns.count(c)} times; rename or drop the copies so each "
                "column name is used once" for c in dup_cols
            ])
        missing = []
        for name in REQUIRED:
            col = mapping[name]
            if name == "family" and family_name is not None:
                continue
            if name == "tokens" and col not in df.columns and mapping["flops"] in df.columns:
                continue  # derived from flops below
            if col not in df.columns:
                missing.append((name, col))
        for name in ("flops", "unique_tokens", "epochs", "run"):
            given = explicit_optional[name]
            if given is not None and given not in df.columns:
                missing.append((name, given))
        if missing:
            for name, col in missing:
                hint = (f"pass {name}='<column>' to name the column that holds it"
                        if name != "family"
                        else "pass family='<column>', or family_name='...' if every row is one family")
                close = difflib.get_close_matches(str(col), [str(c) for c in columns], n=1, cutoff=0.5)
                if close:
                    hint = f"did you mean {name}='{close[0]}'? Otherwise {hint}"
                problems.append(
                    f"column '{col}' ({name}) is missing; the table has {columns}; {hint}"
                )
            separator = _separator_hint(columns)
            if separator:
                problems.append(separator)
            raise DataValidationError(problems)

        out = pd.DataFrame(index=df.index)
        if family_name is not None:
            if not str(family_name).strip():
                raise DataValidationError(["family_name is empty; give the family a name"])
            out["family"] = str(family_name).strip()
        else:
            fam = df[mapping["family"]]
            problems += _name_column_problems(fam, mapping["family"], "family", df.index)
            out["family"] = fam.astype(str).str.strip()
        reserved = out["family"].str.lower().isin(RESERVED_FAMILIES)
        if reserved.any():
            names = ", ".join(repr(n) for n in dict.fromkeys(out["family"][reserved]))
            col = mapping["family"] if family_name is None else "family_name"
            problems.append(
                f"column '{col}' (family) has reserved name(s) {names} in {_rows(reserved, df.index)}: forecasts use "
                "family='new' for a family not seen and 'population' for the typical family; rename "
                "them (e.g. 'new-model')"
            )

        missing_values: dict[str, pd.Series] = {}
        for name in NUMERIC:
            col = mapping[name]
            if col not in df.columns:
                continue
            raw = df[col]
            missing_values[name] = raw.isna()
            wrong = _bad_number_types(raw)
            if wrong is not None:
                problems.append(
                    f"column '{col}' ({name}) holds {wrong} values, not real numbers; write raw "
                    "numbers such as 1.4e12"
                )
                out[name] = np.nan
                missing_values[name] = pd.Series(False, index=df.index)
                continue
            values = pd.to_numeric(raw, errors="coerce")
            bad_text = values.isna() & raw.notna()
            if bad_text.any():
                examples = ", ".join(repr(v) for v in raw[bad_text].head(3))
                comma = any("," in str(v) for v in raw[bad_text].head(20))
                problems.append(
                    f"column '{col}' ({name}) has non-numeric values ({examples}) in "
                    f"{_rows(bad_text, df.index)}; write raw numbers such as 1.4e12, not '1.4T'"
                    + ("; numbers with decimal commas are read with Observations.from_csv(path, "
                       "decimal=',')" if comma else "")
                )
            out[name] = values.astype(float)
        if mapping["run"] in df.columns:
            raw_run = df[mapping["run"]]
            problems += _name_column_problems(raw_run, mapping["run"], "run", df.index)
            out["run"] = raw_run.astype(str).str.strip()

        derived: dict[str, str] = {}
        if "tokens" not in out and "flops" in out:
            with np.errstate(all="ignore"):
                out["tokens"] = out["flops"] / (6.0 * out["params"])
            self.tokens_source = "C / (6 N)"
            derived["tokens"] = "C / (6 N)"
        else:
            self.tokens_source = "given"
        if "flops" not in out:
            with np.errstate(all="ignore"):
                out["flops"] = 6.0 * out["params"] * out["tokens"]
            self.flops_source = "6 N D"
            derived["flops"] = "6 N D"
        else:
            self.flops_source = "given"

        for name in NUMERIC:
            if name not in out:
                continue
            values = out[name]
            col = mapping.get(name, name)
            what = f"column '{col}' ({name})" if name not in derived else f"{name} (derived as {derived[name]})"
            fix = ("check the units of the columns it is derived from" if name in derived
                   else "replace them with finite numbers or drop those rows")
            nan = missing_values.get(name, pd.Series(False, index=df.index))
            if nan.any():
                problems.append(
                    f"column '{col}' ({name}) has missing (NaN) values in {_rows(nan, df.index)}; "
                    "fill them in or drop those rows"
                )
            # a derived value is only judged where the columns it comes from are themselves fine
            sources = {"tokens": ("flops", "params"), "flops": ("params", "tokens")}.get(name, ())
            judged = (pd.Series(True, index=df.index) if name not in derived else
                      np.logical_and.reduce([np.isfinite(out[c]) & (out[c] > 0) for c in sources]))
            inf = np.isinf(values) & judged
            if inf.any():
                problems.append(f"{what} has infinite values in {_rows(inf, df.index)}; {fix}")
            nonpos = (values <= 0) & judged
            if nonpos.any():
                problems.append(
                    f"{what} must be positive but is <= 0 in "
                    f"{_rows(nonpos, df.index)}; check the sign and units"
                )

        for name in ("params", "tokens"):
            if name in out:
                problem = scale_problem(name, out[name], where=f"column '{mapping[name]}' ({name})",
                                        index=df.index)
                if problem:
                    problems.append(problem)
        for name, ceiling in (("params", MAX_PARAMS), ("tokens", MAX_TOKENS)):
            if name not in out:
                continue
            big = np.isfinite(out[name]) & (out[name] > ceiling)
            if big.any():
                source = f"column '{mapping[name]}'" if name not in derived else f"derived as {derived[name]}"
                problems.append(
                    f"{name} ({source}) exceeds {ceiling:.0e} in {_rows(big, df.index)} (e.g. "
                    f"{out[name][big].iloc[0]:g}), over a thousand times the largest run on record; "
                    "check the units (raw counts)"
                )
        if "loss" in out:
            big = out["loss"] > MAX_LOSS_NATS
            if big.any():
                problems.append(
                    f"column '{mapping['loss']}' (loss) exceeds {MAX_LOSS_NATS:g} nats in "
                    f"{_rows(big, df.index)} (e.g. {out['loss'][big].iloc[0]:g}); this looks like "
                    "perplexity or bits: give cross-entropy in nats (ln(perplexity), or bits x ln 2)"
                )
            tiny = (out["loss"] > 0) & (out["loss"] < MIN_LOSS_NATS)
            if tiny.any():
                problems.append(
                    f"column '{mapping['loss']}' (loss) is below {MIN_LOSS_NATS:g} nats in "
                    f"{_rows(tiny, df.index)} (e.g. {out['loss'][tiny].iloc[0]:g}); no language model "
                    "reaches that: give the cross-entropy loss in nats per token"
                )
        if self.flops_source == "given" and "tokens" not in derived:
            with np.errstate(all="ignore"):
                ratio = out["flops"] / (6.0 * out["params"] * out["tokens"])
            off = (ratio > FLOPS_FACTOR_ERROR) | (ratio < 1 / FLOPS_FACTOR_ERROR)
            if off.any():
                problems.append(
                    f"column '{mapping['flops']}' (flops) is more than {FLOPS_FACTOR_ERROR:g}x away from "
                    f"6 x params x tokens in {_rows(off, df.index)} (e.g. {ratio[off].iloc[0]:.3g}x); check "
                    "its units (raw FLOP) or leave it out so it is computed as 6 N D"
                )
        if {"epochs", "unique_tokens", "tokens"} <= set(out) and not problems:
            # epochs = tokens / unique_tokens: a wrong unique-tokens column (a constant, a per-epoch figure)
            # would silently change every repeated-data forecast, so the two must agree
            implied = out["tokens"] / out["unique_tokens"]
            off = (implied - out["epochs"]).abs() > EPOCHS_RTOL * out["epochs"]
            # no repetition either way (one pass over part of a larger pool) is no disagreement
            off &= ~((implied <= 1 + EPOCHS_RTOL) & (out["epochs"] <= 1 + EPOCHS_RTOL))
            if off.any():
                i = off[off].index[0]
                problems.append(
                    f"column '{mapping['epochs']}' (epochs) and tokens / column '{mapping['unique_tokens']}' "
                    f"(unique_tokens) disagree in {_rows(off, df.index)} (e.g. epochs {out['epochs'][i]:g} but "
                    f"tokens / unique_tokens = {implied[i]:.4g}; allowed {EPOCHS_RTOL:.0%} apart); epochs "
                    "must equal tokens / unique_tokens: fix the wrong column (unique_tokens = tokens / epochs if "
                    "the epochs are right), or leave the epochs column out"
                )
        if problems:
            raise DataValidationError(problems)
        if self.flops_source == "given" and "tokens" not in derived:
            far = (ratio - 1).abs() > FLOPS_RTOL_WARN
            if far.any():
                warnings.warn(
                    f"column '{mapping['flops']}' (flops) differs from 6 x params x tokens by more than "
                    f"{FLOPS_RTOL_WARN:.0%} in {_rows(far, df.index)} (e.g. {ratio[far].iloc[0]:.3g}x); "
                    "forecasts relate the two by C = 6 N D",
                    DataWarning,
                    stacklevel=3,
                )
        if "unique_tokens" in out:
            over = out["unique_tokens"] > out["tokens"] * (1 + 1e-6)
            if over.any():
                # A pool larger than the run: each token was seen at most once.
                warnings.warn(
                    f"column '{mapping['unique_tokens']}' (unique_tokens) exceeds the tokens trained "
                    f"on in {_rows(over, df.index)}; read as the size of the data pool, so those runs "
                    "saw no repeated token and unique_tokens is set to tokens for them",
                    DataWarning,
                    stacklevel=3,
                )
                out.loc[over, "unique_tokens"] = out.loc[over, "tokens"]

        counts = (
            out.drop_duplicates(["family", "params", "tokens"]).groupby("family", sort=False).size()
        )
        few = counts[counts < self.min_points]
        for fam, n in few.items():
            problems.append(
                f"family '{fam}' has only {n} distinct (params, tokens) point(s); at least "
                f"{self.min_points} are needed to identify the law; add runs, drop the family, "
                "or merge it with a related one"
            )
        if problems:
            raise DataValidationError(problems)

        # Warnings: usable, but worth a look.
        dup = out.duplicated(keep="first")
        if dup.any():
            warnings.warn(
                f"{int(dup.sum())} exact duplicate row(s) ({_rows(dup, df.index)}); each counts as "
                "a separate observation; drop them if they are the same run recorded twice",
                DataWarning,
                stacklevel=3,
            )
        families = list(dict.fromkeys(out["family"]))
        if len(families) == 1:
            warnings.warn(
                f"only one family ('{families[0]}'): there is nothing to pool across, so the "
                "population level is learnt from the prior alone and forecasts for family='new' "
                "are prior-dominated",
                DataWarning,
                stacklevel=3,
            )
        locked = []
        for fam in families:
            sub = out[out["family"] == fam]
            ln, ld = np.log10(sub["params"]), np.log10(sub["tokens"])
            distinct = len(sub.drop_duplicates(["params", "tokens"]))
            if is_lockstep(lockstep_spread(ln, ld), distinct):
                r = float(np.corrcoef(ln, ld)[0, 1]) if ln.std() > 0 and ld.std() > 0 else float("nan")
                locked.append((fam, r, lockstep_spread(ln, ld)))
        if locked:
            names = ", ".join(f"'{f}'" for f, _, _ in locked[:3]) + (
                f" and {len(locked) - 3} more" if len(locked) > 3 else "")
            corr = ", ".join(f"{r:.3f}" for _, r, _ in locked)
            warnings.warn(
                f"in {len(locked)} of {len(families)} families ({names}) params and tokens move in "
                f"lock-step: the runs lie on one line in (log N, log D) (spread across it at most "
                f"{max(s for _, _, s in locked):.2f} decades; correlation of the logs {corr}), as runs on a "
                "compute-optimal line do. The data cannot separate the parameter term from the data term, "
                "so the compute-optimal split and the data wall come from the prior; vary N and D "
                "independently (several sizes at one compute) to identify them, or fit the compute law "
                "for questions about loss alone",
                DataWarning,
                stacklevel=3,
            )
        self._warn_checkpoints(out, df)
        cols = ["family", "params", "tokens", "loss", "flops"] + [
            c for c in ("unique_tokens", "epochs", "run") if c in out
        ]
        return out[cols].reset_index(drop=True)

    @staticmethod
    def _warn_checkpoints(out: pd.DataFrame, df: pd.DataFrame) -> None:
        """Warn when a family's rows are mostly checkpoints of a few runs (correlated, not independent).

        Runs are the ``run`` column when given; otherwise, when the source
        table has a checkpoint column (``step``, ``checkpoint``, ``iteration``),
        each model size of a family is taken as one run.
        """
        if "run" in out:
            runs = out.groupby("family", sort=False)["run"].nunique()
            how = "the 'run' column"
        elif any(str(c).lower() in CHECKPOINT_COLUMNS for c in df.columns):
            runs = out.groupby("family", sort=False)["params"].nunique()
            how = "one run per model size (the table has a checkpoint column)"
        else:
            return
        rows = out.groupby("family", sort=False).size()
        heavy = [(f, int(rows[f]), int(runs[f])) for f in rows.index
                 if rows[f] >= CHECKPOINTS_PER_RUN * runs[f]]
        if heavy:
            listed = ", ".join(f"'{f}' ({n} rows from {r} runs)" for f, n, r in heavy)
            warnings.warn(
                f"mostly checkpoints of a few runs in {listed}, counting runs by {how}. Checkpoints of "
                "one run share its quirks, so treating them as independent runs overstates what the "
                "data teach and narrows the intervals; keep one row per run (e.g. the final checkpoint) "
                "for the tightest honest fit, or name the runs (run='<column>') and use "
                "ScalingModel(run_effects=True) when runs share model sizes; check the intervals with "
                "forecast.cross_validate",
                DataWarning,
                stacklevel=4,
            )

    # ------------------------------------------------------------ accessors
    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        per = ", ".join(f"{f} ({n})" for f, n in self.table.groupby("family", sort=False).size().items())
        return f"Observations({len(self)} runs in {len(self.families)} families: {per})"

    @property
    def families(self) -> list[str]:
        """Family names in order of first appearance."""
        return list(dict.fromkeys(self.table["family"]))

    @property
    def family_index(self) -> np.ndarray:
        """Integer code of each row's family (position in :attr:`families`)."""
        lookup = {f: i for i, f in enumerate(self.families)}
        return self.table["family"].map(lookup).to_numpy(dtype=np.int64)

    def column(self, name: str) -> np.ndarray:
        """One column as a float array; a clear error if the table lacks it."""
        if name not in self.table:
            raise DataValidationError(
                [f"this law needs a '{name}' column, which the observations do not have; "
                 f"pass {name}='<column>' when building Observations"]
            )
        return self.table[name].to_numpy(dtype=float)

    def to_dataframe(self) -> pd.DataFrame:
        """A copy of the tidy table."""
        return self.table.copy()

    def subset(self, mask: np.ndarray | pd.Series) -> Observations:
        """Observations restricted to the rows where ``mask`` is true (re-validated)."""
        sub = self.table[np.asarray(mask, dtype=bool)].reset_index(drop=True)
        out = Observations.from_table(sub, min_points=self.min_points)
        out.source, out.citation = self.source, self.citation  # a subset keeps its provenance
        return out

    def hash(self) -> str:
        """Stable short hash of the tidy table (for reports and saved cards)."""
        payload = self.table.to_csv(index=False, float_format="%.17g").encode()
        return hashlib.sha256(payload).hexdigest()[:16]

    @classmethod
    def from_table(cls, table: pd.DataFrame, *, min_points: int = 3) -> Observations:
        """Rebuild from a tidy table (as stored in a saved fit) without warnings."""
        optional: Mapping[str, str] = {c: c for c in ("unique_tokens", "epochs", "run") if c in table}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            return cls(table, flops="flops", min_points=min_points, **optional)
