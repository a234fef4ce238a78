"""Scores computed from the stored chronology: one child, many children, history."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chronology import services
from chronology.vocabulary import EntryKind
from neglect_tool import services as config_services
from neglect_tool.models import ConfigStatus, ScoringConfig
from neglect_tool.selectors import child_score, neglect_map, score_history, scores_for_children
from tests.factories import AgencyFactory, UserFactory

D = datetime.date


def concern(actor, children, day, category, severity=2, kind=EntryKind.CONCERN):
    return services.entry_record(
        actor=actor,
        children=children,
        kind=kind,
        event_date=day,
        categories=[category],
        severity=severity,
        summary=f"{category} seen",
    )


class Rollback(Exception):
    pass


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    events=st.lists(
        st.tuples(
            st.integers(0, 2),  # which child
            st.integers(0, 700),  # day offset
            st.sampled_from(["neglect.nutrition", "neglect.hygiene", "domestic_abuse", "other"]),
            st.integers(1, 5),
            st.booleans(),  # recorded by the school (else by social care)
        ),
        max_size=15,
    )
)
def test_child_score_and_scores_for_children_agree(alice, bob, events):
    try:
        with transaction.atomic():
            children = [services.child_create(actor=alice, given_names=f"C{n}") for n in range(3)]
            for child in children:
                services.involvement_grant(actor=alice, child=child, agency=bob.agency, reason="r")
            for which, offset, category, severity, by_school in events:
                actor = bob if by_school else alice
                day = D(2024, 1, 1) + datetime.timedelta(days=offset)
                concern(actor, [children[which]], day, category, severity)
            as_of = D(2025, 6, 1)
            together = scores_for_children(children, as_of)
            for child in children:
                alone = child_score(child, as_of)
                assert together[child.pk].total == alone.total
                assert together[child.pk].contributions == alone.contributions
            raise Rollback
    except Rollback:
        pass


def test_scores_for_many_children_take_a_fixed_number_of_queries(alice, django_assert_num_queries):
    children = [services.child_create(actor=alice, given_names=f"N{n}") for n in range(12)]
    for child in children:
        concern(alice, [child], D(2026, 1, 5), "neglect.nutrition")
    ScoringConfig.objects.get(status="active")  # warm nothing: count the real work
    # config, domains, and one query for every child's evidence
    with django_assert_num_queries(3):
        scores = scores_for_children(children, D(2026, 2, 1))
    assert len(scores) == 12 and all(s.total > 0 for s in scores.values())


def test_the_explanation_names_each_entry_and_adds_up(alice, bob, child):
    first = concern(bob, [child], D(2026, 1, 10), "neglect.nutrition", severity=2)
    second = concern(alice, [child], D(2026, 2, 1), "neglect.nutrition", severity=3)
    score = child_score(child, D(2026, 3, 1))
    ids = {c.entry_id for c in score.contributions}
    assert ids == {str(first.public_id), str(second.public_id)}
    assert sum(c.value for c in score.contributions) == score.total
    assert score.by_domain["nutrition"] == score.total
    assert score.config_version == 1
    assert all("corroborated" in c.reason for c in score.contributions)


def test_a_back_dated_entry_changes_history_from_its_event_date_on(alice, child):
    days = [D(2025, 1, 31), D(2025, 3, 31), D(2025, 6, 30)]
    before = [s.total for s in score_history(child, days)]
    concern(alice, [child], D(2025, 3, 1), "neglect.hygiene", severity=3)
    after = [s.total for s in score_history(child, days)]
    assert after[0] == before[0]
    assert after[1] > before[1] and after[2] > before[2]


def test_a_corrected_entry_counts_once_and_one_entered_in_error_not_at_all(alice, child):
    entry = concern(alice, [child], D(2026, 1, 10), "neglect.nutrition", severity=4)
    as_of = D(2026, 1, 11)
    amendment = services.entry_amend(actor=alice, entry=entry, reason="Overstated", severity=2)
    assert len(child_score(child, as_of).contributions) == 1
    services.entry_mark_entered_in_error(
        actor=alice, entry=amendment.replacement, reason="Wrong child"
    )
    assert child_score(child, as_of).total == 0


def test_the_latest_assessment_counts_and_an_older_one_does_not(alice, child):
    for day, grade in [(D(2026, 1, 1), 5), (D(2026, 2, 1), 2)]:
        services.entry_record(
            actor=alice,
            children=[child],
            kind=EntryKind.ASSESSMENT,
            event_date=day,
            summary="Graded care assessment",
            scores={"nutrition": grade, "housing": grade},
        )
    score = child_score(child, D(2026, 2, 1))
    assert {c.domain for c in score.contributions} == {"nutrition", "home_conditions"}
    assert score.total == Decimal("2.000")  # (2 - 1) for each of two domains, no decay yet


def test_a_family_with_a_few_low_level_concerns_that_resolve_stays_at_level_2_or_below(
    alice, bob, child
):
    concern(bob, [child], D(2025, 9, 15), "neglect.clothing", severity=1)
    concern(bob, [child], D(2025, 10, 20), "neglect.hygiene", severity=2)
    concern(alice, [child], D(2025, 11, 5), "neglect.hygiene", severity=1, kind=EntryKind.VISIT)
    concern(bob, [child], D(2026, 1, 12), "neglect.nutrition", severity=2)
    months = [D(2025, m, 28) for m in range(9, 13)] + [D(2026, m, 28) for m in range(1, 12)]
    levels = [s.level for s in score_history(child, months)]
    assert max(levels) <= 2
    assert levels[-1] == 1


def test_the_neglect_map_has_a_cell_per_domain_and_month(alice, child):
    concern(alice, [child], D(2026, 2, 14), "neglect.nutrition")
    grid = neglect_map(child, D(2026, 1, 1), D(2026, 4, 30))
    assert [m.month for m in grid["months"]] == [1, 2, 3, 4]
    nutrition = next(r for r in grid["rows"] if r["domain"].code == "nutrition")
    assert nutrition["cells"][0] == 0 and nutrition["cells"][1] > nutrition["cells"][3] > 0
    assert len(grid["rows"]) == 9


def test_a_new_scoring_version_is_a_draft_until_activated_and_the_old_one_stays(ada, alice, child):
    concern(alice, [child], D(2026, 1, 10), "neglect.nutrition", severity=2)
    v1 = ScoringConfig.objects.get(version=1)
    draft = config_services.scoring_config_draft(
        actor=ada, based_on=v1, half_life_days=30, note="Faster decay"
    )
    as_of = D(2026, 4, 10)
    assert child_score(child, as_of).config_version == 1
    assert child_score(child, as_of, config=draft).total < child_score(child, as_of).total
    config_services.scoring_config_activate(actor=ada, draft=draft)
    v1.refresh_from_db()
    assert v1.status == ConfigStatus.RETIRED
    assert child_score(child, as_of).config_version == draft.version
    with pytest.raises(ValidationError):
        config_services.scoring_config_update_draft(actor=ada, draft=draft, half_life_days=60)


def test_a_draft_with_falling_cut_points_or_an_unknown_domain_is_refused(ada):
    v1 = ScoringConfig.objects.get(version=1)
    with pytest.raises(ValidationError) as raised:
        config_services.scoring_config_draft(actor=ada, based_on=v1, targeted_from=Decimal("1"))
    assert "early_help_from" in raised.value.message_dict
    rules = dict(v1.category_rules)
    rules["neglect.nutrition"] = {"domain": "food", "weight": 1, "default_severity": 2}
    with pytest.raises(ValidationError):
        config_services.scoring_config_draft(actor=ada, based_on=v1, category_rules=rules)
    assert ScoringConfig.objects.count() == 1


def test_an_outsider_agency_does_not_change_the_score_of_an_unrelated_child(alice, charlie):
    mine = services.child_create(actor=alice, given_names="Mine")
    theirs = services.child_create(actor=charlie, given_names="Theirs")
    concern(charlie, [theirs], D(2026, 1, 1), "neglect.nutrition", severity=5)
    assert child_score(mine, D(2026, 1, 2)).total == 0
    assert UserFactory and AgencyFactory  # factories are importable for other scenarios


def test_an_assessment_grades_domains_cites_evidence_and_joins_the_chronology(alice, bob, child):
    hungry = concern(bob, [child], D(2026, 1, 10), "neglect.nutrition", severity=3)
    assessment = config_services.assessment_record(
        actor=alice,
        child=child,
        grades={"nutrition": 4, "hygiene": 2},
        note="Assessment after the school's concerns",
        event_date=D(2026, 1, 20),
        evidence={"nutrition": [hungry]},
    )
    assert assessment.kind == EntryKind.ASSESSMENT
    assert assessment.scores == {"nutrition": 4, "hygiene": 2}
    assert [(r.domain, r.evidence) for r in assessment.evidence_rows.all()] == [
        ("nutrition", hungry)
    ]
    assessed = [
        c for c in child_score(child, D(2026, 1, 20)).contributions if c.kind == "assessment"
    ]
    assert {c.domain: c.value for c in assessed} == {
        "nutrition": Decimal("3.000"),
        "hygiene": Decimal("1.000"),
    }


def test_an_assessment_citing_another_childs_entry_or_an_unknown_domain_saves_nothing(alice, child):
    other = services.child_create(actor=alice, given_names="Other")
    elsewhere = concern(alice, [other], D(2026, 1, 10), "neglect.nutrition")
    entries_before = child.entries.count()
    with pytest.raises(ValidationError):
        config_services.assessment_record(
            actor=alice,
            child=child,
            grades={"nutrition": 3},
            note="x",
            evidence={"nutrition": [elsewhere]},
        )
    with pytest.raises(ValidationError):
        config_services.assessment_record(actor=alice, child=child, grades={"food": 3}, note="x")
    assert child.entries.count() == entries_before


def test_an_outsider_cannot_record_an_assessment(charlie, child):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        config_services.assessment_record(
            actor=charlie, child=child, grades={"nutrition": 3}, note="Not involved"
        )


def test_assessment_evidence_cannot_be_deleted_in_sql(alice, child):
    from django.db import DatabaseError, connection

    from tests.chronology.test_append_only import REFUSED

    hungry = concern(alice, [child], D(2026, 1, 10), "neglect.nutrition")
    config_services.assessment_record(
        actor=alice,
        child=child,
        grades={"nutrition": 3},
        note="n",
        evidence={"nutrition": [hungry]},
    )
    with (
        pytest.raises(DatabaseError, match=REFUSED),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM neglect_tool_assessmentevidence")
