"""Seeded generator of realistic district inventories, for the large example district and
for benchmarks. Sizes follow US public school norms (NCES): elementary schools of about
300-700 students, high schools of about 900-2,400."""
from __future__ import annotations

import random

from optimizer.data.catalog import Catalog
from optimizer.data.scenario import Scenario, Site

# level: (share of schools, enrollment range, students per classroom, students per staff)
_LEVELS = {
    "elementary": (0.58, (260, 720), 21, 12.5),
    "middle": (0.2, (450, 1150), 24, 13.5),
    "high": (0.16, (800, 2400), 25, 14.5),
    "alternative": (0.06, (60, 260), 12, 8.0),
}
_PREFIX = {"elementary": "ES", "middle": "MS", "high": "HS", "alternative": "ALT"}
_NAMES = ["Lincoln", "Washington", "Jefferson", "Roosevelt", "Franklin", "Madison", "Jackson",
          "Kennedy", "King", "Douglass", "Tubman", "Carver", "Edison", "Hamilton", "Adams",
          "Monroe", "Garfield", "Grant", "Hayes", "Lowell", "Whitman", "Emerson", "Thoreau",
          "Parks", "Chavez", "Mann", "Dewey", "Sequoyah", "Riverside", "Lakeview", "Hillcrest",
          "Oakwood", "Maplewood", "Cedar", "Pine Ridge", "Westside", "Eastside", "Northgate",
          "Southfield", "Meadowbrook", "Brookside", "Fairview", "Highland", "Valley"]


def generate_sites(count: int, seed: int, catalog: Catalog | None = None,
                   in_place_rate: float = 0.35) -> list[Site]:
    """Generate ``count`` sites with inventories and existing measures.

    Parameters
    ----------
    count : int
        Number of schools.
    seed : int
        Seed of the random generator; the same seed gives the same district.
    catalog : Catalog, optional
        When given, each site already has some site-scope tier-1 measures (each with
        probability ``in_place_rate``) and, where those are in place, a few tier-2 ones.
    in_place_rate : float
        Probability that a given tier-1 measure is already in place at a site.
    """
    rng = random.Random(seed)
    levels = list(_LEVELS)
    weights = [_LEVELS[lv][0] for lv in levels]
    tier1 = tier2 = []
    if catalog is not None:
        usable = [m for m in catalog.measures.values()
                  if m.scope == "site" and not m.discouraged and not m.alternative_group]
        tier1 = [m for m in usable if m.tier == 1 and not m.prerequisites]
        tier2 = [m for m in usable if m.tier == 2]
    sites = []
    for i in range(count):
        level = rng.choices(levels, weights)[0]
        _, (lo, hi), per_room, per_staff = _LEVELS[level]
        enrollment = rng.randint(lo, hi)
        classrooms = max(4, round(enrollment / per_room * rng.uniform(0.9, 1.15)))
        size = enrollment / 500
        in_place = [m.id for m in tier1 if rng.random() < in_place_rate]
        in_place += [m.id for m in tier2 if rng.random() < in_place_rate / 3
                     and all(any(o in in_place for o in options) for options in m.prerequisite_options)]
        name = _NAMES[i % len(_NAMES)] + ("" if i < len(_NAMES) else f" {i // len(_NAMES) + 1}")
        sites.append(Site(
            id=f"{_PREFIX[level]}-{i + 1:04d}",
            name=f"{name} {level.title() if level != 'alternative' else 'Alternative'} School",
            level=level,
            enrollment=enrollment,
            staff=max(8, round(enrollment / per_staff)),
            exterior_doors=max(4, round(6 + 6 * size * rng.uniform(0.8, 1.4))),
            entrances=1 if enrollment < 700 else rng.choice([1, 2, 2, 3]),
            classrooms=classrooms,
            camera_positions=max(6, round(8 + enrollment / 45 * rng.uniform(0.8, 1.3))),
            risk_weight=round(rng.choice([0.8, 1.0, 1.0, 1.0, 1.2, 1.5]), 2),
            in_place=in_place,
        ))
    return sites


#: Benchmark sizes: (schools, fiscal years, funding sources).
SIZES = {"S": (3, 3, 1), "M": (15, 5, 3), "L": (120, 5, 3), "XL": (1000, 3, 3)}

_SOURCES = [
    ("svpp", {"program": "cops-svpp", "amount": 500000}),
    ("state", {"program": "pa-pccd-competitive", "amount": 450000}),
    ("title-iv-a", {"program": "ed-title-iv-a", "amount": 60000, "amount_per": "year"}),
]


def generate_scenario(size: str, catalog: Catalog, seed: int = 7) -> Scenario:
    """A realistic district of a benchmark size (``S``, ``M``, ``L`` or ``XL``).

    Budgets scale with enrollment (about $45 of local capital and $20 of operating money per
    student a year); funding awards scale with the number of schools up to their caps.
    """
    schools, years, n_sources = SIZES[size]
    sites = generate_sites(schools, seed, catalog)
    students = sum(s.enrollment for s in sites)
    scale = min(1.0, schools / 15)
    sources = {key: dict(spec, amount=round(spec["amount"] * max(scale, 0.2) * (1 + schools // 60)))
               for key, spec in _SOURCES[:n_sources]}
    return Scenario.model_validate({
        "name": f"synthetic {size}: {schools} schools, {years} years, {n_sources} funding sources",
        "horizon": {"start": 2027, "years": years},
        "sites": [s.model_dump() for s in sites],
        "district_in_place": ["dst-pol-emergency-operations-plan"],
        "budget": {"capital": round(45 * students, -3), "operating": round(20 * students, -3), "carry_over": True},
        "funding_sources": sources,
    })
