"""A workspace a finance team relies on (issue 29): named scenarios with their plans saved in a
real SQLite file, with when and a note; reopened, duplicated and deleted; still there after a
restart; two sessions saving at once; a saved plan checked again when reopened."""
from __future__ import annotations

import threading

import pytest

from optimizer import load_inputs
from optimizer.core.run import optimize
from optimizer.data.overrides import apply_overrides
from optimizer.paths import SCENARIOS_DIR
from optimizer.workspace import Workspace, reopen
from ui.scenario_files import as_mapping


@pytest.fixture(scope="module")
def rural():
    inputs = load_inputs(SCENARIOS_DIR / "rural.yaml")
    return inputs, optimize(inputs)


def _save(space: Workspace, rural, name="Rural, board draft", note="before the March board meeting") -> int:
    inputs, result = rural
    return space.save(name, note, "rural.yaml", as_mapping(inputs.scenario), {"gap": 0.001}, result)


def test_saved_plans_are_listed_reopened_duplicated_and_deleted_and_survive_a_restart(tmp_path, rural):
    url = f"sqlite:///{tmp_path / 'workspace.sqlite'}"
    space = Workspace(url)
    first = _save(space, rural)
    copy = space.duplicate(first, "Rural, with the STOP grant")
    listed = space.list()
    assert listed["name"].tolist() == ["Rural, with the STOP grant", "Rural, board draft"]  # newest first
    assert listed.set_index("id").at[first, "note"] == "before the March board meeting"
    assert listed["headline"].iloc[0].startswith("reduces the modelled risk")
    restarted = Workspace(url)  # a new process would open the same file
    saved = restarted.open(first)
    _, result = rural
    keys = result.problem.candidates["key"]
    assert saved.installs == {keys[c]: t for c, t in result.plan.installs.items()}
    assert saved.scenario == as_mapping(rural[0].scenario) and saved.options == {"gap": 0.001}
    restarted.delete(copy)
    assert restarted.list()["id"].tolist() == [first]
    with pytest.raises(KeyError):
        restarted.open(copy)


def test_two_sessions_save_at_once_and_lose_nothing(tmp_path, rural):
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    sessions = [Workspace(url), Workspace(url)]
    errors = []

    def work(space, who):
        try:
            for i in range(8):
                _save(space, rural, name=f"{who} {i}")
                space.list()
        except Exception as exc:  # noqa: BLE001 - the test reports any failure of either session
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s, who)) for s, who in zip(sessions, ("A", "B"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    names = set(Workspace(url).list()["name"])
    assert names == {f"{who} {i}" for who in "AB" for i in range(8)}


def test_a_reopened_plan_is_checked_again_against_today_s_rules(tmp_path, rural):
    space = Workspace(f"sqlite:///{tmp_path / 'w.sqlite'}")
    saved = space.open(_save(space, rural))
    again = reopen(saved)
    assert again.problems == []  # nothing changed: it keeps every rule
    assert again.inputs.scenario.sites == rural[0].scenario.sites and again.inputs.scenario.name == rural[0].scenario.name
    # the district's budget cut to nothing since: the saved items can no longer be paid
    poorer = apply_overrides(rural[0], budget=0)
    cut = space.open(space.save("cut", "", "rural.yaml", as_mapping(poorer.scenario), {}, rural[1]))
    assert reopen(cut).problems
    # a measure the catalog no longer has
    changed = type(saved)(**{**saved.__dict__, "installs": {**saved.installs, "retired-measure@ES-CH": 2027}})
    assert "retired-measure@ES-CH: no longer a candidate" in " ".join(reopen(changed).problems)
