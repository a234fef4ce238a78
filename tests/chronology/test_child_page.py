"""The child page: the chronology, its amendments and the neglect level with its reasons."""

import datetime
import re

from django.urls import reverse
from django.utils import timezone

from chronology import services
from chronology.models import AuditEvent
from chronology.vocabulary import EntryKind
from safeguarding.case_views import CHILD_WORDS_ON_CHILD_PAGE


def record_concerns(actor, child, count, start=datetime.date(2026, 1, 1)):
    for n in range(count):
        services.entry_record(
            actor=actor,
            children=[child],
            kind=EntryKind.CONCERN,
            categories=["neglect.nutrition"],
            severity=2,
            event_date=start + datetime.timedelta(days=n % 300),
            summary=f"No breakfast, day {n}",
        )


def test_a_manager_reads_the_level_and_why(client, mallory, alice, bob, child):
    record_concerns(bob, child, 4, start=datetime.date(2026, 10, 1))
    record_concerns(alice, child, 4, start=datetime.date(2026, 10, 15))
    client.force_login(mallory)
    page = client.get(reverse("child_detail", args=[child.public_id])).content.decode()
    assert "Level 3: Targeted" in page
    assert "corroborated by another agency" in page
    assert page.count("Neglect: nutrition counts towards nutrition") == 8
    assert "neglect.nutrition feeds" not in page


def test_opening_a_child_is_audited(client, alice, child):
    client.force_login(alice)
    client.get(reverse("child_detail", args=[child.public_id]))
    view = AuditEvent.objects.get(action="child.view")
    assert (view.actor, view.child) == (alice, child)


def test_the_child_page_runs_the_same_number_of_queries_for_5_or_50_entries(
    client, alice, child, django_assert_max_num_queries
):
    client.force_login(alice)
    url = reverse("child_detail", args=[child.public_id])
    record_concerns(alice, child, 5)
    with django_assert_max_num_queries(15) as short:
        client.get(url)
    record_concerns(alice, child, 45)
    with django_assert_max_num_queries(len(short.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count("No breakfast") == 50


def test_an_outsider_cannot_open_the_child_page_and_leaves_no_view_in_the_audit(
    client, charlie, child
):
    client.force_login(charlie)
    assert client.get(reverse("child_detail", args=[child.public_id])).status_code == 404
    assert not AuditEvent.objects.filter(action="child.view").exists()


def test_a_long_record_quotes_the_childs_latest_words_and_links_to_all_of_them(
    client, alice, child
):
    start = timezone.localdate() - datetime.timedelta(days=100)
    for n in range(CHILD_WORDS_ON_CHILD_PAGE + 2):
        services.entry_record(
            actor=alice,
            children=[child],
            kind=EntryKind.CHILD_VOICE,
            child_words=f"Words number {n:02d}",
            event_date=start + datetime.timedelta(days=n),
            summary="Spoke to me at the gate",
        )
    client.force_login(alice)
    page = client.get(reverse("child_detail", args=[child.public_id])).content.decode()
    words = page.split("In the child's words")[1].split('id="chronology"')[0]

    quoted = re.findall(r"Words number (\d\d)", words)
    assert quoted == [f"{n:02d}" for n in range(2, CHILD_WORDS_ON_CHILD_PAGE + 2)]
    chronology = reverse("child_chronology", args=[child.public_id])
    link = f'href="{chronology}?kind=child_voice#chronology"'
    assert link in words
    # The link leads to every one of them.
    every = client.get(f"{chronology}?kind=child_voice").content.decode()
    assert "Showing entries 1 to 22 of 22 matching the filters" in every


def test_a_short_record_quotes_every_word_without_a_link(client, alice, child):
    services.entry_record(
        actor=alice,
        children=[child],
        kind=EntryKind.CHILD_VOICE,
        child_words="I was cold",
        event_date=timezone.localdate() - datetime.timedelta(days=3),
        summary="Said at breakfast club",
    )
    client.force_login(alice)
    page = client.get(reverse("child_detail", args=[child.public_id])).content.decode()
    assert "I was cold" in page
    assert "?kind=child_voice" not in page


def test_dates_show_only_as_precisely_as_they_were_recorded(client, alice, school):
    child = services.child_create(
        actor=alice,
        given_names="Robin",
        family_name="Precise",
        date_of_birth=datetime.date(2014, 1, 1),
        date_of_birth_precision="year",
    )
    services.involvement_grant(actor=alice, child=child, agency=school, reason="Pupil")
    services.entry_record(
        actor=alice,
        children=[child],
        kind=EntryKind.NOTE,
        event_date=datetime.date(2025, 3, 1),
        date_precision="month",
        summary="Moved to the area some time that month",
    )
    client.force_login(alice)
    page = client.get(reverse("child_detail", args=[child.public_id])).content.decode()
    assert '<span class="govuk-caption-l">2014' in page
    assert ">March 2025</td>" in page
    assert "1 March 2025" not in page and "1 January 2014" not in page
