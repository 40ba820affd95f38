"""Turning pydantic's validation errors into the tool's own problem reports."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from optimizer.data.parsing import PER_YEAR_FORMS
from optimizer.errors import ProblemCollector

M = TypeVar("M", bound=BaseModel)


def _expected(error: dict[str, Any], model: type[BaseModel]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "a value; this field is required"
    if kind == "extra_forbidden":
        return "no such field; known fields are " + ", ".join(model.model_fields)
    message = error["msg"].split(" after validation")[0]
    for prefix in ("Input should be ", "Value error, ", "Assertion failed, ", "List should have ",
                   "String should have ", "String should match "):
        if message.startswith(prefix):
            return message[len(prefix):]
    return message


#: Where an error of a nested list item is, from its location: (where, the rest of the location).
Locate = Callable[[tuple], "tuple[str, tuple] | None"]


def validate_model(model: type[M], data: Any, problems: ProblemCollector, where: str,
                   prefix: str = "", locate: Locate | None = None,
                   skip: Callable[[dict[str, Any]], bool] | None = None) -> M | None:
    """Validate ``data`` as ``model``; on failure record every error and return None.

    Parameters
    ----------
    model : type of pydantic model
        The model to build.
    data : Any
        Raw data (a mapping read from YAML or a CSV row).
    problems : ProblemCollector
        Where errors are recorded, each naming ``where`` and the field path.
    where : str
        Row or key path of ``data`` in its file.
    prefix : str
        Prepended to field paths (``budget.`` for a nested block).
    locate : callable, optional
        Given an error's location, the ``where`` that names it for a person and the rest of
        the location as the field (``site 4 (id HS-1)`` and ``enrollment`` for
        ``sites.3.enrollment``), or None to keep ``where`` and the whole location.
    skip : callable, optional
        True for an error (a pydantic error mapping) not to record, because a clearer
        problem already says it (a missing column, a sites file that could not be read).
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            if skip is not None and skip(error):
                continue
            loc, place = tuple(error["loc"]), where
            found = locate(loc) if locate is not None else None
            if found is not None:
                place, loc = found
            field = prefix + ".".join(str(p) for p in loc if p not in PER_YEAR_FORMS)
            value = "" if error["type"] == "missing" else error.get("input", "")
            if isinstance(value, dict):
                value = ""
            problems.add(place, field, value, _expected(error, model))
        return None
