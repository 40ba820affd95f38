"""Greedy baseline: mandates and must items first, then the best value per dollar of total
cost of ownership, each in the earliest year it is affordable and allowed. Kept to measure
what the optimizer adds; its plan goes through the same verifier."""
from __future__ import annotations

import heapq
from collections import defaultdict

from optimizer.core.plan import LOCAL, Plan, make_plan
from optimizer.core.problem import Problem
from optimizer.core.projects import procured
from optimizer.core.risk import RiskLedger, protection_at


class _Ledger:
    """Money left per year and source while the greedy plan is built."""

    def __init__(self, p: Problem):
        self.p = p
        self.capital = dict(p.capital_budget)
        self.operating = dict(p.operating_budget)
        self.total = p.total_budget
        self.source = {s.id: ({t: s.amount for t in s.years} if s.per_year else {"all": s.amount})
                       for s in p.sources}
        self.by_id = {s.id: s for s in p.sources}
        cand = p.candidates
        self.item_capital, self.item_annual = cand["capital"].to_numpy(), cand["annual"].to_numpy()
        self.cap_class, self.op_class = cand["cap_class"].to_numpy(), cand["op_class"].to_numpy()

    def _left(self, src, t):
        return self.source[src.id][t if src.per_year else "all"]

    def _take(self, src, t, amount):
        self.source[src.id][t if src.per_year else "all"] -= amount

    def _local_capital(self, t) -> float:
        # With carry-over, unspent money of earlier years is still there (spend it first).
        left = self.capital[t]
        if self.p.carry_over:
            left += sum(self.capital[y] for y in self.p.years if y < t)
        return left if self.total is None else min(left, self.total)

    def try_pay(self, c: int, t: int, rows: list, procurement: float = 0.0) -> bool:
        """Pay candidate ``c`` installed in year ``t`` (and ``procurement``, the local operating
        money of procuring the project it opens); record funding rows; False if unaffordable."""
        cost, annual = float(self.item_capital[c]), float(self.item_annual[c])
        plan_rows, grant_use, local_cap = [], [], defaultdict(float)
        q = int(self.cap_class[c])
        for y in (self.p.purchases(c, t) if cost > 0 else ()):  # bought again as its life ends
            rest = cost
            for src_id in self.p.cap_classes[q]:
                src = self.by_id[src_id]
                # Items under a program's limit or its compliance-first rule are left to local
                # money here: the baseline stays simple and always keeps those rules.
                if y not in src.years or rest <= 0 or self.p.cap_tags[q][src_id]:
                    continue
                g = min(self._left(src, y) - self._pending(grant_use, src, y), rest / (1 + src.match_factor))
                if g <= 0.01:
                    continue
                match = g * src.match_factor
                grant_use.append((src, y, g))
                plan_rows += [(y, src_id, g, ""), (y, LOCAL, match, src_id)] if match > 0 else [(y, src_id, g, "")]
                rest -= g + match
                local_cap[y] += match
            local_cap[y] += max(rest, 0.0)
            if rest > 0:
                plan_rows.append((y, LOCAL, rest, ""))
        if not self._local_capital_fits(local_cap):
            return False
        annual_rows, op_use = [], defaultdict(float, {t: procurement})
        if procurement > self.operating[t] + 1e-6:
            return False
        for y in [y for y in self.p.years if y >= t]:
            need = annual
            r = int(self.op_class[c])
            for src_id in self.p.op_classes[r]:
                src = self.by_id[src_id]
                # Match is paid on capital only: grants that need a match skip recurring costs.
                if y not in src.years or need <= 0 or src.match_factor > 0 or self.p.op_tags[r][src_id]:
                    continue
                g = min(self._left(src, y) - self._pending(grant_use, src, y), need)
                if g > 0.01:
                    grant_use.append((src, y, g))
                    annual_rows.append((y, src_id, g))
                    need -= g
            if need > 0:
                if need > self.operating[y] - op_use[y] + 1e-6:
                    return False
                op_use[y] += need
                annual_rows.append((y, LOCAL, need))
        # Commit.
        for y, amount in sorted(local_cap.items()):
            self._spend_local_capital(y, amount)
        for y, amount in op_use.items():
            self.operating[y] -= amount
        for src, y, g in grant_use:
            self._take(src, y, g)
        rows += [(c, y, "capital", src, a, mf) for y, src, a, mf in plan_rows if a > 0.005]
        rows += [(c, y, "annual", src, a, "") for y, src, a in annual_rows if a > 0.005]
        return True

    @staticmethod
    def _pending(grant_use: list, src, year) -> float:
        """Grant money of ``src`` this item already takes in ``year`` (its award period)."""
        return sum(a for s2, y2, a in grant_use if s2 is src and (not src.per_year or y2 == year))

    def _local_capital_fits(self, amounts: dict[int, float]) -> bool:
        """Whether local capital can pay ``amounts`` (year -> dollars), each year in turn."""
        saved = dict(self.capital), self.total
        try:
            for y, amount in sorted(amounts.items()):
                if amount > self._local_capital(y) + 1e-6:
                    return False
                self._spend_local_capital(y, amount)
            return True
        finally:
            self.capital, self.total = saved

    def _spend_local_capital(self, t, amount):
        if self.total is not None:
            self.total -= amount
        years = [y for y in self.p.years if y <= t] if self.p.carry_over else [t]
        for y in years:
            used = min(self.capital[y], amount)
            self.capital[y] -= used
            amount -= used


def greedy_plan(problem: Problem, seed: list[tuple[int, int]] | None = None) -> Plan:
    """Build the greedy baseline plan of a problem.

    Parameters
    ----------
    problem : Problem
        The problem to plan.
    seed : list of (candidate row, year), optional
        Items to try first, in order, each from the given year on (for example a rounded LP
        solution); the value-per-dollar loop then fills what money is left.

    Returns
    -------
    Plan
        Not guaranteed to keep every rule (it can miss a mandate it cannot afford); check it
        with :func:`~optimizer.core.verify.verify`.
    """
    p, cand = problem, problem.candidates
    years = p.years
    ledger = _Ledger(p)
    installs: dict[int, int] = {}
    rows: list = []
    needs = defaultdict(list)
    dependants = defaultdict(set)
    for c, options in p.prerequisites + p.tier_links:
        needs[c].append(options)
        for o in options:
            dependants[o].add(c)
    alt_room = {}
    alt_of = defaultdict(list)
    for i, (members, room) in enumerate(p.alternatives):
        alt_room[i] = room
        for c in members:
            alt_of[c].append(i)
    forbidden = cand["forbidden"].tolist()
    replace_from = cand["not_before"].tolist()
    assessment = cand["assessment"].tolist()
    tco = (cand["capital"] + cand["annual"] * len(years)).tolist()

    project_of, bought = cand["project"].to_numpy(), procured(p)
    opened: set[tuple[str, int]] = set()  # projects (key, year), see core.projects
    procuring: set[tuple[str, int]] = set()  # those that buy from vendors

    def earliest(c) -> int | None:
        if forbidden[c] or c in installs or any(alt_room[i] < 1 for i in alt_of[c]):
            return None
        start = max(years[0], int(replace_from[c]))
        if start > years[-1]:
            return None
        for options in needs[c]:
            ready = [installs[o] for o in options if o in installs]
            if not ready:
                return None
            start = max(start, min(ready))
        return start

    def add(c, not_before: int | None = None) -> bool:
        t0 = earliest(c)
        if t0 is None:
            return False
        tried = [y for y in years if y >= max(t0, not_before or t0)]
        if assessment[c]:  # in the first year it can be, or not at all
            tried = [t for t in tried[:1] if t == max(years[0], int(replace_from[c]))]
        for t in tried:
            project = project_of[c], t
            if p.max_projects is not None and project not in opened and len(opened) >= p.max_projects:
                continue
            opening = p.project_cost if bought[c] and project not in procuring else 0.0
            if ledger.try_pay(c, t, rows, opening):
                installs[c] = t
                opened.add(project)
                if bought[c]:
                    procuring.add(project)
                for i in alt_of[c]:
                    alt_room[i] -= 1
                return True
        return False

    # Mandates and musts first, cheapest option at each place (prerequisites before).
    def add_with_prerequisites(c, depth=0) -> bool:
        for options in needs[c]:
            if not any(o in installs for o in options) and options and depth < 5:
                best = min(options, key=lambda o: tco[o])
                add_with_prerequisites(best, depth + 1)
        return add(c)

    for c in p.musts:
        add_with_prerequisites(c)
    for rule in p.mandates:
        for _, _, options in rule.requirements():
            if options and not any(o in installs for o in options):
                add_with_prerequisites(min(options, key=lambda o: tco[o]))

    for c, year in seed or []:
        if c not in installs:
            add(c, year)

    # Value per dollar with lazy re-evaluation (gains only shrink as protection grows), read
    # after ageing measures end, so replacements look worth it.
    risk = RiskLedger(p, {})
    members = defaultdict(list)
    for cell, c, e in p.cell_members[["cell", "candidate", "ell"]].itertuples(index=False):
        members[int(c)].append((int(cell), float(e)))
    last = len(p.years) - 1  # the horizon's last year
    # Python lists, not numpy arrays: gain() reads them one cell at a time, thousands of times
    cap, group_of, weight = risk.cap.tolist(), risk.cell_group.tolist(), risk.weight.tolist()
    cell_sum = risk.sums[:, last].tolist()
    level = risk.levels()[:, last].tolist()

    def gain(c) -> float:
        step = defaultdict(float)
        for cell, e in members[c]:
            step[group_of[cell]] += min(cell_sum[cell] + e, cap[cell]) - min(cell_sum[cell], cap[cell])
        return sum(weight[g] * (protection_at(level[g] + d) - protection_at(level[g])) for g, d in step.items())

    def take(c) -> None:
        for cell, e in members[c]:
            level[group_of[cell]] += min(cell_sum[cell] + e, cap[cell]) - min(cell_sum[cell], cap[cell])
            cell_sum[cell] += e

    for c in installs:
        take(c)
    heap = [(-gain(c) / max(tco[c], 1.0), c) for c in range(len(cand)) if c not in installs]
    heapq.heapify(heap)
    counted = len(p.years) + p.time.total_after  # the years an item protects: the horizon and those after it
    while heap:
        _, c = heapq.heappop(heap)
        if c in installs:
            continue
        ratio = gain(c) / max(tco[c], 1.0)
        if ratio <= 0 or ratio * counted * 1000 < p.least_value_per_1000 * len(p.years):
            continue  # a start: items the price holds out may still come in on grant money
        if heap and ratio < -heap[0][0] - 1e-15:
            heapq.heappush(heap, (-ratio, c))
            continue
        if add(c):
            take(c)
            for d in sorted(dependants[c]):
                if d not in installs:
                    heapq.heappush(heap, (-gain(d) / max(tco[d], 1.0), d))
    # Class-level money, split over the items in whole cents as for a solved plan.
    grants: dict = defaultdict(float)
    matches: dict = defaultdict(float)
    for c, t, kind, src, amount, match_for in rows:
        q = int((ledger.cap_class if kind == "capital" else ledger.op_class)[c])
        if src != LOCAL:
            grants[kind, src, q, t] += amount
        elif match_for:
            matches[match_for, q, t] += amount
    return make_plan(p, installs, dict(grants), dict(matches))
