"""Workers are named where a case is read: the caseload and the handover; and the
status timeline says which one status is current."""

import datetime
import re

from django.urls import reverse

from chronology import services
from chronology.vocabulary import Status


def named(user):
    user.first_name, user.last_name = "Alice", "Archer"
    user.save()
    return user


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_caseload_names_the_allocated_worker(client, alice, child):
    named(alice)
    services.worker_allocate(actor=alice, child=child, worker=alice, on=datetime.date(2026, 1, 5))
    client.force_login(alice)
    page = text_of(client.get(reverse("home")).content.decode())
    assert "Allocated to you" in page
    assert f"{child.full_name}" in page
    assert "Alice Archer" in page
    assert "No case is allocated to you" not in page


def test_a_case_held_by_a_team_only_says_no_named_worker(client, alice, child):
    services.worker_allocate(actor=alice, child=child, team="Duty team")
    client.force_login(alice)
    page = text_of(client.get(reverse("home")).content.decode())
    assert "No named worker" in page


def test_the_handover_names_each_worker_and_has_no_stale_note(client, alice, mallory, child):
    named(alice)
    services.worker_allocate(
        actor=alice, child=child, team="Assessment team", on=datetime.date(2025, 3, 1)
    )
    services.worker_allocate(actor=alice, child=child, worker=alice, on=datetime.date(2025, 9, 1))
    client.force_login(mallory)
    page = text_of(client.get(reverse("handover", args=[child.public_id])).content.decode())
    who = page[page.index("Who has held the case") :]
    assert "Not named in the record Assessment team" in who
    assert "Alice Archer" in who
    assert "not shown here yet" not in page


def test_the_status_timeline_shows_one_current_status(client, alice, child):
    services.status_change(
        actor=alice, child=child, status=Status.CHILD_PROTECTION_PLAN, on=datetime.date(2024, 1, 1)
    )
    services.status_change(
        actor=alice, child=child, status=Status.LOOKED_AFTER, on=datetime.date(2024, 6, 1)
    )
    services.status_change(
        actor=alice, child=child, status=Status.PLACED_FOR_ADOPTION, on=datetime.date(2025, 2, 1)
    )
    client.force_login(alice)
    for name in ("child_detail", "handover"):
        html = client.get(reverse(name, args=[child.public_id])).content.decode()
        timeline = text_of(html[html.index("app-status-timeline") : html.index("</ol>")])
        assert timeline.count("to now") == 1, timeline
        assert "Placed for adoption : 1 February 2025 to now Current" in timeline
        assert "Child protection plan : 1 January 2024 to 1 February 2025" in timeline
