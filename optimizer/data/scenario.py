"""District scenarios: sites, horizon, budgets, funding sources, mandates and policy, read
from YAML (sites from YAML, CSV or Excel), with inheritance for small what-if files."""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from optimizer.data.confine import MAX_EXTENDS, Reach
from optimizer.data.parsing import (
    Count,
    Dollars,
    FiscalYear,
    Flag,
    Fraction,
    Number,
    PerYear,
    Weight,
)
from optimizer.data.readers import read_table, read_yaml_mapping
from optimizer.data.stances import Stance
from optimizer.data.validation import validate_model
from optimizer.data.vocabulary import (
    FundingCategory,
    MandateReach,
    MandateStrength,
    Role,
)
from optimizer.errors import InputError, InputProblem, ProblemCollector

ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
#: Most sites a scenario may hold: twice the largest US district's schools (about 1,500) and
#: three times the largest benchmark district (1,000); more is refused before any is checked.
MAX_SITES = 3_000
#: Serious-harm equivalents $1,000 of local money must avoid by default: one per $13.2 million,
#: US DOT's value of a statistical life for analyses with base year 2023 ("Departmental Guidance
#: on Valuation of a Statistical Life in Economic Analysis", transportation.gov, checked
#: 2026-12-06), the same unit threats.csv converts harm with. Grant money has no such price.
LEAST_VALUE_PER_1000 = 1000 / 13.2e6
#: Real rate later years of protection are discounted by: 3 percent a year, the rate of OMB
#: Circular A-4 (2003, section E) for benefits such as lives and of the Second Panel on
#: Cost-Effectiveness in Health and Medicine (Sanders et al., JAMA 2016;316(10):1093-1103).
DISCOUNT_RATE = 0.03
#: Local operating money (staff time) it takes to procure one project (optimizer.core.projects): a judgement, as no
#: public source gives a school district's cost per procurement (searched 2026-12-06): about 60
#: hours of purchasing and facilities staff (specification, solicitation, evaluation, board
#: item) at about $75 an hour loaded, and a legal notice. The one per-bid figure found, $15,000
#: to re-advertise a state construction bid (Colorado Legislative Council fiscal note, 1998), is
#: the high end for construction; design fees are a share of cost and sit in the items' prices.
PROJECT_COST = 5_000.0
_STRICT = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Site(BaseModel):
    """A school (or other building) of the district and its inventory."""

    model_config = _STRICT
    id: str = Field(pattern=ID)
    name: str = Field(min_length=1)
    level: Literal["elementary", "middle", "high", "k8", "k12", "alternative", "other"]
    kind: Literal["school", "support"] = Field(
        default="school", description="school, or support: a building where no students are taught (bus "
                                      "garage, administration building, stadium, warehouse), which gets only "
                                      "the measures of the building and grounds the catalog marks for it")
    enrollment: Count
    staff: Count
    exterior_doors: Count = Field(ge=1)
    entrances: Count = Field(ge=1)
    classrooms: Count
    camera_positions: Count
    glazing_sqft: Count = Field(default=0, description="square feet of entry and ground-floor glazing; "
                                "0 when not surveyed (glazing measures are then not planned)")
    screening_lanes: Count | None = Field(default=None, description="entry lanes where students would be "
                                          "screened at arrival; empty: estimated from enrollment")
    risk_weight: Number = Field(default=1.0, gt=0, le=10)
    campus: str | None = Field(default=None, pattern=ID, description="id of a campus this site shares with "
                               "other sites: the measures of the campus layer (perimeter, grounds, parking) "
                               "are bought once for the campus, at its first site, and serve every site on it")
    in_place: list[str] = []
    installed: dict[str, FiscalYear] = Field(default={}, description="fiscal year each in-place measure was "
                                      "installed (measure id: year); it stops counting at the end of its useful life")

    @field_validator("in_place", mode="before")
    @classmethod
    def _split(cls, value):
        return [v.strip() for v in value.split(";") if v.strip()] if isinstance(value, str) else value

    @field_validator("installed", mode="before")
    @classmethod
    def _pairs(cls, value):
        """A sites-file cell reads ``measure:year; measure:year``."""
        if not isinstance(value, str):
            return value
        pairs = [_INSTALLED_PAIR.fullmatch(part) for part in value.split(";") if part.strip()]
        if not all(pairs):
            raise ValueError("pairs of measure id and fiscal year installed, separated by ';', such as "
                             "'bld-vid-exterior-cameras:2017; bld-ac-visitor-intercom:2020'")
        return {pair["measure"]: pair["year"] for pair in pairs}


_INSTALLED_PAIR = re.compile(r"\s*(?P<measure>[A-Za-z0-9][A-Za-z0-9_.-]*)\s*:\s*(?P<year>[0-9,]+)\s*")


#: What each column a sites file must have holds, in words for the problem that says it is missing.
SITE_COLUMN_WORDS = {
    "id": "a short code for each school, used once, such as ES-1",
    "name": "the school's name",
    "level": "elementary, middle, high, k8, k12, alternative or other",
    "enrollment": "the number of students",
    "staff": "the number of staff",
    "exterior_doors": "the number of exterior doors",
    "entrances": "the number of public entrances",
    "classrooms": "the number of classrooms",
    "camera_positions": "the number of camera positions",
}


class SiteRows(tuple):
    """Where each site of a scenario was read, in order: (file, words naming it) per site,
    such as ``("sites.csv", "row 3 (site HS-1)")``; empty for sites listed inline.

    It is not part of the scenario's value: scenarios with the same content are equal
    wherever their sites were read from.
    """

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SiteRows)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return 0


def inline_site_label(index: int, site_id: object = None) -> str:
    """How a problem names site ``index`` (from 0) of a scenario's inline ``sites`` list:
    ``site 2 (id HS-1)``, counted from 1 as a person counts."""
    return f"site {index + 1} (id {site_id})" if site_id not in (None, "") else f"site {index + 1}"


class Horizon(BaseModel):
    """Fiscal years planned, named by the calendar year each ends in."""

    model_config = _STRICT
    start: int = Field(ge=2000, le=2100)
    years: int = Field(ge=1, le=10)

    @property
    def fiscal_years(self) -> list[int]:
        """The fiscal years of the horizon, in order."""
        return list(range(self.start, self.start + self.years))


class Budget(BaseModel):
    """Local money: capital and operating budgets per fiscal year, and an optional total."""

    model_config = _STRICT
    capital: PerYear = Field(description="local capital money per fiscal year")
    operating: PerYear = Field(description="local operating money per year for recurring costs")
    total: Dollars | None = None
    carry_over: Flag = False

    def per_year(self, which: str, fiscal_years: list[int]) -> dict[int, float]:
        """Amounts of ``capital`` or ``operating`` for each fiscal year (0 where not given)."""
        value = getattr(self, which)
        if isinstance(value, dict):
            return {fy: float(value.get(fy, 0.0)) for fy in fiscal_years}
        return {fy: float(value) for fy in fiscal_years}


class FundingSource(BaseModel):
    """Money awarded to the district: from a catalog program or custom (local, private).

    The award's scope narrows what the program's rules allow, never widens it: the approved
    project's measures (``eligible_measures``), its sites, and money earmarked for one
    mandate (``earmark``: a mandate id), which pays only for that mandate's measures and is
    not blocked by supplement-not-supplant, since the mandate is its purpose.
    """

    model_config = _STRICT
    program: str | None = None
    name: str | None = None
    amount: Dollars
    amount_per: Literal["year", "total"] | None = Field(
        default=None, description="whether the amount is for each fiscal year or for the whole award "
                                  "(required for a program allocated every year)")
    recurring: Flag | None = Field(
        default=None, description="whether the money may pay recurring costs (subscriptions, licences, "
                                  "salaries, service fees); required for a custom source, and for a "
                                  "program only to narrow its rule (bond money pays one-time capital)")
    continues: Flag | None = Field(
        default=None, description="whether the money keeps coming every year after the horizon, so that it "
                                  "pays its share of keeping the plan in service then; default: true for a "
                                  "yearly allocation of a program allocated every year by law, paid through "
                                  "the horizon's last year and without a local match")
    awarded: Flag = True
    first_year: FiscalYear | None = None
    last_year: FiscalYear | None = None
    level: Literal["federal", "state", "local", "private"] | None = None
    eligible_categories: list[FundingCategory] | None = None
    eligible_measures: list[str] | None = None
    project: list[str] | None = Field(
        default=None, description="the measures the award was made for: bought at the award's sites (every "
                                  "school if none) by its last fiscal year, and the award pays only for them "
                                  "unless eligible_measures says otherwise")
    excluded_measures: list[str] = []
    sites: list[str] | None = None
    earmark: str | None = None
    match_rate: Fraction | None = None

    @field_validator("last_year")
    @classmethod
    def _not_before_first(cls, value, info):
        first = info.data.get("first_year")
        if value is not None and first is not None and value < first:
            raise ValueError(f"a fiscal year no earlier than first_year ({first}): the award's last year")
        return value


class ExtraMandate(BaseModel):
    """A mandate the scenario adds (a new state law, a board decision)."""

    model_config = _STRICT
    title: str
    measures: list[str] = Field(min_length=1)
    strength: MandateStrength = "must"
    deadline_year: FiscalYear
    applies_to: MandateReach = "every_site"


class Mandates(BaseModel):
    """Which mandates apply."""

    model_config = _STRICT
    state_profile: Flag = True
    supplement_not_supplant: Flag = True
    extra: dict[str, ExtraMandate] = {}


class Pick(BaseModel):
    """A measure at a site (or district-wide when ``site`` is omitted)."""

    model_config = _STRICT
    measure: str
    site: str | None = None


class CostOverride(Pick):
    """A vendor quote replacing the catalog cost for a measure (at one site or everywhere)."""

    capital: Dollars | None = None
    annual: Dollars | None = None
    source: str = Field(min_length=1)


class Weights(BaseModel):
    """Relative importance of threats (multiplies a threat's baseline risk) and of layers,
    components and roles (multiplies a measure's log-effect: 2 counts it as two such measures
    in a row); 1 when not given."""

    model_config = _STRICT
    threats: dict[str, Weight] = {}
    layers: dict[str, Weight] = {}
    components: dict[str, Weight] = {}
    roles: dict[Role, Weight] = {}


class Share(BaseModel):
    """Minimum and maximum share of capital spend in a layer."""

    model_config = _STRICT
    min: Fraction = 0.0
    max: Fraction = 1.0


class Policy(BaseModel):
    """How the plan is chosen."""

    model_config = _STRICT
    objective: Literal["risk_reduction", "least_cost_tier", "tier1_first"] = "risk_reduction"
    target_tier: int = Field(default=1, ge=1, le=4)
    tier_order: Literal["strict", "relaxed", "off"] = "strict"
    equity: Flag = False
    layer_share: dict[str, Share] = {}
    evidence_stance: Stance = "full"
    max_projects: int | None = Field(default=None, ge=1, le=500,
                                     description="at most this many projects (one PASS component's "
                                                 "purchases in one fiscal year)")
    project_cost: float = Field(default=PROJECT_COST, ge=0, le=1e6, allow_inf_nan=False,
                                description="dollars of local operating money (staff time) it costs to "
                                            "procure one project (specification, bid, board approval); "
                                            "0 leaves it out")
    years_after_horizon: int = Field(default=10, ge=0, le=50,
                                     description="years after the horizon in which the plan's end state "
                                                 "is kept (renewed at its yearly cost) and counted")
    discount_rate: float = Field(default=DISCOUNT_RATE, ge=0, le=0.2, allow_inf_nan=False,
                                 description="real yearly rate that later protection is discounted by")
    least_value_per_1000: float = Field(default=LEAST_VALUE_PER_1000, ge=0, le=1, allow_inf_nan=False,
                                        description="serious-harm equivalents avoided that $1,000 of "
                                                    "local money must buy")


class Scenario(BaseModel):
    """A district's planning scenario, after inheritance is resolved."""

    model_config = _STRICT
    name: str
    description: str = ""
    catalog_edition: Literal[6, 7] = 7
    state: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    horizon: Horizon
    sites: list[Site] = Field(min_length=1, max_length=MAX_SITES)
    district_in_place: list[str] = []
    district_installed: dict[str, FiscalYear] = {}
    budget: Budget
    funding_sources: dict[str, FundingSource] = {}
    mandates: Mandates = Mandates()
    must: list[Pick] = []
    must_not: list[Pick] = []
    cost_overrides: list[CostOverride] = []
    reach: dict[str, Annotated[float, Field(gt=0, le=10, allow_inf_nan=False)]] = Field(
        default={}, description="cost units per unit of a measure's basis in this district, replacing the "
                                "catalog's unit_ratio (measure id: ratio; 1 puts card readers on every "
                                "exterior door where the catalog assumes half); the rated effect is unchanged")
    weights: Weights = Weights()
    policy: Policy = Policy()
    _site_rows: SiteRows = PrivateAttr(default_factory=SiteRows)


def site_where(scenario: Scenario, index: int, file: Path | str) -> tuple[str, str]:
    """The file and the words a problem about site ``index`` (from 0) of ``scenario`` names:
    the sites file and its spreadsheet row (``row 3 (site HS-1)``, the header being row 1)
    when the sites were read from one, else ``file`` and ``site 2 (id HS-1)``."""
    rows = scenario._site_rows
    if index < len(rows):
        return rows[index]
    return str(file), inline_site_label(index, scenario.sites[index].id)


SCENARIO_KEYS = set(Scenario.model_fields) | {"extends", "sites_file", "sites_sheet"}
#: What problems call a scenario checked from a mapping when it is given no name.
MAPPING_NAME = "the app's scenario"


def _merge(base: dict, change: dict) -> dict:
    merged = dict(base)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _resolve(path: Path, chain: tuple[Path, ...], reach: Reach) -> tuple[dict, Path]:
    """Read ``path`` and the files it extends; return the merged mapping and the file that
    supplied the sites file (its folder anchors relative paths)."""
    return _resolve_data(read_yaml_mapping(path), path, chain, reach)


def _resolve_data(data: dict, path: Path, chain: tuple[Path, ...], reach: Reach) -> tuple[dict, Path]:
    """Resolve the files the mapping ``data`` of the file ``path`` extends (``data`` itself
    is left as it is), each inside ``reach``; return the merged mapping and the file that
    supplied the sites file."""
    data = dict(data)
    base_name = data.pop("extends", None)
    sites_anchor = path
    if base_name is None:
        return data, sites_anchor
    if len(chain) + 1 >= MAX_EXTENDS:
        raise InputError([InputProblem(str(path), "extends", "extends", str(base_name),
                                       f"at most {MAX_EXTENDS} scenario files in one chain of extends; "
                                       "write the changes of the middle files into one file")])
    base_path = reach.file(base_name, path.parent, path, "extends")
    if base_path in chain or base_path == path.resolve():
        loop = " -> ".join(p.name for p in (*chain, path.resolve(), base_path))
        raise InputError([InputProblem(str(path), "extends", "extends", str(base_name),
                                       f"a base scenario that does not lead back here ({loop})")])
    if not base_path.is_file():
        raise InputError([InputProblem(str(path), "extends", "extends", str(base_name),
                                       "the path of an existing scenario file, relative to this one")])
    base, base_anchor = _resolve(base_path, (*chain, path.resolve()), reach)
    if "sites_file" not in data and "sites" not in data:
        sites_anchor = base_anchor
    return _merge(base, data), sites_anchor


def _read_sites(path: Path, sheet: str | int, problems: ProblemCollector) -> tuple[list[dict], SiteRows, bool]:
    """The valid sites of a sites file, where each was read, and whether the file has problems
    (recorded in ``problems``, naming the file). A column the file lacks is named once, not
    once per row."""
    table = read_table(path, sheet)
    _refuse_too_many(len(table.rows), path, "rows below the header")
    local = ProblemCollector(path)
    known = list(Site.model_fields)
    for name in table.header:
        if name not in known:
            local.add("header", name, name, "a site column: " + ", ".join(known))
    missing = [n for n, f in Site.model_fields.items() if f.is_required() and n not in table.header]
    for name in missing:
        local.add("header", name, "", f"a column named '{name}' ({SITE_COLUMN_WORDS.get(name, name)}); "
                  "this file has none: add it to the header row and fill it in for every site")
    if not table.rows:
        local.add("row 2", "", "", "at least one site below the header row")

    def said(error: dict) -> bool:  # a missing column, already named once
        return error["type"] == "missing" and error["loc"][:1] and error["loc"][0] in missing

    sites, rows = [], []
    for i, row in enumerate(table.rows):
        data = {k: v for k, v in row.items() if v != "" and k in known}
        site = validate_model(Site, data, local, table.row_label(i), skip=said)
        if site is not None:
            sites.append(site.model_dump())
            rows.append((str(path), f"{table.row_label(i)} (site {site.id})"))
    problems.extend(local.problems)
    return sites, SiteRows(rows), bool(local.problems)


def load_scenario(path: Path | str) -> Scenario:
    """Load a scenario file, resolving ``extends`` and reading the sites file.

    Parameters
    ----------
    path : Path or str
        A scenario YAML file.

    Returns
    -------
    Scenario
        The validated scenario (not yet checked against a catalog; see
        :func:`check_against_catalog`).

    Raises
    ------
    InputError
        With every problem found: unknown keys, wrong types, bad site rows, broken
        inheritance.
    """
    path = Path(path)
    reach = Reach.of(path.parent)
    data, anchor = _resolve(path, (), reach)
    return _validate(data, anchor, path, reach)


def scenario_from_mapping(data: Mapping, base_dir: Path | str | None = None,
                          name: str = MAPPING_NAME) -> Scenario:
    """Check a scenario given as a mapping (what a scenario YAML file holds) without a file.

    The checks, and the problems they raise, are those of :func:`load_scenario`; problems
    name ``name`` where a file's would name the file.

    Parameters
    ----------
    data : Mapping
        The scenario as plain data: inline ``sites``, or a ``sites_file`` (and ``extends``)
        relative to ``base_dir``. It is not changed.
    base_dir : Path or str, optional
        The folder ``sites_file`` and ``extends`` are relative to, as a file's own folder
        is for the file. Without it, the mapping must be self-contained.
    name : str
        What problems call the scenario (a file name, or the default words).

    Returns
    -------
    Scenario
        The validated scenario (not yet checked against a catalog).

    Raises
    ------
    InputError
        With every problem found, as :func:`load_scenario` reports them.
    """
    if not isinstance(data, Mapping):
        raise InputError([InputProblem(name, "", "", type(data).__name__,
                                       "a mapping of keys to values at the top level")])
    if base_dir is None:
        problems = ProblemCollector(name)
        for key in ("extends", "sites_file"):
            if key in data:
                problems.add(key, key, data[key], "inline data: no folder was given to find "
                             "the file in (give base_dir, or put the sites inline)")
        problems.raise_if_any()
        path = Path(name)
    else:
        path = Path(base_dir) / name
    reach = Reach.of(path.parent)
    resolved, anchor = _resolve_data(data, path, (), reach)
    return _validate(resolved, anchor, name, reach)


def _validate(data: dict, anchor: Path, file: Path | str, reach: Reach) -> Scenario:
    """Validate a resolved scenario mapping; ``anchor``'s folder holds its sites file (inside
    ``reach``) and problems name ``file``."""
    problems = ProblemCollector(file)
    for key in data:
        if key not in SCENARIO_KEYS:
            problems.add("top level", key, key, "a scenario key: " + ", ".join(sorted(SCENARIO_KEYS)))
    if isinstance(data.get("sites"), list):
        _refuse_too_many(len(data["sites"]), file, "sites in its list")
    sites_file = data.pop("sites_file", None)
    sheet = data.pop("sites_sheet", 0)
    rows, unreadable = SiteRows(), False
    if sites_file is not None:
        if "sites" in data:
            problems.add("sites_file", "sites_file", sites_file, "either sites or sites_file, not both")
        sites_path = reach.file(sites_file, anchor.parent, anchor, "sites_file")
        data["sites"], rows, unreadable = _read_sites(sites_path, sheet, problems)
    scenario = validate_model(Scenario, {k: v for k, v in data.items() if k in SCENARIO_KEYS},
                              problems, "", locate=_inline_sites(data.get("sites")),
                              skip=(lambda error: error["loc"][:1] == ("sites",)) if unreadable else None)
    if scenario is not None:
        scenario._site_rows = rows
        _check_internal(scenario, problems)
    problems.raise_if_any()
    return scenario


def _refuse_too_many(count: int, file: Path | str, what: str) -> None:
    """Refuse more than MAX_SITES sites before any is checked, so a huge file fails at once."""
    if count > MAX_SITES:
        raise InputError([InputProblem(str(file), "sites", "sites", f"{count:,} {what}",
                                       f"at most {MAX_SITES:,} sites in one scenario; plan a larger "
                                       "district in parts (by region or school level)")])


def _inline_sites(sites: object):
    """The ``locate`` of :func:`validate_model` for a scenario: an error inside its inline
    site list is named ``site 2 (id HS-1)`` with the field, not ``sites.1.field``."""
    def locate(loc: tuple) -> tuple[str, tuple] | None:
        if len(loc) < 2 or loc[0] != "sites" or not isinstance(loc[1], int):
            return None
        item = sites[loc[1]] if isinstance(sites, list) and loc[1] < len(sites) else None
        return inline_site_label(loc[1], item.get("id") if isinstance(item, dict) else None), loc[2:]
    return locate


def _check_internal(s: Scenario, problems: ProblemCollector) -> None:
    seen: set[str] = set()
    for i, site in enumerate(s.sites):
        file, where = site_where(s, i, problems.file)
        if site.id in seen:
            problems.add(where, "id", site.id, "a site id used once", file=file)
        seen.add(site.id)
        for mid, year in site.installed.items():
            if mid not in site.in_place:
                problems.add(where, "installed", mid, "a measure listed in in_place", file=file)
            if not 1950 <= year <= s.horizon.start:
                problems.add(where, "installed", year,
                             f"a fiscal year from 1950 to the horizon's start ({s.horizon.start})", file=file)
    for mid, year in s.district_installed.items():
        if mid not in s.district_in_place:
            problems.add("district_installed", "installed", mid, "a measure listed in district_in_place")
        if not 1950 <= year <= s.horizon.start:
            problems.add("district_installed", "installed", year,
                         f"a fiscal year from 1950 to the horizon's start ({s.horizon.start})")
    years = s.horizon.fiscal_years
    for which in ("capital", "operating"):
        value = getattr(s.budget, which)
        for fy in value if isinstance(value, dict) else []:
            if fy not in years:
                problems.add(f"budget.{which}", str(fy), fy, f"a fiscal year of the horizon {years[0]}-{years[-1]}")
    for key, source in s.funding_sources.items():
        for attr in ("first_year", "last_year"):
            fy = getattr(source, attr)
            if fy is not None and not years[0] - 10 <= fy <= years[-1] + 10:
                problems.add(f"funding_sources.{key}", attr, fy, "a fiscal year near the horizon")
        if source.program is None and (source.level is None or source.eligible_categories is None):
            problems.add(f"funding_sources.{key}", "program", "", "a program id from the catalog, or "
                         "level and eligible_categories for a custom source")
    for layer, share in s.policy.layer_share.items():
        if share.min > share.max:
            problems.add(f"policy.layer_share.{layer}", "min", share.min, f"at most max ({share.max})")
