"""Grant opportunities: the catalog's programs a district could apply for in its horizon, and
what each award would be worth to its plan, counted as the plan counts everything: the modelled
risk it removes, net of the price of the local money (match and upkeep) it ties up.

Each program is valued by planning the district again with the award added as a funding source,
starting from the plan without it (a what-if), at two award sizes: the average award of its last
round where one was published, else the middle of what one district can receive, and the most
it can receive (for a formula program, its formula's amount). The portfolio then chooses the set
of applications worth making together, and ``analyses.application`` drafts one application.
"""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import dataclass

import pandas as pd

from optimizer.core import workers as processes
from optimizer.core.plan import LOCAL
from optimizer.core.result import PlanResult, money_words
from optimizer.core.run import optimize
from optimizer.core.status import SolveOptions
from optimizer.core.verify import plan_objective
from optimizer.data.allowability import rule_on
from optimizer.data.funding import EFFORT_PARTS, FundingProgram
from optimizer.data.inputs import Inputs
from optimizer.data.scenario import Scenario

#: Month a school fiscal year begins in most states (July): FY2027 begins on 1 July 2026.
FISCAL_YEAR_START_MONTH = 7

OPPORTUNITY_COLUMNS = ["rank", "program", "name", "level", "selection", "deadline", "success_rate", "asks",
                       "award_basis", "award", "match", "period", "measures_it_may_pay", "may_pay_for", "points",
                       "harm_avoided", "net_value", "award_used", "local_match", "local_change",
                       "harm_per_million_local", "buys", "why", "gap"]


def applied(program_id: str) -> str:
    """The funding source key an application's award is planned under."""
    return f"applied-{program_id}"


@dataclass(frozen=True)
class AwardSize:
    """The awards an application is valued at, in dollars (a year, for a program allocated every
    year): ``middle`` and ``most``; None when the catalog holds no amount for the program."""

    middle: float | None
    most: float | None
    basis: str


def award_size(program: FundingProgram, scenario: Scenario) -> AwardSize:
    """What one district may receive from ``program``: its formula's amount (a sum per student
    and per school, capped), else the middle of its least and most award and the most."""
    award = program.award
    schools = [s for s in scenario.sites if s.kind == "school"]
    caps = [c for c in (award.maximum, None if award.per_school_maximum is None
                        else award.per_school_maximum * len(schools)) if c is not None]
    most = min(caps) if caps else None
    if award.per_student or award.per_campus:
        amount = (award.per_student or 0.0) * sum(s.enrollment for s in schools) + (award.per_campus or 0.0) * len(schools)
        amount = max(min(amount, most) if most is not None else amount, award.minimum or 0.0)
        parts = [f"${award.per_student:,.2f} a student" if award.per_student else "",
                 f"${award.per_campus:,.0f} a school" if award.per_campus else ""]
        return AwardSize(amount, amount, "the program's formula: " + " and ".join(p for p in parts if p)
                         + (f", at most {money_words(most)}" if most is not None else ""))
    typical = program.application.typical_award if program.application else None
    if typical is not None:
        middle = min(typical, most) if most is not None else typical
        return AwardSize(middle, most or middle, f"the average award of its last round with published figures "
                                                 f"({money_words(typical)})"
                         + (f"; at most {money_words(most)} for one district" if most is not None else ""))
    if most is None:
        return AwardSize(None, None, "the catalog holds no award amount for this program: give the amount you "
                                     "expect (amounts)")
    least = award.minimum or 0.0
    return AwardSize((least + most) / 2, most, f"from {money_words(least)} to {money_words(most)} for one district "
                                               f"(the middle of that range and the most; no average award was "
                                               f"found)")


def expected_deadline(program: FundingProgram, on: dt.date) -> dt.date | None:
    """The next application deadline on or after ``on``: the last round's, while it is still
    ahead; for a yearly round, the same day of the next year it falls on; else None."""
    app = program.application
    if app is None or app.last_deadline is None:
        return None
    last = app.last_deadline
    if last >= on:
        return last
    if app.rounds != "yearly":
        return None
    year = on.year if (last.month, last.day) >= (on.month, on.day) else on.year + 1
    return dt.date(year, last.month, min(last.day, 28) if last.month == 2 else last.day)


def deadline_words(program: FundingProgram, on: dt.date) -> str:
    """When applications are due, from the program's last round found: the same day of the
    next year for a yearly round, the day itself for one still open, else what is known."""
    app = program.application
    if app is None or app.last_deadline is None:
        return "set by the state each year" if app is not None and app.selection == "formula" else "not in the catalog"
    last, expected = app.last_deadline, expected_deadline(program, on)
    if expected == last:
        return f"{last:%d %B %Y}"
    if expected is not None:
        return f"about {expected:%d %B %Y}, if the round recurs as it has (last: {last:%d %B %Y})"
    return f"no new round found; the last closed on {last:%d %B %Y}"


#: How each part of an application's effort is introduced.
EFFORT_LABELS = {"narrative": "narrative", "partners": "partners", "data": "data", "registrations": "register first"}


def effort_parts(program: FundingProgram) -> list[tuple[str, str]]:
    """What an application to ``program`` asks, as (label, words) pairs, from the catalog's
    ``application.effort`` (its law or latest solicitation); empty when the catalog holds none."""
    effort = program.application.effort if program.application else None
    if effort is None:
        return []
    return [(EFFORT_LABELS[part], text) for part in EFFORT_PARTS if (text := getattr(effort, part))]


def effort_words(program: FundingProgram) -> str:
    """:func:`effort_parts` in one line, or what is known when the catalog holds none."""
    parts = effort_parts(program)
    if parts:
        return "; ".join(f"{label}: {text}" for label, text in parts)
    return "not in the catalog" if program.application is None or program.application.selection != "formula" \
        else "an allocation: no application effort found in the catalog's sources"


def _fiscal_year_start(year: int) -> dt.date:
    return dt.date(year - 1, FISCAL_YEAR_START_MONTH, 1)


def why_not_open(program: FundingProgram, scenario: Scenario, on: dt.date) -> str:
    """Why a district cannot apply to ``program`` for this plan, or "" when it can: public
    schools not eligible, another state's program, its money to be spent before the plan's
    first fiscal year or before ``on``, or already awarded in the scenario."""
    if not program.public_schools_eligible:
        return "public school districts are not eligible"
    if program.level == "state" and program.state != scenario.state:
        return f"a program of {program.state}; the district is in {scenario.state or 'no state given'}"
    first = _fiscal_year_start(scenario.horizon.start)
    if program.closed_on(max(on, first)):
        return f"its money had to be spent by {program.spend_by:%d %B %Y}"
    app = program.application
    if app is not None and app.rounds == "one-time" and app.last_deadline is not None and app.last_deadline < on:
        return f"its one application round closed on {app.last_deadline:%d %B %Y}"
    held = [key for key, src in scenario.funding_sources.items() if src.program == program.id and src.awarded]
    if held:
        return f"already awarded to the district (funding source {held[0]}): planned with it"
    return ""


@dataclass(frozen=True)
class AwardValue:
    """What an award of ``amount`` does to the plan, against the plan without it."""

    amount: float
    points: float  # percentage points of the modelled risk the plan removes, added
    harm: float  # serious-harm equivalents avoided, added
    net: float  # the optimizer's objective added: risk reduced less the price of local money
    used: float  # award dollars the plan spends
    match: float  # local match the plan pays for it
    local_change: float  # local dollars spent with the award, less without (negative: local money freed)
    buys: str  # what the award pays for, largest first
    why_unused: str  # why part of the award stays unspent
    gap: float | None = None  # proven gap of the plan with the award


def _local(result: PlanResult) -> float:
    """Local dollars the plan spends over the horizon, procurement's staff time included."""
    if result.plan is None:
        return 0.0
    funding = result.plan.funding
    return float(funding.loc[funding["source"] == LOCAL, "amount"].sum()) + result.plan.procurement


def _net(result: PlanResult) -> float:
    return plan_objective(result.problem, result.plan) if result.plan is not None else 0.0


def _buys(result: PlanResult, key: str, shown: int = 3) -> str:
    """What the award planned as source ``key`` pays for, by measure, largest first."""
    paid = result.plan.funding[result.plan.funding["source"] == key]
    if paid.empty:
        return ""
    by_measure = paid.groupby("measure_id")["amount"].sum().sort_values(ascending=False)
    names = result.plan.items.drop_duplicates("measure_id").set_index("measure_id")["name"]
    words = [f"{names.get(mid, mid)} ({money_words(amount)})" for mid, amount in by_measure.head(shown).items()]
    more = len(by_measure) - shown
    return ", ".join(words) + (f" and {more} more" if more > 0 else "")


def with_awards(inputs: Inputs, awards: list[tuple[FundingProgram, float]], base: PlanResult,
                options: SolveOptions) -> PlanResult:
    """The district's plan with ``awards`` (program, amount: a year for a program allocated every
    year) added as funding sources, starting from ``base``, the plan without them."""
    data = inputs.scenario.model_dump()
    for program, amount in awards:
        data["funding_sources"][applied(program.id)] = {"program": program.id, "amount": amount,
                                                        **({"amount_per": "year"} if program.annual else {})}
    changed = Inputs(type(inputs.scenario).model_validate(data), inputs.catalog, inputs.path)
    return optimize(changed, options, previous=base)


def value_of_award(inputs: Inputs, program: FundingProgram, amount: float, base: PlanResult,
                   options: SolveOptions) -> AwardValue:
    """Plan the district again with an award of ``amount`` from ``program`` (a year, for a program
    allocated every year), starting from ``base``, the plan without it."""
    result = with_awards(inputs, [(program, amount)], base, options)
    key = applied(program.id)
    if result.plan is None:
        return AwardValue(amount, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, "", "no plan keeps every rule with this award")
    use = result.grant_use()
    mine = use[use["source"] == key]
    used, match = float(mine["used"].sum()), float(mine["local_match"].sum())
    why = "; ".join(dict.fromkeys(part for w in mine["why_unused"] if w for part in w.split("; ")))  # once each
    if key not in {s.id for s in result.problem.sources}:
        why = next((n for n in result.report.notes if n.startswith(f"funding source {key}")),
                   "no fiscal year of the plan is inside the program's period")
    return AwardValue(amount, 100 * (result.gap_closed - base.gap_closed), result.value - base.value,
                      _net(result) - _net(base), used, match, _local(result) - _local(base), _buys(result, key), why,
                      result.report.gap)


@dataclass
class Opportunities:
    """The programs a district could apply for, ranked by what the middle award adds to the
    plan (``table``, columns :data:`OPPORTUNITY_COLUMNS`), and the federal and its state's
    programs it cannot, with why (``closed``: program, name, why)."""

    table: pd.DataFrame
    closed: pd.DataFrame
    base: PlanResult


def _award_words(program: FundingProgram) -> tuple[str, str]:
    basis, kind = program.match_basis.replace("_", " "), program.match_type.replace("_", " ")
    match = "no local match" if program.match_rate <= 0 else f"{program.match_rate:.0%} local match ({basis}, {kind})"
    period = (f"{program.period_months} months" if program.period_months else "") + (
        f"{', ' if program.period_months else ''}spend by {program.spend_by:%d %b %Y}" if program.spend_by else "")
    return match, period or ("every year" if program.annual else "not stated in the catalog")


def _reason(value: AwardValue | None, size: AwardSize) -> str:
    if value is None:
        return size.basis
    if value.used <= 0.5:
        return "worth nothing to this plan: " + (value.why_unused or "the plan spends none of it")
    spent = f"the plan spends {money_words(value.used)} of {money_words(value.amount)}"
    match = f", with {money_words(value.match)} of local match" if value.match > 0.5 else ""
    local = (f"; it frees {money_words(-value.local_change)} of local money" if value.local_change < -0.5 else
             f"; it ties up {money_words(value.local_change)} more of local money" if value.local_change > 0.5 else "")
    per_local = (f" ({1e6 * value.harm / value.local_change:,.3f} serious-harm equivalents avoided per $1 million of it)"
                 if value.local_change > 0.5 else "")
    return (f"adds {value.points:.2f} points of modelled risk removed ({value.harm:,.4f} serious-harm equivalents): "
            f"{spent}{match}{local}{per_local}; it buys {value.buys}")


def _programs(inputs: Inputs, on: dt.date) -> tuple[list[FundingProgram], list[tuple[str, str, str]]]:
    """The federal programs and the district's state's: those it could apply for, and those it
    cannot with why (another state's are left out)."""
    listed, closed = [], []
    for program in inputs.catalog.programs.values():
        if program.level == "state" and program.state != inputs.scenario.state:
            continue  # another state's program: not the district's to apply to
        why = why_not_open(program, inputs.scenario, on)
        if why:
            closed.append((program.id, program.name, why))
        else:
            listed.append(program)
    return listed, closed


def programs_to_apply(inputs: Inputs, on: dt.date | None = None) -> pd.DataFrame:
    """The programs the district could apply for, before any is valued: program, name, level,
    selection, deadline, the award the catalog values it at (``award``, None when it gives
    none) and how (``award_basis``)."""
    on = on or dt.date.today()
    rows = []
    for program in _programs(inputs, on)[0]:
        size = award_size(program, inputs.scenario)
        rows.append({"program": program.id, "name": program.name, "level": program.state or "federal",
                     "selection": _selection(program), "deadline": deadline_words(program, on),
                     "award": size.middle, "award_basis": size.basis})
    return pd.DataFrame(rows, columns=["program", "name", "level", "selection", "deadline", "award", "award_basis"])


def _selection(program: FundingProgram) -> str:
    return program.application.selection if program.application else "not in the catalog"


def opportunities(inputs: Inputs, options: SolveOptions = SolveOptions(), on: dt.date | None = None,
                  amounts: dict[str, float] | None = None, workers: int | None = None,
                  progress: Callable[[int, int], None] | None = None, base: PlanResult | None = None) -> Opportunities:
    """Every program of the catalog the district could apply for in its horizon, valued.

    Parameters
    ----------
    inputs : Inputs
        The district's checked scenario and catalog.
    options : SolveOptions
        Of every plan.
    on : date, optional
        The day the applications would be made (default: today): a program whose money must be
        spent before then, or before the plan's first fiscal year begins, is closed, and so is
        one whose only application round closed before then.
    amounts : dict, optional
        Program id -> the award the district expects (a year, for a program allocated every
        year), in place of the catalog's; needed for a program the catalog holds no amount for.
    workers : int, optional
        Processes valuing awards at once (default: two on a machine with two cores).
    progress : callable, optional
        ``progress(done, total)`` after each award valued.
    base : PlanResult, optional
        The district's plan without any of these awards, when already solved with ``options``.
    """
    scenario, catalog = inputs.scenario, inputs.catalog
    on = on or dt.date.today()
    amounts = amounts or {}
    unknown = sorted(set(amounts) - set(catalog.programs))
    if unknown:
        raise ValueError(f"amounts: no program {', '.join(unknown)} in the catalog (its ids: "
                         f"{', '.join(sorted(catalog.programs))})")
    listed, closed = _programs(inputs, on)
    base = base or optimize(inputs, options)
    sizes = {p.id: (AwardSize(amounts[p.id], amounts[p.id], "the amount given") if p.id in amounts
                    else award_size(p, scenario)) for p in listed}
    jobs = [] if base.plan is None else sorted({(p.id, amount) for p in listed
                                                for amount in (sizes[p.id].middle, sizes[p.id].most) if amount})
    values = _values(inputs, [(catalog.programs[pid], amount) for pid, amount in jobs], base,
                     options, workers, progress)
    rows = []
    for program in listed:
        size = sizes[program.id]
        middle, most = values.get((program.id, size.middle)), values.get((program.id, size.most))
        match, period = _award_words(program)
        rows.append({
            "program": program.id, "name": program.name, "level": program.state or "federal",
            "selection": _selection(program), "deadline": deadline_words(program, on),
            "success_rate": program.application.success_rate if program.application else None,
            "asks": effort_words(program),
            "award_basis": size.basis, "award": size.middle, "match": match, "period": period,
            "measures_it_may_pay": len(allowed := _allowed(inputs, program, base)),
            "may_pay_for": _may_pay_words(allowed, len(set(base.problem.candidates["measure_id"]))),
            "points": None if middle is None else round(middle.points, 4),
            "harm_avoided": None if middle is None else middle.harm,
            "net_value": None if middle is None else middle.net,
            "award_used": None if middle is None else round(middle.used, 2),
            "local_match": None if middle is None else round(middle.match, 2),
            "local_change": None if middle is None else round(middle.local_change, 2),
            "harm_per_million_local": None if middle is None or middle.local_change <= 0.5 else
            1e6 * middle.harm / middle.local_change,
            "buys": "" if middle is None else middle.buys,
            "why": _reason(middle, size) + ("" if most is None or size.most == size.middle else
                                            f"; at the most ({money_words(size.most)}): {most.points:.2f} points"),
            "gap": max((v.gap for v in (middle, most) if v is not None and v.gap is not None), default=None),
        })
    table = pd.DataFrame(rows, columns=[c for c in OPPORTUNITY_COLUMNS if c != "rank"])
    table = table.sort_values(["net_value", "points"], ascending=False, na_position="last", kind="stable")
    table.insert(0, "rank", range(1, len(table) + 1))
    return Opportunities(table.reset_index(drop=True),
                         pd.DataFrame(closed, columns=["program", "name", "why"]), base)


def _in_workers(call: Callable, jobs: list[tuple], workers: int | None, progress) -> list:
    """``call(*job)`` for each job, by ``workers`` processes at once (default: two on a machine
    with two cores, for two jobs or more), in the jobs' order; ``progress(done, total)`` after each."""
    if workers is None:
        workers = 2 if (os.cpu_count() or 1) >= 2 and len(jobs) >= 2 else 1
    out: list = [None] * len(jobs)

    def done(i: int, value) -> None:
        out[i] = value
        if progress is not None:
            progress(sum(v is not None for v in out), len(jobs))

    if workers <= 1:
        for i, job in enumerate(jobs):
            done(i, call(*job))
        return out
    with processes.pool(workers) as pool:
        with processes.starting():  # the workers start here
            futures = {pool.submit(call, *job): i for i, job in enumerate(jobs)}
        for future in as_completed(futures):
            done(futures[future], future.result())
    return out


def _values(inputs: Inputs, jobs: list[tuple[FundingProgram, float]], base: PlanResult, options: SolveOptions,
            workers: int | None, progress) -> dict[tuple[str, float], AwardValue]:
    """Each (program, award) valued against ``base``. Every solve runs on one solver thread, so
    that a value does not depend on how many processes shared the work."""
    options = options.but(threads=1)
    values = _in_workers(value_of_award, [(inputs, program, amount, base, options) for program, amount in jobs],
                         workers, progress)
    return {(program.id, amount): value for (program, amount), value in zip(jobs, values)}


def _allowed(inputs: Inputs, program: FundingProgram, base: PlanResult) -> dict[str, str]:
    """The district's candidate measures the program's rules allow (before an award's scope), by
    name, each with the citation of the rule that allows it."""
    measures = inputs.catalog.measures
    out = {}
    for mid in dict.fromkeys(base.problem.candidates["measure_id"]):
        ruling = rule_on(program.rules, mid, measures[mid].funding_categories)
        if ruling.allowed:
            out[measures[mid].name] = ruling.citation
    return out


def _may_pay_words(allowed: dict[str, str], candidates: int, shown: int = 3) -> str:
    """What the program may pay for in the district's terms: how many of its measures, and the
    first few under each rule that allows them, with the rule's citation."""
    if not allowed:
        return f"none of the district's {candidates} measures"
    by_rule: dict[str, list[str]] = {}
    for name, citation in allowed.items():
        by_rule.setdefault(citation, []).append(name)
    parts = [", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")
             + f" ({citation})" for citation, names in by_rule.items()]
    return f"{len(allowed)} of the district's {candidates} measures: " + "; ".join(parts)


@dataclass
class Portfolio:
    """The applications worth making together (``table``: in the order they were added, each
    with what it adds to the plan of those before it, the awards' match and the deadline), the
    plan with all of them (``result``), and a calendar of their deadlines (``calendar``)."""

    table: pd.DataFrame
    calendar: pd.DataFrame
    result: PlanResult

    def words(self) -> list[str]:
        """The portfolio in sentences a finance officer reads."""
        if self.table.empty:
            return ["No application adds to the plan: apply for none of the programs valued."]
        last = self.table.iloc[-1]
        return [f"Apply for {len(self.table)} program(s): " + ", ".join(self.table["name"]) + ".",
                f"Together their awards add {last['points']:.2f} points of modelled risk removed; the plan spends "
                f"{money_words(self.table['award_used'].sum())} of them, with {money_words(self.table['local_match'].sum())} "
                f"of local match, within the district's local budgets."]


def portfolio(inputs: Inputs, found: Opportunities, options: SolveOptions = SolveOptions(), on: dt.date | None = None,
              workers: int | None = None, progress: Callable[[int, int], None] | None = None) -> Portfolio:
    """The set of applications worth making together, chosen one at a time: each round plans the
    district with the awards chosen so far and one more (each program valued in ``found`` that
    adds to the plan, at the award it was valued at), and keeps the one that adds the most, until
    none adds anything. The awards interact through the local money and the needs they share; a
    plan never spends more local money, match included, than the district's budgets.
    ``progress(done, total)`` after each round, of at most one round a program."""
    on = on or dt.date.today()
    programs = inputs.catalog.programs
    amounts = {row.program: row.award for row in found.table.itertuples() if (row.net_value or 0) > 0}
    options = options.but(threads=1)
    left, chosen, current, rows = list(amounts), [], found.base, []
    while left:
        jobs = [(inputs, [(programs[p], amounts[p]) for p in [*chosen, trial]], found.base, options) for trial in left]
        results = _in_workers(with_awards, jobs, workers, None)
        best = max(range(len(left)), key=lambda i: _net(results[i]) if results[i].plan is not None else float("-inf"))
        if progress is not None:
            progress(len(chosen) + 1, len(amounts))
        if results[best].plan is None or _net(results[best]) - _net(current) <= 1e-9:
            break
        program = programs[left.pop(best)]
        added, current = _net(results[best]) - _net(current), results[best]
        rows.append({"program": program.id, "name": program.name, "award": amounts[program.id], "net_added": added,
                     "points": round(100 * (current.gap_closed - found.base.gap_closed), 4),
                     "deadline": deadline_words(program, on)})
        chosen.append(program.id)
    use = current.grant_use().groupby("source")[["used", "local_match"]].sum()  # in the plan with all of them
    table = pd.DataFrame(rows, columns=["program", "name", "award", "net_added", "points", "deadline"])
    for column in ("used", "local_match"):
        table[column] = [round(float(use[column].get(applied(p), 0.0)), 2) for p in table["program"]]
    table = table.rename(columns={"used": "award_used"})[["program", "name", "award", "net_added", "points",
                                                          "award_used", "local_match", "deadline"]]
    calendar = pd.DataFrame([{"date": expected_deadline(programs[p], on), "program": p, "name": programs[p].name,
                              "deadline": deadline_words(programs[p], on)} for p in chosen],
                            columns=["date", "program", "name", "deadline"])
    return Portfolio(table, calendar.sort_values("date", na_position="last", kind="stable").reset_index(drop=True),
                     current)
