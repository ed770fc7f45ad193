"""The bundled demo table: simulated runs of four model families.

The runs are **simulated**, not measured. Each family follows a published
Chinchilla-law fit, with 1.5% noise on loss:

* ``besiroglu-2024``: Besiroglu et al. (2024), "Chinchilla Scaling: A
  replication attempt": E=1.817, A=482.01, B=2085.43, alpha=0.348, beta=0.366.
* ``hoffmann-2022``: Hoffmann et al. (2022), Approach 3: E=1.69, A=406.4,
  B=410.7, alpha=0.34, beta=0.28.
* ``muennighoff-2023``: Muennighoff et al. (2023), C4 fit without repetition:
  E=1.869, A=520.8, B=1487.7, alpha=beta=0.3527.
* ``small-lab``: only four runs, from the Besiroglu fit with E raised by 0.1
  nats, to show a family borrowing strength from the others.

Regenerate the file with ``python -m forecast.datasets.demo``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.data import Observations
from forecast.laws import get_law

FAMILIES = {
    "besiroglu-2024": ({"E": 1.817, "A": 482.01, "B": 2085.43, "alpha": 0.348, "beta": 0.366}, 30),
    "hoffmann-2022": ({"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}, 30),
    "muennighoff-2023": ({"E": 1.869, "A": 520.8, "B": 1487.7, "alpha": 0.3527, "beta": 0.3527}, 30),
    "small-lab": ({"E": 1.917, "A": 482.01, "B": 2085.43, "alpha": 0.348, "beta": 0.366}, 4),
}
NOISE = 0.015
SEED = 2024
FILENAME = "demo_runs.csv"


def demo_path() -> Path:
    """Path of the bundled demo CSV."""
    return Path(str(resources.files("forecast.datasets").joinpath(FILENAME)))


def load_demo() -> Observations:
    """The bundled demo runs as :class:`forecast.Observations` (simulated; see module docs).

    Examples
    --------
    >>> import forecast as fc
    >>> fc.datasets.load_demo().families
    ['besiroglu-2024', 'hoffmann-2022', 'muennighoff-2023', 'small-lab']
    """
    obs = Observations.from_csv(demo_path())
    return obs


def make_demo(seed: int = SEED) -> pd.DataFrame:
    """Simulate the demo table (deterministic for a given seed)."""
    rng = np.random.default_rng(seed)
    law = get_law("chinchilla")
    frames = []
    for name, (truth, n) in FAMILIES.items():
        # sizes spread over 7e7..7e9 params, tokens/param 5..80, as a lab's sweep would
        params = np.exp(rng.uniform(np.log(7e7), np.log(7e9), n))
        tokens = params * np.exp(rng.uniform(np.log(5), np.log(80), n))
        loss = law.loss(truth, params=params, tokens=tokens) * np.exp(NOISE * rng.standard_normal(n))
        frames.append(pd.DataFrame({"family": name, "params": params.round(),
                                    "tokens": tokens.round(), "loss": loss.round(5)}))
    return pd.concat(frames, ignore_index=True)


if __name__ == "__main__":
    make_demo().to_csv(Path(__file__).with_name(FILENAME), index=False)
