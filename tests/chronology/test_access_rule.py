"""The access rule, case by case: an active involvement of the user's agency, or the
user's own unexpired break-glass access. Both SQL forms of children_visible_to (the
EXISTS condition written out in VisibleTo, and the list form built from querysets)
must give the same children, alone and inside other queries."""

import datetime

import pytest
from django.http import Http404
from django.utils import timezone

from chronology import selectors
from chronology.models import BreakGlassAccess, Entry, EntryChild, Involvement
from chronology.vocabulary import EntryKind
from tests.factories import ChildFactory


@pytest.fixture
def cases(alice, mallory, school):
    """Children in every state the rule distinguishes, by name, for alice (social care)."""
    today = timezone.localdate()
    now = timezone.now()
    day = datetime.timedelta(days=1)
    children = {}

    def involved(name, *, agency=None, started_on=today - 30 * day, ended_on=None):
        children[name] = child = ChildFactory(given_names=name)
        Involvement.objects.create(
            child=child,
            agency=agency or alice.agency,
            started_on=started_on,
            ended_on=ended_on,
            reason="Test case",
            created_by=alice,
        )
        return child

    def glass(name, *, user, expires_at):
        children[name] = child = ChildFactory(given_names=name)
        BreakGlassAccess.objects.create(
            user=user, child=child, reason="Test case: emergency access", expires_at=expires_at
        )

    involved("open", ended_on=None)
    involved("starts today", started_on=today)
    involved("starts tomorrow", started_on=today + day)
    involved("ends tomorrow", ended_on=today + day)
    involved("ended today", ended_on=today)
    involved("ended yesterday", started_on=today - 30 * day, ended_on=today - day)
    involved("school only", agency=school)
    glass("her glass, open", user=alice, expires_at=now + datetime.timedelta(minutes=30))
    glass("her glass, expired", user=alice, expires_at=now - datetime.timedelta(minutes=1))
    glass("a colleague's glass", user=mallory, expires_at=now + datetime.timedelta(minutes=30))
    children["nothing"] = ChildFactory(given_names="nothing")
    return children


VISIBLE_TO_ALICE = {"open", "starts today", "ends tomorrow", "her glass, open"}


def test_each_case_is_visible_exactly_as_the_rule_says(alice, cases):
    names = {child.pk: name for name, child in cases.items()}
    exists_form = selectors.children_visible_to(user=alice)
    list_form = selectors.children_visible_to(user=alice, for_list=True)
    assert {names[c.pk] for c in exists_form if c.pk in names} == VISIBLE_TO_ALICE
    assert {names[c.pk] for c in list_form if c.pk in names} == VISIBLE_TO_ALICE
    for name, child in cases.items():
        assert selectors.child_is_visible_to(user=alice, child=child) is (name in VISIBLE_TO_ALICE)


def test_opening_a_child_outside_the_rule_is_a_404(alice, cases):
    for name, child in cases.items():
        if name in VISIBLE_TO_ALICE:
            assert selectors.child_get_for_user(user=alice, public_id=child.public_id) == child
        else:
            with pytest.raises(Http404):
                selectors.child_get_for_user(user=alice, public_id=child.public_id)


def test_the_rule_holds_inside_another_query(alice, cases):
    """Inside a subquery Django renames the child table; the condition must follow."""
    entry_ids = {}
    for name, child in cases.items():
        entry = _entry_about(child, author=alice)
        entry_ids[entry.pk] = name
    visible_links = EntryChild.objects.filter(
        child__in=selectors.children_visible_to(user=alice), entry_id__in=entry_ids
    )
    assert {entry_ids[link.entry_id] for link in visible_links} == VISIBLE_TO_ALICE
    hidden = EntryChild.objects.filter(entry_id__in=entry_ids).exclude(
        child__in=selectors.children_visible_to(user=alice)
    )
    assert {entry_ids[link.entry_id] for link in hidden} == set(cases) - VISIBLE_TO_ALICE


def test_roles_that_do_not_read_records_see_none_of_them(ada, auditor, cases):
    for user in (ada, auditor):
        assert not selectors.children_visible_to(user=user).exists()


def _entry_about(child, *, author):
    entry = Entry.objects.create(
        event_date=timezone.localdate(),
        agency=author.agency,
        author=author,
        kind=EntryKind.NOTE,
        summary=f"About {child.given_names}",
    )
    EntryChild.objects.create(entry=entry, child=child)
    return entry
