"""The PuLP model, built only from a :class:`~optimizer.core.problem.Problem` by a fixed sequence
of small ``define_*`` functions: variables, then one function per rule, then the objective.

Money is in thousands of dollars inside the model (better scaled for the solver). Decisions
are cumulative: ``y[c][t] = 1`` when candidate ``c`` is in place by fiscal year ``t``; it is
installed in the first year where ``y`` is 1.
"""
from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from itertools import combinations
from pathlib import Path

import numpy as np
import pulp

from optimizer.core.highs_runner import variables_of
from optimizer.core.problem import (
    AFTER_COMPLIANCE,
    Problem,
)
from optimizer.core.projects import procured
from optimizer.core.risk import in_place_levels, protection_pieces
from optimizer.safe_write import replacing

K = 1000.0  # dollars per model money unit
#: The objective of the least local capital over the horizon that keeps every rule (see
#: ``define_capital_budget``): budgets below it have no plan.
LEAST_CAPITAL = "least_local_capital"


def _row(name: str) -> tuple[str, tuple[str, ...]]:
    """A row name's rule and keys: ``mandate[tx-x,HS-1,2028]`` -> ("mandate", ("tx-x", "HS-1", "2028"))."""
    rule, _, inside = name.partition("[")
    return rule, tuple(inside[:-1].split(",")) if inside else ()


@dataclass(frozen=True)
class Slack:
    """How far one row bent in an elastic solve (the infeasibility diagnosis).

    Attributes
    ----------
    rule : str
        The rule family, e.g. ``capital_budget``.
    name : str
        The row's name, e.g. ``capital_budget[2027]``.
    keys : tuple of str
        What the row is about, e.g. ``("2027",)`` or ``("tx-x", "HS-1", "2028")``.
    amount : float
        The slack: model money units (thousands of dollars) or a count.
    """

    rule: str
    name: str
    keys: tuple[str, ...]
    amount: float


@dataclass
class Model:
    """A built PuLP model and the variables the plan is read from."""

    problem: Problem
    prob: pulp.LpProblem
    y: list[list[pulp.LpVariable]]
    fcap: dict[tuple[str, int, int], pulp.LpVariable]
    fop: dict[tuple[str, int, int], pulp.LpVariable]
    match: dict[tuple[str, int, int], pulp.LpVariable]
    carry: dict[int, pulp.LpVariable]
    tier1: dict[tuple[str, str], pulp.LpVariable] = field(default_factory=dict)
    objective_kind: str = "risk_reduction"
    build_seconds: float = 0.0
    elastic: frozenset[str] = frozenset()
    slack: dict[str, pulp.LpVariable] = field(default_factory=dict)
    local_money: dict[str, dict] = field(default_factory=dict)
    projects: dict[str, dict] = field(default_factory=dict)  # project flags, see _project_flags
    budget_rows: dict[int | str, pulp.LpConstraint] = field(default_factory=dict)
    upkeep: dict[str, pulp.LpVariable] = field(default_factory=dict)  # see define_upkeep_share
    least_capital: pulp.LpVariable | None = None  # for LEAST_CAPITAL: local capital over the horizon, in k$

    def add(self, lhs: pulp.LpAffineExpression, sense: int, rhs: float, name: str) -> pulp.LpConstraint:
        """Add a named constraint and return it; for an elastic rule family, with a
        penalised slack that the infeasibility diagnosis reads."""
        if self.elastic and _row(name)[0] in self.elastic and sense != pulp.LpConstraintEQ:
            slack = self.prob.add_variable(f"slack_{name}", 0)
            self.slack[name] = slack
            lhs = lhs + (-1 if sense == pulp.LpConstraintLE else 1) * slack
        constraint = pulp.LpConstraint(lhs, sense, name=name, rhs=rhs)
        self.prob.addConstraint(constraint)
        return constraint

    def variables(self) -> list[pulp.LpVariable]:
        """Every variable of the model, collected once until a row is added
        (``highs_runner.variables_of``)."""
        return variables_of(self.prob)

    def set_capital_budget(self, per_year: dict[int, float], total: float | None) -> None:
        """Change the local capital budgets of the built model (and of its Problem, which
        the verifier reads) without rebuilding it: the frontier and the budget searches
        re-solve the same model at many budgets."""
        self.problem = replace(self.problem, capital_budget=dict(per_year),
                               total_budget=total if self.problem.total_budget is not None else None)
        for t, row in self.budget_rows.items():
            amount = self.problem.total_budget if t == "total" else per_year[t]
            row.constant = -amount / K


    def second_phase(self, reached: int) -> None:
        """The second phase of ``tier1_first``: keep the ``reached`` site-layer pairs at tier 1
        that the first phase found, and maximise risk reduction."""
        self.add(_terms([(z, 1) for z in self.tier1.values()]), pulp.LpConstraintGE, reached, "tier1_first_phase")
        define_objective(self, "risk_reduction")

    def minimise_slack(self, weights: dict[str, float]) -> None:
        """Make the objective the least weighted slack of the elastic rows (a rule family
        missing from ``weights`` weighs 1)."""
        self.prob.sense = pulp.LpMinimize
        self.prob.setObjective(_terms([(var, weights.get(_row(name)[0], 1.0)) for name, var in self.slack.items()]))

    def slack_used(self, rules: tuple[str, ...] | None = None, tolerance: float = 1e-6) -> list[Slack]:
        """The rows that bent after an elastic solve (of the rule families ``rules``, when given)."""
        out = []
        for name, var in self.slack.items():
            rule, keys = _row(name)
            amount = var.value() or 0.0
            if amount > tolerance and (rules is None or rule in rules):
                out.append(Slack(rule, name, keys, amount))
        return out

    def add_value_floor(self, value: float, name: str = "value_floor") -> pulp.LpConstraint:
        """Keep the objective at ``value`` or more (alternatives near the best plan)."""
        return self.add(self.prob.objective - value, pulp.LpConstraintGE, 0, name)

    def add_no_good_cut(self, chosen: set[int], min_difference: int, name: str) -> pulp.LpConstraint:
        """Ask for a plan that differs from the one installing the candidate rows ``chosen``
        (by the horizon's end) in at least ``min_difference`` rows."""
        ends = [ys[-1] for ys in self.y]
        change = [(ends[c], -1.0) for c in chosen] + [(v, 1.0) for c, v in enumerate(ends) if c not in chosen]
        return self.add(_terms(change), pulp.LpConstraintGE, min_difference - len(chosen), name)

    def write(self, path: Path) -> None:
        """Write the model for an auditor: ``.lp``, or ``.mps`` that HiGHS, SCIP and OR-Tools
        read with its sense. PuLP puts its ``OBJSENSE`` section before ``NAME``, which SCIP
        refuses (and without the section, MPS means minimise); here ``NAME`` is the first
        record and an ``OBJSENSE`` section in free-MPS style follows it."""
        path = Path(path)
        with replacing(path) as temp:
            if path.suffix.lower() == ".lp":
                self.prob.writeLP(str(temp))
                return
            self.prob.writeMPS(str(temp), with_objsense=False)  # a "*SENSE:..." comment, then NAME
            lines = temp.read_text(encoding="utf-8").splitlines(keepends=True)
            name = next(i for i, line in enumerate(lines) if line.startswith("NAME"))
            head = [line for line in lines[:name] if line.startswith("*")]  # comments only
            sense = "MAX" if self.prob.sense == pulp.LpMaximize else "MIN"
            temp.write_text("".join([lines[name], "OBJSENSE\n", f"    {sense}\n", *head, *lines[name + 1:]]),
                            encoding="utf-8")

    def grant_terms(self, src_id: str, years=None, tag: str | None = None):
        """(variable, 1) pairs of the grant money ``src_id`` pays (capital and recurring), in
        ``years`` when given, on the classes of items carrying ``tag`` when given."""
        p = self.problem
        for table, tags in ((self.fcap, p.cap_tags), (self.fop, p.op_tags)):
            for (s, q, t), var in table.items():
                if s == src_id and (years is None or t in years) and (tag is None or tag in tags[q][s]):
                    yield var, 1

    @contextmanager
    def relaxed(self):
        """Within the block every variable is continuous (the LP relaxation); categories and
        the problem's status are restored afterwards."""
        cats = {v: v.cat for v in self.variables()}
        status, sol_status = self.prob.status, self.prob.sol_status
        try:
            for var in cats:
                var.cat = pulp.LpContinuous
            yield self
        finally:
            for var, cat in cats.items():
                var.cat = cat
            self.prob.status, self.prob.sol_status = status, sol_status

    @contextmanager
    def integral_fixed(self, values: dict[pulp.LpVariable, float],
                       also: Callable[[pulp.LpVariable, float], bool] | None = None, tolerance: float = 1e-6):
        """Within the block, every integer variable whose value in ``values`` (a solution of
        the LP relaxation) is integral within ``tolerance`` is fixed to it, when ``also``
        (given the variable and that whole value) agrees: what is left is the small MIP of
        the decisions the relaxation left open (RENS), or a wider one (only the decisions it
        rules out fixed, say). Bounds are restored afterwards and the block yields how many
        variables were fixed."""
        saved = []
        for var in self.variables():
            value = values.get(var)
            if (var.cat == pulp.LpInteger and value is not None and abs(value - round(value)) <= tolerance
                    and (also is None or also(var, round(value)))):
                saved.append((var, var.lowBound, var.upBound))
                var.lowBound = var.upBound = float(round(value))
        try:
            yield len(saved)
        finally:
            for var, low, up in saved:
                var.lowBound, var.upBound = low, up

    def plan_values(self, installs: dict[int, int]) -> dict[pulp.LpVariable, float]:
        """Values of the in-place variables and project flags for a plan (candidate row ->
        fiscal year of installation)."""
        years = self.problem.years
        values = {var: float(installs.get(c, 10**6) <= t) for c, ys in enumerate(self.y) for t, var in zip(years, ys)}
        project, bought = self.problem.candidates["project"], procured(self.problem)
        for key, flags in self.projects.items():
            opened = {(project.iat[c], years.index(t)) for c, t in installs.items() if key == "any" or bought[c]}
            values.update({flag: float(k in opened) for k, flag in flags.items()})
        return values

    @contextmanager
    def funding_stage(self, installs: dict[int, int]):
        """The second, linear stage: within the block, every in-place decision is fixed to
        ``installs`` and the objective is the most grant dollars (so the least local money),
        under every rule of the model; bounds and objective are restored afterwards."""
        fixed = self.plan_values(installs)
        saved = [(v, v.lowBound, v.upBound) for v in fixed]
        objective, sense = self.prob.objective, self.prob.sense
        try:
            for var, value in fixed.items():
                var.lowBound = var.upBound = value
            self.prob.sense = pulp.LpMaximize
            self.prob.setObjective(_terms([(v, 1.0) for table in (self.fcap, self.fop) for v in table.values()]))
            yield self
        finally:
            for var, low, up in saved:
                var.lowBound, var.upBound = low, up
            self.prob.objective, self.prob.sense = objective, sense


def _terms(pairs) -> pulp.LpAffineExpression:
    """An affine expression from (variable, coefficient) pairs whose variables are distinct
    (the fast path for the rows built by the thousand)."""
    return pulp.LpAffineExpression(pairs)


def _expr(pairs) -> pulp.LpAffineExpression:
    """An affine expression from (variable, coefficient) pairs, adding up repeated variables
    (PuLP would keep only the last coefficient of a repeated variable)."""
    total: dict[pulp.LpVariable, float] = {}
    for var, coef in pairs:
        total[var] = total.get(var, 0.0) + coef
    return pulp.LpAffineExpression(list(total.items()))


def capital_terms(m: Model, rows, t_index: int):
    """(variable, coefficient) pairs of the capital spent on ``rows`` in year ``t_index``: on
    items installed that year and on those bought again as their useful life ends
    (``Problem.purchases``). A variable may repeat: add them up with :func:`_expr`."""
    cap, lives = m.problem.candidates["capital"].to_numpy(), m.problem.lives
    for c in rows:
        coef = cap[c] / K
        if coef:
            for installed in range(t_index, -1, -int(lives[c])):
                yield m.y[c][installed], coef
                if installed:
                    yield m.y[c][installed - 1], -coef


def define_variables(m: Model) -> None:
    """Cumulative in-place binaries, funding by source x class x year, match and carry-over."""
    p, prob = m.problem, m.prob
    n, years = len(p.candidates), p.years
    keys = p.candidates["key"].tolist()
    m.y = [[prob.add_variable(f"in_place[{keys[c]},{t}]", 0, 1, pulp.LpBinary) for t in years]
           for c in range(n)]
    for src in p.sources:
        for q, sig in p.cap_classes.items():
            if src.id in sig:
                for t in src.years:
                    m.fcap[src.id, q, t] = prob.add_variable(f"grant_capital[{src.id},class{q},{t}]", 0)
                    if src.match_factor > 0:
                        m.match[src.id, q, t] = prob.add_variable(f"match[{src.id},class{q},{t}]", 0)
        for r, sig in p.op_classes.items():
            if src.id in sig:
                for t in src.years:
                    m.fop[src.id, r, t] = prob.add_variable(f"grant_annual[{src.id},class{r},{t}]", 0)
    if p.carry_over:
        m.carry = {t: prob.add_variable(f"carry_over[{t}]", 0) for t in years}


def define_once(m: Model) -> None:
    """Each measure at most once per place: once in place it stays (y never falls back)."""
    for c, ys in enumerate(m.y):
        for t in range(1, len(ys)):
            m.add(_terms([(ys[t - 1], 1), (ys[t], -1)]), pulp.LpConstraintLE, 0, f"once[{c},{t}]")


def define_forbidden(m: Model) -> None:
    """Must-not items, state prohibitions and discouraged products stay out."""
    for c in m.problem.candidates.index[m.problem.candidates["forbidden"] != ""]:
        for var in m.y[c]:
            var.upBound = 0


def define_replacement_timing(m: Model) -> None:
    """The replacement of an ageing measure is installed no earlier than the year its
    predecessor's useful life ends (before that, both would count)."""
    years = m.problem.years
    for c, not_before in enumerate(m.problem.candidates["not_before"]):
        for t, var in zip(years, m.y[c]):
            if t < not_before:
                var.upBound = 0


def define_sequencing(m: Model) -> None:
    """An assessment comes before the purchases it informs: bought in the first fiscal year it
    can be (the horizon's first, or the year its predecessor's useful life ends) or not at all."""
    p = m.problem
    for c in p.candidates.index[p.candidates["assessment"]]:
        first = p.years.index(max(p.years[0], int(p.candidates.at[c, "not_before"])))
        m.add(_terms([(m.y[c][-1], 1), (m.y[c][first], -1)]), pulp.LpConstraintLE, 0, f"sequencing[{c}]")


def _needs(m: Model, links, name: str) -> None:
    keys = m.problem.candidates["key"].tolist()
    for k, (c, options) in enumerate(links):
        for t, var in zip(m.problem.years, m.y[c]):
            m.add(_terms([(var, 1)] + [(m.y[o][ti], -1) for ti in [m.problem.years.index(t)] for o in options]),
                  pulp.LpConstraintLE, 0, f"{name}[{keys[c]},{k},{t}]")


def define_prerequisites(m: Model) -> None:
    """A measure's prerequisites are in place no later than it."""
    _needs(m, m.problem.prerequisites, "prerequisite")


def define_tier_order(m: Model) -> None:
    """A tier-k measure needs a tier k-1 measure of its layer (and component) no later."""
    _needs(m, m.problem.tier_links, "tier_order")


def define_alternatives(m: Model) -> None:
    """At most one measure of an alternative group per place."""
    last = len(m.problem.years) - 1
    for i, (members, room) in enumerate(m.problem.alternatives):
        m.add(_expr((m.y[c][last], 1) for c in members), pulp.LpConstraintLE, room,
             f"alternatives[{i}]")


def define_mandates(m: Model) -> None:
    """Each mandate is met at each place by its deadline (within the horizon)."""
    years = m.problem.years
    for rule in m.problem.mandates:
        for place, year, options in rule.requirements():
            m.add(_expr((m.y[o][years.index(year)], 1) for o in options), pulp.LpConstraintGE, 1,
                 f"mandate[{rule.id},{place},{year}]")


def define_must(m: Model) -> None:
    """Items on the must list are in place by the end of the horizon."""
    for c in m.problem.musts:
        m.add(_expr([(m.y[c][-1], 1)]), pulp.LpConstraintGE, 1, f"must[{m.problem.candidates.at[c, 'key']}]")


def _spend_by_class(m: Model, column: str):
    """{(class, year index): [(var, coef), ...]} of capital or annual spend per class."""
    p = m.problem
    cls = p.candidates["cap_class" if column == "capital" else "op_class"].to_numpy()
    by_class: dict[int, list[int]] = defaultdict(list)
    for c, q in enumerate(cls):
        by_class[int(q)].append(c)
    spend = {}
    annual = p.candidates["annual"].to_numpy()
    for q, rows in by_class.items():
        for ti in range(len(p.years)):
            if column == "capital":
                spend[q, ti] = list(capital_terms(m, rows, ti))
            else:
                spend[q, ti] = [(m.y[c][ti], annual[c] / K) for c in rows if annual[c]]
    return spend


def _local(m: Model, column: str):
    """{(class, year index): local-money terms} = spend minus grant money (built once per
    model and kind of cost, then shared by the balance, budget and match rules)."""
    if column not in m.local_money:
        m.local_money[column] = _build_local(m, column)
    return m.local_money[column]


def _build_local(m: Model, column: str):
    p = m.problem
    grants = m.fcap if column == "capital" else m.fop
    by_class_year = defaultdict(list)
    for (_src, q, t), var in grants.items():
        by_class_year[q, p.years.index(t)].append((var, -1))
    return {key: terms + by_class_year.get(key, []) for key, terms in _spend_by_class(m, column).items()}


def define_funding_balance(m: Model) -> None:
    """Grant money on a class of items never exceeds what is spent on them: every dollar of
    every item is paid by exactly one source, the rest by local money."""
    for column in ("capital", "annual"):
        for (q, ti), terms in _local(m, column).items():
            m.add(_expr(terms), pulp.LpConstraintGE, 0, f"balance_{column}[class{q},{ti}]")


def define_capital_budget(m: Model) -> None:
    """Local capital spent each year within the capital budget (with optional carry-over). For
    the ``LEAST_CAPITAL`` objective, each year's budget is instead its share of a budget over
    the horizon that the model chooses (``Model.least_capital``)."""
    p = m.problem
    local = _local(m, "capital")
    if m.objective_kind == LEAST_CAPITAL:
        m.least_capital = m.prob.add_variable("least_capital", 0)
        shares = p.capital_shares()
    for ti, t in enumerate(p.years):
        terms = [tv for (q, tj), ts in local.items() if tj == ti for tv in ts]
        if p.carry_over:
            terms.append((m.carry[t], 1))
            if ti:
                terms.append((m.carry[p.years[ti - 1]], -1))
        if m.least_capital is not None:
            terms.append((m.least_capital, -shares[t]))
        budget = 0.0 if m.least_capital is not None else p.capital_budget[t] / K
        m.budget_rows[t] = m.add(_expr(terms), pulp.LpConstraintLE, budget, f"capital_budget[{t}]")


def define_operating_budget(m: Model) -> None:
    """Recurring costs of everything in place, less what grants carry, and the staff time of
    procuring the year's projects, within the operating budget."""
    p = m.problem
    local = _local(m, "annual")
    for ti, t in enumerate(p.years):
        terms = [tv for (q, tj), ts in local.items() if tj == ti for tv in ts] + procurement_terms(m, ti)
        m.add(_expr(terms), pulp.LpConstraintLE, p.operating_budget[t] / K, f"operating_budget[{t}]")


def define_total_budget(m: Model) -> None:
    """All local capital over the horizon within the total, when one is set."""
    if m.problem.total_budget is None:
        return
    terms = [tv for ts in _local(m, "capital").values() for tv in ts]
    if m.least_capital is not None:  # the budget over the horizon is the one the model chooses
        terms.append((m.least_capital, -1.0))
    m.budget_rows["total"] = m.add(_expr(terms), pulp.LpConstraintLE,
                                   0.0 if m.least_capital is not None else m.problem.total_budget / K, "total_budget")


def define_funding_caps(m: Model) -> None:
    """Each source within its award (per year for annual allocations)."""
    for src in m.problem.sources:
        for label, years in src.spans:
            m.add(_expr(m.grant_terms(src.id, years)), pulp.LpConstraintLE, src.amount / K,
                  f"cap[{src.id},{label}]")


def define_match(m: Model) -> None:
    """Local match at each source's rate and basis, from local money spent on items that
    source may pay for, each local dollar matching one source only."""
    p = m.problem
    local = _local(m, "capital")
    by_class_year = defaultdict(list)
    for (_src, q, t), var in m.match.items():
        by_class_year[q, p.years.index(t)].append((var, 1))
    for (q, ti), match_terms in by_class_year.items():
        m.add(_expr(match_terms + [(v, -c) for v, c in local[q, ti]]), pulp.LpConstraintLE, 0,
             f"match_from_local[class{q},{ti}]")
    for src in p.sources:
        if src.match_factor <= 0:
            continue
        terms = [(v, 1) for (s, _, _), v in m.match.items() if s == src.id]
        terms += [(v, -src.match_factor * c) for v, c in m.grant_terms(src.id)]
        m.add(_expr(terms), pulp.LpConstraintGE, 0, f"match[{src.id}]")


def define_funding_limits(m: Model) -> None:
    """Caps inside a program: at most its share of the award on the items a limit covers."""
    for src in m.problem.sources:
        for lim in src.limits:
            for label, years in src.spans:
                terms = list(m.grant_terms(src.id, years, lim.id))
                if terms:
                    m.add(_expr(terms), pulp.LpConstraintLE, lim.share * src.amount / K,
                          f"limit[{src.id},{lim.id},{label}]")


def define_compliance_first(m: Model) -> None:
    """A source whose program pays for compliance first pays for other items in a year only
    once every place of its compliance mandates is met by that year."""
    p = m.problem
    for src in p.sources:
        places = p.compliance.get(src.id)
        if places is None:
            continue
        for ti, t in enumerate(p.years):
            after = list(m.grant_terms(src.id, (t,), AFTER_COMPLIANCE))
            if not after:
                continue
            met = m.prob.add_variable(f"compliance_met[{src.id},{t}]", 0, 1, pulp.LpBinary)
            for k, (place, options) in enumerate(places):
                m.add(_expr([(met, 1)] + [(m.y[o][ti], -1) for o in options]), pulp.LpConstraintLE, 0,
                      f"compliance_met[{src.id},{place},{k},{t}]")
            m.add(_expr(after + [(met, -src.amount / K)]), pulp.LpConstraintLE, 0,
                  f"compliance_first[{src.id},{t}]")


#: Most item-years that get a project row each (the tight form); above it, one row per place.
PROJECT_ROWS_EACH = 5_000


def _project_flags(m: Model, only_procured: bool) -> dict[tuple[str, int], pulp.LpVariable]:
    """A binary per project key (a PASS component, or an award's project) and fiscal year
    (index) that is 1 when the plan buys any of its items that year (only those procured,
    when ``only_procured``): a project (``core.projects``). One row per key, place and year
    holds it up. Built once."""
    key = "procured" if only_procured else "any"
    if key in m.projects:
        return m.projects[key]
    p = m.problem
    cand = p.candidates
    keep = procured(p) if only_procured else np.ones(len(cand), dtype=bool)
    groups = defaultdict(list)
    project_of, site_of = cand["project"].tolist(), cand["site_id"].tolist()
    for c in np.flatnonzero(keep).tolist():
        groups[project_of[c], site_of[c]].append(c)
    flags = {}
    # one row per item is the tight form; a large district gets one per place (far fewer rows)
    each = int(keep.sum()) * len(p.years) <= PROJECT_ROWS_EACH
    for (project, site), rows in groups.items():
        for ti, t in enumerate(p.years):
            flag = flags.get((project, ti))
            if flag is None:
                flag = flags[project, ti] = m.prob.add_variable(f"project_{key}[{project},{t}]", 0, 1,
                                                                 pulp.LpBinary)
            for part in ([[c] for c in rows] if each else [rows]):
                bought = [(m.y[c][ti], 1) for c in part] + ([(m.y[c][ti - 1], -1) for c in part] if ti else [])
                m.add(_terms(bought + [(flag, -len(part))]), pulp.LpConstraintLE, 0,
                      f"project_{key}_of[{project},{site},{t}" + (f",{part[0]}]" if each else "]"))
    m.projects[key] = flags
    return flags


def procurement_terms(m: Model, ti: int | None = None) -> list:
    """(variable, coefficient) pairs of the local operating money (staff time) spent on
    procuring projects in year index ``ti`` (every year when None)."""
    cost = m.problem.project_cost / K
    if not cost:
        return []
    return [(flag, cost) for (_project, tj), flag in _project_flags(m, True).items() if ti is None or tj == ti]


def define_projects(m: Model) -> None:
    """At most ``max_projects`` projects (one PASS component's purchases, or an award's
    project, in one fiscal year): a plan a board can approve is a handful of projects."""
    p = m.problem
    if p.max_projects is None:
        return
    m.add(_terms([(flag, 1) for flag in _project_flags(m, False).values()]), pulp.LpConstraintLE,
          p.max_projects, "projects")


def define_layer_share(m: Model) -> None:
    """Capital spend per layer between its minimum and maximum share of all capital spend."""
    p = m.problem
    if not p.layer_share:
        return
    layer = p.candidates["layer"].to_numpy()
    every = range(len(p.candidates))
    for name, (lo, hi) in p.layer_share.items():
        rows = [c for c in every if layer[c] == name]
        for ti in range(len(p.years)):
            mine = list(capital_terms(m, rows, ti))
            for bound, sense, tag in ((lo, pulp.LpConstraintGE, "min"), (hi, pulp.LpConstraintLE, "max")):
                if (tag == "min" and lo > 0) or (tag == "max" and hi < 1):
                    terms = mine + [(v, -bound * c) for v, c in capital_terms(m, every, ti)]
                    m.add(_expr(terms), sense, 0, f"layer_share_{tag}[{name},{ti}]")


def _tier1_options(p: Problem):
    """{(site, layer): [(component, candidate rows)]} for the site-layer-components whose
    tier 1 is not yet met; components where the catalog offers no tier-1 measure at the
    site are left out (they do not count toward a layer's tier)."""
    cand = p.candidates
    met = {(r.site_id, r.layer, r.component) for r in p.existing.itertuples() if r.tier == 1}
    rows = defaultdict(list)
    for c, r in enumerate(cand[["site_id", "layer", "component", "tier"]].itertuples(index=False)):
        if r.tier == 1:
            rows[r.site_id, r.layer, r.component].append(c)
    out = defaultdict(list)
    for s in p.sites:
        for layer in p.layers:
            for comp in p.components:
                places = p.serving(s.id, layer)
                if any((place, layer, comp) in met for place in places):
                    continue
                options = [c for place in places for c in rows.get((place, layer, comp), [])]
                if options:
                    out[s.id, layer].append((comp, options))
    return out


def define_equity(m: Model) -> None:
    """Tier 1 at every site in a layer before tier 2 or higher anywhere in that layer."""
    p = m.problem
    if not p.equity:
        return
    options = _tier1_options(p)
    tiers = p.candidates["tier"].to_numpy()
    layers = p.candidates["layer"].to_numpy()
    for layer in p.layers:
        upper = [c for c in range(len(p.candidates)) if tiers[c] >= 2 and layers[c] == layer]
        if not upper:
            continue
        for ti, t in enumerate(p.years):
            done = m.prob.add_variable(f"tier1_everywhere[{layer},{t}]", 0, 1, pulp.LpBinary)
            for s in p.sites:
                for comp, rows in options.get((s.id, layer), []):
                    m.add(_expr([(done, 1)] + [(m.y[c][ti], -1) for c in rows]), pulp.LpConstraintLE, 0,
                         f"equity_tier1[{layer},{s.id},{comp},{t}]")
            for c in upper:
                m.add(_expr([(m.y[c][ti], 1), (done, -1)]), pulp.LpConstraintLE, 0,
                     f"equity[{layer},{c},{t}]")


def define_target_tier(m: Model) -> None:
    """For the least-cost objective: every site reaches the target tier in every layer and
    component where the catalog offers that tier, by the end of the horizon."""
    p = m.problem
    if p.objective != "least_cost_tier":
        return
    cand = p.candidates
    have = {(r.site_id, r.layer, r.component, r.tier) for r in p.existing.itertuples()}
    rows = defaultdict(list)
    for c, r in enumerate(cand[["site_id", "layer", "component", "tier"]].itertuples(index=False)):
        rows[r.site_id, r.layer, r.component, r.tier].append(c)
    for s in p.sites:
        for layer in p.layers:
            for comp in p.components:
                for tier in range(1, p.target_tier + 1):
                    places = p.serving(s.id, layer)
                    if any((place, layer, comp, tier) in have for place in places):
                        continue
                    options = [c for place in places for c in rows.get((place, layer, comp, tier), [])]
                    if options:
                        m.add(_expr((m.y[c][-1], 1) for c in options), pulp.LpConstraintGE, 1,
                             f"target_tier[{s.id},{layer},{comp},{tier}]")


def tco_terms(m: Model):
    """(variable, coefficient) pairs of total cost of ownership over the horizon (renewals
    inside it included), in k$; a variable may repeat."""
    p = m.problem
    cand = p.candidates
    lives = p.lives
    left = len(p.years) - np.arange(len(p.years))  # years from each install year to the horizon's end
    for c, (cap, ann) in enumerate(zip(cand["capital"].to_numpy(), cand["annual"].to_numpy())):
        if cap:
            # installed in year i it is bought ceil(left_i / life) times; y is cumulative, so
            # year i's in-place variable carries that count less the next year's
            bought = -(-left // lives[c]) * (cap / K)
            for ti, coef in enumerate(bought - np.append(bought[1:], 0.0)):
                if coef:
                    yield m.y[c][ti], float(coef)
        if ann:
            for var in m.y[c]:
                yield var, ann / K


def value_terms(m: Model):
    """Risk reduced (``core.risk``), in the horizon's fiscal years and in the years after it
    (one period, in which what is in place at the end of the horizon is kept), each year
    discounted (``core.risk.TimeWeights``). Per cell and period, substitutes count at most as the strongest of them
    (one bounded variable where they could add up to more); per school, threat and period,
    the summed log-effect fills the pieces of the protection curve (one bounded variable per
    piece; none when the reachable range lies on one piece). Returns (variable, coefficient)
    pairs whose sum is the risk reduced."""
    p, prob = m.problem, m.prob
    members = p.cell_members
    by_cell = defaultdict(list)
    for cell, c, ell in zip(members["cell"].tolist(), members["candidate"].tolist(), members["ell"].tolist()):
        if ell > 0:
            by_cell[cell].append((c, ell))
    cap = p.cells["cap"].to_numpy(dtype=float)
    group_of = p.cells["group"].to_numpy()
    weight = p.groups["weight"].to_numpy(dtype=float)
    base = in_place_levels(p.cell_in_place, len(cap), p.years)
    periods = [str(t) for t in p.years] + (["after"] if p.years_after else [])
    in_place = np.minimum(np.concatenate([base, base[:, -1:]], axis=1), cap[:, None])[:, :len(periods)]
    start = np.zeros((len(weight), len(periods)))
    np.add.at(start, group_of, in_place)
    # read one cell and period at a time below: Python numbers, not numpy scalars
    room_left = (cap[:, None] - in_place).tolist()
    group_list, weight_list = group_of.tolist(), weight.tolist()
    time = p.time
    # rows and columns are named by school, threat, stage and job (never by position), so that a
    # sample district's rows match the whole district's
    group_key = [f"{site},{threat}" for site, threat in zip(p.groups["site_id"], p.groups["threat"])]
    cell_key = [f"{group_key[g]},{role},{job}" for g, role, job in zip(group_of, p.cells["role"], p.cells["job"])]
    added, reach = defaultdict(list), defaultdict(float)
    last = len(p.years) - 1
    for cell, items in by_cell.items():
        g = group_list[cell]
        if weight_list[g] <= 0:
            continue
        total = sum(e for _, e in items)
        for k, period in enumerate(periods):
            room = room_left[cell][k]
            if room <= 1e-12:
                continue
            at = min(k, last)  # after the horizon: what is in place at its end
            flat = [(m.y[c][at], e) for c, e in items]
            if total <= room + 1e-12:
                added[g, k] += flat
                reach[g, k] += total
            else:
                a = prob.add_variable(f"cell[{cell_key[cell]},{period}]", 0, room)
                m.add(_expr([(a, 1)] + [(v, -coef) for v, coef in flat]), pulp.LpConstraintLE, 0,
                      f"substitutes[{cell_key[cell]},{period}]")
                added[g, k].append((a, 1.0))
                reach[g, k] += room
    pairs = []
    for (g, k), terms in added.items():
        scale = weight[g] * (time.total_after if k == len(p.years) else time.year(k))
        pieces = protection_pieces(start[g, k], start[g, k] + reach[g, k])
        if len(pieces) == 1:
            slope = scale * pieces[0][0]
            pairs += [(v, slope * coef) for v, coef in terms]
            continue
        fill = [prob.add_variable(f"risk[{group_key[g]},{periods[k]},{j}]", 0, width)
                for j, (_, width) in enumerate(pieces)]
        m.add(_expr([(z, 1) for z in fill] + [(v, -coef) for v, coef in terms]), pulp.LpConstraintLE, 0,
              f"value[{group_key[g]},{periods[k]}]")
        pairs += [(z, scale * slope) for z, (slope, _) in zip(fill, pieces)]
    return pairs


def tier1_terms(m: Model):
    """Indicators of site-layer pairs reaching tier 1 by the end of the horizon."""
    p, prob = m.problem, m.prob
    pairs = []
    for (site, layer), comps in _tier1_options(p).items():
        z = prob.add_variable(f"tier1[{site},{layer}]", 0, 1, pulp.LpBinary)
        m.tier1[site, layer] = z
        for comp, rows in comps:
            m.add(_expr([(z, 1)] + [(m.y[c][-1], -1) for c in rows]), pulp.LpConstraintLE, 0,
                 f"tier1_reached[{site},{layer},{comp}]")
        pairs.append((z, 1.0))
    return pairs


def define_upkeep_share(m: Model) -> None:
    """Sources that keep paying after the horizon (``Problem.continuing_sources``) pay, each
    year after it, up to their yearly amount of keeping the plan's end state in service, on
    what they may pay for; the objective prices only the rest as local money. For every set of
    those sources, what they pay together stays within the upkeep any of them may pay (with
    their amounts, the cut conditions of a transport of money to items, so the split exists)."""
    p = m.problem
    continuing = p.continuing_sources
    if not (continuing and p.years_after and p.least_value_per_1000):
        return
    m.upkeep = {s.id: m.prob.add_variable(f"upkeep_share[{s.id}]", 0, s.amount / K) for s in continuing}
    for r in range(1, len(continuing) + 1):
        for together in combinations(continuing, r):
            ids = [s.id for s in together]
            payable = p.after_payable(ids)
            m.add(_expr([(m.upkeep[i], 1) for i in ids]
                        + [(m.y[c][-1], -payable[c] / K) for c in np.flatnonzero(payable)]),
                  pulp.LpConstraintLE, 0, f"upkeep_share[{'+'.join(ids)}]")


def define_objective(m: Model, kind: str) -> None:
    """Set the objective: risk reduction, least cost, or the tier-1 count.

    Risk reduction (in the horizon and the years after it that the problem counts) is net of
    the price of local money: each $1,000 of it, and of recurring costs after the horizon,
    counts as ``least_value_per_1000`` of risk, so local money buys only what is worth at least
    that (grant money, spent or lost, has no price). Ties break toward lower total cost of
    ownership, and every objective prefers grant dollars to local dollars when that changes
    nothing else; both tie-breaks weigh less than 0.1% of the smallest step of risk reduced.
    """
    m.objective_kind = kind
    if kind == LEAST_CAPITAL:
        m.prob.sense = pulp.LpMinimize
        m.prob.setObjective(_terms([(m.least_capital, 1.0)]))
        return
    grants = [(v, 1.0) for table in (m.fcap, m.fop) for v in table.values()]
    tco = list(tco_terms(m))
    total_tco = sum(abs(c) for _, c in tco) or 1.0
    if kind == "least_cost_tier":
        m.prob.sense = pulp.LpMinimize
        m.prob.setObjective(_expr(tco + [(v, -1e-6 * c) for v, c in grants]))
        return
    m.prob.sense = pulp.LpMaximize
    if kind == "tier1_count":
        m.prob.setObjective(_expr(tier1_terms(m)))
        return
    value = value_terms(m)
    ells = m.problem.cell_members["ell"]
    least_ell = min(1.0, float(ells[ells > 0].min())) if (ells > 0).any() else 1.0  # a 0 (stance) steps nothing
    eps = 1e-3 * min((c for _, c in value if c > 0), default=1.0) * least_ell / total_tco
    p = m.problem
    price = p.least_value_per_1000
    if price:  # the price already ranks plans by local cost: the tie-break must not outweigh it
        eps = min(eps, 1e-3 * price)
    local = [(v, -price * c) for column in ("capital", "annual") for terms in _local(m, column).values()
             for v, c in terms] + [(v, -price * c) for v, c in procurement_terms(m)] if price else []
    if price and p.years_after:  # keeping the end state after the horizon, less what continuing sources pay
        after = p.time.total_after / K
        local += [(m.y[c][-1], -price * after * cost) for c, cost in enumerate(p.keeping_costs) if cost]
        local += [(v, price * p.time.total_after) for v in m.upkeep.values()]  # the part continuing sources pay
    m.prob.setObjective(_expr(value + local + [(v, -eps * c) for v, c in tco] + [(v, eps * c / 2) for v, c in grants]))


#: Every rule of the model, in the order it is built: name -> the function that adds its rows.
#: ``build_model(skip=...)`` can leave any of them out, to see its effect or to test it.
RULES = {
    "once": define_once, "forbidden": define_forbidden, "replacement_timing": define_replacement_timing,
    "sequencing": define_sequencing,
    "prerequisites": define_prerequisites,
    "tier_order": define_tier_order, "alternatives": define_alternatives,
    "mandates": define_mandates, "must": define_must, "funding_balance": define_funding_balance,
    "capital_budget": define_capital_budget, "operating_budget": define_operating_budget,
    "total_budget": define_total_budget, "funding_caps": define_funding_caps,
    "match": define_match, "funding_limits": define_funding_limits,
    "compliance_first": define_compliance_first, "projects": define_projects,
    "layer_share": define_layer_share, "equity": define_equity,
    "target_tier": define_target_tier, "upkeep_share": define_upkeep_share,
}


def build_model(problem: Problem, skip: frozenset[str] | set[str] = frozenset(),
                objective: str | None = None, elastic: frozenset[str] = frozenset()) -> Model:
    """Build the PuLP model of a Problem.

    Parameters
    ----------
    problem : Problem
        The expanded planning problem.
    skip : set of str
        Names from :data:`RULES` to leave out (to see a rule's effect, or in tests).
    objective : str, optional
        Overrides the problem's objective; ``tier1_count`` is the first phase of
        ``tier1_first``; ``LEAST_CAPITAL`` asks for the least local capital over the horizon,
        spread over the years as the scenario's budgets are, that keeps every other rule.
    elastic : set of str
        Constraint families (name prefixes such as ``capital_budget``) given a slack
        variable each, for the infeasibility diagnosis.
    """
    unknown = set(skip) - set(RULES)
    if unknown:
        raise ValueError(f"unknown rules {sorted(unknown)}; known: {', '.join(RULES)}")
    start = time.perf_counter()
    kind = objective or problem.objective
    sense = pulp.LpMinimize if kind in ("least_cost_tier", LEAST_CAPITAL) else pulp.LpMaximize
    model = Model(problem, pulp.LpProblem("school_security_plan", sense), [], {}, {}, {}, {},
                  objective_kind=kind, elastic=frozenset(elastic))
    define_variables(model)
    for rule, define in RULES.items():
        if rule not in skip:
            define(model)
    define_objective(model, "tier1_count" if kind == "tier1_first" else kind)
    model.build_seconds = time.perf_counter() - start
    return model
