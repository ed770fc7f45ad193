"""The HTML report renders in a real browser (headless Chromium), offline, with every figure and no errors.

Needs the Debian package ``chromium`` on PATH (``.ci/run`` installs it); skips otherwise.
Chromium runs with every network name unresolvable, so anything the page tried
to fetch from outside would fail loudly in its log.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from forecast.datawall import Scenario, data_wall  # noqa: E402
from forecast.report import write_report  # noqa: E402
from forecast.testing import fake_fit  # noqa: E402

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not found: install the Debian package 'chromium' (.ci/run does)",
)

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # offline: any outside fetch fails and is logged
    "--enable-logging=stderr",
    "--v=0",
]
# What a page that failed to render cleanly leaves in Chromium's log.
PAGE_ERRORS = re.compile(r"Uncaught|ERROR:CONSOLE|CONSOLE\(\d+\)|Failed to load resource|net::ERR_")
WIDTH, HEIGHT = 1200, 4000


def chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    fit = fake_fit(chains=4, draws=500, seed=5)
    n = np.logspace(9.5, 12, 5)
    forecast_ = fit.predict(params=n, tokens=20 * n, family=["new", "small-lab"])
    wall = data_wall(fit, Scenario.epoch2024(), n_samples=300, random_seed=1)
    path = tmp_path_factory.mktemp("render") / "report.html"
    return write_report(
        path, fit=fit, forecasts=[forecast_], frontier=fit.frontier(np.logspace(22, 27, 6)), wall=wall
    )


def test_the_error_check_catches_a_broken_page(tmp_path):
    """Control: a page with a script error and an outside image is caught by the same check."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<html><body><img src="http://example.invalid/x.png">'
        '<script>throw new Error("boom")</script></body></html>'
    )
    result = chromium(bad, tmp_path / "profile", "--dump-dom")
    assert PAGE_ERRORS.search(result.stderr), result.stderr[-2000:]


def test_report_renders_every_figure_without_errors(page, tmp_path):
    result = chromium(page, tmp_path / "profile", "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if PAGE_ERRORS.search(line)]
    assert not errors, "\n".join(errors)
    dom = result.stdout
    source = page.read_text()
    figures = re.findall(r'<figure id="figure-([\w-]+)">\s*<svg', source)
    assert len(figures) == 8  # incl. the posterior predictive check and residuals
    for fig_id in figures:
        # the browser parsed each figure as an SVG element with drawn paths inside
        match = re.search(
            rf'<figure id="figure-{fig_id}">\s*<svg[^>]*viewBox="0 0 ([\d.]+) ([\d.]+)"(.*?)</svg>',
            dom,
            flags=re.S,
        )
        assert match, f"figure {fig_id} is missing from the rendered DOM"
        assert float(match.group(1)) > 100 and float(match.group(2)) > 100
        assert match.group(3).count("<path") > 20
    for section in ("answers", "data", "model", "diagnostics", "parameters", "forecasts", "frontier", "wall"):
        assert f'<section id="{section}">' in dom


def test_screenshot_shows_the_report(page, tmp_path):
    shot = tmp_path / "report.png"
    result = chromium(page, tmp_path / "profile", f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}")
    assert shot.exists(), result.stderr[-2000:]
    image = mpimg.imread(shot)[..., :3]
    assert image.shape[:2] == (HEIGHT, WIDTH)
    pixels = (image * 255).round().astype(int).reshape(-1, 3)
    # the first figure draws the hoffmann-2022 runs and curve in matplotlib's orange (255, 127, 14),
    # a colour nothing else on the page uses: seeing it means the figure was painted
    orange = np.abs(pixels - [255, 127, 14]).max(axis=1) <= 40
    assert orange.sum() > 200
    # the answers' blue accent bars and the dark text are painted too
    dark = pixels.max(axis=1) < 80
    assert dark.mean() > 0.005
