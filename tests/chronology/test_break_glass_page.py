"""The emergency access page: exact identifiers, a reason, then a banner everywhere."""

from django.urls import reverse

from chronology import services
from chronology.models import AuditEvent, BreakGlassAccess

REASON = "Child brought to A&E by police at night; need the plan and risks"


def make_child(alice):
    return services.child_create(
        actor=alice, given_names="Robin", family_name="Synthetic", nhs_number="9434765919"
    )


def test_an_outsider_opens_a_child_with_a_reason_and_sees_a_banner(client, alice, charlie):
    child = make_child(alice)
    client.force_login(charlie)
    url = reverse("child_detail", args=[child.public_id])
    assert client.get(url).status_code == 404
    response = client.post(reverse("break_glass"), {"nhs_number": "9434765919", "reason": REASON})
    assert response.status_code == 302 and response.url == url
    page = client.get(url).content.decode()
    assert "You are using emergency access to" in page and "Robin Synthetic" in page
    assert BreakGlassAccess.objects.get().user == charlie


def test_a_short_reason_or_no_match_opens_nothing_and_says_why(client, alice, charlie):
    make_child(alice)
    client.force_login(charlie)
    short = client.post(reverse("break_glass"), {"nhs_number": "9434765919", "reason": "urgent"})
    assert "at least 20 characters" in short.content.decode()
    none = client.post(reverse("break_glass"), {"nhs_number": "9999999999", "reason": REASON})
    page = none.content.decode()
    assert "No single child matches" in page and "Robin" not in page
    assert not BreakGlassAccess.objects.exists()
    assert AuditEvent.objects.filter(action="break_glass.no_match", actor=charlie).count() == 1


def test_an_involved_user_is_sent_straight_to_the_child(client, alice):
    child = make_child(alice)
    client.force_login(alice)
    response = client.post(reverse("break_glass"), {"nhs_number": "9434765919", "reason": REASON})
    assert response.url == reverse("child_detail", args=[child.public_id])
    assert not BreakGlassAccess.objects.exists()


def test_auditors_and_admins_cannot_use_emergency_access(client, auditor, ada):
    for user in (auditor, ada):
        client.force_login(user)
        assert client.get(reverse("break_glass")).status_code == 403
