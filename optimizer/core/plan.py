"""A plan: what is installed where and when, and who pays each dollar. Read from a solved
model (or built by the greedy baseline); independent of PuLP once built."""
from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Sequence
from functools import cached_property

import numpy as np
import pandas as pd

from optimizer.core.problem import Problem, plain_text
from optimizer.core.projects import projects_table

LOCAL = "local"
ITEM_COLUMNS = ["measure_id", "site_id", "year", "quantity", "unit", "capital_cost", "annual_cost",
                "layer", "component", "tier", "name", "budget_category", "renewed_in"]
FUNDING_COLUMNS = ["measure_id", "site_id", "year", "kind", "source", "amount", "match_for"]
EPS_CENTS = 0.01  # a hundredth of a cent: below it, a solver's value is float noise, not money
NOISE_CENTS = 100  # a source over an award or limit by less than a dollar is solver tolerance


def match_needed(factor: float, grant_cents: int) -> int:
    """Cents of local match a grant of ``grant_cents`` asks for at ``factor`` (local dollars per
    grant dollar): money is paid in whole cents, so the need is rounded down to one. The one
    rule the plan's split and the verifier both apply."""
    return math.floor(factor * grant_cents + 1e-6)


class Plan:
    """Installations and their funding.

    Attributes
    ----------
    installs : dict of int to int
        Candidate row -> fiscal year of installation.
    items : DataFrame
        One row per measure x site x year installed (``ITEM_COLUMNS``).
    funding : DataFrame
        Dollars by item, fiscal year, kind (``capital`` once, ``annual`` every year in place)
        and source (``local`` for the district's own money); ``match_for`` names the grant a
        local dollar matches.
    projects : DataFrame
        One row per project (a PASS component's purchases, or an award's project, in one
        fiscal year, see :mod:`optimizer.core.projects`) with the local operating money its
        procurement costs; the items are its drill-down.

    A plan made from a solve (:func:`make_plan`) draws up each table when it is first read: a
    search compares several plans by their objective and keeps one.
    """

    def __init__(self, installs: dict[int, int], items: pd.DataFrame, funding: pd.DataFrame,
                 projects: pd.DataFrame):
        self.installs = installs
        vars(self).update(items=items, funding=funding, projects=projects)  # given: never drawn up below

    @classmethod
    def drawn_up(cls, problem: Problem, installs: dict[int, int], grants: dict[tuple[str, str, int, int], float],
                 matches: dict[tuple[str, int, int], float]) -> Plan:
        """The plan of ``installs`` paid by class-level ``grants`` and ``matches`` (see
        :func:`split_funding`), its tables drawn up when first read."""
        plan = cls.__new__(cls)
        plan.installs, plan._money = dict(installs), (problem, dict(grants), dict(matches))
        return plan

    @cached_property
    def items(self) -> pd.DataFrame:
        return plain_text(items_table(self._money[0], self.installs))

    @cached_property
    def funding(self) -> pd.DataFrame:
        problem, grants, matches = self._money
        return plain_text(split_funding(problem, self.installs, grants, matches))

    @cached_property
    def projects(self) -> pd.DataFrame:
        return plain_text(projects_table(self._money[0], self.installs))

    @property
    def procurement(self) -> float:
        """Local operating money spent on procuring the plan's projects, over the horizon."""
        return float(self.projects["procurement"].sum())


def items_table(problem: Problem, installs: dict[int, int]) -> pd.DataFrame:
    """One row per installed item, in install order: its capital over the horizon (bought
    again in each year of ``renewed_in``, as its useful life ends) and its recurring cost."""
    order = sorted(installs, key=lambda c: (installs[c], c))
    chosen = problem.candidates.iloc[order]
    bought = [problem.purchases(c, installs[c]) for c in order]
    items = pd.DataFrame({
        "measure_id": chosen["measure_id"].to_numpy(), "site_id": chosen["site_id"].to_numpy(),
        "year": [installs[c] for c in order], "quantity": chosen["quantity"].astype(int).to_numpy(),
        "unit": chosen["unit"].to_numpy(),
        "capital_cost": chosen["capital"].astype(float).to_numpy() * [len(years) for years in bought],
        "annual_cost": chosen["annual"].astype(float).to_numpy(),
        "layer": chosen["layer"].to_numpy(), "component": chosen["component"].to_numpy(),
        "tier": chosen["tier"].astype(int).to_numpy(), "name": chosen["name"].to_numpy(),
        "budget_category": chosen["budget_category"].to_numpy(),
        "renewed_in": [", ".join(str(t) for t in years[1:]) if capital else ""
                       for years, capital in zip(bought, chosen["capital"])],
    })
    return items[ITEM_COLUMNS]


def apportion(total: int, weights: Sequence[int], caps: Sequence[int] | None = None) -> list[int]:
    """Split ``total`` cents over items in proportion to ``weights``, in whole cents, by
    largest remainders: each item first gets the whole cents of its exact share, then the
    cents left over go one each to the largest fractional parts. No item gets more than its
    cap (when ``caps`` is given); what a capped item cannot take goes to the others the same
    way. Integer arithmetic throughout, so the shares always add up to ``total`` exactly.

    Raises
    ------
    ValueError
        When ``total`` is negative or more than the items with a weight can take.
    """
    n = len(weights)
    room: list[int | None] = [None] * n if caps is None else [max(int(c), 0) for c in caps]
    weighted = [i for i in range(n) if weights[i] > 0]
    if total < 0 or (total and not weighted) or (
            caps is not None and total > sum(room[i] for i in weighted)):
        raise ValueError(f"cannot apportion {total} cents over weights {list(weights)[:10]} "
                         f"with caps {None if caps is None else list(caps)[:10]}")
    shares = [0] * n
    left = total
    while left > 0:
        live = [i for i in weighted if room[i] is None or room[i] > 0]
        weight = sum(weights[i] for i in live)
        got, remainder = {}, {}
        for i in live:
            got[i], remainder[i] = divmod(left * weights[i], weight)
            if room[i] is not None:
                got[i] = min(got[i], room[i])
        extra = left - sum(got.values())
        for i in sorted(live, key=lambda i: (-remainder[i], i)):
            if extra == 0:
                break
            if room[i] is None or got[i] < room[i]:
                got[i] += 1
                extra -= 1
        for i in live:
            shares[i] += got[i]
            if room[i] is not None:
                room[i] -= got[i]
        left = extra  # only when caps cut shares short: those items are full now
    return shares


def _grant_cents(problem: Problem, grants: dict, class_total: dict) -> dict:
    """Class-level grant dollars as whole cents: each rounded down, then cents handed back,
    one at a time to the largest fractions, to bring each year's grant total back to the
    solver's rounded down (over the years so far too, for capital, whose budget can carry
    over), never past an award, a program limit, what a class of items costs, or, for a
    source that needs a local match, its own total rounded down."""
    exact = {}
    by_class = defaultdict(list)
    for key, amount in grants.items():
        if amount > 0:
            by_class[key[0], key[2], key[3]].append(key)
    for (kind, q, t), keys in by_class.items():
        room = class_total.get((kind, q, t), 0)
        if room <= 0:
            continue  # no item of the class is in the plan
        granted = sum(grants[k] for k in keys) * 100
        # Solver tolerances can leave grants a hair above what the items cost: never pay more.
        scale = min(1.0, room / granted)
        for k in keys:
            exact[k] = grants[k] * 100 * scale
    cents = {k: max(math.floor(x + EPS_CENTS), 0) for k, x in exact.items()}

    caps: list[tuple[list, int, bool]] = []  # (keys, most cents, trim whatever the excess)
    in_class = defaultdict(list)
    for k in exact:
        in_class[k[0], k[2], k[3]].append(k)
    caps += [(keys, class_total[cls], True) for cls, keys in in_class.items()]
    tags = {"capital": problem.cap_tags, "annual": problem.op_tags}
    for src in problem.sources:
        mine = [k for k in exact if k[1] == src.id]
        for _label, years in src.spans:
            span = [k for k in mine if k[3] in years]
            caps.append((span, math.floor(src.amount * 100 + EPS_CENTS), False))
            for lim in src.limits:
                caps.append(([k for k in span if lim.id in tags[k[0]].get(k[2], {}).get(src.id, ())],
                             math.floor(lim.share * src.amount * 100 + EPS_CENTS), False))
        if src.match_factor > 0:
            caps.append((mine, math.floor(sum(exact[k] for k in mine) + EPS_CENTS), True))
    used = []
    for keys, most, always in caps:
        total = sum(cents[k] for k in keys)
        if total > most and (always or total - most <= NOISE_CENTS):
            # Solver tolerance: take the cents back from the largest amounts. A bigger excess
            # is a broken plan, left for the verifier to reject.
            order = sorted(keys, key=lambda k: (-cents[k], k))
            while total > most:
                for k in order:
                    if total > most and cents[k] > 0:
                        cents[k] -= 1
                        total -= 1
        used.append(total)
    caps_of = defaultdict(list)
    for i, (keys, _, _) in enumerate(caps):
        for k in keys:
            caps_of[k].append(i)

    for kind in ("capital", "annual"):
        paid = 0
        solver = 0.0
        for t in problem.years:
            keys = [k for k in exact if k[0] == kind and k[3] == t]
            year = sum(exact[k] for k in keys)
            solver += year
            target = math.floor(year + EPS_CENTS)
            if kind == "capital":
                target = max(target, math.floor(solver + EPS_CENTS) - paid)
            short = target - sum(cents[k] for k in keys)
            for k in sorted(keys, key=lambda k: (cents[k] - exact[k], k)):
                if short <= 0 or cents[k] >= exact[k] - EPS_CENTS:
                    break
                if all(used[i] < caps[i][1] for i in caps_of[k]):
                    cents[k] += 1
                    short -= 1
                    for i in caps_of[k]:
                        used[i] += 1
            paid += sum(cents[k] for k in keys)
    return {k: c for k, c in cents.items() if c > 0}


def _match_cents(problem: Problem, matches: dict, granted: dict, local: dict) -> dict:
    """Local capital dollars counted as each source's match, in whole cents: the solver's
    amounts rounded down, then single cents added along augmenting paths (moving other
    sources' match between classes when that frees room) until each source's match reaches
    its need (its rate times its grant cents) rounded down to the cent, even where the
    solver, within its tolerance, counted a few cents less (then from the local money of any
    class of items the source may pay for in its years, if the solver's own classes have no
    cent left); then, where local money is left, up to the solver's amounts rounded up. Never
    more than the local money of a class of items."""
    room = dict(local)
    exact = {k: a * 100 for k, a in matches.items() if a > 0 and room.get(k[1:], 0) > 0}
    for src in problem.sources:
        if src.match_factor > 0:
            for (q, t), left in local.items():
                if left > 0 and t in src.years and src.id in problem.cap_classes.get(q, ()):
                    exact.setdefault((src.id, q, t), 0.0)
    cents = {}
    for k in sorted(exact):
        cents[k] = min(max(math.floor(exact[k] + EPS_CENTS), 0), room[k[1:]])
        room[k[1:]] -= cents[k]
    factor = {s.id: s.match_factor for s in problem.sources}
    grant = defaultdict(int)
    for (_kind, src, _q, _t), c in granted.items():
        grant[src] += c
    classes_of = defaultdict(list)
    for src, q, t in sorted(exact):
        classes_of[src].append((q, t))
    sources_in = defaultdict(list)
    for src, q, t in sorted(exact):
        sources_in[q, t].append(src)
    for src in sorted(classes_of):
        need = match_needed(factor.get(src, 0.0), grant[src])
        short = need - sum(cents[(src, *c)] for c in classes_of[src])
        while short > 0 and _free_cent(src, classes_of, sources_in, cents, room):
            short -= 1  # stops when no class the source may pay has a local cent left (the verifier says so)
    for k in sorted(exact, key=lambda k: (cents[k] - exact[k], k)):
        if room[k[1:]] > 0 and cents[k] < exact[k] - EPS_CENTS:
            cents[k] += 1
            room[k[1:]] -= 1
    return {k: c for k, c in cents.items() if c > 0}


#: Rounds of moving grant cents to local money for a match (each closes most of what is short).
MATCH_ROUNDS = 8


def _matched(problem: Problem, granted: dict, matches: dict, class_total: dict) -> tuple[dict, dict]:
    """Grant cents and the local match counted for them (:func:`_match_cents`). Where a
    source's grant leaves too little local money in the items it may pay to count its match
    (the solver, within its tolerance, let the grant pay a few cents more than its share),
    cents of that grant move to local money, largest amounts first: each cent moved lowers
    the need by the match rate and frees a local cent, so a few rounds settle it. A shortfall
    over ``NOISE_CENTS`` is no tolerance: the plan is left as it is, for the verifier."""
    granted = dict(granted)
    factor = {s.id: s.match_factor for s in problem.sources}
    for _ in range(MATCH_ROUNDS):
        paid = defaultdict(int)
        for (kind, _src, q, t), c in granted.items():
            if kind == "capital":
                paid[q, t] += c
        local_left = {(q, t): total - paid[q, t] for (kind, q, t), total in class_total.items() if kind == "capital"}
        counted = _match_cents(problem, matches, granted, local_left)
        grant, match = defaultdict(int), defaultdict(int)
        for (_kind, src, _q, _t), c in granted.items():
            grant[src] += c
        for (src, _q, _t), c in counted.items():
            match[src] += c
        lacking = {src: match_needed(f, grant[src]) - match[src] for src, f in factor.items() if f > 0}
        # solver tolerance is cents; a larger shortfall is a broken plan, left for the verifier to reject
        short = {src: math.ceil(cents / (1 + factor[src])) for src, cents in lacking.items() if 0 < cents <= NOISE_CENTS}
        if not short:
            return granted, counted
        for src, move in short.items():
            for key in sorted((k for k in granted if k[1] == src and k[0] == "capital"), key=lambda k: (-granted[k], k)):
                taken = min(move, granted[key])
                granted[key] -= taken
                move -= taken
                if not move:
                    break
        granted = {k: c for k, c in granted.items() if c > 0}
    return granted, counted  # still short: the verifier names the source and the cents


def _free_cent(src, classes_of, sources_in, cents, room) -> bool:
    """Count one more cent of local money as ``src``'s match, along a shortest path: into a
    class with local money left, or into a class where another source's match cent moves on
    to another class of that source, and so on. False when there is no such path."""
    reached_from: dict = {}  # class -> the source that would put a cent in it
    moves_out_of: dict = {}  # source -> the class it would move a cent out of
    queue, seen = deque([src]), {src}
    while queue:
        s = queue.popleft()
        for c in classes_of[s]:
            if c in reached_from:
                continue
            reached_from[c] = s
            if room[c] > 0:
                room[c] -= 1
                while True:
                    s = reached_from[c]
                    cents[(s, *c)] += 1
                    if s == src:
                        return True
                    c = moves_out_of[s]
                    cents[(s, *c)] -= 1
            for other in sources_in[c]:
                if other not in seen and cents[(other, *c)] > 0:
                    seen.add(other)
                    moves_out_of[other] = c
                    queue.append(other)
    return False


def split_funding(problem: Problem, installs: dict[int, int],
                  grants: dict[tuple[str, str, int, int], float],
                  matches: dict[tuple[str, int, int], float]) -> pd.DataFrame:
    """Attribute class-level money to items, in proportion to each item's cost, in whole cents.

    Every item's rows add up to its cost exactly, and no source pays a cent more than its
    award (each year, for an annual allocation) or a program limit: the class amounts are
    rounded down to cents (see :func:`_grant_cents`) and shared over the items of the class
    by largest remainders (:func:`apportion`).

    Parameters
    ----------
    problem : Problem
        The problem the plan belongs to.
    installs : dict
        Candidate row -> install year.
    grants : dict
        (kind, source, class, year) -> dollars paid by that source on that class of items.
    matches : dict
        (source, class, year) -> local capital dollars counted as that source's match.
    """
    cand = problem.candidates
    cost = {kind: np.rint(cand[kind].to_numpy(dtype=float) * 100).astype(np.int64).tolist()
            for kind in ("capital", "annual")}  # whole cents, as Python integers
    cap_cls, op_cls = cand["cap_class"].to_numpy(), cand["op_class"].to_numpy()
    measure, site = cand["measure_id"].tolist(), cand["site_id"].tolist()
    members = defaultdict(list)
    for c, year in installs.items():
        if cost["capital"][c] > 0:
            for t in problem.purchases(c, year):
                members["capital", int(cap_cls[c]), t].append(c)
        if cost["annual"][c] > 0:
            for t in problem.years:
                if t >= year:
                    members["annual", int(op_cls[c]), t].append(c)
    class_total = {key: sum(cost[key[0]][c] for c in items) for key, items in members.items()}
    granted = _grant_cents(problem, grants, class_total)
    granted, counted = _matched(problem, granted, matches, class_total)
    grant_by = defaultdict(list)
    for (kind, src, q, t), cents in sorted(granted.items()):
        grant_by[kind, q, t].append((src, cents))
    match_by = defaultdict(list)
    for (src, q, t), cents in sorted(counted.items()):
        match_by[q, t].append((src, cents))
    rows = []
    for (kind, q, t), items in sorted(members.items()):
        ordered = sorted(items)
        room = [cost[kind][c] for c in ordered]
        weights = list(room)
        paid = []
        for src, cents in grant_by.get((kind, q, t), []):
            shares = apportion(cents, weights, room)
            room = [r - s for r, s in zip(room, shares)]
            paid.append((src, shares))
        matched = []
        if kind == "capital":
            local = list(room)
            for src, cents in match_by.get((q, t), []):
                shares = apportion(cents, local, room)
                room = [r - s for r, s in zip(room, shares)]
                matched.append((src, shares))
        for i, c in enumerate(ordered):
            for src, shares in paid:
                if shares[i]:
                    rows.append((measure[c], site[c], t, kind, src, shares[i] / 100, ""))
            for src, shares in matched:
                if shares[i]:
                    rows.append((measure[c], site[c], t, kind, LOCAL, shares[i] / 100, src))
            if room[i]:
                rows.append((measure[c], site[c], t, kind, LOCAL, room[i] / 100, ""))
    return pd.DataFrame(rows, columns=FUNDING_COLUMNS)


def make_plan(problem: Problem, installs: dict[int, int],
              grants: dict[tuple[str, str, int, int], float],
              matches: dict[tuple[str, int, int], float]) -> Plan:
    """Assemble a Plan from installations and class-level funding (its tables drawn up when
    first read)."""
    return Plan.drawn_up(problem, installs, grants, matches)
