"""Scenario files for the app: the built-in examples, uploaded files, and the edited
scenario (a plain mapping) turned back into checked inputs.

Files go through :func:`optimizer.load_inputs` and the edited mapping through
:func:`optimizer.data.inputs.load_inputs_from_mapping`, which checks it exactly as the
command line checks a file holding it (no file is written for it), so problems name row and
field. Each takes the app's cached catalog, so the catalog is not loaded again.
"""
from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from optimizer import InputError, InputProblem, Inputs, Scenario, load_inputs
from optimizer.data.inputs import CatalogSource, load_inputs_from_mapping
from optimizer.data.readers import read_yaml_mapping
from optimizer.paths import EXAMPLE_SCENARIO, SCENARIOS_DIR

#: File types the upload box takes: a scenario, or a sites table replacing the sites.
SCENARIO_SUFFIXES = (".yaml", ".yml")
SITES_SUFFIXES = (".csv", ".xlsx")
UPLOAD_TYPES = [s.lstrip(".") for s in SCENARIO_SUFFIXES + SITES_SUFFIXES]


def builtin_names() -> list[str]:
    """File names of the built-in scenarios, sorted."""
    return sorted(p.name for p in SCENARIOS_DIR.glob("*.yaml"))


def default_name() -> str:
    """File name of the scenario the app opens on."""
    return EXAMPLE_SCENARIO.name


def as_mapping(scenario: Scenario) -> dict:
    """A checked scenario as JSON-ready plain data for editing.

    Sites are inline and the capital and operating budgets are mappings from fiscal year
    (as text) to dollars, so every year has its own entry to edit.
    """
    data = scenario.model_dump(mode="json")
    for which in ("capital", "operating"):
        per_year = scenario.budget.per_year(which, scenario.horizon.fiscal_years)
        data["budget"][which] = {str(year): amount for year, amount in per_year.items()}
    return data


def load_builtin(name: str, catalog: CatalogSource = None) -> dict:
    """The mapping of a built-in scenario, checked against the catalog (``catalog``: see
    :func:`inputs_of`).

    Raises
    ------
    InputError
        When the file has problems.
    """
    return as_mapping(load_inputs(SCENARIOS_DIR / Path(name).name, catalog=catalog).scenario)


def inputs_of(data: dict, file_name: str, catalog: CatalogSource = None) -> Inputs:
    """Check an edited scenario mapping as if it were the file ``file_name``, in memory.

    Parameters
    ----------
    data : dict
        The scenario as plain data, sites inline.
    file_name : str
        The name the scenario is known by (shown in problems and in the plan's assumptions).
    catalog : Catalog or callable, optional
        The catalog to check against: a loaded one, or a function giving the catalog of a
        PASS edition (the app's cached loader); None loads it from the catalog folder.

    Raises
    ------
    InputError
        Naming each bad row and field.
    """
    return load_inputs_from_mapping(data, catalog=catalog, name=file_name)


def _refuse(name: str, expected: str) -> InputError:
    return InputError([InputProblem(name, "", "", "", expected)])


#: Longest uploaded file name kept, in bytes of UTF-8: file systems refuse names over 255
#: bytes, and 90 CJK characters already take 270.
MAX_NAME_BYTES = 150


def _safe_name(name: str) -> str:
    """The last part of an uploaded file's name, never a folder name, without control
    characters, and cut to MAX_NAME_BYTES (its suffix kept) so any file system takes it."""
    base = "".join(ch for ch in Path(name.replace("\\", "/")).name if ch.isprintable())
    if base.strip(". ") == "":
        return "upload"
    stem, suffix = Path(base).stem, Path(base).suffix
    if len(suffix) > 8:  # not a file type: part of the name
        stem, suffix = base, ""
    room = MAX_NAME_BYTES - len(suffix.encode())
    return stem.encode()[:room].decode(errors="ignore") + suffix


@dataclass(frozen=True)
class Uploads:
    """What the upload box holds that was already read, so that a rerun reads only new files.

    ``read`` holds the keys (:func:`upload_key`) of the listed files already read, loaded or
    refused; ``refused`` those of the files whose problems ``problems`` are shown.
    """

    read: frozenset = frozenset()
    refused: frozenset = frozenset()
    problems: tuple = ()


def upload_key(name: str, content: bytes) -> str:
    """What tells one uploaded file from another: its name, size and a hash of its content."""
    return f"{_safe_name(name)}:{len(content)}:{hashlib.sha256(content).hexdigest()}"


def take_upload(files: list[tuple[str, bytes]], before: Uploads, current: dict, current_name: str,
                catalog: CatalogSource = None) -> tuple[Uploads, tuple[dict, str] | None]:
    """Read the files newly added to the upload box; files read before are never read again.

    Only adding files changes the scenario: new files are read as :func:`read_upload` reads
    them (a new YAML scenario may take its sites table from the files listed before; a new
    sites table alone replaces the sites of the scenario being edited, its edits kept). New
    files with problems leave the scenario as it is and their problems are shown. Removing
    files reads nothing and changes nothing; problems are forgotten once the files that had
    them are no longer listed.

    Parameters
    ----------
    files : list of (name, content)
        The files the upload box lists now.
    before : Uploads
        What was read of the files listed before.
    current, current_name, catalog
        As for :func:`read_upload`.

    Returns
    -------
    (Uploads, (dict, str) or None)
        What is read of the listed files now, and the new scenario mapping and its file name
        when new files were loaded (None when the scenario stays as it is).
    """
    keys = [upload_key(name, content) for name, content in files]
    listed = frozenset(keys)
    new = [file for file, key in zip(files, keys) if key not in before.read]
    if not new:  # files removed (or listed again as they were): nothing is read
        refused = before.refused & listed
        return Uploads(listed, refused, before.problems if refused else ()), None
    new_keys = listed - before.read
    new_names = {_safe_name(name) for name, _ in new}
    if any(name.lower().endswith(SCENARIO_SUFFIXES) for name in new_names):
        # a new scenario may name a sites table that is already listed
        new = new + [(name, content) for name, content in files
                     if name.lower().endswith(SITES_SUFFIXES) and _safe_name(name) not in new_names
                     and upload_key(name, content) in before.read]
    try:
        loaded = read_upload(new, current, current_name, catalog)
    except InputError as exc:  # the scenario being edited stays as it was
        return Uploads(listed, new_keys, tuple(exc.problems)), None
    return Uploads(listed), loaded


def read_upload(files: list[tuple[str, bytes]], current: dict, current_name: str,
                catalog: CatalogSource = None) -> tuple[dict, str]:
    """Read uploaded files into a scenario mapping.

    One YAML scenario may come with the sites table it names (``sites_file``); it may also
    extend a built-in scenario. A CSV or Excel sites table alone replaces the sites of the
    current scenario.

    Parameters
    ----------
    files : list of (name, content)
        The uploaded files.
    current : dict
        The scenario being edited (kept for a sites-only upload).
    current_name : str
        Its file name.
    catalog : Catalog or callable, optional
        The catalog to check against (see :func:`inputs_of`).

    Returns
    -------
    (dict, str)
        The new scenario mapping and its file name.

    Raises
    ------
    InputError
        Naming the uploaded file, row and field of each problem.
    """
    names = [_safe_name(name) for name, _ in files]
    scenarios = [n for n in names if n.lower().endswith(SCENARIO_SUFFIXES)]
    tables = [n for n in names if n.lower().endswith(SITES_SUFFIXES)]
    if len(scenarios) > 1 or (not scenarios and len(tables) != 1):
        raise _refuse(", ".join(names), "one scenario YAML file (with the sites table it names), "
                      "or one sites table (.csv or .xlsx) alone")
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        try:
            return _read_in(folder, files, names, scenarios, tables, current, current_name, catalog)
        except InputError as exc:  # name each uploaded file as the user knows it, not its copy
            raise InputError([_as_uploaded(p, folder) for p in exc.problems]) from None


def _check_sites_file(scenario: Path, tables: list[str]) -> None:
    """A scenario uploaded with a sites table must name that table in ``sites_file``: say so
    plainly (the loader would only find no file by the name the scenario gives)."""
    named = read_yaml_mapping(scenario).get("sites_file")
    if tables and isinstance(named, str) and named not in tables and not (scenario.parent / named).is_file():
        raise InputError([InputProblem(scenario.name, "sites_file", "sites_file", named,
                                       f"the name of the sites table uploaded with it ({', '.join(tables)}); "
                                       "rename the file or change sites_file, then upload both again")])


def _as_uploaded(problem: InputProblem, folder: Path) -> InputProblem:
    """The problem naming a file of the upload folder by its bare name."""
    path = Path(problem.file)
    if path.parent.resolve() != folder.resolve():
        return problem
    return InputProblem(path.name, problem.where, problem.field, problem.value, problem.expected)


def _read_in(folder: Path, files: list[tuple[str, bytes]], names: list[str], scenarios: list[str],
             tables: list[str], current: dict, current_name: str, catalog: CatalogSource) -> tuple[dict, str]:
    """Read the upload written into ``folder``: a scenario file, or a sites table that becomes
    the sites file of the current scenario (problems in its rows name the table)."""
    if scenarios:  # a what-if file may extend a built-in scenario
        for path in SCENARIOS_DIR.iterdir():
            if path.suffix in SCENARIO_SUFFIXES + SITES_SUFFIXES:
                shutil.copy(path, folder / path.name)
    for name, (_, content) in zip(names, files):
        (folder / name).write_bytes(content)
    if scenarios:
        name = scenarios[0]
        _check_sites_file(folder / name, tables)
        inputs = load_inputs(folder / name, catalog=catalog)
    else:  # the uploaded table is the sites file of the scenario being edited
        name = current_name
        base = {k: v for k, v in current.items() if k != "sites"}
        inputs = load_inputs_from_mapping({**base, "sites_file": tables[0]}, catalog=catalog,
                                          base_dir=folder, name=name)
    return as_mapping(inputs.scenario), name
