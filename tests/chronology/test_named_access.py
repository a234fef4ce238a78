"""Restricted records and named access (chronology.ChildAccessGrant, guardian's direct
foreign-key object permission): a restricted child is seen only by the people named
on it, an outsider's grant opens one child to read for a period, and every change is
audited."""

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from agencies.models import Role
from chronology import selectors, services
from chronology.models import AccessGrantKind, AuditEvent, BreakGlassAccess, Child
from chronology.vocabulary import EntryKind
from tests.factories import AgencyFactory, UserFactory

REASON = "Child of a member of staff in the team"
DAY = datetime.timedelta(days=1)


@pytest.fixture
def restricted(mallory, child):
    """`child`, restricted by mallory (social care's manager), who is named on it."""
    services.child_restrict(actor=mallory, child=child, reason=REASON)
    return child


@pytest.fixture
def guardian_user(db):
    """A court's children's guardian: a practitioner of an agency never involved."""
    court = AgencyFactory(code="court", name="Court guardians' service")
    return UserFactory(username="gina", agency=court, role=Role.PRACTITIONER)


def api_for(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def sees(client, user, child) -> dict:
    """Every way `user` might come upon `child`: its page, the list, the API, search."""
    client.force_login(user)
    api = api_for(user)
    detail = reverse("child_detail", kwargs={"public_id": child.public_id})
    api_detail = reverse("api_child_detail", kwargs={"child_id": child.public_id})
    listed = {c.pk for c in selectors.children_visible_to(user=user, for_list=True)}
    api_listed = {row["id"] for row in api.get(reverse("api_child_list")).json()["results"]}
    api_found = api.get(reverse("api_child_list"), {"q": child.given_names}).json()["results"]
    return {
        "page": client.get(detail).status_code,
        "list": child.pk in listed,
        "list page": child.full_name in client.get(reverse("child_list")).text,
        "api": api.get(api_detail).status_code,
        "api list": str(child.public_id) in api_listed,
        "search": child in selectors.children_search(user=user, query=child.given_names),
        "api search": str(child.public_id) in {row["id"] for row in api_found},
    }


HIDDEN = {
    "page": 404,
    "list": False,
    "list page": False,
    "api": 404,
    "api list": False,
    "search": False,
    "api search": False,
}
SHOWN = {
    "page": 200,
    "list": True,
    "list page": True,
    "api": 200,
    "api list": True,
    "search": True,
    "api search": True,
}


def test_a_restricted_child_is_invisible_to_the_unnamed_staff_of_involved_agencies(
    client, alice, bob, mallory, restricted
):
    assert sees(client, alice, restricted) == HIDDEN
    assert sees(client, bob, restricted) == HIDDEN
    assert sees(client, mallory, restricted) == SHOWN  # named when she restricted it


def test_a_named_user_sees_and_writes_to_a_restricted_child(client, alice, mallory, restricted):
    services.access_grant_create(
        actor=mallory, child=restricted, user=alice, kind=AccessGrantKind.NAMED, reason=REASON
    )
    assert sees(client, alice, restricted) == SHOWN
    assert alice.has_perm("chronology.add_entry", restricted)
    client.force_login(alice)
    url = reverse("entry_create", kwargs={"public_id": restricted.public_id})
    assert client.get(url).status_code == 200


def test_lifting_the_restriction_shows_the_child_to_involved_agencies_again(
    client, bob, mallory, restricted
):
    services.child_unrestrict(actor=mallory, child=restricted, reason="Staff member has left")
    assert sees(client, bob, restricted) == SHOWN


def test_break_glass_never_opens_a_restricted_child(alice, charlie, restricted):
    restricted.nhs_number = "9434765919"
    restricted.save(update_fields=["nhs_number"])
    assert selectors.child_find_for_break_glass(nhs_number="9434765919") is None
    with pytest.raises(PermissionDenied):
        services.break_glass_open(actor=charlie, child=restricted, reason="A" * 40)
    # Access opened before the restriction no longer counts.
    BreakGlassAccess.objects.create(
        user=charlie,
        child=restricted,
        reason="Opened before it was restricted",
        expires_at=timezone.now() + datetime.timedelta(minutes=30),
    )
    assert not selectors.child_is_visible_to(user=charlie, child=restricted)


def test_the_break_glass_page_answers_as_for_no_match(client, charlie, restricted):
    restricted.nhs_number = "9434765919"
    restricted.save(update_fields=["nhs_number"])
    client.force_login(charlie)
    response = client.post(reverse("break_glass"), {"nhs_number": "9434765919", "reason": "A" * 40})
    assert "No single child matches" in response.text
    assert not BreakGlassAccess.objects.filter(child=restricted).exists()


# --- an outsider's grant ----------------------------------------------------------------------


@pytest.fixture
def outsider_grant(mallory, child, guardian_user):
    return services.access_grant_create(
        actor=mallory,
        child=child,
        user=guardian_user,
        kind=AccessGrantKind.OUTSIDER,
        reason="Children's guardian appointed in care proceedings",
        last_day=timezone.localdate() + 7 * DAY,
    )


def test_an_outsider_sees_the_one_child_named_and_no_other(
    client, alice, child, guardian_user, outsider_grant
):
    other = services.child_create(actor=alice, given_names="Other")
    assert sees(client, guardian_user, child) == SHOWN
    assert sees(client, guardian_user, other) == HIDDEN
    assert list(selectors.children_visible_to(user=guardian_user, for_list=True)) == [child]
    assert list(selectors.children_visible_to(user=guardian_user)) == [child]


def test_an_outsider_sees_a_restricted_child_they_are_named_on(
    client, mallory, guardian_user, outsider_grant, restricted
):
    assert sees(client, guardian_user, restricted) == SHOWN


def test_an_outsider_may_only_read(client, child, guardian_user, outsider_grant):
    assert guardian_user.has_perm("chronology.view_child", child)
    assert not guardian_user.has_perm("chronology.add_entry", child)
    client.force_login(guardian_user)
    for name in ("entry_create", "visit_create", "decision_create"):
        url = reverse(name, kwargs={"public_id": child.public_id})
        assert client.get(url).status_code == 403
    assert (
        "Add an entry"
        not in client.get(reverse("child_detail", kwargs={"public_id": child.public_id})).text
    )
    response = api_for(guardian_user).post(
        reverse("api_entry_list", kwargs={"child_id": child.public_id}),
        {
            "event_date": timezone.localdate().isoformat(),
            "kind": "note",
            "summary": "Should not be saved",
        },
        format="json",
    )
    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        services.entry_record(
            actor=guardian_user,
            children=[child],
            kind=EntryKind.NOTE,
            event_date=timezone.localdate(),
            summary="Should not be saved",
        )
    assert not child.entries.exists()


def _noon(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


def test_an_outsiders_grant_ends_after_its_last_day(client, child, guardian_user, outsider_grant):
    url = reverse("child_detail", kwargs={"public_id": child.public_id})
    # Signed in on each day: a session does not last a week (safeguarding.security).
    with time_machine.travel(_noon(outsider_grant.last_day), tick=False):
        client.force_login(guardian_user)
        assert client.get(url).status_code == 200
        assert selectors.children_visible_to(user=guardian_user, for_list=True).count() == 1
    with time_machine.travel(_noon(outsider_grant.last_day + DAY), tick=False):
        client.force_login(guardian_user)
        assert client.get(url).status_code == 404
        assert not selectors.children_visible_to(user=guardian_user, for_list=True).exists()
        assert not guardian_user.has_perm("chronology.view_child", child)


def test_a_grant_does_not_open_before_its_first_day(mallory, child, guardian_user):
    services.access_grant_create(
        actor=mallory,
        child=child,
        user=guardian_user,
        kind=AccessGrantKind.OUTSIDER,
        reason="Hearing listed for next week",
        starts_on=timezone.localdate() + DAY,
        last_day=timezone.localdate() + 9 * DAY,
    )
    assert not selectors.child_is_visible_to(user=guardian_user, child=child)
    with time_machine.travel(_noon(timezone.localdate() + DAY), tick=False):
        assert selectors.child_is_visible_to(user=guardian_user, child=child)


def test_a_revoked_grant_ends_at_once(client, mallory, child, guardian_user, outsider_grant):
    client.force_login(guardian_user)
    url = reverse("child_detail", kwargs={"public_id": child.public_id})
    assert client.get(url).status_code == 200
    services.access_grant_revoke(
        actor=mallory, grant=outsider_grant, reason="Proceedings concluded early"
    )
    assert client.get(url).status_code == 404
    with pytest.raises(ValidationError):
        services.access_grant_revoke(
            actor=mallory, grant=outsider_grant, reason="Proceedings concluded early"
        )


# --- audit and who may change access ----------------------------------------------------------


def test_every_change_to_access_is_audited_with_its_reason(mallory, child, guardian_user):
    services.child_restrict(actor=mallory, child=child, reason=REASON)
    grant = services.access_grant_create(
        actor=mallory,
        child=child,
        user=guardian_user,
        kind=AccessGrantKind.OUTSIDER,
        reason="Independent reviewing officer for the review",
        last_day=timezone.localdate() + 30 * DAY,
    )
    services.access_grant_revoke(actor=mallory, grant=grant, reason="Review officer replaced")
    services.child_unrestrict(actor=mallory, child=child, reason="Staff member has left")
    rows = AuditEvent.objects.filter(child=child, actor=mallory).order_by("pk")
    actions = [(row.action, row.details.get("user"), row.details.get("reason")) for row in rows]
    assert actions[-5:] == [
        ("access.grant", "mallory", "Restricted the record and so is named on it"),
        ("child.restrict", None, REASON),
        ("access.grant", "gina", "Independent reviewing officer for the review"),
        ("access.revoke", "gina", "Review officer replaced"),
        ("child.unrestrict", None, "Staff member has left"),
    ]
    granted = rows.filter(action="access.grant", details__user="gina").get()
    assert granted.details["kind"] == "outsider"
    assert granted.details["last_day"] == (timezone.localdate() + 30 * DAY).isoformat()


def test_only_a_manager_of_an_involved_agency_manages_access(
    alice, bob, child, guardian_user, outsider_grant
):
    elsewhere = UserFactory(username="max", agency=guardian_user.agency, role=Role.MANAGER)
    for actor in (alice, bob, guardian_user, elsewhere):
        with pytest.raises(PermissionDenied):
            services.child_restrict(actor=actor, child=child, reason=REASON)
        with pytest.raises(PermissionDenied):
            services.access_grant_revoke(actor=actor, grant=outsider_grant, reason=REASON)
    assert not Child.objects.get(pk=child.pk).restricted


def test_a_grant_needs_a_reason_a_last_day_for_an_outsider_and_an_involved_agency_to_name(
    mallory, child, charlie, guardian_user
):
    with pytest.raises(ValidationError) as short:
        services.access_grant_create(
            actor=mallory, child=child, user=charlie, kind=AccessGrantKind.OUTSIDER, reason="x"
        )
    assert set(short.value.message_dict) == {"reason", "last_day"}
    with pytest.raises(ValidationError) as uninvolved:
        services.access_grant_create(
            actor=mallory, child=child, user=charlie, kind=AccessGrantKind.NAMED, reason=REASON
        )
    assert set(uninvolved.value.message_dict) == {"user"}
    assert not child.access_grants.exists()


def test_the_access_page_restricts_and_names_people(client, alice, mallory, child, guardian_user):
    url = reverse("child_access", kwargs={"public_id": child.public_id})
    client.force_login(alice)
    assert client.get(url).status_code == 403
    client.force_login(mallory)
    assert client.get(url).status_code == 200
    client.post(url, {"action": "restrict", "reason": REASON})
    assert Child.objects.get(pk=child.pk).restricted
    last_day = timezone.localdate() + 14 * DAY
    response = client.post(
        url,
        {
            "action": "grant",
            "username": "gina",
            "kind": "outsider",
            "last_day": last_day.isoformat(),
            "reason": "Children's guardian appointed in care proceedings",
        },
    )
    assert response.status_code == 302
    grant = child.access_grants.get(user=guardian_user)
    assert (grant.kind, grant.last_day, grant.granted_by) == ("outsider", last_day, mallory)
    assert selectors.child_is_visible_to(user=guardian_user, child=child)
    page = client.get(url).text
    assert "Gina" in page or "gina" in page
    client.post(url, {"action": "revoke", "grant": grant.pk, "reason": "Proceedings concluded"})
    assert not selectors.child_is_visible_to(user=guardian_user, child=child)


def test_the_access_page_shows_a_refusal_without_saving(client, mallory, child):
    client.force_login(mallory)
    url = reverse("child_access", kwargs={"public_id": child.public_id})
    response = client.post(
        url, {"action": "grant", "username": "nobody", "kind": "outsider", "reason": "short"}
    )
    assert response.status_code == 200
    assert "No one has that username." in response.text
    assert not child.access_grants.exists()
