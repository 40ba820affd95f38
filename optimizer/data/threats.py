"""Threats a district plans for (``catalog/threats.csv``): per school level, how often each
happens at a school and how much harm one incident does, each with its source. The value
model's baseline risk of a threat at a school is rate x consequence."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from optimizer.data.parsing import Number
from optimizer.data.readers import read_table
from optimizer.data.validation import validate_model
from optimizer.errors import ProblemCollector

THREAT_LEVELS = ("elementary", "middle", "high", "district")
#: Levels a school may have that threats.csv does not rate, read as the levels it does (judgement,
#: in threats_research.md): a K-8 school is half elementary, half middle; a K-12 school and an
#: alternative school are rated as high schools; "other" as the average of the three.
LEVEL_READING = {"elementary": ("elementary",), "middle": ("middle",), "high": ("high",),
                 "k8": ("elementary", "middle"), "k12": ("high",), "alternative": ("high",),
                 "other": ("elementary", "middle", "high")}


class ThreatRow(BaseModel):
    """One row of threats.csv: a threat at one school level."""

    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    level: str
    base_rate_per_school_year: Number = Field(ge=0)
    per_students: Number | None = Field(default=None, gt=0)
    rate_low: Number = Field(ge=0)
    rate_high: Number = Field(ge=0)
    rate_source: str = Field(min_length=1)
    consequence_weight: Number = Field(ge=0)
    consequence_source: str = Field(min_length=1)
    consequence_per_student: Number = Field(default=0.0, ge=0)
    consequence_per_student_source: str = ""


@dataclass(frozen=True)
class Threat:
    """A threat with its rate and consequence per level (``district``: one rate for the whole
    district, shared out over its schools)."""

    id: str
    name: str
    rows: dict[str, ThreatRow]

    @property
    def district_wide(self) -> bool:
        return "district" in self.rows

    def risk(self, level: str, enrollment: float, schools: int, which: str = "base_rate_per_school_year") -> float:
        """Serious-harm equivalents a year at one school with no protection: incidents a year
        (scaled by enrollment where the rate is per so many students) x harm per incident (to
        the victims, plus to every student present where the threat harms them too).
        ``which`` names the rate column (the base rate or its low or high bound)."""
        if self.district_wide:
            row = self.rows["district"]
            return getattr(row, which) * row.consequence_weight / max(schools, 1)
        rows = [self.rows[lv] for lv in LEVEL_READING[level]]
        return sum(getattr(r, which) * (enrollment / r.per_students if r.per_students else 1.0)
                   * (r.consequence_weight + r.consequence_per_student * enrollment) for r in rows) / len(rows)


def load_threats(path: Path, problems: ProblemCollector) -> dict[str, Threat]:
    """Read threats.csv: each threat rated for every school level, or once for the district."""
    if not path.exists():
        problems.add("threats.csv", "file", path.name, "a threats table beside measures.csv "
                     "(catalog/threats.csv of the project is the template)")
        return {}
    table = read_table(path)
    found: dict[str, dict[str, ThreatRow]] = {}
    names: dict[str, str] = {}
    for i, raw in enumerate(table.rows):
        where = table.row_label(i)
        row = validate_model(ThreatRow, {k: v for k, v in raw.items() if v != ""}, problems, where)
        if row is None:
            continue
        if row.level not in THREAT_LEVELS:
            problems.add(where, "level", row.level, ", ".join(THREAT_LEVELS))
        elif row.level in found.setdefault(row.id, {}):
            problems.add(where, "level", row.level, f"each level once for threat {row.id}")
        elif not row.rate_low <= row.base_rate_per_school_year <= row.rate_high:
            problems.add(where, "rate_low/base_rate_per_school_year/rate_high",
                         f"{row.rate_low:g} / {row.base_rate_per_school_year:g} / {row.rate_high:g}",
                         "low <= base <= high")
        else:
            found[row.id][row.level] = row
            names.setdefault(row.id, row.name)
    threats = {}
    for tid, rows in found.items():
        if "district" in rows and len(rows) > 1:
            problems.add(f"threat {tid}", "level", ", ".join(rows), "either 'district' alone or the school levels")
        elif "district" not in rows and set(rows) != {"elementary", "middle", "high"}:
            problems.add(f"threat {tid}", "level", ", ".join(rows), "a row for each of elementary, middle and high")
        threats[tid] = Threat(tid, names[tid], rows)
    return threats
