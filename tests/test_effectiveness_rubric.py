"""The catalog keeps its effectiveness rubric (docs/effectiveness-rubric.md): every value in
the band its evidence allows, no measure without evidence above an evidence-backed measure
of the same layer and role, and no study counted twice."""
from __future__ import annotations

from collections import defaultdict

import pytest

from optimizer.data.catalog import load_catalog
from optimizer.data.vocabulary import EVIDENCE_BANDS

BANDS = EVIDENCE_BANDS
BACKED, UNBACKED = {"strong", "moderate"}, {"none", "contested"}


@pytest.fixture(scope="module")
def measures():
    return list(load_catalog().measures.values())


def test_every_value_lies_in_its_evidence_band(measures):
    outside = [f"{m.id}: {m.effectiveness} ({m.evidence}, band {BANDS[m.evidence]})" for m in measures
               if not BANDS[m.evidence][0] <= m.effectiveness <= BANDS[m.evidence][1] and not m.effectiveness_note]
    assert not outside, "\n".join(outside)


def test_no_measure_without_evidence_scores_above_an_evidence_backed_one_of_the_same_job(measures):
    by_job = defaultdict(list)
    for m in measures:
        by_job[m.layer, m.role].append(m)
    wrong = [f"{weak.id} ({weak.evidence}, {weak.effectiveness}) above {good.id} ({good.evidence}, {good.effectiveness})"
             for group in by_job.values() for weak in group if weak.evidence in UNBACKED and not weak.effectiveness_note
             for good in group if good.evidence in BACKED and weak.effectiveness > good.effectiveness]
    assert not wrong, "\n".join(wrong)


def test_no_study_counts_twice(measures):
    by_study = defaultdict(set)
    for m in measures:
        if m.evidence_key:
            by_study[m.evidence_key].add(m.alternative_group or m.id)
    twice = {study: sorted(owners) for study, owners in by_study.items() if len(owners) > 1}
    assert not twice, twice


def test_evidence_backed_measures_name_their_study(measures):
    missing = [m.id for m in measures if m.evidence in BACKED | {"promising"} and not m.evidence_key]
    assert not missing, missing


def test_every_role_is_used_in_the_catalog(measures):
    assert {m.role for m in measures} == {"prevent", "detect", "delay", "respond", "recover"}
