"""The back-test: would the default rules have acted on Case Q, and stay quiet elsewhere?"""

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from chronology.models import AuditEvent, Child, Entry
from escalation.models import Alert
from escalation.replay import replay_document

FIXTURES = Path(__file__).resolve().parents[2] / "chronology" / "fixtures"
CASE_Q = FIXTURES / "case_q.json"


@pytest.fixture
def counts(db):
    def snapshot():
        return [m.objects.count() for m in (Child, Entry, Alert, AuditEvent)]

    return snapshot


def test_replaying_case_q_meets_every_expectation_and_saves_nothing(counts, capsys):
    before = counts()
    call_command("replay", str(CASE_Q), "--json")
    result = json.loads(capsys.readouterr().out)
    assert counts() == before
    assert result["expect"] and all(item["met"] for item in result["expect"]), result["expect"]
    sexual_abuse = [a for a in result["alerts"] if "sexual_abuse" in a["categories"]]
    assert sexual_abuse and sexual_abuse[0]["child"] == "C1"
    assert {"child", "date", "rule", "categories", "level", "reason"} <= set(result["alerts"][0])
    assert {(lv["child"], lv["level"]) for lv in result["levels"]} >= {("C1", 3), ("C2", 3)}


def test_a_family_whose_low_level_concerns_resolve_raises_no_alert(db):
    result = replay_document((FIXTURES / "demo" / "family_a.json").read_bytes(), file_name="a")
    assert result["alerts"] == []


def test_replay_does_not_touch_the_same_children_already_imported(social_care, counts):
    from agencies.services import service_account_get
    from chronology.interchange import import_document

    import_document(
        CASE_Q.read_bytes(),
        file_name="case_q.json",
        as_agency=social_care,
        actor=service_account_get(purpose="import"),
    )
    before = counts()
    result = replay_document(CASE_Q.read_bytes(), file_name="case_q.json")
    assert all(item["met"] for item in result["expect"])
    assert counts() == before


def test_a_rule_set_version_that_does_not_exist_is_a_clear_error(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no rule set version 99"):
        call_command("replay", str(CASE_Q), "--rules", "99")


def test_a_rules_file_replays_a_draft_without_saving_it(db, tmp_path, capsys):
    rules = tmp_path / "rules.json"
    rules.write_text(
        json.dumps(
            {
                "rules": [
                    {"code": "level-statutory", "type": "level_reached", "params": {"level": 4}},
                ]
            }
        )
    )
    call_command("replay", str(CASE_Q), "--rules", str(rules), "--json")
    result = json.loads(capsys.readouterr().out)
    assert {a["rule"] for a in result["alerts"]} == {"level-statutory"}
    # Level 4 alone comes in 2013, after the first expectation's deadline for C2.
    assert not all(item["met"] for item in result["expect"])
