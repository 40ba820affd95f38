"""Checking a scenario against the catalog it plans from, and loading both together, from a
scenario file or from a mapping (as the app edits it)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from optimizer.data.catalog import Catalog, load_catalog
from optimizer.data.funding import FundingProgram
from optimizer.data.mandates import Mandate
from optimizer.data.scenario import (
    MAPPING_NAME,
    FundingSource,
    Scenario,
    load_scenario,
    scenario_from_mapping,
    site_where,
)
from optimizer.errors import ProblemCollector
from optimizer.paths import CATALOG_DIR


@dataclass(frozen=True)
class Inputs:
    """A scenario and the catalog it was checked against."""

    scenario: Scenario
    catalog: Catalog
    path: Path


def _check_measure(catalog: Catalog, problems: ProblemCollector, where: str, field: str,
                   measure_id: str, scope: str | None = None, file: Path | str | None = None) -> None:
    measure = catalog.measures.get(measure_id)
    if measure is None:
        problems.add(where, field, measure_id, "a measure id of the catalog "
                     "(python -m optimizer catalog lists them)", file=file)
    elif scope is not None and measure.scope != scope:
        problems.add(where, field, measure_id, f"a {scope}-scope measure; this one is {measure.scope}-scope",
                     file=file)


def _check_money_reading(problems: ProblemCollector, where: str, source: FundingSource,
                         program: FundingProgram | None) -> None:
    """The amount and the recurring-cost rule of a source are said, never guessed: a yearly
    allocation says whether its amount is per year or in total, custom money says whether it
    may pay recurring costs, and an award never pays recurring costs its program refuses."""
    if program is not None and program.annual and source.amount_per is None:
        problems.add(where, "amount_per", "(missing)",
                     f"'year' or 'total': {program.name} is allocated every year, so say whether "
                     f"{source.amount:,.0f} is each year's allocation or the whole award over the horizon")
    if program is None and source.program is None and source.recurring is None:
        problems.add(where, "recurring", "(missing)",
                     "true or false: whether this money may pay recurring costs (subscriptions, "
                     "licences, salaries); bond money pays one-time capital only (false), a general "
                     "fund or levy usually may (true)")
    if program is not None and source.recurring and not program.recurring_costs_allowed:
        problems.add(where, "recurring", True,
                     f"false or left out: {program.name} does not pay recurring costs, and an award "
                     "narrows its program's rules, never widens them")


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
        file, where = site_where(scenario, i, path)  # a sites file's row, or the inline site
        for mid in site.in_place:
            _check_measure(catalog, problems, where, "in_place", mid, "site", file)
    for mid in scenario.district_in_place:
        _check_measure(catalog, problems, "district_in_place", "district_in_place", mid, "district")
    for listing in ("must", "must_not", "cost_overrides"):
        for i, pick in enumerate(getattr(scenario, listing)):
            where = f"{listing}[{i}]"
            _check_measure(catalog, problems, where, "measure", pick.measure)
            if pick.site is not None and pick.site not in site_ids:
                problems.add(where, "site", pick.site, "a site id of this scenario")
    for key, source in scenario.funding_sources.items():
        for field in ("eligible_measures", "excluded_measures", "project"):
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
        _check_money_reading(problems, where, source, program)
    for mid in scenario.reach:
        _check_measure(catalog, problems, "reach", "reach", mid)
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
    for name in scenario.weights.threats:
        if name not in catalog.threats:
            problems.add("weights.threats", "threat", name, "a threat of catalog/threats.csv: " + ", ".join(catalog.threats))
    problems.raise_if_any()


def state_mandates(scenario: Scenario, catalog: Catalog) -> list[Mandate]:
    """The mandates of the scenario's state profile (none when the state has no profile in
    the catalog or the scenario turns the profile off)."""
    profile = catalog.states.get(scenario.state or "")
    return list(profile.mandates) if profile and scenario.mandates.state_profile else []


#: A catalog to plan from: one already loaded, a function giving the catalog of a PASS
#: edition (a cached loader), or None to load the edition from the catalog folder.
CatalogSource = Catalog | Callable[[int], Catalog] | None


def _catalog_for(scenario: Scenario, catalog: CatalogSource, catalog_folder: Path,
                 file: Path | str) -> Catalog:
    """The catalog in the scenario's PASS edition: ``catalog`` itself when it is one, else
    made by it or loaded from ``catalog_folder``."""
    edition = scenario.catalog_edition
    if catalog is None:
        return load_catalog(catalog_folder, edition)
    if not isinstance(catalog, Catalog):
        catalog = catalog(edition)
    if catalog.edition != edition:
        problems = ProblemCollector(file)
        problems.add("top level", "catalog_edition", edition,
                     f"{catalog.edition}, the PASS edition of the catalog it is planned with")
        problems.raise_if_any()
    return catalog


def load_inputs(path: Path | str, catalog_folder: Path = CATALOG_DIR,
                catalog: CatalogSource = None) -> Inputs:
    """Load a scenario and the catalog in its PASS edition, and check them together.

    ``catalog``, when given, is used instead of loading the catalog again (see
    :func:`load_inputs_from_mapping`).
    """
    scenario = load_scenario(path)
    catalog = _catalog_for(scenario, catalog, catalog_folder, path)
    check_against_catalog(scenario, catalog, path)
    return Inputs(scenario, catalog, Path(path))


def load_inputs_from_mapping(data: Mapping, catalog: CatalogSource = None,
                             base_dir: Path | str | None = None, name: str = MAPPING_NAME,
                             catalog_folder: Path = CATALOG_DIR) -> Inputs:
    """Check a scenario given as a mapping (what its YAML file would hold) against the
    catalog, with no file written or read for the scenario itself.

    The checks and their problems are those of :func:`load_inputs` on a file holding
    ``data``; problems name ``name`` where they would name that file.

    Parameters
    ----------
    data : Mapping
        The scenario as plain data, with inline ``sites`` or a ``sites_file`` (and
        ``extends``) relative to ``base_dir``. It is not changed.
    catalog : Catalog or callable or None
        A loaded catalog to reuse as it is (it is not loaded or checked again); or a
        function giving the catalog of a PASS edition, such as a cached loader; or None to
        load the scenario's edition from ``catalog_folder``.
    base_dir : Path or str, optional
        The folder ``sites_file`` and ``extends`` are relative to.
    name : str
        The file name the scenario is known by: named in problems, and the name of the
        returned inputs' ``path`` (shown in a plan's assumptions).
    catalog_folder : Path
        Where the catalog is loaded from when ``catalog`` is None.

    Returns
    -------
    Inputs
        The checked scenario, the catalog (``catalog`` itself when a catalog was given),
        and ``base_dir / name`` (or ``name``) as the path.

    Raises
    ------
    InputError
        Naming each bad field; also when a given catalog is of another PASS edition than
        the scenario's ``catalog_edition``.
    """
    scenario = scenario_from_mapping(data, base_dir, name)
    catalog = _catalog_for(scenario, catalog, catalog_folder, name)
    check_against_catalog(scenario, catalog, name)
    return Inputs(scenario, catalog, Path(name) if base_dir is None else Path(base_dir) / name)
