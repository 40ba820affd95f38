"""Faults a school-safety consultant found in the catalog stay fixed: prerequisites a
professional checks, no service paid twice, harmful products discouraged, personnel mandates met
by their cheapest lawful option, and evidence ratings that rest on studies, not on laws."""
from __future__ import annotations

import re

import pytest

from optimizer import load_catalog

#: Evidence bands of docs/effectiveness-rubric.md, section 2.
BANDS = {"strong": (0.50, 0.90), "moderate": (0.35, 0.70), "promising": (0.25, 0.50),
         "expert_consensus": (0.10, 0.40), "none": (0.05, 0.25), "contested": (0.05, 0.20),
         "harmful": (0.00, 0.05)}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def exclusive(a, b) -> bool:
    """True when a plan can hold at most one of the two measures at any place: the same
    alternative group, and the same scope (the model applies a group per school or district)."""
    return bool(a.alternative_group) and a.alternative_group == b.alternative_group and a.scope == b.scope


# 1. Prerequisites a professional checks ----------------------------------------------------

def test_lock_status_indicator_requires_the_inside_lock_hardware(catalog):
    m = catalog.measures
    indicator = m["cls-ac-lock-status-indicator"]
    assert "cls-ac-interior-lock-retrofit" in indicator.prerequisites
    hardware = [p for p in indicator.prerequisites if "hardware" in m[p].funding_categories]
    assert hardware, "an indicator needs a lock, not only a locked-door policy"
    assert all(m[p].layer == "classroom" and m[p].component == "access_control" for p in hardware)


def _analytics(catalog):
    return [x for x in catalog.measures.values()
            if "analytic" in f"{x.id} {x.name} {x.description}".lower()
            or (x.component == "video" and re.search(r"\bAI\b|recognition", x.name))]


def _cameras(catalog):
    analytics = {x.id for x in _analytics(catalog)}
    return {x.id for x in catalog.measures.values()
            if x.component == "video" and x.id not in analytics and "camera" in x.description.lower()}


def test_every_analytics_measure_requires_the_cameras_it_analyses(catalog):
    m = catalog.measures
    analytics, cameras = _analytics(catalog), _cameras(catalog)
    assert {"bld-vid-behavior-analytics", "cmp-det-perimeter-intrusion-analytics",
            "bld-vid-ai-gun-detection"} <= {x.id for x in analytics}
    lacking = [x.id for x in analytics if not set(x.prerequisites) & cameras]
    assert not lacking, f"analytics without cameras: {lacking}"
    # fights, crowding and loitering happen in corridors and common areas, not only at doors
    assert {"bld-vid-entrance-cameras", "cls-vid-corridor-cameras"} <= set(m["bld-vid-behavior-analytics"].prerequisites)
    # fence-line analytics need cameras that cover the fence line
    fence = [p for p in m["cmp-det-perimeter-intrusion-analytics"].prerequisites
             if p in cameras and "fence" in m[p].description.lower()]
    assert fence, "perimeter analytics need the fence-line cameras"


def test_panic_app_and_911_integration_do_not_both_pay_for_911(catalog):
    app = catalog.measures["cls-det-silent-panic-alarm"]
    link = catalog.measures["dst-com-alert-911-integration"]
    assert "911" in app.description  # the app alerts 911 itself
    if exclusive(app, link):
        return
    # the rule chosen: the integration covers only what the app lacks, never app alerts
    text = link.description.lower()
    assert "panic alert app" in text and "not a second 911 link" in text
    assert "mass-notification" in text and "dst-com-mass-notification" in link.prerequisites
    assert link.id not in app.prerequisites and app.id not in link.prerequisites


def test_intrusion_alarm_and_central_monitoring_do_not_both_pay_monitoring(catalog):
    alarm = catalog.measures["bld-det-intrusion-alarm"]
    central = catalog.measures["dst-det-central-alarm-monitoring"]
    if exclusive(alarm, central):
        return
    assert central.id in alarm.prerequisites, "the building alarm is monitored through the district service"
    assert alarm.annual_cost < central.annual_cost, "the building alarm must not carry a second monitoring fee"
    assert "around the clock" not in alarm.description and "monitored" not in alarm.name.lower()


def test_doorbell_cannot_stand_in_for_the_tier1_controlled_entry(catalog):
    m = catalog.measures
    doorbell, intercom = m["bld-com-video-doorbell"], m["bld-ac-visitor-entry-intercom"]
    assert exclusive(doorbell, intercom)
    assert doorbell.effectiveness <= intercom.effectiveness
    assert intercom.tier == 1 and m["bld-arc-vestibule-retrofit"].tier == 1
    assert doorbell.tier != 1, "a doorbell without remote release must not count as PASS tier-1 entry control"


# 2. Harmful and contested ------------------------------------------------------------------

def test_every_harmful_measure_is_discouraged_with_a_reason(catalog):
    harmful = [x for x in catalog.measures.values() if x.evidence == "harmful"]
    assert "bld-ppl-simulated-active-shooter-drill" in {x.id for x in harmful}
    bad = [x.id for x in harmful if not (x.discouraged and x.discouraged_reason and len(x.discouraged_reason) > 40)]
    assert not bad, f"harmful but not discouraged: {bad}"


def test_simulated_drill_reason_cites_guidance_and_study(catalog):
    reason = catalog.measures["bld-ppl-simulated-active-shooter-drill"].discouraged_reason or ""
    for source in ("NASP", "NASRO", "Everytown", "ElSherief"):
        assert source in reason


def test_no_evidence_rating_rests_on_a_ban(catalog):
    on_law = [x.id for x in catalog.measures.values()
              if re.search(r"\bban(s|ned)?\b|\bprohibit", x.evidence_source, re.IGNORECASE)]
    assert not on_law, f"evidence rated from a law, not a study: {on_law}"


# 3. Personnel mandates met by the cheapest compliant option --------------------------------

@pytest.mark.parametrize("mandate_id", ["pa-school-safety-coordinator", "fl-school-safety-specialist",
                                        "nj-school-safety-specialist"])
def test_personnel_mandates_list_the_designated_administrator_first(catalog, mandate_id):
    mandate = next(x for p in catalog.states.values() for x in p.mandates if x.id == mandate_id)
    assert mandate.measures[0] == "dst-ppl-safety-coordinator-designated"
    assert "dst-ppl-safety-director" in mandate.measures


def test_designated_coordinator_is_the_cheaper_alternative_to_a_director(catalog):
    m = catalog.measures
    designated, director = m["dst-ppl-safety-coordinator-designated"], m["dst-ppl-safety-director"]
    assert designated.scope == "district" and designated.is_estimate and designated.annual_year >= 2025
    assert designated.annual_cost < director.annual_cost / 5
    assert exclusive(designated, director)
    every_director_mandate = [x for p in catalog.states.values() for x in p.mandates
                              if director.id in x.measures]
    assert all(designated.id in x.measures for x in every_director_mandate)


# 4. Evidence from the literature, so that evidence_only gives a usable plan ----------------

def test_counselors_and_social_workers_are_rated_from_studies(catalog):
    m = catalog.measures
    assert m["dst-ppl-school-counselor"].evidence == "moderate"
    assert m["dst-ppl-school-social-worker"].evidence == "promising"
    for mid in ("dst-ppl-school-counselor", "dst-ppl-school-social-worker", "dst-ppl-threat-assessment-team",
                "dst-ppl-sel-program"):
        x = m[mid]
        assert x.evidence_key and re.search(r"\(\d{4}\)", x.evidence_source), mid
        low, high = BANDS[x.evidence]
        assert low <= x.effectiveness <= high, mid  # in band even though a note is present


def test_changed_bands_are_explained(catalog):
    for mid in ("dst-ppl-school-counselor", "dst-ppl-school-social-worker"):
        note = catalog.measures[mid].effectiveness_note or ""
        assert "evidence band changed" in note, mid


def test_evidence_only_stance_has_prevention_staff_to_buy(catalog):
    backed = {x.id for x in catalog.measures.values()
              if x.evidence in ("strong", "moderate", "promising") and not x.discouraged}
    assert {"dst-ppl-threat-assessment-team", "dst-ppl-sel-program", "dst-ppl-school-counselor",
            "dst-ppl-school-social-worker"} <= backed
