"""Bundled demo data and a simulator for tests.

Nothing here downloads anything: the demo table ships inside the package.
"""

from forecast.datasets.demo import demo_path, load_demo
from forecast.datasets.simulate import simulate

__all__ = ["demo_path", "load_demo", "simulate"]
