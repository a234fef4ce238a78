"""Who can see a child: only users of an agency with an active involvement."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from agencies.models import Role
from chronology import selectors, services
from chronology.models import Child, Involvement
from chronology.vocabulary import EntryKind
from tests.factories import PASSWORD, ChildFactory, UserFactory


def test_an_outsider_gets_404_for_the_child_page(client, charlie, child):
    client.force_login(charlie)
    response = client.get(reverse("child_detail", args=[child.public_id]))
    assert response.status_code == 404


def test_an_outsider_gets_the_same_404_as_for_a_child_that_does_not_exist(client, charlie, child):
    client.force_login(charlie)
    real = client.get(reverse("child_detail", args=[child.public_id]))
    missing = client.get(reverse("child_detail", args=["00000000-0000-4000-8000-000000000000"]))
    assert real.status_code == missing.status_code == 404
    assert real.content == missing.content


def test_an_outsider_does_not_see_the_child_in_their_list(client, charlie, child):
    client.force_login(charlie)
    response = client.get(reverse("child_list"))
    assert response.status_code == 200
    assert child.full_name not in response.content.decode()


def test_an_outsider_cannot_read_the_chronology_through_the_selectors(charlie, alice, child):
    services.entry_record(
        actor=alice,
        children=[child],
        kind=EntryKind.NOTE,
        event_date=datetime.date(2026, 1, 5),
        summary="Home visit booked",
    )
    with pytest.raises(Exception) as raised:
        selectors.entries_for_child(user=charlie, child=child)
    assert raised.value.__class__.__name__ == "Http404"
    assert not charlie.has_perm("chronology.view_child", child)


def test_an_outsider_cannot_record_an_entry_about_the_child(charlie, child):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.entry_record(
            actor=charlie,
            children=[child],
            kind=EntryKind.CONCERN,
            event_date=datetime.date(2026, 1, 5),
            summary="Planted",
            severity=2,
        )
    assert child.entries.count() == 0


def test_both_involved_agencies_see_the_child_and_each_others_entries(client, alice, bob, child):
    services.entry_record(
        actor=bob,
        children=[child],
        kind=EntryKind.CONCERN,
        categories=["neglect.nutrition"],
        severity=2,
        event_date=datetime.date(2026, 2, 3),
        summary="Arrived hungry again",
    )
    client.force_login(alice)
    page = client.get(reverse("child_detail", args=[child.public_id]))
    assert page.status_code == 200
    assert "Arrived hungry again" in page.content.decode()
    assert alice.has_perm("chronology.view_child", child)
    assert bob.has_perm("chronology.view_child", child)


def test_ending_an_involvement_removes_access_on_the_next_request(client, alice, bob, child):
    client.force_login(bob)
    url = reverse("child_detail", args=[child.public_id])
    assert client.get(url).status_code == 200

    involvement = Involvement.objects.get(child=child, agency=bob.agency)
    services.involvement_end(actor=alice, involvement=involvement, reason="Pupil left the school")

    assert client.get(url).status_code == 404
    assert child not in selectors.children_visible_to(user=bob)


def test_an_involvement_with_a_future_end_date_expires_by_itself(alice, charlie, child):
    involvement = services.involvement_grant(
        actor=alice,
        child=child,
        agency=charlie.agency,
        reason="Tenancy support",
        started_on=datetime.date(2026, 1, 1),
    )
    with time_machine.travel(datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC), tick=False):
        services.involvement_end(
            actor=alice,
            involvement=involvement,
            reason="Planned closure",
            ended_on=datetime.date(2026, 3, 31),
        )
        assert charlie.has_perm("chronology.view_child", child)
    with time_machine.travel(datetime.datetime(2026, 3, 31, 12, tzinfo=datetime.UTC), tick=False):
        assert not charlie.has_perm("chronology.view_child", child)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.AUDITOR])
def test_admins_and_auditors_do_not_read_records_even_in_an_involved_agency(
    role, social_care, child
):
    user = UserFactory(agency=social_care, role=role)
    assert not selectors.children_visible_to(user=user).exists()
    assert not user.has_perm("chronology.view_child", child)


def test_a_deactivated_user_reads_nothing(alice, child):
    alice.is_active = False
    alice.save()
    assert not selectors.children_visible_to(user=alice).exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, child):
    for url in [reverse("child_list"), reverse("child_detail", args=[child.public_id])]:
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_the_children_list_is_one_query_whatever_the_number_of_children(
    alice, django_assert_num_queries
):
    def count_queries_for_list():
        with django_assert_num_queries(1):
            return list(selectors.children_visible_to(user=alice).select_related("household"))

    services.child_create(actor=alice, given_names="First")
    assert len(count_queries_for_list()) == 1
    for n in range(20):
        services.child_create(actor=alice, given_names=f"Sibling{n}")
    ChildFactory.create_batch(30)  # children nobody at alice's agency works with
    assert len(count_queries_for_list()) == 21


def test_the_children_list_page_runs_a_constant_number_of_queries(
    client, alice, django_assert_max_num_queries
):
    client.force_login(alice)
    for n in range(3):
        services.child_create(actor=alice, given_names=f"Few{n}")
    with django_assert_max_num_queries(4) as few:
        client.get(reverse("child_list"))
    for n in range(30):
        services.child_create(actor=alice, given_names=f"Many{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("child_list"))
    assert response.content.decode().count("/children/") >= 33


def test_the_visibility_query_uses_exists_not_a_list_of_ids(alice, child):
    sql = str(selectors.children_visible_to(user=alice).query).upper()
    assert "EXISTS" in sql
    assert " IN (" not in sql


def test_a_user_signs_in_and_sees_only_their_agencys_children(client, alice, charlie, child):
    services.child_create(actor=charlie, given_names="Housing", family_name="Only")
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    page = client.get(reverse("child_list")).content.decode()
    assert "Robin Synthetic" in page
    assert "Housing Only" not in page
    assert Child.objects.count() == 2
