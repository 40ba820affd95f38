"""The app in a real browser: ``streamlit run app.py`` as a server, headless Chromium driven
by Playwright. Changes the budget, checks that the headline and a chart follow, and saves a
screenshot of every page: into a temporary folder, or into the folder ``SCREENSHOTS`` names
(``SCREENSHOTS=docs/screenshots pytest -m browser`` refreshes the ones the README shows).

Issue 15: uploads the example scenario, switches a grant off, adds a broken sites CSV beside
the YAML (its problems are shown naming the CSV, the grant stays off), and sees the Plan page
show the plan without that grant; downloads the board report and checks the plotly figures
it embeds (explicit bar colors, dollar axes, a heat map named by school and PASS layer)."""
from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from optimizer import load_inputs
from optimizer.core.result import percent
from optimizer.core.run import optimize
from optimizer.data.overrides import apply_overrides
from optimizer.paths import EXAMPLE_SCENARIO, SCENARIOS_DIR
from optimizer.reports import fmt
from optimizer.reports.board import headline, layer_names, report_html
from optimizer.reports.export import assumptions
from optimizer.workspace import ENV as WORKSPACE_ENV
from ui import scenario_files
from ui.refine import REFINE_ENV

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.skipif(not CHROMIUM.exists(),
                                 reason="needs Debian's chromium at /usr/bin/chromium (CI installs it)"),
              pytest.mark.slow, pytest.mark.browser]
ROOT = Path(__file__).resolve().parent.parent
BUDGET = 100_000  # binding: the plan changes
#: The grant switched off, the widget holding its "Awarded" switch, and the chart whose legend
#: lists the sources that pay.
GRANT = "svpp"
GRANT_SWITCH = f".st-key-scenario-funding_sources-{GRANT}-awarded"
BY_SOURCE = "Capital spend by fiscal year and source"
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


@contextlib.contextmanager
def serving(folder: Path, env: dict[str, str] | None = None):
    """``streamlit run app.py`` on a free port, its log in ``folder`` (``env``: more environment
    variables): the URL and the process."""
    port = free_port()
    log = (folder / "server.log").open("a")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--browser.gatherUsageStats", "false",
                             "--client.toolbarMode", "viewer"],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, REFINE_ENV: "background", **(env or {})})  # as users get it
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
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app served by ``streamlit run`` on a free port; its URL."""
    with serving(tmp_path_factory.mktemp("streamlit")) as (url, _):
        yield url


def idle(page) -> None:
    """Wait until the app has finished running (no status widget, no spinner, no final plan
    being refined in the background)."""
    page.wait_for_timeout(700)
    for _ in range(2):  # the run, then the run that shows the plan refined meanwhile
        page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=SOLVE_WAIT)
        page.locator('[data-testid="stSpinner"]').first.wait_for(state="hidden", timeout=SOLVE_WAIT)
        page.get_by_text(REFINING).first.wait_for(state="hidden", timeout=SOLVE_WAIT)
    page.wait_for_timeout(700)  # let plotly draw


#: What the Plan page says while the final plan is refined, and how the first look is labelled.
REFINING, FIRST_LOOK = "Refining to the final gap", "First look: a verified plan"


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


# -- the board report's figures -----------------------------------------------------------

def report_figures(html: str) -> list[dict]:
    """Data and layout of every ``Plotly.newPlot`` call of a report, as the page embeds them."""
    decoder = json.JSONDecoder()
    figures = []
    for call in re.finditer(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*", html):
        data, end = decoder.raw_decode(html, call.end())
        layout, _ = decoder.raw_decode(html[end:].lstrip().lstrip(",").lstrip())
        figures.append({"data": data, "layout": layout})
    return figures


def _explicit(color) -> bool:
    """A color set by the chart, not left to plotly (whose default some renderers draw black)."""
    return isinstance(color, str) and color.replace(" ", "").lower() not in (
        "", "black", "#000", "#000000", "rgb(0,0,0)")


def dollar_axes(figure: dict) -> list[dict]:
    """The axes of a figure showing dollars (a ``$`` tick prefix or format)."""
    return [axis for name, axis in figure["layout"].items() if re.fullmatch(r"[xy]axis\d*", name)
            and (axis.get("tickprefix") == "$" or "$" in str(axis.get("tickformat", "")))]


def check_report_figures(html: str, result) -> list[dict]:
    """The report's bars have explicit colors, its dollar axes a dollar tick format, and its
    tier heat map names the schools and PASS layers; returns the figures."""
    figures = report_figures(html)
    assert figures, "the report embeds no plotly figure"
    types = [{trace["type"] for trace in fig["data"]} for fig in figures]
    bars = [trace for fig in figures for trace in fig["data"] if trace["type"] == "bar"]
    assert bars, types
    for trace in bars:
        assert _explicit(trace.get("marker", {}).get("color")), trace.get("name")
    waterfalls = [trace for fig in figures for trace in fig["data"] if trace["type"] == "waterfall"]
    assert len(waterfalls) == 1, types
    for kind in ("increasing", "decreasing", "totals"):
        assert _explicit(waterfalls[0].get(kind, {}).get("marker", {}).get("color")), kind
    # dollars on the y axis of the waterfall and of capital by year: "$" and thousands separators
    for fig in figures:
        if {"bar", "waterfall"} & {trace["type"] for trace in fig["data"]}:
            axis = fig["layout"]["yaxis"]
            assert axis.get("tickprefix") == "$" and axis.get("tickformat") == ",.0f", axis
    assert len([a for fig in figures for a in dollar_axes(fig)]) >= 2
    # the tier heat map, before and after: a row per school by name, a column per PASS layer
    heat = [fig for fig in figures if fig["data"][0]["type"] == "heatmap"]
    assert len(heat) == 1, types  # the suburban example's 15 schools fit one
    before, after = result.tiers()
    schools, layers = result.school_names(), layer_names(result)
    assert len(heat[0]["data"]) == 2
    for trace in heat[0]["data"]:
        assert trace["y"] == [schools[s] for s in after.index]
        assert trace["x"] == [layers[c] for c in after.columns]
        assert "Ash Grove Elementary" in trace["y"] and "Building Perimeter" in trace["x"]
        assert trace["z"] in (before.to_numpy().tolist(), after.to_numpy().tolist())
    return figures


def drawn_bar_fills(page) -> list[str]:
    """The fill colors of the bars plotly drew in the page (bars and waterfall steps)."""
    return page.evaluate("() => [...document.querySelectorAll("
                         "'.plotly .barlayer g.point path, .plotly .waterfalllayer g.point path')]"
                         ".map(p => getComputedStyle(p).fill)")


@pytest.fixture(scope="module")
def at_budget():
    """The example at the test's budget, solved outside the app: its inputs and plan."""
    inputs = apply_overrides(load_inputs(EXAMPLE_SCENARIO), budget=BUDGET)
    return inputs, optimize(inputs)


def test_budget_change_in_the_browser_and_screenshots(server, shots, at_budget):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    inputs, expected = at_budget
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
            budget.fill(str(3 * BUDGET))
            budget.press("Enter")
            # the first look, labelled with what may change, while the final plan is refined in the
            # background; the page takes a newer edit meanwhile, which stops that refinement
            page.get_by_text(FIRST_LOOK).first.wait_for(timeout=SOLVE_WAIT)
            assert "may still change" in page.get_by_text(FIRST_LOOK).first.inner_text()
            budget.fill(str(BUDGET))
            budget.press("Enter")
            idle(page)
            assert not page.get_by_text(FIRST_LOOK).count()
            page.wait_for_function(
                "want => [...document.querySelectorAll('[data-testid=\"stMetric\"]')]"
                ".some(m => m.innerText.includes('Risk reduction') && m.innerText.includes(want))",
                arg=fmt.value(expected.value), timeout=SOLVE_WAIT)
            assert metric(page, "Risk reduction") == fmt.value(expected.value) != before
            assert metric(page, "Capital spend") == fmt.money(expected.totals()["capital"])
            assert "$300,000" in chart_text(page, "From budget to spend")
            assert GRANT in set(expected.funding[expected.funding["amount"] > 0]["source"])
            assert GRANT in chart_text(page, BY_SOURCE)  # the grant pays (the next test turns it off)
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
            assert metric(page, "Modelled risk reduced, B") == percent(expected.gap_closed)  # the board's unit
            taken.append(shoot(page, "compare", shots))
            for title, name in (("Screening and pitch", "screening"), ("Robustness", "robustness"),
                                ("Export", "export")):
                go(page, title)
                taken.append(shoot(page, name, shots))

            # The board report as a board member opens it: offline, its charts drawn.
            report = shots / "board_report.html"
            html = report_html(expected, assumptions(inputs, expected))
            check_report_figures(html, expected)
            report.write_text(html, encoding="utf-8")
            page.goto(report.resolve().as_uri())
            page.locator(".plotly .main-svg").first.wait_for(timeout=60_000)
            fills = drawn_bar_fills(page)
            assert fills and all(_explicit(f) for f in fills), fills
            height = page.evaluate("document.body.scrollHeight")
            page.set_viewport_size({"width": 1000, "height": min(int(height), 4200)})
            page.screenshot(path=str(shots / "report.png"))
            taken.append(shots / "report.png")
            report.unlink()
        finally:
            browser.close()
    assert all(path.stat().st_size > 10_000 for path in taken)


def broken_sites_csv(folder: Path) -> Path:
    """The example's sites table without its enrollment column."""
    rows = [line.split(",") for line in (SCENARIOS_DIR / "suburban_sites.csv").read_text().strip().splitlines()]
    drop = rows[0].index("enrollment")
    path = folder / "broken_sites.csv"
    path.write_text("\n".join(",".join(r[:drop] + r[drop + 1:]) for r in rows) + "\n", encoding="utf-8")
    return path


def grant_switch(page):
    """The "Awarded" switch of the grant the test turns off (on the Funding sources tab)."""
    page.get_by_role("tab", name="Funding sources").click()
    switch = page.locator(GRANT_SWITCH).get_by_role("switch", name="Awarded")
    switch.wait_for(timeout=60_000)
    return switch


def test_grant_off_kept_through_a_broken_upload_and_the_report(server, tmp_path):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    scenario = SCENARIOS_DIR / "suburban.yaml"
    data = scenario_files.load_builtin(scenario.name)
    data["funding_sources"][GRANT]["awarded"] = False
    inputs = scenario_files.inputs_of(data, scenario.name)
    expected = optimize(inputs)  # what the app should plan once the grant is off
    assert GRANT not in set(expected.funding["source"])
    grants = sum(s.award_over_horizon for s in expected.problem.sources)
    broken = broken_sites_csv(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900}, accept_downloads=True)
            page.goto(server)
            assert metric(page, "Sites") == "15"
            idle(page)
            files = page.locator('[data-testid="stFileUploader"] input[type="file"]')

            # the example scenario uploaded as a file: it replaces the built-in one
            files.set_input_files(str(scenario))
            idle(page)
            picked = page.get_by_role("combobox", name="Built-in scenario")
            page.get_by_placeholder("uploaded: suburban.yaml").wait_for(timeout=SOLVE_WAIT)
            assert picked.input_value() == ""  # no built-in scenario picked: the upload is edited
            assert not page.locator('[data-testid="stAlert"]').count()

            # the grant switched off
            switch = grant_switch(page)
            assert switch.is_checked()
            page.locator(GRANT_SWITCH).locator("label").click()
            idle(page)
            assert not grant_switch(page).is_checked()

            # a broken sites table added beside the YAML
            files.set_input_files(str(broken))
            idle(page)
            uploader = page.locator('[data-testid="stFileUploader"]').inner_text()
            assert "broken_sites.csv" in uploader and "suburban.yaml" not in uploader  # loaded files leave the box
            page.get_by_text("The upload was not used").first.wait_for(timeout=SOLVE_WAIT)
            error = page.locator('[data-testid="stAlert"]').first.inner_text()
            assert "The upload was not used; the scenario below is unchanged" in error
            cells = page.locator('[data-testid="stDataFrame"]').first.get_by_role("gridcell", include_hidden=True)
            cells.first.wait_for(state="attached", timeout=60_000)
            shown = cells.all_text_contents()
            assert shown[:3] == ["broken_sites.csv", "header", "enrollment"], shown
            # ... and the edit is still there: same scenario, the grant still off, the others on
            assert metric(page, "Sites") == "15"
            assert picked.get_attribute("placeholder") == "uploaded: suburban.yaml"
            assert not grant_switch(page).is_checked()
            assert page.locator(".st-key-scenario-funding_sources-pccd-awarded").get_by_role(
                "switch", name="Awarded").is_checked()

            # the Plan page: the verified plan without the grant
            go(page, "Plan")
            page.wait_for_function(
                "want => [...document.querySelectorAll('[data-testid=\"stMetric\"]')]"
                ".some(m => m.innerText.includes('Risk reduction') && m.innerText.includes(want))",
                arg=fmt.value(expected.value), timeout=SOLVE_WAIT)
            assert metric(page, "Risk reduction") == fmt.value(expected.value)
            label, value, _ = headline(expected)[0]
            assert metric(page, label) == value
            assert not page.get_by_text(REFINING).count()
            flow = chart_text(page, "From budget to spend")
            assert fmt.money(grants) in flow and "$740,000" not in flow  # the grants left: $340,000
            legend = chart_text(page, BY_SOURCE)
            assert "pccd" in legend and GRANT not in legend

            # the board report as the Export page offers it
            go(page, "Export")
            with page.expect_download(timeout=SOLVE_WAIT) as download:
                page.get_by_role("button", name="Download the HTML report").click()
            report = tmp_path / "report.html"
            download.value.save_as(report)
            html = report.read_text(encoding="utf-8")
            figures = check_report_figures(html, expected)
            names = {trace.get("name") for fig in figures for trace in fig["data"] if trace["type"] == "bar"}
            assert "pccd" in names and GRANT not in names
            viewer = browser.new_page()
            viewer.goto(report.resolve().as_uri())  # offline: its charts drawn, bars in color
            viewer.locator(".plotly .main-svg").first.wait_for(timeout=60_000)
            viewer.wait_for_timeout(1_000)
            fills = drawn_bar_fills(viewer)
            assert fills and all(_explicit(f) for f in fills), fills

            # and printed to PDF by the app (issue 29): the same plan's pages
            page.get_by_role("button", name="Print the report to PDF").click()
            with page.expect_download(timeout=SOLVE_WAIT) as download:
                page.get_by_role("button", name="Download the PDF report").click(timeout=SOLVE_WAIT)
            printed = tmp_path / "report.pdf"
            download.value.save_as(printed)
            pdf = pdfium.PdfDocument(printed)
            text = " ".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
            assert "What we ask the board to approve" in text and fmt.money(expected.totals()["capital"]) in text
        finally:
            browser.close()


def test_report_dollar_axes_have_titles(at_budget):
    inputs, result = at_budget
    figures = report_figures(report_html(result, assumptions(inputs, result)))
    axes = [axis for fig in figures for axis in dollar_axes(fig)]
    assert len(axes) >= 2
    for axis in axes:
        assert (axis.get("title") or {}).get("text"), axis


# -- an attacker's uploads --------------------------------------------------------------

BAD = ROOT / "tests" / "data" / "bad"
#: Most memory the server may reach (its peak resident size) while it refuses the uploads.
SERVER_MEMORY_MB = 500


def peak_mb(pid: int) -> float:
    """The peak resident memory of a process so far (Linux's VmHWM), in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE).group(1)) / 1024


def refused_upload(page, files, path: Path, name: str) -> list[str]:
    """Upload ``path``; wait for the app to say it was not used; the problem table's cells."""
    files.set_input_files(str(path))
    idle(page)
    page.get_by_text("The upload was not used").first.wait_for(timeout=SOLVE_WAIT)
    table = page.locator('[data-testid="stDataFrame"]').first
    cells = table.get_by_role("gridcell", include_hidden=True)
    cells.first.wait_for(state="attached", timeout=60_000)
    shown = cells.all_text_contents()
    assert shown[0] == name, shown
    return shown


def test_uploads_that_reach_outside_or_bomb_are_refused_in_words_and_memory_stays_low(tmp_path):
    """A scenario naming a server file, a sheet declaring a cell at XFD1048576 and a zip bomb
    are each refused with a problem that names the uploaded file; no line of the server's file
    is shown, the scenario being edited stays, and the server's peak memory stays under
    SERVER_MEMORY_MB."""
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    evil = tmp_path / "evil.yaml"
    evil.write_text("name: Evil\nhorizon: {start: 2027, years: 1}\nbudget: {capital: 1, operating: 1}\n"
                    "sites_file: ../../../../../../../etc/passwd\n", encoding="utf-8")
    with serving(tmp_path) as (url, proc), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(url)
            assert metric(page, "Sites") == "15"
            idle(page)
            files = page.locator('[data-testid="stFileUploader"] input[type="file"]')
            shown = refused_upload(page, files, evil, "evil.yaml")
            assert "sites_file" in shown and "own folder" in " ".join(shown)
            assert "root:" not in page.locator('[data-testid="stMain"]').inner_text()
            for bomb in ("sites_dimension_bomb.xlsx", "sites_zip_bomb.xlsx"):
                refused_upload(page, files, BAD / bomb, bomb)
            assert metric(page, "Sites") == "15"  # the example is still the scenario edited
            assert not page.locator('[data-testid="stException"]').count()
            shoot(page, "refused-uploads", tmp_path)
        finally:
            browser.close()
        peak = peak_mb(proc.pid)
    assert peak < SERVER_MEMORY_MB, f"the server reached {peak:.0f} MB"


def pick_builtin(page, name: str) -> None:
    """Open a built-in scenario from the Scenario page's list."""
    page.get_by_role("combobox", name="Built-in scenario").click()
    page.get_by_role("option", name=name).click()
    idle(page)


def test_a_small_district_s_robustness_two_sessions_at_once_and_the_workspace_across_a_restart(tmp_path):
    """Issue 29, as a finance team uses the app: robustness on a small district runs to its
    table (it stopped with the generic error box after 3 of 6 draws on a 4-school district);
    two sessions edit budgets at once and each sees its own plan, the command line's; a plan
    saved in the workspace is there after the server restarts, and reopens checked."""
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    rural = load_inputs(SCENARIOS_DIR / "rural.yaml")
    budgets = {"first": 80_000, "second": 160_000}
    expected = {who: optimize(apply_overrides(rural, budget, None, None)) for who, budget in budgets.items()}
    space = {WORKSPACE_ENV: f"sqlite:///{tmp_path / 'team.sqlite'}"}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            with serving(tmp_path, space) as (server, _):
                pages = {who: browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
                         for who in budgets}
                for page in pages.values():
                    page.goto(server)
                    idle(page)
                    pick_builtin(page, "rural.yaml")
                    assert metric(page, "Sites") == "3"
                page = pages["first"]
                go(page, "Robustness")
                page.get_by_role("spinbutton", name="Draws").fill("6")
                page.get_by_role("spinbutton", name="Draws").press("Enter")
                idle(page)
                page.get_by_role("button", name="Run").click()
                page.get_by_text("Draws with a plan").first.wait_for(timeout=SOLVE_WAIT)
                idle(page)
                assert not page.locator('[data-testid="stException"]').count()
                assert metric(page, "Draws with a plan").endswith("of 6")

                for page in pages.values():  # both sessions on the Plan page, then both edits at once
                    go(page, "Plan")
                for who, page in pages.items():
                    budget = page.get_by_role("spinbutton", name="Local capital budget per fiscal year ($)")
                    budget.fill(str(budgets[who]))
                    budget.press("Enter")
                for who, page in pages.items():
                    idle(page)
                    want = fmt.value(expected[who].value)
                    page.wait_for_function(
                        "want => [...document.querySelectorAll('[data-testid=\"stMetric\"]')]"
                        ".some(m => m.innerText.includes('Risk reduction') && m.innerText.includes(want))",
                        arg=want, timeout=SOLVE_WAIT)
                    assert metric(page, "Capital spend") == fmt.money(expected[who].totals()["capital"]), who

                page = pages["second"]
                go(page, "Workspace")
                page.get_by_label("Name").fill("Rural, board draft")
                page.get_by_label("Note (what changed, for whom)").fill("the larger budget")
                page.get_by_role("button", name="Save").click()
                page.get_by_text("Saved as 'Rural, board draft'").wait_for(timeout=SOLVE_WAIT)
            with serving(tmp_path, space) as (server, _):  # the app restarted: a new process
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                page.goto(server)
                idle(page)
                assert metric(page, "Sites") == "15"  # a new session opens on the example
                go(page, "Workspace")
                cells = page.locator('[data-testid="stDataFrame"]').first.get_by_role("gridcell", include_hidden=True)
                cells.first.wait_for(state="attached", timeout=60_000)
                assert "Rural, board draft" in cells.all_text_contents()
                page.get_by_role("button", name="Open it to edit").click()
                page.get_by_text("the saved plan still keeps every rule").wait_for(timeout=SOLVE_WAIT)
                go(page, "Plan")
                assert metric(page, "Capital spend") == fmt.money(expected["second"].totals()["capital"])
        finally:
            browser.close()
