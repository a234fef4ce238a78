"""The "why" page leads with a sentence a domain, then the entries with agency names."""

import datetime

from django.urls import reverse
from django.utils import timezone

from chronology import services
from chronology.vocabulary import EntryKind
from neglect_tool.selectors import child_score
from neglect_tool.services import assessment_record
from neglect_tool.summary import domain_summary

TODAY = datetime.date(2026, 11, 1)


def concern(actor, child, day, category, severity):
    services.entry_record(
        actor=actor,
        children=[child],
        kind=EntryKind.CONCERN,
        event_date=day,
        categories=[category],
        severity=severity,
        summary="Seen",
    )


def test_a_domain_reads_as_one_sentence(alice, bob, child):
    concern(bob, child, datetime.date(2026, 9, 1), "neglect.nutrition", 2)
    concern(bob, child, datetime.date(2026, 9, 8), "neglect.nutrition", 1)
    concern(alice, child, datetime.date(2026, 10, 1), "neglect.nutrition", 3)
    concern(alice, child, datetime.date(2024, 1, 1), "neglect.nutrition", 5)  # over a year ago
    assessment_record(
        actor=alice,
        child=child,
        grades={"nutrition": 4, "hygiene": 2},
        note="Graded at a home visit",
        event_date=datetime.date(2026, 10, 10),
    )

    summary = domain_summary(child_score(child, TODAY))

    first, second = summary.lines
    assert first.sentence == (
        f"Nutrition: 3 concerns from {bob.agency.name} and {alice.agency.name} in the last "
        "year, the worst significant; the latest assessment graded it 4 of 5."
    ) or first.sentence == (
        f"Nutrition: 3 concerns from {alice.agency.name} and {bob.agency.name} in the last "
        "year, the worst significant; the latest assessment graded it 4 of 5."
    )
    assert second.sentence == (
        "Hygiene: no concerns in the last year; the latest assessment graded it 2 of 5."
    )
    assert "clothing" in summary.quiet_sentence and "nutrition" not in summary.quiet_sentence


def test_the_why_page_leads_with_the_domains_then_entries_with_agency_names(
    client, alice, bob, child
):
    concern(bob, child, timezone.localdate(), "neglect.nutrition", 2)
    client.force_login(alice)
    html = client.get(reverse("child_score", args=[child.public_id])).content.decode()
    assert html.index("By domain, over the last year") < html.index("entry by entry")
    assert f"Nutrition: 1 concern from {bob.agency.name} in the last year" in html
    table = html[html.index("entry by entry") :]
    assert bob.agency.name in table
    assert f">{bob.agency.code}<" not in table
