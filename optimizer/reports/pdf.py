"""An HTML report printed to PDF by a headless Chromium, the browser engine the report is
drawn for (its plotly charts are JavaScript, so only a browser draws them). The page is
written to a private temporary folder and printed from there: nothing else on the machine
is read or written."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from optimizer.errors import OptimizerError

#: The file types a board report is written as: its HTML page, or that page printed to PDF.
REPORT_FILES = (".html", ".pdf")

#: Environment variable naming the Chromium (or Chrome) program when it is not on the PATH.
CHROMIUM_ENV = "SCHOOL_SECURITY_CHROMIUM"
#: Program names tried on the PATH, Debian's first.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Seconds a print may take before it is given up (a large district's report takes a few).
PRINT_SECONDS = 120
#: Milliseconds of page time Chromium lets scripts run before it prints: the charts are drawn
#: by plotly on load, and virtual time waits for them however slow the machine.
SCRIPT_BUDGET_MS = 20_000


class PdfError(OptimizerError):
    """The report could not be printed to PDF (no Chromium, or the print failed)."""


def chromium() -> str:
    """The Chromium program to print with: ``SCHOOL_SECURITY_CHROMIUM`` or the first of
    ``CHROMIUM_NAMES`` on the PATH.

    Raises
    ------
    PdfError
        When neither is found, saying how to install one or how to print without it.
    """
    named = os.environ.get(CHROMIUM_ENV)
    found = shutil.which(named) if named else next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    if found is None:
        raise PdfError(
            (f"{CHROMIUM_ENV}={named!r} is not a program" if named else "no Chromium or Chrome was found")
            + ": a PDF is printed by Chromium (Debian: apt install chromium; or set "
            f"{CHROMIUM_ENV} to the program). Without it, write the report as .html and print it from a browser.")
    return found


def html_to_pdf(html: str) -> bytes:
    """The HTML page printed to PDF (US Letter, as the page's ``@page`` rule sets; no browser
    header or footer).

    Raises
    ------
    PdfError
        When Chromium is missing, fails or takes longer than ``PRINT_SECONDS``.
    """
    program = chromium()
    with tempfile.TemporaryDirectory(prefix="school-security-pdf-") as folder:
        page, pdf = Path(folder) / "report.html", Path(folder) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        command = [program, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   f"--user-data-dir={Path(folder) / 'profile'}", "--no-pdf-header-footer",
                   f"--virtual-time-budget={SCRIPT_BUDGET_MS}", f"--print-to-pdf={pdf}", page.as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, timeout=PRINT_SECONDS, check=False)
        except subprocess.TimeoutExpired as exc:
            raise PdfError(f"Chromium did not print the report within {PRINT_SECONDS} s") from exc
        if not pdf.exists() or pdf.stat().st_size == 0:
            said = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["nothing"]
            raise PdfError(f"Chromium did not print the report (exit {done.returncode}; it said: {said[0]})")
        return pdf.read_bytes()
