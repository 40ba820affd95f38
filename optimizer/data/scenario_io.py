"""Saving scenarios as YAML safely: plain data only, written atomically so that a crash
while saving leaves the previous file as it was."""
from __future__ import annotations

from pathlib import Path

import yaml

from optimizer.data.scenario import Scenario
from optimizer.safe_write import replacing


def scenario_dict(scenario: Scenario) -> dict:
    """A loaded scenario as plain data, sites inline and defaults left out.

    Saving it with :func:`save_scenario_yaml` gives a file that loads back to the same
    scenario (inheritance resolved, the sites file read in).
    """
    return scenario.model_dump(mode="python", exclude_defaults=True)


def scenario_yaml(data: dict) -> str:
    """A scenario mapping as YAML text: plain data only, keys in their given order."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


def save_scenario_yaml(data: dict, path: Path | str) -> Path:
    """Write a scenario mapping as YAML, atomically.

    The text is built in full first; it is then written to a temporary file in the same
    folder, flushed to disk (fsync) and moved over ``path`` with ``os.replace``. If anything
    fails on the way, ``path`` keeps its old content and no temporary file is left behind.

    Parameters
    ----------
    data : dict
        The scenario as plain data (for example :func:`scenario_dict`, or a mapping read
        from YAML): strings, numbers, booleans, None, lists and mappings.
    path : Path or str
        The YAML file to create or replace.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    yaml.representer.RepresenterError
        When ``data`` holds something other than plain data; nothing is written then.
    """
    path = Path(path)
    text = scenario_yaml(data)
    with replacing(path) as temp:
        temp.write_text(text, encoding="utf-8")
    return path
