"""The app in a real browser: ``streamlit run app.py`` as a server, headless Chromium driven
by Playwright. Changes the budget, checks that the headline and a chart follow, and saves a
screenshot of every page: into a temporary folder, or into the folder ``SCREENSHOTS`` names
(``SCREENSHOTS=docs/screenshots pytest -m browser`` refreshes the ones the README shows)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from optimizer import load_inputs
from optimizer.core.run import optimize
from optimizer.data.overrides import apply_overrides
from optimizer.paths import EXAMPLE_SCENARIO
from optimizer.reports.export import assumptions
from ui import fmt
from ui.report import report_html

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.skipif(not CHROMIUM.exists(),
                                 reason="needs Debian's chromium at /usr/bin/chromium (CI installs it)"),
              pytest.mark.slow, pytest.mark.browser]
ROOT = Path(__file__).resolve().parent.parent
BUDGET = 400_000
#: Milliseconds to wait for a page with solves on it (the suburban example solves in seconds,
#: slower on a busy machine).
SOLVE_WAIT = 600_000
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    """A TCP port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app served by ``streamlit run`` on a free port; its URL."""
    port = free_port()
    log = (tmp_path_factory.mktemp("streamlit") / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--browser.gatherUsageStats", "false",
                             "--client.toolbarMode", "viewer"],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.read().strip() == b"ok":
                        break
            except OSError:
                pass
            assert proc.poll() is None, f"streamlit exited early; see {log.name}"
            assert time.monotonic() < deadline, "streamlit did not answer its health check in 2 minutes"
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def idle(page) -> None:
    """Wait until the app has finished running (no status widget, no spinner)."""
    page.wait_for_timeout(700)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=SOLVE_WAIT)
    page.locator('[data-testid="stSpinner"]').first.wait_for(state="hidden", timeout=SOLVE_WAIT)
    page.wait_for_timeout(700)  # let plotly draw


def go(page, title: str) -> None:
    """Open a page from the sidebar (the session, and so the edits, are kept)."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    page.get_by_role("heading", level=1).first.wait_for(timeout=SOLVE_WAIT)
    idle(page)
    assert not page.locator('[data-testid="stException"]').count(), f"the {title} page raised"


def metric(page, label: str) -> str:
    """The value of the metric with this label."""
    box = page.locator('[data-testid="stMetric"]', has_text=label).first
    box.wait_for(timeout=SOLVE_WAIT)
    return box.locator('[data-testid="stMetricValue"]').inner_text().strip()


def chart_text(page, title: str) -> str:
    """The text drawn in the plotly chart with this title."""
    return page.locator('[data-testid="stPlotlyChart"]', has_text=title).first.text_content()


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where screenshots go: the ``SCREENSHOTS`` folder when set, else a temporary one."""
    return Path(os.environ["SCREENSHOTS"]) if os.environ.get("SCREENSHOTS") else tmp_path


def shoot(page, name: str, folder: Path) -> Path:
    """Screenshot the whole page (the main area scrolls, so the window is made as tall)."""
    page.locator('[data-testid="stToast"]').first.wait_for(state="hidden", timeout=20_000)
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1440, "height": max(900, min(int(height) + 40, 4200))})
    page.wait_for_timeout(800)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1440, "height": 900})
    return path


def test_budget_change_in_the_browser_and_screenshots(server, shots):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    inputs = apply_overrides(load_inputs(EXAMPLE_SCENARIO), budget=BUDGET)
    expected = optimize(inputs)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(server)
            assert metric(page, "Sites") == "15"
            idle(page)
            taken = [shoot(page, "scenario", shots)]
            page.get_by_role("tab", name="Funding sources").click()
            taken.append(shoot(page, "scenario_funding", shots))

            go(page, "Plan")
            before = metric(page, "Risk reduction")
            assert "$1,100,000" in chart_text(page, "From budget to spend")
            page.get_by_role("button", name="Pin as A").click()
            idle(page)
            budget = page.get_by_role("spinbutton", name="Local capital budget per fiscal year ($)")
            budget.fill(str(BUDGET))
            budget.press("Enter")
            idle(page)
            page.wait_for_function(
                "old => [...document.querySelectorAll('[data-testid=\"stMetric\"]')]"
                ".some(m => m.innerText.includes('Risk reduction') && !m.innerText.includes(old))",
                arg=before, timeout=SOLVE_WAIT)
            assert metric(page, "Risk reduction") == fmt.value(expected.value)
            assert metric(page, "Capital spend") == fmt.money(expected.totals()["capital"])
            assert "$1,200,000" in chart_text(page, "From budget to spend")
            taken.append(shoot(page, "plan", shots))
            page.get_by_role("button", name="Pin as B").click()
            idle(page)

            go(page, "Funding")
            assert metric(page, "Grant money available") == "$740,000"
            taken.append(shoot(page, "funding", shots))

            go(page, "Frontier")
            slider = page.get_by_role("slider", name="Budgets to solve")
            slider.focus()
            slider.press("Home")
            slider.press("ArrowRight")  # 4 budgets: 0, 800k, 1.6M and 2.4M over the horizon
            idle(page)
            page.get_by_role("button", name="Compute the frontier").click()
            idle(page)
            page.locator('[data-testid="stPlotlyChart"]', has_text="Efficient frontier").wait_for(timeout=SOLVE_WAIT)
            idle(page)
            taken.append(shoot(page, "frontier", shots))

            go(page, "Compare")
            assert metric(page, "Risk reduction, B") == fmt.value(expected.value)
            taken.append(shoot(page, "compare", shots))
            for title, name in (("Screening and pitch", "screening"), ("Robustness", "robustness"),
                                ("Export", "export")):
                go(page, title)
                taken.append(shoot(page, name, shots))

            # The board report as a board member opens it: offline, its charts drawn.
            report = shots / "board_report.html"
            report.write_text(report_html(expected, assumptions(inputs, expected)), encoding="utf-8")
            page.goto(report.resolve().as_uri())
            page.locator(".plotly .main-svg").first.wait_for(timeout=60_000)
            height = page.evaluate("document.body.scrollHeight")
            page.set_viewport_size({"width": 1000, "height": min(int(height), 4200)})
            page.screenshot(path=str(shots / "report.png"))
            taken.append(shots / "report.png")
            report.unlink()
        finally:
            browser.close()
    assert all(path.stat().st_size > 10_000 for path in taken)
