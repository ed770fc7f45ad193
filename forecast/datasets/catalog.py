"""Real public scaling data bundled with the package, each with its source, licence and citation.

Every table ships compressed in ``forecast/datasets/data/`` (nothing is
downloaded) and is listed in :data:`CATALOG`. Licences and attributions are in
``forecast/datasets/data/NOTICE.md``. Tables of training runs load as
validated :class:`forecast.Observations` that carry their citation, so a fit
and a report built from them name where the numbers come from; the other
tables (notable models, benchmark scores) load as a :class:`Table`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.data import Observations


@dataclass(frozen=True)
class Dataset:
    """One bundled table: what it is, where it comes from, and how to load it."""

    name: str
    kind: str  # "runs" (loss of trained models), "models" (notable models), "benchmarks"
    what: str
    source: str
    licence: str
    citation: str
    # column mapping for Observations (runs only)
    columns: dict[str, str] = field(default_factory=dict)
    # the highest-loss rows dropped by load() (said in `what`)
    drop_highest_loss: int = 0

    @property
    def filename(self) -> str:
        return f"{self.name}.csv.gz"


CATALOG: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            name="chinchilla",
            kind="runs",
            what=(
                "Chinchilla training runs (Hoffmann et al. 2022, Fig. 4) as digitised by Epoch AI; "
                "tokens = flops / (6 params). Loaded without the 5 highest-loss points, as Epoch AI does "
                "before fitting (240 of 245 rows; load_table keeps all)."
            ),
            source="IBM/ColPret raw_data/chinchila_extracted.csv; data digitised by Epoch AI",
            licence="MIT (IBM/ColPret); data by Epoch AI",
            citation=(
                "Besiroglu, Erdil, Barnett & You (2024), 'Chinchilla Scaling: A replication attempt' "
                "(Epoch AI), digitising Hoffmann et al. (2022), 'Training Compute-Optimal Large Language "
                "Models'; via IBM ColPret (MIT)"
            ),
            columns={"flops": "flops"},
            drop_highest_loss=5,
        ),
        Dataset(
            name="datablations_c4",
            kind="runs",
            what=(
                "Data-constrained runs on C4: unique-token pools of 100M-178B tokens repeated up to 9000 "
                "epochs, 20 model sizes; unique_tokens = tokens / epochs. 20 runs end above 6 nats "
                "(heavily repeated or diverged)."
            ),
            source="IBM/ColPret aggregated_eval; origin huggingface/datablations",
            licence="Apache-2.0 (huggingface/datablations); MIT (IBM/ColPret)",
            citation=(
                "Muennighoff, Rush, Barak, Le Scao, Piktus, Tazi, Pyysalo, Wolf & Raffel (2023), "
                "'Scaling Data-Constrained Language Models' (NeurIPS); data huggingface/datablations "
                "(Apache-2.0) via IBM ColPret (MIT)"
            ),
            columns={"flops": "flops", "unique_tokens": "unique_tokens", "epochs": "epochs"},
        ),
        Dataset(
            name="opt_checkpoints",
            kind="runs",
            what=(
                "OPT 125M-175B intermediate checkpoints (6 model sizes); loss = ln(validation "
                "perplexity); the run column names the model each checkpoint belongs to."
            ),
            source="IBM/ColPret aggregated_eval",
            licence="MIT (IBM/ColPret)",
            citation=(
                "Zhang et al. (2022), 'OPT: Open Pre-trained Transformer Language Models' (Meta AI); "
                "checkpoint losses collected by IBM ColPret (MIT)"
            ),
            columns={"flops": "flops", "run": "model"},
        ),
        Dataset(
            name="epoch_language_models",
            kind="models",
            what=(
                "Notable language models 1994-2025 with parameters, training tokens and training FLOP "
                "all known; for trends in training compute and data (tokens/year, FLOP/year)."
            ),
            source="Epoch AI, 'Data on Notable AI Models' (epoch.ai/data/notable-ai-models)",
            licence="CC BY 4.0 (attribution required)",
            citation="Epoch AI (2025), 'Data on Notable AI Models', epoch.ai/data/notable-ai-models (CC BY 4.0)",
        ),
        Dataset(
            name="obsscaling_benchmarks",
            kind="benchmarks",
            what=(
                "Benchmark accuracies (MMLU, ARC-C, HellaSwag, Winograd, TruthfulQA, GSM8K, XWinograd, "
                "HumanEval) of 148 base LLMs in 47 families, with size, pretraining data and FLOP."
            ),
            source="ryoungj/ObsScaling eval_results",
            licence="Apache-2.0",
            citation=(
                "Ruan, Maddison & Hashimoto (2024), 'Observational Scaling Laws and the Predictability "
                "of Language Model Performance'; data ryoungj/ObsScaling (Apache-2.0)"
            ),
        ),
    )
}

SIMULATED = "simulated"
SIMULATED_CITATION = (
    "Simulated by forecast.datasets.demo from published Chinchilla-law fits (Hoffmann et al. 2022; "
    "Besiroglu et al. 2024; Muennighoff et al. 2023); not measurements"
)

# Required columns of the tables that are not runs (validated on load).
_MODELS_COLUMNS = ("model", "date", "params", "tokens", "flops")
_BENCHMARK_COLUMNS = ("Model", "Model Family", "Model Size (B)", "Pretraining Data Size (T)", "FLOPs (1E21)")


@dataclass
class Table:
    """A bundled table that is not training runs, with its citation.

    Attributes
    ----------
    name : str
        Name in :func:`describe`.
    table : pandas.DataFrame
        The tidy table.
    citation, source, licence : str
        Where the numbers come from and on what terms.
    """

    name: str
    table: pd.DataFrame
    citation: str
    source: str
    licence: str

    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        return f"Table({self.name!r}: {len(self.table)} rows; {self.citation})"


def _names() -> str:
    return ", ".join([*CATALOG, SIMULATED])


def _entry(name: str) -> Dataset:
    if not isinstance(name, str) or name not in CATALOG:
        raise ValueError(f"no bundled dataset named {name!r}; known: {_names()} (see forecast.datasets.describe())")
    return CATALOG[name]


def path(name: str) -> Path:
    """Path of a bundled table (a gzip-compressed CSV that pandas reads directly).

    Examples
    --------
    >>> from forecast.datasets import path
    >>> path("chinchilla").name
    'chinchilla.csv.gz'
    """
    entry = _entry(name)
    return Path(str(resources.files("forecast.datasets").joinpath("data", entry.filename)))


def load_table(name: str) -> pd.DataFrame:
    """A bundled table as a plain DataFrame, every row as published (no validation, no rows dropped).

    The DataFrame's ``attrs`` hold ``citation``, ``source`` and ``licence``.

    Examples
    --------
    >>> import forecast as fc
    >>> df = fc.datasets.load_table("obsscaling_benchmarks")
    >>> len(df), df.attrs["licence"]
    (148, 'Apache-2.0')
    """
    if name == SIMULATED:
        from forecast.datasets.demo import demo_path

        df = pd.read_csv(demo_path())
        df.attrs.update(citation=SIMULATED_CITATION, source="forecast.datasets.demo", licence="MIT")
        return df
    entry = _entry(name)
    df = pd.read_csv(path(name))
    df.attrs.update(citation=entry.citation, source=entry.source, licence=entry.licence)
    return df


def _check_columns(df: pd.DataFrame, name: str, required: tuple[str, ...], numeric: tuple[str, ...]) -> None:
    from forecast.data import DataValidationError

    problems = [f"{name}: column {c!r} is missing" for c in required if c not in df]
    for c in numeric:
        values = pd.to_numeric(df[c], errors="coerce") if c in df else None
        # as published: FunSearch (2023) lists 0 training tokens, so zero is allowed
        if values is not None and (values.isna().any() or (values < 0).any()):
            problems.append(f"{name}: column {c!r} has values that are missing, negative or not numbers")
    if problems:
        raise DataValidationError([*problems, "the bundled file is damaged: reinstall the package"])


def load(name: str) -> Observations | Table:
    """Load a bundled dataset: runs as validated :class:`~forecast.Observations`, other tables as a :class:`Table`.

    The loaded object carries ``citation`` (and ``source``, ``licence``);
    a fit of these observations saves the citation, and its report cites it.
    ``load("simulated")`` gives the simulated demo runs, labelled as such.

    Parameters
    ----------
    name : str
        One of the names in :func:`describe` (``chinchilla``, ``datablations_c4``,
        ``opt_checkpoints``, ``epoch_language_models``, ``obsscaling_benchmarks``)
        or ``"simulated"``.

    Raises
    ------
    ValueError
        If no dataset has that name (the message lists the names).

    Examples
    --------
    >>> import forecast as fc
    >>> obs = fc.datasets.load("chinchilla")
    >>> len(obs), obs.families
    (240, ['chinchilla'])
    >>> obs.citation.startswith("Besiroglu")
    True
    """
    if name == SIMULATED:
        from forecast.datasets.demo import demo_path

        obs = Observations.from_csv(demo_path())
        obs.citation = SIMULATED_CITATION
        return obs
    entry = _entry(name)
    df = load_table(name)
    if entry.kind == "runs":
        if entry.drop_highest_loss:
            df = df.drop(df["loss"].nlargest(entry.drop_highest_loss).index).reset_index(drop=True)
        import warnings

        from forecast.data import DataWarning

        with warnings.catch_warnings():
            # each bundled table is one family by construction (pool() joins them); every other
            # data warning still reaches the user
            warnings.filterwarnings("ignore", message="only one family", category=DataWarning)
            # the catalog says which tables are checkpoints (describe()); the raw-table path warns
            warnings.filterwarnings("ignore", message="mostly checkpoints", category=DataWarning)
            obs = Observations(df, **entry.columns)
        obs.source = f"forecast.datasets.load({name!r}): {entry.source}"
        obs.citation = entry.citation
        return obs
    if entry.kind == "models":
        _check_columns(df, name, _MODELS_COLUMNS, ("params", "tokens", "flops"))
        df = df.assign(date=pd.to_datetime(df["date"]))
    else:
        _check_columns(df, name, _BENCHMARK_COLUMNS, ())
    return Table(name=name, table=df, citation=entry.citation, source=entry.source, licence=entry.licence)


def describe() -> pd.DataFrame:
    """The bundled datasets: ``name, rows, families, what, source, licence, citation``.

    ``rows`` counts the rows :func:`load` gives; ``families`` the model
    families (runs and benchmark tables) or ``NaN`` for the notable-models table.

    Examples
    --------
    >>> import forecast as fc
    >>> fc.datasets.describe()["name"].tolist()[:3]
    ['chinchilla', 'datablations_c4', 'opt_checkpoints']
    """
    rows = []
    for name, entry in CATALOG.items():
        loaded = load(name)
        if isinstance(loaded, Observations):
            families: float = float(len(loaded.families))
        elif entry.kind == "benchmarks":
            families = float(loaded.table["Model Family"].nunique())
        else:
            families = np.nan
        rows.append({"name": name, "rows": len(loaded), "families": families, "what": entry.what,
                     "source": entry.source, "licence": entry.licence, "citation": entry.citation})
    demo = load(SIMULATED)
    rows.append({"name": SIMULATED, "rows": len(demo), "families": float(len(demo.families)),
                 "what": "SIMULATED runs of four families from published Chinchilla-law fits (for demos "
                 "and tests; not measurements)", "source": "forecast.datasets.demo", "licence": "MIT",
                 "citation": SIMULATED_CITATION})
    out = pd.DataFrame(rows)
    out["families"] = out["families"].astype("Int64")
    return out


def pool(*parts: Observations) -> Observations:
    """Pool several loaded run tables into one :class:`~forecast.Observations`, keeping every citation.

    Family names must differ between the parts (each bundled table is its own
    family). Columns one table lacks (``unique_tokens``, ``epochs``, ``run``) are
    left out of the pooled table unless every part has them.

    Examples
    --------
    >>> import forecast as fc
    >>> both = fc.datasets.pool(fc.datasets.load("chinchilla"), fc.datasets.load("opt_checkpoints"))
    >>> both.families
    ['chinchilla', 'opt']
    >>> len(both.citation.splitlines())
    2
    """
    if not parts or not all(isinstance(p, Observations) for p in parts):
        raise TypeError("pool() takes loaded Observations, e.g. pool(load('chinchilla'), load('opt_checkpoints'))")
    seen: dict[str, int] = {}
    for i, part in enumerate(parts):
        for fam in part.families:
            if fam in seen:
                raise ValueError(
                    f"family {fam!r} appears in parts {seen[fam]} and {i}; rename it in one part's .table first"
                )
            seen[fam] = i
    shared = [c for c in parts[0].table.columns if all(c in p.table for p in parts)]
    table = pd.concat([p.table[shared] for p in parts], ignore_index=True)
    out = Observations.from_table(table, min_points=min(p.min_points for p in parts))
    lines = [line for p in parts for line in (p.citation or "").splitlines() if line.strip()]
    out.citation = "\n".join(dict.fromkeys(lines)) or None
    out.source = "; ".join(dict.fromkeys(p.source for p in parts if p.source)) or None
    return out


# The main job (`forecast demo`) pools two real families. Why these rows:
# - Chinchilla: the 240 runs Epoch AI fits (load("chinchilla")).
# - OPT: the second half of each run (>= 150B of its 300B tokens): early checkpoints of a run whose
#   learning rate has not yet decayed lie above the loss a run of that length would reach.
# All OPT checkpoints kept saw 150-300B tokens, so they say little about the data term: B and beta
# are shared by both families (complete pooling); E, A and alpha are partially pooled. Adding the
# unrepeated datablations runs as a third family left its alpha unidentified (the convergence gate
# failed on log_alpha_family at the default settings), so the demo leaves them out.
DEMO_POOLING: dict[str, str] = {"B": "complete", "beta": "complete"}
DEMO_SELECTION = (
    "the Chinchilla runs (240, as digitised by Epoch AI) and OPT checkpoints from the second half of "
    "training (61 checkpoints of 6 model sizes, 125M-175B parameters, 150-300B tokens)"
)


def demo_runs() -> Observations:
    """The real runs ``forecast demo`` fits: the Chinchilla runs and late OPT checkpoints.

    Two families of published training runs, pooled with both citations
    (see :data:`DEMO_SELECTION`; the source explains the choice of rows).

    Examples
    --------
    >>> import forecast as fc
    >>> obs = fc.datasets.demo_runs()
    >>> obs.families, len(obs)
    (['chinchilla', 'opt'], 301)
    """
    opt = load("opt_checkpoints")
    opt = opt.subset(opt.table["tokens"] >= 1.5e11)
    return pool(load("chinchilla"), opt)
