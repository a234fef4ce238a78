"""The home pages list a whole caseload 50 children a page, highest neglect level
first as at each child's last evaluation, in a fixed number of queries; only
children the user may read ever appear, on any page."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from chronology import services
from chronology.models import Child, Involvement
from chronology.selectors import children_visible_to
from escalation.models import ChildWatch

NAME = re.compile(r'href="/children/[0-9a-f-]+/">([^<]+)</a>')


def evaluated(child, level, score):
    """What the escalation worker leaves after evaluating `child`."""
    ChildWatch.objects.update_or_create(
        child=child,
        defaults={
            "level": level,
            "score": Decimal(score),
            "evaluated_at": timezone.now(),
            "due_since": None,
        },
    )


def caseload(actor, n, *, prefix="Kid"):
    """n children recorded by `actor`'s agency, each evaluated: the level cycles 1–4 and
    the score falls with n, so the expected order is easy to state."""
    children = []
    for i in range(n):
        child = services.child_create(
            actor=actor, given_names=f"{prefix}{i:03d}", family_name="Load"
        )
        evaluated(child, level=1 + i % 4, score=f"{10 + n - i}.000")
        children.append(child)
    return children


def expected_order(children):
    watches = {w.child_id: w for w in ChildWatch.objects.filter(child__in=children)}
    return [
        c.full_name
        for c in sorted(
            children,
            key=lambda c: (
                -watches[c.pk].level,
                -watches[c.pk].score,
                c.family_name,
                c.given_names,
            ),
        )
    ]


def names_listed(page: str) -> list[str]:
    """The children's names in the paged list (after its heading), in page order."""
    return NAME.findall(page.split('id="children-heading"')[1])


def test_page_two_of_a_caseload_shows_the_next_children_in_order(client, alice, charlie):
    mine = caseload(alice, 60)
    theirs = caseload(charlie, 3, prefix="Housing")
    client.force_login(alice)
    first = client.get(reverse("home")).content.decode()
    second = client.get(reverse("home"), {"page": "2"}).content.decode()
    order = expected_order(mine)
    assert names_listed(first) == order[:50]
    assert names_listed(second) == order[50:]
    assert "Showing children 1 to 50 of 60." in first
    assert "Showing children 51 to 60 of 60." in second
    assert '<nav class="govuk-pagination" aria-label="Pages of children">' in first
    assert 'href="?page=2#children" rel="next"' in first
    assert 'href="?page=1#children" rel="prev"' in second
    for child in theirs:
        assert child.full_name not in first and child.full_name not in second


def test_the_highest_level_comes_first_and_is_labelled_as_at_the_last_evaluation(client, alice):
    low, high, unknown = caseload(alice, 2) + [
        services.child_create(actor=alice, given_names="Never", family_name="Evaluated")
    ]
    evaluated(low, level=2, score="6.000")
    evaluated(high, level=4, score="31.500")
    client.force_login(alice)
    page = client.get(reverse("home")).content.decode()
    assert names_listed(page) == [high.full_name, low.full_name, unknown.full_name]
    assert "as at each child’s last evaluation" in page
    assert "4 Statutory" in page and "31.5" in page and "31.500" not in page
    assert "Not yet evaluated" in page


def test_an_outsider_sees_none_of_another_agencys_children_on_any_page(client, alice, charlie):
    mine = caseload(alice, 55)
    client.force_login(charlie)
    for number in ("1", "2"):
        response = client.get(reverse("home"), {"page": number}, follow=True)
        page = response.content.decode()
        assert response.status_code == 200
        assert not any(child.full_name in page for child in mine)
    assert "Your agency is not involved with any child at the moment." in page


def test_the_allocated_list_holds_only_the_workers_own_cases(client, alice, social_care):
    mine = caseload(alice, 3)
    services.worker_allocate(actor=alice, child=mine[1], worker=alice)
    client.force_login(alice)
    page = client.get(reverse("home")).content.decode()
    allocated = page.split("Allocated to you")[1].split('id="children-heading"')[0]
    assert NAME.findall(allocated) == [mine[1].full_name]


def test_a_page_past_the_end_goes_back_to_the_first_page_keeping_the_level(client, mallory, alice):
    caseload(alice, 5)
    client.force_login(mallory)
    response = client.get(reverse("home"), {"level": "3", "page": "9"})
    assert response.status_code == 302
    assert response["Location"] == reverse("home") + "?level=3#children"


def test_a_managers_level_filter_holds_across_pages(client, mallory, alice):
    children = caseload(alice, 4)
    for i, child in enumerate(caseload(alice, 55, prefix="Target")):
        evaluated(child, level=3, score=f"{100 - i}.000")
        children.append(child)
    client.force_login(mallory)
    first = client.get(reverse("home"), {"level": "3"}).content.decode()
    assert 'href="?level=3&amp;page=2#children" rel="next"' in first
    second = client.get(reverse("home"), {"level": "3", "page": "2"}).content.decode()
    order = expected_order([c for c in children if ChildWatch.objects.get(child=c).level == 3])
    assert names_listed(first) + names_listed(second) == order
    assert "Level 3: targeted</strong> (56)" in first
    assert "Level 4: statutory</a> (1)" in first
    assert "Kid003 Load" not in first + second  # level 4, filtered out


def test_a_school_lead_pages_through_pupils_too(client, alice, bob, school):
    pupils = caseload(alice, 52)
    for child in pupils:
        services.involvement_grant(actor=alice, child=child, agency=school, reason="Pupil")
    client.force_login(bob)
    first = client.get(reverse("home")).content.decode()
    second = client.get(reverse("home"), {"page": "2"}).content.decode()
    assert names_listed(first) + names_listed(second) == expected_order(pupils)


# The session, the user, the page of children with its total; then the worker's
# allocated cases, or the manager's counts by level.
HOME_QUERIES = {"alice": 4, "bob": 3, "mallory": 4}


@pytest.mark.parametrize("user", ["alice", "bob", "mallory"])
@pytest.mark.parametrize("n", [3, 60])
def test_the_home_page_costs_the_same_queries_for_3_or_60_children(
    client, request, alice, school, user, n, django_assert_num_queries
):
    for child in caseload(alice, n):
        services.involvement_grant(actor=alice, child=child, agency=school, reason="Pupil")
        services.worker_allocate(actor=alice, child=child, worker=alice)
    client.force_login(request.getfixturevalue(user))
    with django_assert_num_queries(HOME_QUERIES[user]):
        assert client.get(reverse("home"), {"page": "2" if n > 50 else "1"}).status_code == 200


def test_the_list_form_of_visibility_gives_the_same_children(alice, bob, charlie, child):
    """children_visible_to has two SQL shapes (EXISTS for one child, IN (UNION) for
    lists): the same rule, so the same children, for involvements that ended or have
    not started, and for break-glass access current or expired."""
    today = timezone.localdate()
    ended = services.child_create(actor=alice, given_names="Ended", family_name="Case")
    Involvement.objects.filter(child=ended).update(
        started_on=today - datetime.timedelta(days=30), ended_on=today
    )
    future = services.child_create(actor=alice, given_names="Future", family_name="Case")
    Involvement.objects.filter(child=future).update(started_on=today + datetime.timedelta(days=3))
    opened = services.child_create(actor=alice, given_names="Opened", family_name="Case")
    reason = "Emergency call, police at the door"
    services.break_glass_open(actor=charlie, child=opened, reason=reason)
    expired = services.child_create(actor=alice, given_names="Expired", family_name="Case")
    access = services.break_glass_open(actor=charlie, child=expired, reason=reason)
    access.expires_at = timezone.now() - datetime.timedelta(minutes=1)
    access.save()
    for user in (alice, bob, charlie):
        listed = set(children_visible_to(user=user, for_list=True))
        assert listed == set(children_visible_to(user=user))
    assert set(children_visible_to(user=charlie, for_list=True)) == {opened}
    assert set(children_visible_to(user=alice, for_list=True)) == set(Child.objects.all()) - {
        ended,
        future,
    }


def test_the_list_of_children_comes_50_a_page_by_name_without_another_agencys(
    client, alice, charlie
):
    mine = caseload(alice, 55)
    theirs = caseload(charlie, 3, prefix="Housing")
    client.force_login(alice)
    first = client.get(reverse("child_list")).content.decode()
    second = client.get(reverse("child_list"), {"page": "2"}).content.decode()
    by_name = [c.full_name for c in sorted(mine, key=lambda c: (c.family_name, c.given_names))]
    assert NAME.findall(first) == by_name[:50]
    assert NAME.findall(second) == by_name[50:]
    assert "Children 1 to 50 of 55, by family name." in first
    assert 'href="?page=2" rel="next"' in first
    for child in theirs:
        assert child.full_name not in first and child.full_name not in second
