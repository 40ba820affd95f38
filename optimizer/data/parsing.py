"""Values as people type them in spreadsheets and YAML: ``$1,250`` is 1250 dollars, ``25%``
is a share of 0.25, `` Yes `` is true. Each number type below reads those forms once, for
every model that uses it; anything it does not recognise goes on to pydantic unchanged, so
the error names the value as it was written.

The upper bounds refuse values no school district plans with (``1e30`` dollars, ten million
doors), which would otherwise reach the solver as numbers it cannot handle."""
from __future__ import annotations

import datetime
import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Discriminator, Field, Tag

#: Largest dollar amount accepted anywhere (a unit cost, a budget, a grant).
MAX_DOLLARS = 1e10
#: Largest count accepted anywhere (students, doors, classrooms at one site).
MAX_COUNT = 1_000_000
#: Largest plain factor accepted (cost units per basis unit, a weight).
MAX_FACTOR = 1000.0

_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
_CURRENCY = ("US$", "USD", "$")


def as_number(value):
    """Read a number written with spaces or thousands separators (``1,250,000.50``).

    A comma that does not group digits by three (``1,25``) is left in place, so a decimal
    comma is refused rather than misread.
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    return text.replace(",", "") if _GROUPED.fullmatch(text) else text


def as_dollars(value):
    """Read a dollar amount: ``$1,250``, ``USD 1250``, `` 1,250.00 ``.

    Raises
    ------
    ValueError
        For a percentage, which is never a dollar amount.
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.endswith("%"):
        raise ValueError("a dollar amount such as 1250 or $1,250, not a percentage")
    for sign in _CURRENCY:
        if text.upper().startswith(sign):
            return as_number(text[len(sign):])
    return as_number(text)


def as_fraction(value):
    """Read a fraction of one: ``0.25``, or ``25%`` (read as 0.25).

    Raises
    ------
    ValueError
        For a percentage whose number cannot be read.
    """
    if not (isinstance(value, str) and value.strip().endswith("%")):
        return as_number(value)
    number = as_number(value.strip()[:-1])
    try:
        return float(number) / 100
    except ValueError:
        raise ValueError("a share such as 0.25 or 25%") from None


def as_year(value):
    """Read a fiscal year: ``2027`` or `` 2,027 ``.

    Raises
    ------
    ValueError
        For a date (YAML and Excel read ``2017-01-01`` as one), which is not a fiscal year.
    """
    if isinstance(value, (datetime.date, datetime.datetime)):
        raise ValueError(f"a fiscal year such as {value.year}, not a date")
    return as_number(value)


def as_flag(value):
    """Read yes/no as pydantic does (``yes``, ``No``, ``TRUE``, ``0``), ignoring spaces."""
    return value.strip() if isinstance(value, str) else value


def _at_most(limit: float, unit: str = ""):
    """An after-validator refusing values above ``limit``, with a word on units."""
    text = f"at most {limit:,.0f}{' ' + unit if unit else ''}; check the units and the number of zeros"

    def check(value):
        if value > limit:
            raise ValueError(text)
        return value

    return AfterValidator(check)


#: Dollars, zero or more: ``1250``, ``$1,250``, ``USD 1,250.00``.
Dollars = Annotated[float, BeforeValidator(as_dollars), Field(ge=0), _at_most(MAX_DOLLARS, "dollars")]
#: A fraction of one: ``0.25`` or ``25%``.
Fraction = Annotated[float, BeforeValidator(as_fraction), Field(ge=0, le=1)]
#: A whole count, zero or more: ``1500`` or ``1,500``.
Count = Annotated[int, BeforeValidator(as_number), Field(ge=0), _at_most(MAX_COUNT)]
#: A plain number (bounds given by the field): ``1.2``, ``1,000``.
Number = Annotated[float, BeforeValidator(as_number)]
#: A relative weight, zero or more.
Weight = Annotated[float, BeforeValidator(as_number), Field(ge=0), _at_most(MAX_FACTOR)]
#: A fiscal year, named by the calendar year it ends in; years far from any plan (a typo such
#: as 20277, or -1000000000000) are refused here rather than planned with.
FiscalYear = Annotated[int, BeforeValidator(as_year), Field(ge=1950, le=2100)]
#: Yes or no: ``yes``, ``No``, ``true``, ``0``.
Flag = Annotated[bool, BeforeValidator(as_flag)]

#: Labels of the two forms of a per-year amount; error messages leave them out of field paths.
PER_YEAR_FORMS = ("one amount for every year", "amounts by year")


def _per_year_form(value) -> str:
    return PER_YEAR_FORMS[isinstance(value, dict)]


#: Dollars per fiscal year: one amount for every year, or a mapping ``year: amount``.
PerYear = Annotated[Annotated[Dollars, Tag(PER_YEAR_FORMS[0])]
                    | Annotated[dict[int, Dollars], Tag(PER_YEAR_FORMS[1])],
                    Discriminator(_per_year_form)]
