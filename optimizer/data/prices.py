"""Prices in one dollar year: the catalog's settings (as-of date, dollar year) and the price
index that brings a cost quoted in an earlier year to the catalog's dollar year."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from optimizer.data.measures import Measure
from optimizer.data.readers import read_table, read_yaml_mapping
from optimizer.data.validation import validate_model
from optimizer.errors import ProblemCollector

#: The cost fields of each part of a measure's price, with the field holding the year of its dollars.
COST_FIELDS = {"capital": (("capital_low", "capital_typical", "capital_high"), "cost_year"),
               "annual": (("annual_low", "annual_cost", "annual_high"), "annual_year")}


class CatalogSettings(BaseModel):
    """``catalog/catalog.yaml``: when the catalog's rules were last checked, and the dollar
    year every cost is stated in."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    as_of: dt.date = Field(description="the day every program, rule and mandate was last checked")
    dollar_year: int = Field(ge=1990, le=2100, description="costs are shown in dollars of this year")
    price_index: str = Field(min_length=1, description="the index table file, beside catalog.yaml")


class IndexRow(BaseModel):
    """One year of the price index table."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    year: int = Field(ge=1900, le=2100)
    index: float = Field(gt=0)
    series: str = Field(min_length=1)
    source: str = Field(min_length=1)
    url: str = ""
    checked: dt.date


def load_settings(folder: Path, problems: ProblemCollector) -> CatalogSettings | None:
    """Read ``catalog.yaml``."""
    return validate_model(CatalogSettings, read_yaml_mapping(folder / "catalog.yaml"), problems, "catalog.yaml")


def load_price_index(path: Path, problems: ProblemCollector) -> dict[int, float]:
    """Read the price index table: year -> index value."""
    table = read_table(path)
    index: dict[int, float] = {}
    for i, row in enumerate(table.rows):
        item = validate_model(IndexRow, row, problems, table.row_label(i))
        if item is None:
            continue
        if item.year in index:
            problems.add(table.row_label(i), "year", item.year, "each year once")
        index[item.year] = item.index
    if not index:
        problems.add("row 2", "", "", "at least one year of the index below the header row")
    return index


def in_dollar_year(measures: list[tuple[str, Measure]], index: dict[int, float], year: int,
                   problems: ProblemCollector) -> list[tuple[str, Measure]]:
    """Each measure with its observed prices converted from the year they were paid to ``year``
    dollars (cost x index[year] / index[paid]); a reasoned estimate is in the dollars of the
    year it is made and is not converted (an index applied to a present-day estimate that
    carries an old year would inflate it). A year the index lacks is a problem."""
    if year not in index:
        problems.add("catalog.yaml", "dollar_year", year, f"a year of the price index ({min(index, default='-')}"
                     f"-{max(index, default='-')})")
        return measures
    out = []
    for where, m in measures:
        update, ok = {}, True
        for part, (fields, year_field) in COST_FIELDS.items():
            if getattr(m, f"{part}_basis") != "observed":
                continue
            paid = getattr(m, year_field)
            if paid not in index:
                problems.add(where, year_field, paid, f"a year of the price index ({min(index)}-{max(index)}); "
                             "add the year's index value to the index table")
                ok = False
                continue
            factor = index[year] / index[paid]
            update.update({f: round(getattr(m, f) * factor, 2) for f in fields})
        if ok:
            out.append((where, m.model_copy(update=update)))
    return out
