"""Anything that can change is written with optimistic concurrency: a stale write
is refused (412 in the API, a message on the pages), never silently applied."""

import pytest
from django.urls import reverse

from chronology import services
from chronology.models import Involvement
from core.concurrency import StaleVersion
from escalation.models import RuleSet
from neglect_tool import services as scoring
from neglect_tool.models import ScoringConfig


def test_ending_an_involvement_read_before_a_change_is_refused(alice, bob, child):
    involvement = Involvement.objects.get(child=child, agency=bob.agency)
    read = involvement.revision
    services.involvement_end(actor=alice, involvement=involvement, reason="Left the school")
    reopened = services.involvement_grant(
        actor=alice, child=child, agency=bob.agency, reason="Back"
    )
    with pytest.raises(StaleVersion):
        services.involvement_end(
            actor=alice, involvement=involvement, reason="again", expected_revision=read
        )
    reopened.refresh_from_db()
    assert reopened.ended_on is None


def test_two_admins_editing_one_scoring_draft_cannot_overwrite_each_other(ada):
    draft = scoring.scoring_config_draft(actor=ada, based_on=ScoringConfig.objects.get(version=1))
    read = draft.revision
    scoring.scoring_config_update_draft(
        actor=ada, draft=draft, expected_revision=read, half_life_days=200
    )
    with pytest.raises(StaleVersion):
        scoring.scoring_config_update_draft(
            actor=ada, draft=draft, expected_revision=read, half_life_days=100
        )
    draft.refresh_from_db()
    assert draft.half_life_days == 200


def test_a_rule_set_draft_edited_meanwhile_is_refused_on_its_page(client, ada):
    from escalation.services import rule_set_active, rule_set_draft

    draft = rule_set_draft(actor=ada, based_on=rule_set_active())
    client.force_login(ada)
    url = reverse("rule_set_settings", args=[draft.version])
    form = {
        "note": "mine",
        "level_2_after_working_hours": 8,
        "level_3_after_working_hours": 16,
        "revision": draft.revision,
    }
    RuleSet.objects.filter(pk=draft.pk).update(revision=draft.revision + 1)  # someone else saved
    response = client.post(url, form)
    assert "Someone else changed this draft" in response.content.decode()
    draft.refresh_from_db()
    assert draft.note != "mine"
