"""Bundled data: real public scaling tables with their citations, the simulated demo, and a simulator.

Nothing here downloads anything: every table ships inside the package
(licences and attributions in ``forecast/datasets/data/NOTICE.md``).

>>> import forecast as fc
>>> fc.datasets.describe()[["name", "rows", "licence"]]          # doctest: +SKIP
>>> obs = fc.datasets.load("chinchilla")                          # validated Observations, cited
"""

from forecast.datasets.catalog import (
    CATALOG,
    DEMO_POOLING,
    DEMO_SELECTION,
    Table,
    demo_runs,
    describe,
    load,
    load_table,
    path,
    pool,
)
from forecast.datasets.demo import demo_path, load_demo
from forecast.datasets.simulate import simulate

__all__ = ["CATALOG", "DEMO_POOLING", "DEMO_SELECTION", "Table", "demo_path", "demo_runs", "describe", "load",
           "load_demo", "load_table", "path", "pool", "simulate"]
