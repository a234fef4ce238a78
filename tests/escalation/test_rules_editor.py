"""The admins' rules editor: a draft's rules changed on GOV.UK forms, checked and
audited by escalation.services, and activated only after a back-test of the
draft as it is now."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from chronology.models import AuditEvent
from escalation import backtest, services
from escalation.models import BackTest, Rule, RuleSet, RuleSetStatus

from .test_pages import FAMILY_A


@pytest.fixture
def draft(ada):
    return services.rule_set_draft(actor=ada, based_on=services.rule_set_active(), note="Try")


def finished_backtest(draft, actor) -> BackTest:
    """A back-test of the draft as it is now, finished (the replay itself is tested
    in test_pages and test_precision; here only its record matters)."""
    draft.refresh_from_db()
    return BackTest.objects.create(
        rule_set=draft,
        baseline=services.rule_set_active(),
        rule_set_revision=draft.revision,
        status="done",
        created_by=actor,
        finished_at=timezone.now(),
    )


def voice_form(draft, **changes) -> dict:
    draft.refresh_from_db()
    form = {
        "revision": draft.revision,
        "hours": "48",
        "categories": ["neglect.nutrition", "physical_abuse"],
        "notify_roles": ["safeguarding_lead"],
        "notify_agency_kinds": ["education", "health"],
        "is_enabled": "on",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def test_an_out_of_range_value_names_the_field_and_saves_nothing(client, ada, draft):
    rule = draft.rules.get(code="voice-unanswered")
    before = (rule.params, rule.notify_roles, draft.revision)
    audited = AuditEvent.objects.count()
    client.force_login(ada)
    url = reverse("rule_edit", args=[draft.version, "voice-unanswered"])
    response = client.post(url, voice_form(draft, hours="7200", categories=None))
    html = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in html and "govuk-error-summary" in html
    assert "Hours allowed must be between 1 and 720." in html
    assert "Choose at least one of the categories of concern." in html
    assert 'href="#id_hours"' in html and 'href="#id_categories_0"' in html
    rule.refresh_from_db()
    draft.refresh_from_db()
    assert (rule.params, rule.notify_roles, draft.revision) == before
    assert AuditEvent.objects.count() == audited


def test_a_valid_edit_is_saved_and_audited_with_before_and_after(client, ada, draft):
    rule = draft.rules.get(code="voice-unanswered")
    old_params = dict(rule.params)
    revision = draft.revision
    client.force_login(ada)
    url = reverse("rule_edit", args=[draft.version, "voice-unanswered"])
    assert "Hours allowed" in client.get(url).content.decode()
    response = client.post(url, voice_form(draft))
    assert response.status_code == 302
    assert response.url == reverse("rule_set_detail", args=[draft.version])
    rule.refresh_from_db()
    assert rule.params == {"hours": 48, "categories": ["neglect.nutrition", "physical_abuse"]}
    assert rule.notify_roles == ["safeguarding_lead"]
    assert rule.notify_agency_kinds == ["education", "health"]
    draft.refresh_from_db()
    assert draft.revision == revision + 1
    row = AuditEvent.objects.get(action="rule.update")
    assert row.actor == ada and row.details["rule"] == "voice-unanswered"
    assert row.details["before"]["params"] == old_params
    assert row.details["after"]["params"]["hours"] == 48
    # The active version's rule is untouched.
    active = Rule.objects.get(rule_set__status="active", code="voice-unanswered")
    assert active.params == old_params
    # The version page reads the change in words.
    page = client.get(response.url).content.decode()
    assert "Neglect: nutrition, Physical abuse" in page and "Safeguarding lead" in page


def test_a_level_is_chosen_by_name_and_an_unknown_one_is_refused(client, ada, draft):
    client.force_login(ada)
    url = reverse("rule_edit", args=[draft.version, "level-targeted"])
    page = client.get(url).content.decode()
    assert "3 – Targeted" in page
    draft.refresh_from_db()
    response = client.post(url, {"revision": draft.revision, "level": "9", "is_enabled": "on"})
    assert "Neglect level: choose from the list." in response.content.decode()
    assert draft.rules.get(code="level-targeted").params["level"] == 3


def test_the_service_refuses_bad_values_by_field_whatever_the_page_sent(ada, draft):
    rule = draft.rules.get(code="encompass")
    with pytest.raises(ValidationError) as raised:
        services.rule_update(
            actor=ada,
            rule=rule,
            params={"min_age": 10, "max_age": 4},
            notify_roles=["dog_walker"],
            notify_agency_kinds=[],
            is_enabled=True,
        )
    assert set(raised.value.message_dict) == {"max_age", "notify_roles"}
    rule.refresh_from_db()
    assert rule.params == {"min_age": 4, "max_age": 16}


@pytest.mark.parametrize("username", ["alice", "mallory", "auditor"])
def test_a_user_who_is_not_an_admin_gets_403(client, request, draft, username):
    client.force_login(request.getfixturevalue(username))
    for url in (
        reverse("rule_set_detail", args=[draft.version]),
        reverse("rule_edit", args=[draft.version, "turnover"]),
        reverse("rule_set_settings", args=[draft.version]),
    ):
        assert client.get(url).status_code == 403
        assert client.post(url, voice_form(draft)).status_code == 403
    with pytest.raises(Exception, match="administrator"):
        services.rule_update(
            actor=request.getfixturevalue(username),
            rule=draft.rules.get(code="turnover"),
            params={"changes": 4, "months": 12},
            notify_roles=[],
            notify_agency_kinds=[],
            is_enabled=True,
        )


def test_an_active_rule_set_cannot_be_edited(client, ada):
    active = services.rule_set_active()
    rule = active.rules.get(code="voice-unanswered")
    before = dict(rule.params)
    client.force_login(ada)
    url = reverse("rule_edit", args=[active.version, "voice-unanswered"])
    assert client.get(url).status_code == 302  # back to the version, with a message
    response = client.post(url, voice_form(active))
    assert "Only a draft can be changed" in response.content.decode()
    with pytest.raises(ValidationError):
        services.rule_update(
            actor=ada,
            rule=rule,
            params={"hours": 1, "categories": ["physical_abuse"]},
            notify_roles=[],
            notify_agency_kinds=[],
            is_enabled=True,
        )
    rule.refresh_from_db()
    assert rule.params == before
    # Nor does the version page offer to change it.
    page = client.get(reverse("rule_set_detail", args=[active.version])).content.decode()
    assert reverse("rule_edit", args=[active.version, "voice-unanswered"]) not in page


def test_activation_is_refused_without_a_back_test_of_the_current_draft(client, ada, draft):
    with pytest.raises(ValidationError, match="Back-test the draft"):
        services.rule_set_activate(actor=ada, draft=draft)
    finished_backtest(draft, ada)
    services.rule_update(
        actor=ada,
        rule=draft.rules.get(code="turnover"),
        params={"changes": 4, "months": 12},
        notify_roles=[],
        notify_agency_kinds=[],
        is_enabled=True,
    )
    # The back-test measured the draft before that edit: stale.
    with pytest.raises(ValidationError, match="changed after its last back-test"):
        services.rule_set_activate(actor=ada, draft=draft)
    client.force_login(ada)
    client.post(reverse("rule_set_activate", args=[draft.version]))
    draft.refresh_from_db()
    assert draft.status == RuleSetStatus.DRAFT
    finished_backtest(draft, ada)
    services.rule_set_activate(actor=ada, draft=draft)
    draft.refresh_from_db()
    assert draft.status == RuleSetStatus.ACTIVE
    assert RuleSet.objects.filter(status="active").get() == draft


def test_a_back_test_records_the_revision_it_measured(ada, draft):
    run = backtest.backtest_start(actor=ada, rule_set=draft)
    assert run.rule_set_revision == draft.revision
    backtest.backtest_run(run.pk, scenarios=[("family_a.json", FAMILY_A.read_bytes())])
    run.refresh_from_db()
    draft.refresh_from_db()
    assert services.backtest_current(draft) == run


def test_two_admins_editing_one_draft_cannot_overwrite_each_other(client, ada, draft):
    client.force_login(ada)
    url = reverse("rule_edit", args=[draft.version, "voice-unanswered"])
    read = voice_form(draft)
    client.post(url, voice_form(draft, hours="24"))
    response = client.post(url, {**read, "hours": "96"})
    assert "Someone else changed this draft" in response.content.decode()
    assert draft.rules.get(code="voice-unanswered").params["hours"] == 24


def test_the_ladder_timings_are_changed_on_their_form(client, ada, draft):
    client.force_login(ada)
    url = reverse("rule_set_settings", args=[draft.version])
    draft.refresh_from_db()
    bad = client.post(
        url,
        {
            "revision": draft.revision,
            "note": "x",
            "level_2_after_working_hours": "0",
            "level_3_after_working_hours": "ten",
        },
    )
    html = bad.content.decode()
    assert "Working hours before service managers are told must be between 1 and 80." in html
    assert "Working hours before the partnership is told must be a whole number." in html
    good = client.post(
        url,
        {
            "revision": draft.revision,
            "note": "Faster ladder",
            "level_2_after_working_hours": "4",
            "level_3_after_working_hours": "8",
        },
    )
    assert good.status_code == 302
    draft.refresh_from_db()
    assert (draft.level_2_after_working_hours, draft.level_3_after_working_hours) == (4, 8)
    assert AuditEvent.objects.filter(action="rule_set.update").count() == 1


def test_the_django_admin_shows_rules_but_edits_no_json(client, ada, draft):
    from django.contrib.auth.models import Permission

    # Even with every permission on rule sets and rules, the admin only shows them.
    ada.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="escalation", codename__endswith="rule")
        | Permission.objects.filter(codename__endswith="ruleset")
    )
    client.force_login(ada)
    url = reverse("admin:escalation_ruleset_change", args=[draft.pk])
    response = client.get(url)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Hours allowed: 72" in page  # the settings in words, read-only
    assert "<textarea" not in page and 'name="rules-0-params"' not in page
    client.post(url, {"note": "changed in the admin"})
    draft.refresh_from_db()
    assert draft.note == "Try"


def test_a_back_test_beside_rules_retired_since_does_not_allow_activation(ada, draft):
    finished_backtest(draft, ada)
    other = services.rule_set_draft(actor=ada, based_on=services.rule_set_active())
    finished_backtest(other, ada)
    services.rule_set_activate(actor=ada, draft=other)
    # `draft` was compared with the version just retired: activating it could undo
    # what `other` changed without anyone seeing it.
    with pytest.raises(ValidationError, match="active rules changed"):
        services.rule_set_activate(actor=ada, draft=draft)
