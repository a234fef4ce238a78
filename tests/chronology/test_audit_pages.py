"""Auditors see who looked at a child and what each person did, never the record."""

import datetime

from django.urls import reverse

from chronology import services
from chronology.vocabulary import EntryKind
from tests.factories import UserFactory


def test_an_auditor_sees_who_viewed_a_child(client, alice, auditor, child):
    client.force_login(alice)
    client.get(reverse("child_detail", args=[child.public_id]))
    client.force_login(auditor)
    page = client.get(reverse("audit_child", args=[child.public_id])).content.decode()
    assert "alice" in page and "Viewed a child" in page
    assert "child.view" not in page  # the action in words, not its code


def test_an_auditor_finds_the_child_and_sees_a_users_activity(client, alice, auditor, child):
    services.entry_record(
        actor=alice,
        children=[child],
        kind=EntryKind.NOTE,
        event_date=datetime.date(2026, 1, 2),
        summary="Secret summary text",
    )
    client.force_login(auditor)
    found = client.get(reverse("audit_home"), {"child": str(child.public_id)}).content.decode()
    assert reverse("audit_child", args=[child.public_id]) in found
    activity = client.get(reverse("audit_user", args=[alice.public_id])).content.decode()
    assert "Recorded an entry" in activity
    assert "Secret summary text" not in activity  # the log, not the record


def test_a_persons_activity_with_events_about_no_child_shows_a_dash(client, alice, auditor):
    # Reading a person's log is itself logged, with no child: the page used to fail on it.
    client.force_login(auditor)
    client.get(reverse("audit_user", args=[alice.public_id]))
    response = client.get(reverse("audit_user", args=[auditor.public_id]))
    assert response.status_code == 200
    assert "Read a person’s access log" in response.content.decode() or (
        "Read a person&#x27;s access log" in response.content.decode()
    )


def test_an_auditor_of_an_uninvolved_agency_gets_404(client, housing, child, alice):
    outsider_auditor = UserFactory(agency=housing, role="auditor")
    client.force_login(outsider_auditor)
    assert client.get(reverse("audit_child", args=[child.public_id])).status_code == 404
    assert client.get(reverse("audit_user", args=[alice.public_id])).status_code == 404
    page = client.get(reverse("audit_home"), {"child": str(child.public_id)}).content.decode()
    assert "No child your agency has worked with matches." in page


def test_other_roles_cannot_read_the_access_log(client, alice, mallory, ada, child):
    for user in (alice, mallory, ada):
        client.force_login(user)
        assert client.get(reverse("audit_home")).status_code == 403
        assert client.get(reverse("audit_child", args=[child.public_id])).status_code == 403
        assert client.get(reverse("retention_review")).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, child):
    response = client.get(reverse("audit_child", args=[child.public_id]))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_the_retention_list_shows_only_the_auditors_agencys_children(
    client, auditor, alice, charlie
):
    mine = services.child_create(
        actor=alice, given_names="Mine", date_of_birth=datetime.date(2000, 1, 1)
    )
    theirs = services.child_create(
        actor=charlie, given_names="Theirs", date_of_birth=datetime.date(2000, 1, 1)
    )
    for actor, child in ((alice, mine), (charlie, theirs)):
        services.entry_record(
            actor=actor,
            children=[child],
            kind=EntryKind.NOTE,
            event_date=datetime.date(2010, 1, 1),
            summary="old",
        )
    client.force_login(auditor)
    page = client.get(reverse("retention_review")).content.decode()
    assert str(mine.public_id) in page and str(theirs.public_id) not in page
