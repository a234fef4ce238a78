"""Escalation pages: the dashboard, an alert, disagreements, and the admins' rules."""

import datetime
from pathlib import Path

from django.urls import reverse

from escalation import backtest
from escalation.models import AlertStatus, BackTest, RuleSet
from tests.factories import UserFactory

D = datetime.date
FAMILY_A = (
    Path(__file__).resolve().parents[2] / "chronology" / "fixtures" / "demo" / "family_a.json"
)


def test_a_manager_sees_the_alert_on_the_dashboard_in_a_fixed_number_of_queries(
    client, mallory, alert, django_assert_max_num_queries
):
    client.force_login(mallory)
    with django_assert_max_num_queries(15):
        page = client.get(reverse("escalation_dashboard"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Robin Synthetic" in html and "no multi-agency decision" in html


def test_the_dashboard_counts_only_what_the_manager_may_see(client, alert, housing):
    other_manager = UserFactory(agency=housing, role="manager")
    client.force_login(other_manager)
    html = client.get(reverse("escalation_dashboard")).content.decode()
    assert "Robin Synthetic" not in html
    assert "No open alerts match." in html


def test_a_practitioner_or_an_admin_cannot_open_the_dashboard(client, alice, ada):
    for user in (alice, ada):
        client.force_login(user)
        assert client.get(reverse("escalation_dashboard")).status_code == 403


def test_an_outsider_gets_404_for_an_alert_and_cannot_act_on_it(client, charlie, alert):
    client.force_login(charlie)
    url = reverse("alert_detail", args=[alert.public_id])
    assert client.get(url).status_code == 404
    post = client.post(reverse("alert_acknowledge", args=[alert.public_id]), {"reason": "x"})
    assert post.status_code == 404
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


def test_anonymous_visitors_are_sent_to_sign_in(client, alert):
    for url in [
        reverse("escalation_dashboard"),
        reverse("alert_detail", args=[alert.public_id]),
        reverse("alert_acknowledge", args=[alert.public_id]),
        reverse("rule_sets"),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_a_lead_acknowledges_and_a_manager_resolves_with_a_reason(client, bob, mallory, alert):
    client.force_login(bob)
    client.post(
        reverse("alert_acknowledge", args=[alert.public_id]),
        {"reason": "Calling social care", "version": alert.version},
    )
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED
    # A lead may not resolve without a decision.
    assert (
        client.post(
            reverse("alert_resolve", args=[alert.public_id]), {"reason": "x" * 30}
        ).status_code
        == 403
    )
    client.force_login(mallory)
    client.post(
        reverse("alert_resolve", args=[alert.public_id]),
        {"reason": "Family moved out of county; case transferred today", "version": alert.version},
    )
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED


def test_a_stale_form_is_refused_with_a_message(client, bob, alert):
    client.force_login(bob)
    page = client.post(
        reverse("alert_acknowledge", args=[alert.public_id]),
        {"reason": "Seen", "version": alert.version + 5},
        follow=True,
    )
    assert "Someone changed this alert" in page.content.decode()
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


def test_a_practitioner_raises_a_disagreement_from_the_child(client, bob, child):
    client.force_login(bob)
    url = reverse("disagreement_create", args=[child.public_id])
    short = client.post(url, {"reason": "Too short"})
    assert "20 characters" in short.content.decode()
    done = client.post(url, {"reason": "I think this child needs a strategy discussion now."})
    assert done.status_code == 302
    assert child.alerts.get().rule_code == "professional-disagreement"


def test_an_outsider_cannot_raise_a_disagreement(client, charlie, child):
    client.force_login(charlie)
    assert client.get(reverse("disagreement_create", args=[child.public_id])).status_code == 404


def test_an_admin_drafts_back_tests_then_activates_a_rule_set(
    client, ada, django_capture_on_commit_callbacks
):
    client.force_login(ada)
    client.post(reverse("rule_set_draft"), {"note": "Try a shorter voice timer"})
    draft = RuleSet.objects.get(status="draft")
    version = draft.version
    # Not activated before a back-test has run.
    client.post(reverse("rule_set_activate", args=[version]))
    draft.refresh_from_db()
    assert draft.status == "draft"
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("rule_set_backtest", args=[version]))
    run = BackTest.objects.get()
    assert response.url == reverse("backtest_detail", args=[run.public_id])
    queued = client.get(response.url).content.decode()
    assert "Queued: 0 of" in queued and "<progress" in queued
    backtest.backtest_run(run.pk, scenarios=[("family_a.json", FAMILY_A.read_bytes())])
    done = client.get(response.url).content.decode()
    assert "Done: 2 of 2 replays done." in done
    # Recall, lead time and false alarms, draft beside active.
    assert "Reviewers&#x27; expectations met" in done and "False alarms per 100 child-years" in done
    client.post(reverse("rule_set_activate", args=[version]))
    draft.refresh_from_db()
    assert draft.status == "active"


def test_a_manager_cannot_open_the_rules_pages(client, mallory):
    client.force_login(mallory)
    assert client.get(reverse("rule_sets")).status_code == 403


def test_the_child_page_lists_open_alerts_and_the_handover_every_alert(client, alice, alert):
    client.force_login(alice)
    page = client.get(reverse("child_detail", args=[alert.child.public_id])).content.decode()
    assert reverse("alert_detail", args=[alert.public_id]) in page
    assert reverse("disagreement_create", args=[alert.child.public_id]) in page
    handover = client.get(reverse("handover", args=[alert.child.public_id])).content.decode()
    assert alert.reason in handover


def test_the_caseload_counts_each_childs_open_alerts(client, alice, alert):
    client.force_login(alice)
    page = client.get(reverse("home")).content.decode()
    assert 'govuk-tag--red">1</strong>' in page
