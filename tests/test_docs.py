"""The documentation cannot go stale: every command shown in a ```bash block of docs/*.md
and README.md runs and ends with the expected exit status, every relative link points at a
file (and heading) that exists, the scenario and catalog snippets shown are accepted by the
loaders, and the model page names the functions and constants the code really has.

Conventions for writers of the docs:

- a line starting with ``python -m optimizer`` or ``.venv/bin/python -m optimizer`` is run
  from the repository root with this interpreter;
- output files (``--out``, ``--write-model``) go into ``out/`` (``out/plan.xlsx``), a folder
  git ignores, made by a ``mkdir -p out`` line earlier in the same block; the test writes
  them into a temporary folder instead of the repository;
- a command that is meant to fail ends with ``# exit N``; any other line that should not
  run (copying files, installing, starting the app) ends with ``# not run``, or starts with
  ``python3 -m venv``, ``pip``, ``streamlit`` (or their ``.venv/bin/`` forms) or
  ``.venv/bin/python -m pytest`` (the test suite runs itself).
"""
from __future__ import annotations

import importlib
import inspect
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DOCS = sorted((REPO / "docs").glob("*.md")) + [REPO / "README.md"]
RUN_PREFIXES = (("python", "-m", "optimizer"), ("python3", "-m", "optimizer"),
                (".venv/bin/python", "-m", "optimizer"))
SKIP_PREFIXES = ("python3 -m venv", "python -m venv", "pip ", "pip3 ", ".venv/bin/pip ",
                 "streamlit ", ".venv/bin/streamlit ", ".venv/bin/python -m pytest ", "SCREENSHOTS=")
OUTPUT_OPTIONS = ("--out", "--write-model")
OUT_DIR = "out"
MAKE_OUT_DIR = f"mkdir -p {OUT_DIR}"
NOT_RUN = re.compile(r"#\s*not run\s*$")
EXIT = re.compile(r"#\s*exit\s+(\d+)\s*$")
COMMAND_TIMEOUT = 1200  # seconds; a robustness run on a loaded two-core machine is the slowest

FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
                   re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    """A fenced code block of a Markdown file."""

    path: Path
    line: int
    lang: str
    body: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def blocks(path: Path, lang: str | None = None) -> list[Block]:
    """The fenced code blocks of a Markdown file (indentation of list items removed)."""
    text = path.read_text(encoding="utf-8")
    found = []
    for m in FENCE.finditer(text):
        indent = len(m.group("indent"))
        body = "\n".join(line[indent:] if line[:indent].strip() == "" else line
                         for line in m.group("body").splitlines())
        if lang is None or m.group("lang") == lang:
            found.append(Block(path, text.count("\n", 0, m.start()) + 2, m.group("lang"), body))
    return found


@dataclass(frozen=True)
class Command:
    """One command line shown in the docs."""

    where: str
    line: str
    args: tuple[str, ...]  # as shown, without the interpreter prefix
    exit_code: int


def _logical_lines(block: Block):
    """(line number, text) of a bash block, backslash continuations joined."""
    pending, start = "", None
    for offset, raw in enumerate(block.body.splitlines()):
        if start is None:
            start = block.line + offset
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        yield start, (pending + raw).strip()
        pending, start = "", None
    if pending.strip():
        yield start, pending.strip()


def _outputs(args) -> list[str]:
    """The output file names of a command's arguments, as written."""
    found = []
    for arg, following in zip(args, [*args[1:], None]):
        option, eq, value = arg.partition("=")
        if option in OUTPUT_OPTIONS:
            found.append(value if eq else following)
    return [f for f in found if f]


def collect() -> tuple[list[Command], list[str]]:
    """Commands to run, and lines of bash blocks the test does not know what to do with."""
    commands, unknown = [], []
    for path in DOCS:
        for block in blocks(path, "bash"):
            made_out = False
            for number, line in _logical_lines(block):
                where = f"{path.relative_to(REPO)}:{number}"
                if not line or line.startswith("#") or NOT_RUN.search(line):
                    continue
                if line.startswith(SKIP_PREFIXES):
                    continue
                if shlex.split(line, comments=True) == MAKE_OUT_DIR.split():
                    made_out = True
                    continue
                expected = EXIT.search(line)
                tokens = shlex.split(line, comments=True)
                prefix = next((p for p in RUN_PREFIXES if tuple(tokens[:3]) == p), None)
                if prefix is None or any(t in ("&&", "||", "|", ";", ">", ">>", "<") for t in tokens):
                    unknown.append(f"{where}: {line}")
                    continue
                if _outputs(tokens[3:]) and not made_out:
                    unknown.append(f"{where}: {line} (writes into {OUT_DIR}/ without a "
                                   f"`{MAKE_OUT_DIR}` line before it in its block)")
                    continue
                commands.append(Command(where, line, tuple(tokens[3:]),
                                        int(expected.group(1)) if expected else 0))
    return commands, unknown


COMMANDS, UNKNOWN = collect()


def _unique(commands: list[Command]) -> list[Command]:
    """One run per distinct command (README and a guide may show the same one)."""
    seen: dict[tuple, Command] = {}
    for c in commands:
        seen.setdefault((c.args, c.exit_code), c)
    return list(seen.values())


def test_the_docs_show_commands():
    assert len(COMMANDS) >= 20, "the docs lost their commands (or the parser broke)"


def test_every_line_of_a_bash_block_is_run_or_marked():
    assert not UNKNOWN, ("lines in ```bash blocks that are neither an optimizer command nor marked "
                         "`# not run`:\n" + "\n".join(UNKNOWN))


def _in_out_dir(name: str) -> str:
    """The file name of an output the docs write into ``out/`` (it must go there)."""
    folder, _, file = name.partition("/")
    assert folder == OUT_DIR and file and "/" not in file and "\\" not in file, (
        f"docs must write outputs into {OUT_DIR}/ (a folder git ignores), as {OUT_DIR}/<name>, not {name!r}")
    return file


def _with_outputs_in(args: tuple[str, ...], folder: Path) -> tuple[list[str], list[Path]]:
    """The arguments with every output file (``out/<name>``) moved into ``folder``, and
    those files."""
    out, files = [], []
    expect_file = False
    for arg in args:
        if expect_file:
            target = folder / _in_out_dir(arg)
            out.append(str(target))
            files.append(target)
            expect_file = False
            continue
        option, eq, value = arg.partition("=")
        if option in OUTPUT_OPTIONS and eq:
            target = folder / _in_out_dir(value)
            files.append(target)
            out.append(f"{option}={target}")
            continue
        expect_file = arg in OUTPUT_OPTIONS
        out.append(arg)
    return out, files


def test_documented_outputs_go_into_the_ignored_out_folder(tmp_path):
    ignored = (REPO / ".gitignore").read_text(encoding="utf-8").split()
    assert f"/{OUT_DIR}/" in ignored or f"{OUT_DIR}/" in ignored, f".gitignore should ignore {OUT_DIR}/"
    written = [c for c in COMMANDS if _outputs(c.args)]
    assert written, "the docs show no command writing a file"
    for command in written:
        args, files = _with_outputs_in(command.args, tmp_path)
        assert all(f.parent == tmp_path for f in files) and str(REPO) not in " ".join(args), command.where
    with pytest.raises(AssertionError, match="into out/"):
        _with_outputs_in(("plan", "x.yaml", "--out", "plan.xlsx"), tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("command", _unique(COMMANDS), ids=lambda c: f"{c.where} {' '.join(c.args[:2])}")
def test_documented_command_runs(command: Command, tmp_path):
    args, files = _with_outputs_in(command.args, tmp_path)
    strays = [REPO / where / f.name for f in files for where in ("", OUT_DIR)
              if not (REPO / where / f.name).exists()]
    done = subprocess.run([sys.executable, "-m", "optimizer", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=COMMAND_TIMEOUT)
    report = f"{command.where}: {command.line}\nstdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    assert done.returncode == command.exit_code, report
    assert "Traceback" not in done.stderr, report
    if command.exit_code == 0:
        for f in files:
            assert f.is_file() and f.stat().st_size > 0, f"{command.where}: {f.name} was not written"
    for stray in strays:
        assert not stray.exists(), f"{command.where} wrote {stray.name} into the repository"


# ---------------------------------------------------------------------------- links

LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.MULTILINE)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _prose(text: str) -> str:
    """The text without fenced code blocks and code spans (links there are not links)."""
    text = FENCE.sub("", text)
    return re.sub(r"`[^`\n]*`", "", text)


def anchors(path: Path) -> set[str]:
    """GitHub-style anchors of the headings of a Markdown file."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    out = set()
    for heading in HEADING.findall(text):
        heading = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
        slug = re.sub(r"[^\w\- ]", "", heading.lower(), flags=re.UNICODE).replace(" ", "-")
        n = seen.get(slug, 0)
        out.add(slug if n == 0 else f"{slug}-{n}")
        seen[slug] = n + 1
    return out


def _links(path: Path) -> list[str]:
    text = _prose(path.read_text(encoding="utf-8"))
    return LINK.findall(text) + REFERENCE.findall(text)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(path: Path):
    broken = []
    for target in _links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists():
            broken.append(f"{target}: no such file")
            continue
        if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading with anchor #{anchor}")
    assert not broken, f"{path.relative_to(REPO)}:\n" + "\n".join(broken)


def test_the_docs_have_an_index_linking_every_page():
    index = REPO / "docs" / "README.md"
    linked = {Path(t.partition("#")[0]).name for t in _links(index)}
    pages = {p.name for p in (REPO / "docs").glob("*.md")} - {"README.md"}
    assert pages <= linked, f"docs/README.md does not link {sorted(pages - linked)}"


# ---------------------------------------------------------------------------- snippets

def _scenario_keys() -> set[str]:
    from optimizer.data.scenario import SCENARIO_KEYS
    return set(SCENARIO_KEYS)


YAML_BLOCKS = [b for p in DOCS for b in blocks(p, "yaml")]
CSV_BLOCKS = [b for p in DOCS for b in blocks(p, "csv")]


@pytest.mark.slow
@pytest.mark.parametrize("block", YAML_BLOCKS, ids=lambda b: b.where)
def test_yaml_snippets_are_accepted(block: Block, tmp_path):
    """A snippet of scenario keys is applied as a what-if on the suburban example and must
    load; a ``states:`` or ``programs:`` snippet is appended to a copy of the catalog, which
    must load."""
    from optimizer import load_catalog, load_inputs
    from optimizer.paths import CATALOG_DIR

    data = yaml.safe_load(block.body)
    assert isinstance(data, dict), f"{block.where}: a YAML snippet should be a mapping"
    if set(data) <= _scenario_keys():
        base = data.pop("extends", "suburban.yaml")
        data = {"extends": str(REPO / "scenarios" / base), **data}
        what_if = tmp_path / "snippet.yaml"
        what_if.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        load_inputs(what_if)
    elif set(data) in ({"states"}, {"programs"}):
        key = next(iter(data))
        folder = tmp_path / "catalog"
        shutil.copytree(CATALOG_DIR, folder)
        target = folder / ("state_mandates.yaml" if key == "states" else "funding_programs.yaml")
        current = yaml.safe_load(target.read_text(encoding="utf-8"))
        current[key] += data[key]
        target.write_text(yaml.safe_dump(current, sort_keys=False), encoding="utf-8")
        catalog = load_catalog(folder)
        loaded = set(catalog.states) if key == "states" else set(catalog.programs)
        assert {item["state" if key == "states" else "id"] for item in data[key]} <= loaded
    else:
        pytest.fail(f"{block.where}: a YAML snippet of unknown kind (keys {sorted(data)})")


@pytest.mark.parametrize("block", CSV_BLOCKS, ids=lambda b: b.where)
def test_measure_rows_shown_are_accepted_by_the_catalog(block: Block, tmp_path):
    from optimizer import load_catalog
    from optimizer.paths import CATALOG_DIR

    folder = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, folder)
    measures = folder / "measures.csv"
    lines = block.body.strip().splitlines()
    header = measures.read_text(encoding="utf-8").splitlines()[0]
    assert lines[0] == header, f"{block.where}: the header differs from catalog/measures.csv"
    with measures.open("a", encoding="utf-8") as f:
        if not measures.read_text(encoding="utf-8").endswith("\n"):
            f.write("\n")
        f.write("\n".join(lines[1:]) + "\n")
    catalog = load_catalog(folder)
    for row in lines[1:]:
        assert row.split(",")[0] in catalog.measures


# ---------------------------------------------------------------------------- the model page

MODEL_PAGE = REPO / "docs" / "model.md"
CODE_REFERENCE = re.compile(r"`optimizer/([\w/]+)\.py: ([\w.]+)`")


def test_model_page_covers_every_rule():
    from optimizer.core.model import RULES

    text = MODEL_PAGE.read_text(encoding="utf-8")
    missing = [f"define_{rule}" for rule in RULES if f"optimizer/core/model.py: define_{rule}`" not in text]
    assert not missing, f"docs/model.md has no section pointing to {missing}"
    for name in ("define_variables", "define_objective", "value_terms", "tco_terms",
                 "tier1_terms"):
        assert re.search(rf"`(optimizer/core/model\.py: )?{name}`", text), name


def test_model_page_shows_the_steps_of_a_solve_as_the_code_lists_them():
    from optimizer.core import guided, run

    assert run.steps_table() in MODEL_PAGE.read_text(encoding="utf-8"), "refresh the table from run.steps_table()"
    for step in run.STEPS:  # each step names the function that runs it
        module, _, name = step.runs.partition(".")
        target = {"run": run, "guided": guided}[module]
        for part in name.split("."):
            target = getattr(target, part)
        assert callable(target), step.runs


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_code_references_exist(path: Path):
    for module, dotted in CODE_REFERENCE.findall(path.read_text(encoding="utf-8")):
        obj = importlib.import_module(f"optimizer.{module.replace('/', '.')}")
        for part in dotted.split("."):
            assert hasattr(obj, part), f"{path.name}: optimizer/{module}.py has no {dotted}"
            obj = getattr(obj, part)


def test_model_page_states_the_protection_curve_of_the_code():
    from optimizer.core.risk import BREAKPOINTS

    text = MODEL_PAGE.read_text(encoding="utf-8")
    listed = r",\ ".join(f"{b:g}" for b in BREAKPOINTS)
    assert f"L \\in \\{{{listed}\\}}" in text, f"docs/model.md should list the breakpoints {listed}"


def test_numbers_quoted_in_the_docs_match_the_code():
    from optimizer.analyses.robust import RARE, ROBUST, robust
    from optimizer.defaults import DEFAULT_GAP

    gap = f"{DEFAULT_GAP:.1%}"
    for page in ("model.md", "finance-guide.md", "limits.md"):
        assert gap in (REPO / "docs" / page).read_text(encoding="utf-8"), f"{page} should quote the gap {gap}"
    limits = (REPO / "docs" / "limits.md").read_text(encoding="utf-8")
    spread = inspect.signature(robust).parameters["effect_spread"].default
    assert f"+/-{spread:.0%}" in limits
    assert f"at least {ROBUST:.0%} of draws" in limits
    assert f"({RARE * 100:.0f}-{ROBUST:.0%})" in limits
