"""The escalation and access-log pages run a fixed number of queries, at most 15,
however many alerts or log rows there are."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chronology import services
from escalation import services as escalation
from tests.conftest import record_neglect_pattern


def pattern_for(alice, bob, child):
    record_neglect_pattern(alice=alice, bob=bob, child=child)
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
