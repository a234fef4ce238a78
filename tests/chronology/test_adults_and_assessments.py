"""Forms for what only imports could record: a linked adult, the risky-adult flag
with its reason, and a structured neglect assessment graded 1 to 5 by domain."""

import datetime

from django.urls import reverse

from chronology import services
from chronology.models import Adult, AuditEvent, Entry


def test_a_linked_adult_flagged_as_a_risk_records_the_reason_in_the_chronology(
    client, alice, child
):
    client.force_login(alice)
    url = reverse("adult_create", args=[child.public_id])
    refused = client.post(
        url,
        {
            "name": "Dale Synthetic",
            "relationship": "mothers_partner",
            "poses_risk_to_children": "on",
        },
    )
    assert "Say why this adult is a risk to children." in refused.content.decode()
    assert not Adult.objects.exists()

    response = client.post(
        url,
        {
            "name": "Dale Synthetic",
            "relationship": "mothers_partner",
            "poses_risk_to_children": "on",
            "risk_reason": "Convicted of harming a child in 2019",
        },
    )

    assert response.status_code == 302
    adult = Adult.objects.get(name="Dale Synthetic")
    assert adult.poses_risk_to_children
    note = Entry.objects.get(adults=adult)
    assert note.summary.endswith("Convicted of harming a child in 2019")
    assert note.categories == ["risky_adults"]
    assert AuditEvent.objects.filter(action="adult.flag", child=child).count() == 1
    page = client.get(reverse("child_detail", args=[child.public_id])).content.decode()
    assert "Dale Synthetic (mother's partner)" in page.replace("&#x27;", "'")
    assert "Risk to children" in page


def test_an_adult_already_linked_is_flagged_from_its_own_page(client, alice, child):
    link = services.adult_link(
        actor=alice, child=child, relationship="father", name="Sam Synthetic"
    )
    client.force_login(alice)
    url = reverse("adult_flag", args=[child.public_id])
    assert "Sam Synthetic" in client.get(url).content.decode()
    refused = client.post(url, {"adult": link.adult.pk, "reason": ""})
    assert "Say why this adult is a risk to children." in refused.content.decode()

    client.post(url, {"adult": link.adult.pk, "reason": "Police report of violence"})

    link.adult.refresh_from_db()
    assert link.adult.poses_risk_to_children


def test_an_adult_of_another_child_cannot_be_flagged_here(client, alice, child):
    other = services.child_create(actor=alice, given_names="Other", family_name="Child")
    stranger = services.adult_link(
        actor=alice, child=other, relationship="father", name="Not Linked"
    )
    client.force_login(alice)
    response = client.post(
        reverse("adult_flag", args=[child.public_id]),
        {"adult": stranger.adult.pk, "reason": "A reason"},
    )
    assert response.status_code == 200
    assert "Select the adult." in response.content.decode()
    stranger.adult.refresh_from_db()
    assert not stranger.adult.poses_risk_to_children


def test_an_assessment_grades_domains_and_counts_towards_the_score(client, alice, child):
    client.force_login(alice)
    url = reverse("assessment_create", args=[child.public_id])
    page = client.get(url).content.decode()
    assert "Nutrition" in page and "Needs met well" in page

    refused = client.post(url, {"event_date": "2026-10-01", "note": "Home visit"})
    assert "Grade at least one domain." in refused.content.decode()
    bad = client.post(
        url, {"event_date": "2026-10-01", "note": "Home visit", "grade_nutrition": "7"}
    )
    assert bad.status_code == 200 and not Entry.objects.filter(kind="assessment").exists()

    response = client.post(
        url,
        {
            "event_date": "2026-10-01",
            "note": "Graded at a home visit with the mother",
            "grade_nutrition": "4",
            "grade_hygiene": "2",
        },
    )

    assert response.status_code == 302
    assessment = Entry.objects.get(kind="assessment")
    assert assessment.scores == {"nutrition": 4, "hygiene": 2}
    assert assessment.event_date == datetime.date(2026, 10, 1)
    why = client.get(reverse("child_score", args=[child.public_id])).content.decode()
    assert "the latest assessment graded it 4 of 5" in why
