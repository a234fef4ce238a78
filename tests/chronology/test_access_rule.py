"""The access rule, case by case: an active involvement of the user's agency (named on
the child too, if it is restricted), the user's own live outsider's grant, or the
user's own unexpired break-glass access to a child that is not restricted. Both SQL
forms of children_visible_to (the EXISTS condition written out in VisibleTo, and the
list form built from querysets) must give the same children, alone and inside other
queries; the write form leaves out what an outsider's grant opens."""

import datetime

import pytest
from django.http import Http404
from django.utils import timezone

from chronology import selectors
from chronology.models import (
    AccessGrantKind,
    BreakGlassAccess,
    ChildAccessGrant,
    Entry,
    EntryChild,
    Involvement,
)
from chronology.services import _view_child_permission
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

    def granted(name, *, user, kind, child=None, starts_on=today, last_day=None, revoked=False):
        if child is None:
            children[name] = child = ChildFactory(given_names=name)
        ChildAccessGrant.objects.create(
            content_object=child,
            user=user,
            permission=_view_child_permission(),
            kind=kind,
            starts_on=starts_on,
            last_day=last_day,
            reason="Test case: named access",
            granted_by=mallory,
            revoked_at=now if revoked else None,
        )
        return child

    def restricted(child):
        child.restricted = True
        child.save(update_fields=["restricted"])
        return child

    named, outsider = AccessGrantKind.NAMED, AccessGrantKind.OUTSIDER
    restricted(involved("restricted, not named"))
    granted("restricted, named", user=alice, kind=named, child=restricted(involved("r1")))
    children["restricted, named"] = children.pop("r1")
    for label, extra in [
        ("restricted, named, revoked", {"revoked": True}),
        (
            "restricted, named, ended yesterday",
            {"starts_on": today - 9 * day, "last_day": today - day},
        ),
        ("restricted, named, last day today", {"starts_on": today - 9 * day, "last_day": today}),
        ("restricted, named, starts tomorrow", {"starts_on": today + day}),
    ]:
        granted(label, user=alice, kind=named, child=restricted(involved(label)), **extra)
    granted(
        "restricted, a colleague named", user=mallory, kind=named, child=restricted(involved("c"))
    )
    children["restricted, a colleague named"] = children.pop("c")
    restricted(involved("restricted, school only, named", agency=school))
    granted("x", user=alice, kind=named, child=children["restricted, school only, named"])
    granted("named, not involved", user=alice, kind=named)
    glass("restricted, her glass", user=alice, expires_at=now + datetime.timedelta(minutes=30))
    restricted(children["restricted, her glass"])
    glass(
        "restricted, named, her glass", user=alice, expires_at=now + datetime.timedelta(minutes=30)
    )
    restricted(children["restricted, named, her glass"])
    granted("x", user=alice, kind=named, child=children["restricted, named, her glass"])
    granted("outsider", user=alice, kind=outsider, last_day=today + 30 * day)
    granted(
        "outsider, last day today",
        user=alice,
        kind=outsider,
        starts_on=today - 9 * day,
        last_day=today,
    )
    granted(
        "outsider, ended yesterday",
        user=alice,
        kind=outsider,
        starts_on=today - 9 * day,
        last_day=today - day,
    )
    granted(
        "outsider, starts tomorrow",
        user=alice,
        kind=outsider,
        starts_on=today + day,
        last_day=today + 9 * day,
    )
    granted("outsider, revoked", user=alice, kind=outsider, last_day=today + 9 * day, revoked=True)
    restricted(granted("restricted, outsider", user=alice, kind=outsider, last_day=today + 9 * day))
    granted("a colleague's outsider", user=mallory, kind=outsider, last_day=today + 9 * day)
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


WRITABLE_BY_ALICE = {
    "open",
    "starts today",
    "ends tomorrow",
    "her glass, open",
    "restricted, named",
    "restricted, named, last day today",
}
# An outsider's grant opens the record to read, never to write.
VISIBLE_TO_ALICE = WRITABLE_BY_ALICE | {
    "outsider",
    "outsider, last day today",
    "restricted, outsider",
}


def test_each_case_is_visible_exactly_as_the_rule_says(alice, cases):
    names = {child.pk: name for name, child in cases.items()}
    exists_form = selectors.children_visible_to(user=alice)
    list_form = selectors.children_visible_to(user=alice, for_list=True)
    assert {names[c.pk] for c in exists_form if c.pk in names} == VISIBLE_TO_ALICE
    assert {names[c.pk] for c in list_form if c.pk in names} == VISIBLE_TO_ALICE
    for name, child in cases.items():
        assert selectors.child_is_visible_to(user=alice, child=child) is (name in VISIBLE_TO_ALICE)


def test_each_case_is_writable_exactly_as_the_write_form_says(alice, cases):
    names = {child.pk: name for name, child in cases.items()}
    writable = selectors.children_writable_by(user=alice)
    assert {names[c.pk] for c in writable if c.pk in names} == WRITABLE_BY_ALICE
    for name, child in cases.items():
        assert selectors.child_is_writable_by(user=alice, child=child) is (
            name in WRITABLE_BY_ALICE
        )
        assert alice.has_perm("chronology.add_entry", child) is (name in WRITABLE_BY_ALICE)
        assert alice.has_perm("chronology.view_child", child) is (name in VISIBLE_TO_ALICE)


def test_opening_a_child_outside_the_rule_is_a_404(alice, cases):
    for name, child in cases.items():
        if name in VISIBLE_TO_ALICE:
            opened = selectors.child_get_for_user(user=alice, public_id=child.public_id)
            assert opened == child
            assert opened.may_write is (name in WRITABLE_BY_ALICE)
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
