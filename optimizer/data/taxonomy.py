"""The PASS taxonomy as versioned data: layers, components and tiers per edition, and the
mapping of layers between editions. Nothing here hard-codes an edition's layers."""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from optimizer.data.readers import read_table, read_yaml_mapping
from optimizer.data.validation import validate_model
from optimizer.errors import InputError, InputProblem, ProblemCollector

EDITIONS = (6, 7)
DEFAULT_EDITION = 7


class _Named(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z_]+$")
    name: str


class TierLevel(BaseModel):
    """One PASS tier and what it means."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    level: int = Field(ge=1, le=4)
    name: str
    meaning: str


class Taxonomy(BaseModel):
    """Layers, components and tiers of one PASS edition."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    edition: int
    year: int
    title: str
    source: str
    layers: list[_Named]
    components: list[_Named]
    tiers: list[TierLevel]

    @property
    def layer_ids(self) -> list[str]:
        """Layer ids in PASS order, from the outermost policy layer inward."""
        return [layer.id for layer in self.layers]

    @property
    def component_ids(self) -> list[str]:
        """Component ids in PASS order."""
        return [c.id for c in self.components]


class EditionMapping(BaseModel):
    """Layer mapping between the 6th and 7th editions."""

    model_config = ConfigDict(frozen=True)
    to_7: dict[str, list[str]]
    back_to_6: dict[str, str]


def load_taxonomy(folder: Path, edition: int) -> Taxonomy:
    """Load the taxonomy of one PASS edition from ``folder/pass-<edition>.yaml``."""
    path = folder / f"pass-{edition}.yaml"
    if edition not in EDITIONS:
        raise InputError([InputProblem(str(path), "", "edition", str(edition),
                                       f"one of the PASS editions {', '.join(map(str, EDITIONS))}")])
    problems = ProblemCollector(path)
    taxonomy = validate_model(Taxonomy, read_yaml_mapping(path), problems, "top level")
    problems.raise_if_any()
    return taxonomy


def load_edition_mapping(folder: Path, pass6: Taxonomy, pass7: Taxonomy) -> EditionMapping:
    """Load ``edition-mapping.csv`` and check that it covers every layer of both editions."""
    table = read_table(folder / "edition-mapping.csv")
    problems = ProblemCollector(table.file)
    to_7: dict[str, list[str]] = {}
    back: dict[str, str] = {}
    for i, row in enumerate(table.rows):
        six, seven = row.get("pass6_layer", ""), row.get("pass7_layer", "")
        if six not in pass6.layer_ids:
            problems.add(table.row_label(i), "pass6_layer", six, f"one of {pass6.layer_ids}")
        if seven not in pass7.layer_ids:
            problems.add(table.row_label(i), "pass7_layer", seven, f"one of {pass7.layer_ids}")
        to_7.setdefault(six, []).append(seven)
        if row.get("back_default") == "yes":
            if seven in back:
                problems.add(table.row_label(i), "back_default", "yes",
                             f"one default 6th-edition layer per 7th-edition layer; {seven} has two")
            back[seven] = six
    for layer in pass6.layer_ids:
        if layer not in to_7:
            problems.add("", "pass6_layer", layer, "a mapping row for every 6th-edition layer")
    for layer in pass7.layer_ids:
        if layer not in back:
            problems.add("", "pass7_layer", layer,
                         "a row with back_default=yes for every 7th-edition layer")
    problems.raise_if_any()
    return EditionMapping(to_7=to_7, back_to_6=back)
