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

COST_FIELDS = ("capital_low", "capital_typical", "capital_high", "annual_cost")


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
    """Each measure with its costs converted from its ``cost_year`` to ``year`` dollars
    (cost x index[year] / index[cost_year]); a cost year the index lacks is a problem."""
    if year not in index:
        problems.add("catalog.yaml", "dollar_year", year, f"a year of the price index ({min(index, default='-')}"
                     f"-{max(index, default='-')})")
        return measures
    out = []
    for where, m in measures:
        if m.cost_year not in index:
            problems.add(where, "cost_year", m.cost_year, f"a year of the price index ({min(index)}-{max(index)}); "
                         "add the year's index value to the index table")
            continue
        factor = index[year] / index[m.cost_year]
        out.append((where, m.model_copy(update={f: round(getattr(m, f) * factor, 2) for f in COST_FIELDS})))
    return out
