"""Model variants that benchmarks/median_diagnosis.py and backtest_real.py --variant refit: keyword
arguments of ``forecast.ScalingModel`` by name."""

from __future__ import annotations

import numpy as np

from forecast import Prior

# the widths of the Chinchilla priors before they were checked against realistic losses (sd 1.2 on the
# amplitudes, 0.4 on the log exponents), around the current centres
OLD = {"a": Prior("Normal", mu=-0.8, sigma=1.2), "b": Prior("Normal", mu=-0.8, sigma=1.2),
       "log_alpha": Prior("Normal", mu=float(np.log(0.35)), sigma=0.4),
       "log_beta": Prior("Normal", mu=float(np.log(0.35)), sigma=0.4)}
WIDE = {"a": Prior("Normal", mu=-0.8, sigma=2.0), "b": Prior("Normal", mu=-0.8, sigma=2.0),
        "log_alpha": Prior("Normal", mu=float(np.log(0.35)), sigma=1.0),
        "log_beta": Prior("Normal", mu=float(np.log(0.35)), sigma=1.0),
        "log_E": Prior("Normal", mu=float(np.log(1.75)), sigma=1.0)}

VARIANTS = {
    "default": {},
    "old-priors": {"priors": OLD},
    "wide-priors": {"priors": WIDE},
    "no-pool": {"pooling": {"log_E": "none", "a": "none", "b": "none", "log_alpha": "none", "log_beta": "none"}},
    "no-pool-wide": {"pooling": {"log_E": "none", "a": "none", "b": "none", "log_alpha": "none",
                                 "log_beta": "none"}, "priors": WIDE},
    "no-pool-exp": {"pooling": {"log_alpha": "none", "log_beta": "none"}},
    "no-pool-E": {"pooling": {"log_E": "none"}},
    "sigma-complete": {"pooling": {"sigma": "complete"}},
    "normal": {"likelihood": "normal"},
    "compute-law": {"law": "compute"},
    "shared-exp": {"shared_exponent": True},
    "wide-E": {"priors": {"log_E": WIDE["log_E"]}},
    "wide-terms": {"priors": {k: WIDE[k] for k in ("a", "b", "log_alpha", "log_beta")}},
    "E-spread": {"spread": {"log_E": 0.3}},
    "E-spread-wide": {"spread": {"log_E": 0.3}, "priors": {"log_E": Prior("Normal", mu=float(np.log(1.75)),
                                                                            sigma=0.6)}},
    "no-pool-wide-E": {"pooling": {"log_E": "none"}, "priors": {"log_E": WIDE["log_E"]}},
    # the documented option (docs/model.md, "Lock-step designs"): each family its own E, prior sd 0.5
    "E-unpooled": {"pooling": {"log_E": "none"},
                   "priors": {"log_E": Prior("Normal", mu=float(np.log(1.75)), sigma=0.5)}},
    "no-pool-E-sd0.5": {"pooling": {"log_E": "none"},
                        "priors": {"log_E": Prior("Normal", mu=float(np.log(1.75)), sigma=0.5)}},
    "no-pool-all-wide-E": {"pooling": "none", "priors": {"log_E": WIDE["log_E"]}},
}
