"""Time ``import forecast`` and ``forecast --help`` in fresh interpreters.

Each figure is the median of ``--repeat`` fresh processes (wall-clock time of
the whole process, interpreter start-up included), with the interpreter's
own start-up (``python -c pass``) shown for reference. Also lists which heavy
modules a bare ``import forecast`` loads (there should be none).

Run::

    python benchmarks/bench_import.py --repeat 7 --json benchmarks/results/import.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pymc", "pytensor", "nutpie", "arviz", "matplotlib.pyplot", "xarray", "scipy", "pandas")
CASES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import forecast": [sys.executable, "-c", "import forecast"],
    "forecast --help": [sys.executable, "-m", "forecast", "--help"],
}


def _time(cmd: list[str], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    probe = f"import sys, forecast; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True,
                            cwd=ROOT).stdout.split()
    results = {}
    for name, cmd in CASES.items():
        times = _time(cmd, args.repeat)
        results[name] = {"median_s": statistics.median(times), "min_s": min(times), "runs": len(times)}
        print(f"{name:18s} median {results[name]['median_s']:.3f} s   min {results[name]['min_s']:.3f} s")
    print(f"heavy modules loaded by `import forecast`: {loaded or 'none'}")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "heavy_modules_loaded": loaded,
                                         "command": "python benchmarks/bench_import.py "
                                         f"--repeat {args.repeat}"}, indent=2) + "\n")


if __name__ == "__main__":
    main()
