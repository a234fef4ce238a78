"""The escalation dashboard lists open alerts 50 a page, most urgent first (highest
ladder level, then the longest waiting); its figures count every alert that the
filters match, not only the page shown; the cost does not grow with the alerts."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from chronology import services
from escalation.models import Alert, AlertStatus
from tests.factories import UserFactory

ALERT = re.compile(r'href="/alerts/([0-9a-f-]+)/"')


def alerts_about_new_children(actor, n, *, level_of=lambda i: 1 + i % 3):
    """n open alerts, one about each of n new children that `actor`'s agency records;
    alert i has ladder level level_of(i) and was raised i hours after the first."""
    start = timezone.now() - datetime.timedelta(days=20)
    alerts = []
    for i in range(n):
        child = services.child_create(actor=actor, given_names=f"Kid{i:03d}", family_name="Load")
        alert = Alert.objects.create(
            child=child,
            rule_code="frequency-neglect",
            reason=f"Concern number {i}",
            pattern_started_on=timezone.localdate(),
            raised_on=timezone.localdate(),
            ladder_level=level_of(i),
        )
        Alert.objects.filter(pk=alert.pk).update(raised_at=start + datetime.timedelta(hours=i))
        alert.refresh_from_db()
        alerts.append(alert)
    return alerts


def most_urgent_first(alerts):
    ordered = sorted(alerts, key=lambda a: (-a.ladder_level, a.raised_at, a.pk))
    return [str(a.public_id) for a in ordered]


def listed(page: str) -> list[str]:
    return ALERT.findall(page)


def test_page_two_shows_the_next_alerts_most_urgent_first(client, alice, mallory):
    alerts = alerts_about_new_children(alice, 56)
    client.force_login(mallory)
    first = client.get(reverse("escalation_dashboard")).content.decode()
    second = client.get(reverse("escalation_dashboard"), {"page": "2"}).content.decode()
    order = most_urgent_first(alerts)
    assert listed(first) == order[:50]
    assert listed(second) == order[50:]
    assert "Showing alerts 1 to 50 of 56" in first and "Showing alerts 51 to 56 of 56" in second
    assert '<nav class="govuk-pagination" aria-label="Pages of alerts">' in first
    assert 'href="?page=2#alerts" rel="next"' in first


def test_the_figures_count_every_alert_not_only_the_page(client, alice, mallory):
    alerts_about_new_children(alice, 56)  # levels 1, 2, 3 in turn: 19, 19 and 18
    client.force_login(mallory)
    page = client.get(reverse("escalation_dashboard"), {"page": "2"}).content.decode()
    figures = page.split("Open alerts by ladder level")[1].split("By age")[0]
    values = re.findall(r'govuk-summary-list__value">(\d+)<', figures)
    assert values == ["19", "19", "18"]
    by_age = page.split("By age")[1].split("Children by neglect level")[0]
    assert re.findall(r'govuk-summary-list__value">(\d+)<', by_age) == ["0", "0", "56"]


def test_a_filter_holds_across_pages(client, alice, mallory):
    alerts = alerts_about_new_children(alice, 60, level_of=lambda i: 1 if i < 55 else 2)
    client.force_login(mallory)
    first = client.get(reverse("escalation_dashboard"), {"level": "1"}).content.decode()
    assert 'href="?level=1&amp;page=2#alerts" rel="next"' in first
    second = client.get(reverse("escalation_dashboard"), {"level": "1", "page": "2"})
    order = most_urgent_first([a for a in alerts if a.ladder_level == 1])
    assert listed(first) + listed(second.content.decode()) == order


def test_resolved_alerts_and_another_agencys_alerts_never_appear(client, alice, charlie, mallory):
    mine = alerts_about_new_children(alice, 3)
    theirs = alerts_about_new_children(charlie, 52)
    Alert.objects.filter(pk=mine[0].pk).update(status=AlertStatus.RESOLVED)
    client.force_login(mallory)
    page = client.get(reverse("escalation_dashboard")).content.decode()
    assert listed(page) == most_urgent_first(mine[1:])
    housing_manager = UserFactory(agency=charlie.agency, role="manager")
    client.force_login(housing_manager)
    for number in ("1", "2"):
        page = client.get(reverse("escalation_dashboard"), {"page": number}).content.decode()
        assert not set(listed(page)) & {str(a.public_id) for a in mine}
    assert set(listed(page)) <= {str(a.public_id) for a in theirs}


def test_a_page_past_the_end_goes_back_to_the_first_keeping_the_filters(client, alice, mallory):
    alerts_about_new_children(alice, 2)
    client.force_login(mallory)
    response = client.get(reverse("escalation_dashboard"), {"status": "open", "page": "7"})
    assert response.status_code == 302
    assert response["Location"] == reverse("escalation_dashboard") + "?status=open#alerts"


# The session, the user; the page of alerts with its total; the alert figures; the
# children by level; changes of worker; the active rules, for the Rule filter's names;
# for a manager, the background jobs' heartbeats.
DASHBOARD_QUERIES = 8


@pytest.mark.parametrize("n", [2, 60])
def test_the_dashboard_costs_the_same_queries_for_2_or_60_alerts(
    client, alice, mallory, n, django_assert_num_queries
):
    alerts_about_new_children(alice, n)
    client.force_login(mallory)
    with django_assert_num_queries(DASHBOARD_QUERIES):
        response = client.get(reverse("escalation_dashboard"), {"page": "2" if n > 50 else "1"})
    assert response.status_code == 200


def test_the_rule_filter_is_a_list_of_rule_names(client, alice, mallory):
    alerts_about_new_children(alice, 2)
    client.force_login(mallory)
    page = client.get(reverse("escalation_dashboard"), {"rule": "frequency-neglect"})
    html = page.content.decode()
    assert '<select class="govuk-select" id="filter-rule" name="rule">' in html
    assert (
        '<option value="frequency-neglect" selected>'
        "Repeated neglect concerns from more than one agency</option>"
    ) in html
    assert '<option value="professional-disagreement">Professional disagreement</option>' in html
    assert page.context["page"].paginator.count == 2
