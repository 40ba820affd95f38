"""Checking a scenario against the catalog it plans from, and loading both together."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from optimizer.data.catalog import Catalog, load_catalog
from optimizer.data.mandates import Mandate
from optimizer.data.scenario import Scenario, load_scenario
from optimizer.errors import ProblemCollector
from optimizer.paths import CATALOG_DIR


@dataclass(frozen=True)
class Inputs:
    """A scenario and the catalog it was checked against."""

    scenario: Scenario
    catalog: Catalog
    path: Path


def _check_measure(catalog: Catalog, problems: ProblemCollector, where: str, field: str,
                   measure_id: str, scope: str | None = None) -> None:
    measure = catalog.measures.get(measure_id)
    if measure is None:
        problems.add(where, field, measure_id, "a measure id of the catalog "
                     "(python -m optimizer catalog lists them)")
    elif scope is not None and measure.scope != scope:
        problems.add(where, field, measure_id, f"a {scope}-scope measure; this one is {measure.scope}-scope")


def check_against_catalog(scenario: Scenario, catalog: Catalog, path: Path | str) -> None:
    """Check every id the scenario uses against the catalog.

    Raises
    ------
    InputError
        Naming each unknown measure, site, program, state, layer or component.
    """
    problems = ProblemCollector(path)
    site_ids = {s.id for s in scenario.sites}
    mandate_ids = set(scenario.mandates.extra) | {m.id for m in state_mandates(scenario, catalog)}
    for i, site in enumerate(scenario.sites):
        for mid in site.in_place:
            _check_measure(catalog, problems, f"site {site.id} (sites[{i}])", "in_place", mid, "site")
    for mid in scenario.district_in_place:
        _check_measure(catalog, problems, "district_in_place", "district_in_place", mid, "district")
    for listing in ("must", "must_not", "cost_overrides"):
        for i, pick in enumerate(getattr(scenario, listing)):
            where = f"{listing}[{i}]"
            _check_measure(catalog, problems, where, "measure", pick.measure)
            if pick.site is not None and pick.site not in site_ids:
                problems.add(where, "site", pick.site, "a site id of this scenario")
    for key, source in scenario.funding_sources.items():
        for field in ("eligible_measures", "excluded_measures"):
            for mid in getattr(source, field) or []:
                _check_measure(catalog, problems, f"funding_sources.{key}", field, mid)
        where = f"funding_sources.{key}"
        for site_id in source.sites or []:
            if site_id not in site_ids:
                problems.add(where, "sites", site_id, "a site id of this scenario (the award's approved sites)")
        if source.earmark is not None and source.earmark not in mandate_ids:
            problems.add(where, "earmark", source.earmark, "the id of a mandate of the scenario's state "
                         "profile or of mandates.extra, which this money is earmarked for")
        program = catalog.programs.get(source.program) if source.program else None
        if source.program is not None and program is None:
            problems.add(where, "program", source.program, "a program id of catalog/funding_programs.yaml")
        elif (program is not None and source.match_rate is not None
              and source.match_rate < program.match_rate and not program.match_waiver_possible):
            problems.add(where, "match_rate", source.match_rate,
                         f"at least the program's {program.match_rate:.0%} (it grants no waiver); "
                         "a district may put in more match, never less")
    for key, mandate in scenario.mandates.extra.items():
        for mid in mandate.measures:
            _check_measure(catalog, problems, f"mandates.extra.{key}", "measures", mid)
    layers = catalog.taxonomy.layer_ids
    for name in (*scenario.weights.layers, *scenario.policy.layer_share):
        if name not in layers:
            problems.add("weights / policy.layer_share", "layer", name,
                         f"a layer of PASS edition {catalog.edition}: {', '.join(layers)}")
    for name in scenario.weights.components:
        if name not in catalog.taxonomy.component_ids:
            problems.add("weights.components", "component", name,
                         "a PASS component: " + ", ".join(catalog.taxonomy.component_ids))
    problems.raise_if_any()


def state_mandates(scenario: Scenario, catalog: Catalog) -> list[Mandate]:
    """The mandates of the scenario's state profile (none when the state has no profile in
    the catalog or the scenario turns the profile off)."""
    profile = catalog.states.get(scenario.state or "")
    return list(profile.mandates) if profile and scenario.mandates.state_profile else []


def load_inputs(path: Path | str, catalog_folder: Path = CATALOG_DIR) -> Inputs:
    """Load a scenario and the catalog in its PASS edition, and check them together."""
    scenario = load_scenario(path)
    catalog = load_catalog(catalog_folder, scenario.catalog_edition)
    check_against_catalog(scenario, catalog, path)
    return Inputs(scenario, catalog, Path(path))
