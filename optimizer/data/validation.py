"""Turning pydantic's validation errors into the tool's own problem reports."""
from __future__ import annotations

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


def validate_model(model: type[M], data: Any, problems: ProblemCollector, where: str,
                   prefix: str = "") -> M | None:
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
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            field = prefix + ".".join(str(p) for p in error["loc"] if p not in PER_YEAR_FORMS)
            value = "" if error["type"] == "missing" else error.get("input", "")
            if isinstance(value, dict):
                value = ""
            problems.add(where, field, value, _expected(error, model))
        return None
