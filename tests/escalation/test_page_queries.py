"""The escalation and access-log pages run a fixed number of queries, at most 15,
however many alerts or log rows there are."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from chronology import services
from chronology.models import Involvement
from chronology.vocabulary import EntryKind
from escalation import services as escalation


def pattern_for(alice, bob, child):
    Involvement.objects.filter(child=child).update(started_on=datetime.date(2025, 1, 1))
    today = timezone.localdate()
    for days_ago, actor in [(40, bob), (30, alice), (20, bob), (10, bob)]:
        services.entry_record(
            actor=actor,
            children=[child],
            kind=EntryKind.CONCERN,
            categories=["neglect.nutrition"],
            event_date=today - datetime.timedelta(days=days_ago),
            summary="No breakfast",
        )
    return escalation.child_evaluate(child_id=child.pk).raised[0]


@pytest.mark.parametrize("extra_children", [0, 12])
def test_dashboard_alert_and_audit_pages_stay_within_15_queries(
    client, alice, bob, mallory, auditor, child, extra_children
):
    alert = pattern_for(alice, bob, child)
    for n in range(extra_children):
        other = services.child_create(actor=alice, given_names=f"Other{n}")
        services.involvement_grant(actor=alice, child=other, agency=bob.agency, reason="pupil")
        pattern_for(alice, bob, other)
    counts = {}
    for user, urls in [
        (
            mallory,
            [reverse("escalation_dashboard"), reverse("alert_detail", args=[alert.public_id])],
        ),
        (
            auditor,
            [
                reverse("audit_child", args=[child.public_id]),
                reverse("audit_user", args=[alice.public_id]),
                reverse("retention_review"),
            ],
        ),
    ]:
        client.force_login(user)
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            counts[url] = len(queries.captured_queries)
    assert max(counts.values()) <= 15, counts
