"""The child page at scale: its neglect trend (neglect_tool.selectors.score_history)
comes from one query of plain rows but gives the scores the entries give; a long
chronology's "why" is a page of its own (child_score), every contribution largest
first, 50 a page, adding up to the score; and both pages cost the same queries
however long the chronology."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from chronology import services
from chronology.models import AuditEvent, Entry
from chronology.vocabulary import EntryKind
from core.dates import months_back
from neglect_tool.scoring import AssessmentRow, EvidenceRow, score_evidence
from neglect_tool.selectors import domain_codes, month_ends, score_history, scoring_config_active
from safeguarding.case_views import CONTRIBUTIONS_ON_CHILD_PAGE

from .test_child_page import record_concerns

D = datetime.date


@pytest.fixture
def varied_history(alice, bob, child):
    """Two agencies, several categories, a corrected entry, graded and ungraded
    assessments, spread over two years."""
    today = timezone.localdate()
    for n in range(30):
        services.entry_record(
            actor=alice if n % 3 else bob,
            children=[child],
            kind=[EntryKind.CONCERN, EntryKind.VISIT, EntryKind.NOTE][n % 3],
            categories=[["neglect.nutrition"], ["neglect.home_conditions", "neglect.nutrition"]][
                n % 2
            ],
            severity=1 + n % 5,
            event_date=today - datetime.timedelta(days=25 * n),
            summary=f"Entry {n}",
        )
    wrong = services.entry_record(
        actor=alice,
        children=[child],
        kind=EntryKind.CONCERN,
        categories=["neglect.nutrition"],
        severity=5,
        event_date=today - datetime.timedelta(days=40),
        summary="Wrong child",
    )
    services.entry_mark_entered_in_error(actor=alice, entry=wrong, reason="Wrong child")
    corrected = services.entry_record(
        actor=bob,
        children=[child],
        kind=EntryKind.CONCERN,
        categories=["neglect.nutrition"],
        severity=1,
        event_date=today - datetime.timedelta(days=70),
        summary="Severity to correct",
    )
    services.entry_amend(actor=bob, entry=corrected, reason="Severity was wrong", severity=4)
    for days_ago, scores in [(200, {"nutrition": 4, "housing": 3}), (90, {})]:
        services.entry_record(
            actor=alice,
            children=[child],
            kind=EntryKind.ASSESSMENT,
            event_date=today - datetime.timedelta(days=days_ago),
            summary="Graded care profile",
            scores=scores,
        )
    return child


def scores_from_entry_objects(child, days):
    """The scores worked out the plain way, from Entry objects and their category
    rows: what score_history's one query of plain values must agree with."""
    config, domains = scoring_config_active(), domain_codes()
    evidence, assessments = [], []
    entries = (
        Entry.objects.filter(child_rows__child=child, event_date__lte=max(days))
        .current()
        .select_related("agency")
        .prefetch_related("category_rows")
    )
    for entry in entries:
        if entry.kind == EntryKind.ASSESSMENT and entry.scores:
            assessments.append(AssessmentRow(str(entry.public_id), entry.event_date, entry.scores))
        if entry.kind in config.kind_factors:
            evidence.extend(
                EvidenceRow(
                    str(entry.public_id),
                    entry.event_date,
                    entry.agency.code,
                    entry.kind,
                    entry.severity,
                    category,
                )
                for category in entry.categories
            )
    return [
        score_evidence(evidence, assessments, as_of=day, rules=config, domains=domains)
        for day in days
    ]


def test_the_trend_from_plain_rows_gives_the_scores_of_the_entries(varied_history):
    today = timezone.localdate()
    months = month_ends(months_back(today, 12), today)
    history = score_history(varied_history, months, explain_last=True)
    expected = scores_from_entry_objects(varied_history, months)
    assert [(s.total, s.level, s.by_domain) for s in history] == [
        (s.total, s.level, s.by_domain) for s in expected
    ]
    assert history[-1].contributions == expected[-1].contributions
    assert history[-1].total > 0 and len({s.total for s in history}) > 1


def points(page: str) -> list[Decimal]:
    return [Decimal(v) for v in re.findall(r'numeric">([\d.]+)</td>', page)]


def test_a_long_chronology_explains_its_score_on_a_page_of_its_own(client, alice, bob, child):
    record_concerns(bob, child, 50, start=timezone.localdate() - datetime.timedelta(days=300))
    record_concerns(alice, child, 12, start=timezone.localdate() - datetime.timedelta(days=12))
    client.force_login(alice)
    page = client.get(reverse("child_detail", args=[child.public_id])).content.decode()
    score_url = reverse("child_score", args=[child.public_id])
    assert f'href="{score_url}">Why: each entry’s share of the score' in page
    assert "<details" not in page.split("Neglect level")[1].split("In the child")[0]
    shown = Decimal(re.search(r"score ([\d.]+) today", page).group(1))

    first = client.get(score_url).content.decode()
    second = client.get(score_url, {"page": "2"}).content.decode()
    assert "Showing contributions 1 to 50 of 62, largest first." in first
    assert "Showing contributions 51 to 62 of 62, largest first." in second
    total = Decimal(re.search(r"add up to the score exactly \(([\d.]+) before rounding", first)[1])
    assert shown == round(total, 1)  # the score reads to one decimal
    assert 'href="?page=2#contributions" rel="next"' in first
    listed = points(first) + points(second)
    assert len(listed) == 62
    assert listed == sorted(listed, reverse=True)
    assert sum(listed) == total
    assert (
        AuditEvent.objects.filter(
            action="child.view", child=child, actor=alice, details__page="score"
        ).count()
        == 2
    )


def test_an_outsider_gets_404_for_the_score_page_and_leaves_no_view(client, charlie, child):
    client.force_login(charlie)
    assert client.get(reverse("child_score", args=[child.public_id])).status_code == 404
    assert not AuditEvent.objects.filter(action="child.view", actor=charlie).exists()


def test_a_short_chronology_lists_every_contribution_by_date(client, alice, child):
    record_concerns(alice, child, 3, start=timezone.localdate() - datetime.timedelta(days=30))
    client.force_login(alice)
    page = client.get(reverse("child_detail", args=[child.public_id])).content.decode()
    why = page.split("Why:")[1].split("</details>")[0]
    assert "the 3 contributions that make up the score" in why
    assert len(points(why)) == 3 <= CONTRIBUTIONS_ON_CHILD_PAGE


@pytest.fixture
def child_page_queries(client, alice, child, django_assert_num_queries):
    def count(entries):
        record_concerns(alice, child, entries)
        client.force_login(alice)
        with django_assert_num_queries(CHILD_PAGE_QUERIES):
            response = client.get(reverse("child_detail", args=[child.public_id]))
        assert response.status_code == 200

    return count


# The session, the user, the child; the agencies for the filters; the page of entries
# with its total and categories; the scoring configuration with its domains; the
# watch (whose kept totals a long chronology's page may use instead: then the next
# query is not needed); the entries that scoring reads, with their categories; the
# audit row; adults, status periods, open alerts and the child's words. (Outside a
# test, BEGIN and COMMIT too.)
CHILD_PAGE_QUERIES = 13


@pytest.mark.parametrize("entries", [5, 300])
def test_the_child_page_costs_the_same_queries_for_5_or_300_entries(child_page_queries, entries):
    child_page_queries(entries)


# The session, the user, the child; the configuration with its domains; the entries
# that scoring reads; the audit row.
SCORE_PAGE_QUERIES = 6


@pytest.mark.parametrize("entries", [5, 300])
def test_the_score_page_costs_the_same_queries_for_5_or_300_entries(
    client, alice, child, entries, django_assert_num_queries
):
    record_concerns(alice, child, entries)
    client.force_login(alice)
    with django_assert_num_queries(SCORE_PAGE_QUERIES):
        response = client.get(reverse("child_score", args=[child.public_id]), {"page": "2"})
    assert response.status_code == 200
