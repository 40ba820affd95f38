"""A workspace a finance team keeps: named scenarios with their plans, saved in a database
(an SQLite file by default, or a district's own database server by its SQLAlchemy URL), with
when each was saved and a note. A saved plan is checked again when it is reopened: the
catalog's rules and prices may have changed since."""
from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, create_engine, event, select

from optimizer.core.model import build_model
from optimizer.core.problem import expand
from optimizer.core.result import PlanResult
from optimizer.core.solve import fund_grants_first
from optimizer.core.verify import verify
from optimizer.data.inputs import CatalogSource, Inputs, load_inputs_from_mapping

#: Where the workspace is kept unless ``SCHOOL_SECURITY_WORKSPACE`` names a database URL.
DEFAULT_FILE = Path.home() / ".school-security" / "workspace.sqlite"
ENV = "SCHOOL_SECURITY_WORKSPACE"

_metadata = MetaData()
_saved = Table(
    "saved_plan", _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("saved_at", DateTime(timezone=True), nullable=False),
    Column("file_name", String(200), nullable=False),
    Column("scenario", Text, nullable=False),  # the scenario as JSON, sites inline
    Column("options", Text, nullable=False),  # the plan options as JSON
    Column("installs", Text, nullable=False),  # candidate key (measure@place) -> fiscal year, as JSON
    Column("headline", Text, nullable=False),
)


@dataclass(frozen=True)
class SavedPlan:
    """One saved scenario and its plan."""

    id: int
    name: str
    note: str
    saved_at: dt.datetime
    file_name: str
    scenario: dict
    options: dict
    installs: dict[str, int]
    headline: str


@dataclass(frozen=True)
class Reopened:
    """A saved plan checked again against today's catalog: the scenario's inputs, and what the
    saved plan breaks now (empty when it still keeps every rule)."""

    inputs: Inputs
    problems: list[str]


def default_url() -> str:
    """The workspace's database URL: ``SCHOOL_SECURITY_WORKSPACE``, else the SQLite file
    ``~/.school-security/workspace.sqlite``."""
    url = os.environ.get(ENV)
    if url:
        return url
    DEFAULT_FILE.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_FILE}"


class Workspace:
    """Saved scenarios and plans in one database; safe for several sessions at once (each call
    is its own transaction; SQLite waits for a writer instead of failing)."""

    def __init__(self, url: str | None = None):
        self.url = url or default_url()
        self.engine = create_engine(self.url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        _metadata.create_all(self.engine)

    def save(self, name: str, note: str, file_name: str, scenario: dict, options: dict, result: PlanResult) -> int:
        """Save a scenario with its verified plan; returns its id."""
        if result.plan is None:
            raise ValueError("only a scenario with a plan is saved")
        return self._insert(name.strip() or file_name, note.strip(), file_name, scenario, options,
                            result.keyed_installs(), result.headline_words()[0])

    def _insert(self, name: str, note: str, file_name: str, scenario: dict, options: dict,
                installs: dict[str, int], headline: str) -> int:
        row = dict(name=name, note=note, saved_at=dt.datetime.now(dt.timezone.utc), file_name=file_name,
                   scenario=json.dumps(scenario), options=json.dumps(options), installs=json.dumps(installs),
                   headline=headline)
        with self.engine.begin() as conn:
            return int(conn.execute(_saved.insert().values(**row)).inserted_primary_key[0])

    def list(self) -> pd.DataFrame:
        """Every saved plan, newest first: id, name, note, when saved, scenario file, headline."""
        query = select(_saved.c.id, _saved.c.name, _saved.c.note, _saved.c.saved_at, _saved.c.file_name,
                       _saved.c.headline).order_by(_saved.c.saved_at.desc(), _saved.c.id.desc())
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return pd.DataFrame(rows, columns=["id", "name", "note", "saved_at", "file_name", "headline"])

    def open(self, plan_id: int) -> SavedPlan:
        """A saved plan by its id (KeyError when there is none)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(_saved).where(_saved.c.id == plan_id)).mappings().first()
        if row is None:
            raise KeyError(f"no saved plan {plan_id}")
        return SavedPlan(row["id"], row["name"], row["note"], row["saved_at"], row["file_name"],
                         json.loads(row["scenario"]), json.loads(row["options"]), json.loads(row["installs"]),
                         row["headline"])

    def duplicate(self, plan_id: int, name: str) -> int:
        """A copy of a saved plan under another name (to edit it apart); returns its id."""
        saved = self.open(plan_id)
        return self._insert(name.strip() or f"{saved.name} (copy)", saved.note, saved.file_name, saved.scenario,
                            saved.options, saved.installs, saved.headline)

    def delete(self, plan_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(_saved.delete().where(_saved.c.id == plan_id))


def _sqlite_pragmas(connection, _record) -> None:
    # readers do not block the writer, and a second session waits for a write instead of failing
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def reopen(saved: SavedPlan, catalog: CatalogSource = None) -> Reopened:
    """Check a saved plan again: its scenario against today's catalog, and its items, paid
    grants first, against every rule (a price, a grant rule or a mandate may have changed)."""
    inputs = load_inputs_from_mapping(saved.scenario, catalog=catalog, name=saved.file_name)
    problem = expand(inputs)
    row_of = {key: c for c, key in enumerate(problem.candidates["key"])}
    gone = sorted(key for key in saved.installs if key not in row_of)
    installs = {row_of[key]: year for key, year in saved.installs.items() if key in row_of}
    problems = [f"{key}: no longer a candidate of this scenario (the catalog changed)" for key in gone]
    plan = fund_grants_first(build_model(problem), installs)
    if plan is None:
        problems.append("its items can no longer be paid within the budgets and grant rules")
    else:
        problems += [str(v) for v in verify(problem, plan)]
    return Reopened(inputs, problems)
