"""The catalog: taxonomy, measures, funding programs and state mandates, loaded together and
checked across files (ids, prerequisites, tier chains, mandate references)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from optimizer.data.funding import FundingProgram
from optimizer.data.mandates import StateProfile
from optimizer.data.measures import (
    ColumnSpec,
    Measure,
    load_column_dictionary,
    load_measures,
)
from optimizer.data.prices import in_dollar_year, load_price_index, load_settings
from optimizer.data.readers import read_yaml_mapping
from optimizer.data.threats import Threat, load_threats
from optimizer.data.taxonomy import (
    DEFAULT_EDITION,
    EditionMapping,
    Taxonomy,
    load_edition_mapping,
    load_taxonomy,
)
from optimizer.data.validation import validate_model
from optimizer.errors import ProblemCollector
from optimizer.paths import CATALOG_DIR


@dataclass(frozen=True)
class Catalog:
    """Everything the optimizer reads besides the district's own scenario.

    Measures are stored in 7th-edition layers; ``layer_of`` gives a measure's layer in the
    catalog's chosen edition.
    """

    folder: Path
    edition: int
    taxonomy: Taxonomy
    pass7: Taxonomy
    mapping: EditionMapping
    columns: list[ColumnSpec]
    measures: dict[str, Measure]
    programs: dict[str, FundingProgram]
    states: dict[str, StateProfile]
    threats: dict[str, Threat]
    as_of: dt.date
    dollar_year: int

    def layer_of(self, measure: Measure) -> str:
        """The measure's layer in this catalog's PASS edition."""
        if self.edition == 7:
            return measure.layer
        return measure.pass6_layer or self.mapping.back_to_6[measure.layer]

    @cached_property
    def frame(self) -> pd.DataFrame:
        """The measures as a table, one row a measure, layers in this catalog's edition."""
        rows = []
        for m in self.measures.values():
            row = m.model_dump()
            row["layer"] = self.layer_of(m)
            row["tier"] = "outside" if m.tier is None else m.tier
            row["funding_categories"] = ";".join(m.funding_categories)
            row["prerequisites"] = ";".join(m.prerequisites)
            row["threats"] = ";".join(f"{t} {r:g}" for t, r in m.threats.items())
            rows.append(row)
        return pd.DataFrame(rows).drop(columns=["pass6_layer"])


def _load_programs(path: Path, problems: ProblemCollector) -> dict[str, FundingProgram]:
    raw = read_yaml_mapping(path).get("programs")
    programs: dict[str, FundingProgram] = {}
    if not isinstance(raw, list):
        problems.add("programs", "programs", type(raw).__name__, "a list of funding programs")
        return programs
    for i, item in enumerate(raw):
        program = validate_model(FundingProgram, item, problems, f"programs[{i}]")
        if program is None:
            continue
        if program.id in programs:
            problems.add(f"programs[{i}]", "id", program.id, "a program id used once")
        programs[program.id] = program
    return programs


def _load_states(path: Path, measures: dict[str, Measure],
                 problems: ProblemCollector) -> dict[str, StateProfile]:
    raw = read_yaml_mapping(path).get("states")
    states: dict[str, StateProfile] = {}
    if not isinstance(raw, list):
        problems.add("states", "states", type(raw).__name__, "a list of state profiles")
        return states
    seen_mandates: set[str] = set()
    for i, item in enumerate(raw):
        where = f"states[{i}]"
        profile = validate_model(StateProfile, item, problems, where)
        if profile is None:
            continue
        if profile.state in states:
            problems.add(where, "state", profile.state, "each state once")
        for j, mandate in enumerate(profile.mandates):
            mwhere = f"{where}.mandates[{j}] ({mandate.id})"
            if mandate.id in seen_mandates:
                problems.add(mwhere, "id", mandate.id, "a mandate id used once")
            seen_mandates.add(mandate.id)
            for measure_id in mandate.measures:
                if measure_id not in measures:
                    problems.add(mwhere, "measures", measure_id, "ids of measures in measures.csv")
            if mandate.applies_to == "district" and all(
                    measures[m].scope == "site" for m in mandate.measures if m in measures):
                problems.add(mwhere, "applies_to", "district", "every_site or any_site: a district "
                             "mandate can only be met by a district-wide measure, and these are per school")
        states[profile.state] = profile
    return states


def _find_cycle(measures: dict[str, Measure]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in (o for options in measures[node].prerequisite_options for o in options):
            if nxt not in measures:
                continue
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in measures:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def _check_measures(rows: list[tuple[str, Measure]], pass6: Taxonomy, pass7: Taxonomy,
                    mapping: EditionMapping, problems: ProblemCollector) -> dict[str, Measure]:
    measures: dict[str, Measure] = {}
    where_of: dict[str, str] = {}
    for where, m in rows:
        if m.id in measures:
            problems.add(where, "id", m.id, f"a unique id; {where_of[m.id]} has it already")
            continue
        measures[m.id] = m
        where_of[m.id] = where
        if m.layer not in pass7.layer_ids:
            problems.add(where, "layer", m.layer, f"a PASS 7th-edition layer: {', '.join(pass7.layer_ids)}")
        if m.component not in pass7.component_ids:
            problems.add(where, "component", m.component,
                         f"a PASS component: {', '.join(pass7.component_ids)}")
        if m.pass6_layer is not None and m.layer in mapping.back_to_6:
            allowed = [six for six, sevens in mapping.to_7.items() if m.layer in sevens]
            if m.pass6_layer not in allowed:
                problems.add(where, "pass6_layer", m.pass6_layer,
                             f"a 6th-edition layer that maps to {m.layer}: {', '.join(allowed)}")
    for mid, m in measures.items():
        where = where_of[mid]
        for pre in (o for options in m.prerequisite_options for o in options):
            other = measures.get(pre)
            if other is None:
                problems.add(where, "prerequisites", pre, "ids of measures in this table")
            elif pre == mid:
                problems.add(where, "prerequisites", pre, "other measures; a measure cannot require itself")
            elif m.scope == "district" and other.scope == "site":
                problems.add(where, "prerequisites", pre, "district-wide prerequisites for a "
                             "district-wide measure; a site measure cannot be in place district-wide")
            elif m.alternative_group and m.alternative_group == other.alternative_group:
                problems.add(where, "prerequisites", pre, f"a measure outside alternative group "
                             f"'{m.alternative_group}'; at most one of a group can be chosen, so "
                             "this chain is impossible")
        if m.tier and m.tier > 1 and not any(
                o.tier == m.tier - 1 and o.layer == m.layer and o.component == m.component
                and (m.scope == "site" or o.scope == "district") for o in measures.values()):
            problems.add(where, "tier", m.tier, f"a tier-{m.tier - 1} measure in {m.layer}/"
                         f"{m.component} to come first; without one, strict tier order can "
                         "never allow this measure")
    cycle = _find_cycle(measures)
    if cycle:
        problems.add(where_of[cycle[0]], "prerequisites", " -> ".join(cycle),
                     "prerequisites without a cycle; remove one link of the cycle")
    return measures


def load_catalog(folder: Path = CATALOG_DIR, edition: int = DEFAULT_EDITION) -> Catalog:
    """Load and check the catalog in ``folder`` for one PASS edition.

    Parameters
    ----------
    folder : Path
        A catalog folder with ``taxonomy/``, ``columns.csv``, ``measures.csv``,
        ``funding_programs.yaml`` and ``state_mandates.yaml``.
    edition : int
        The PASS edition whose layers the plan reports in (6 or 7).

    Raises
    ------
    InputError
        With every problem found in every file of the catalog.
    """
    folder = Path(folder)
    pass6 = load_taxonomy(folder / "taxonomy", 6)
    pass7 = load_taxonomy(folder / "taxonomy", 7)
    chosen = load_taxonomy(folder / "taxonomy", edition)
    mapping = load_edition_mapping(folder / "taxonomy", pass6, pass7)
    columns = load_column_dictionary(folder / "columns.csv")
    measure_problems = ProblemCollector(folder / "measures.csv")
    rows = load_measures(folder / "measures.csv", columns, measure_problems)
    measures = _check_measures(rows, pass6, pass7, mapping, measure_problems)
    threat_problems = ProblemCollector(folder / "threats.csv")
    threats = load_threats(folder / "threats.csv", threat_problems)
    _check_threat_references(rows, threats, measure_problems)
    program_problems = ProblemCollector(folder / "funding_programs.yaml")
    programs = _load_programs(folder / "funding_programs.yaml", program_problems)
    state_problems = ProblemCollector(folder / "state_mandates.yaml")
    states = _load_states(folder / "state_mandates.yaml", measures, state_problems)
    _check_program_references(programs, measures, states, program_problems)
    settings_problems = ProblemCollector(folder / "catalog.yaml")
    settings = load_settings(folder, settings_problems)
    if settings is not None:
        index_problems = ProblemCollector(folder / settings.price_index)
        index = load_price_index(folder / settings.price_index, index_problems)
        settings_problems.extend(index_problems.problems)
        converted = dict((m.id, m) for _, m in in_dollar_year(
            [(where, m) for where, m in rows if m.id in measures], index, settings.dollar_year,
            measure_problems))
        measures = {mid: converted.get(mid, m) for mid, m in measures.items()}
    all_problems = ProblemCollector(folder)
    for collector in (measure_problems, threat_problems, program_problems, state_problems, settings_problems):
        all_problems.extend(collector.problems)
    all_problems.raise_if_any()
    return Catalog(folder, edition, chosen, pass7, mapping, columns, measures, programs, states, threats,
                   settings.as_of, settings.dollar_year)


def _check_threat_references(rows: list[tuple[str, Measure]], threats: dict[str, Threat],
                              problems: ProblemCollector) -> None:
    """Every threat a measure names is rated in threats.csv."""
    if not threats:
        return
    for where, m in rows:
        for tid in m.threats:
            if tid not in threats:
                problems.add(where, "threats", tid, "threat ids of threats.csv: " + ", ".join(threats))


def _check_program_references(programs: dict[str, FundingProgram], measures: dict[str, Measure],
                              states: dict[str, StateProfile], problems: ProblemCollector) -> None:
    """Measures named by a program's rules and limits exist; compliance-first mandates exist."""
    mandate_ids = {m.id for p in states.values() for m in p.mandates}
    for i, program in enumerate(programs.values()):
        where = f"programs[{i}] ({program.id})"
        for kind, items in (("rules", program.rules), ("limits", program.limits)):
            for j, item in enumerate(items):
                for mid in item.measures:
                    if mid not in measures:
                        problems.add(f"{where}.{kind}[{j}]", "measures", mid, "ids of measures in measures.csv")
        for mid in program.compliance_first:
            if mid not in mandate_ids:
                problems.add(where, "compliance_first", mid, "ids of mandates in state_mandates.yaml")
