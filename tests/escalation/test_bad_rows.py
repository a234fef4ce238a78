"""Evaluation and back-tests never die on one bad row (issue 14, item 4).

An entry dated 0001-01-01 was once accepted. Being append-only, it can still be in
a database from before the date rule, so these tests write one straight into the
table, as it would be there, and run the sweep's evaluation and a back-test."""

import datetime

import pytest

from chronology import services
from chronology.models import Entry, EntryChild
from chronology.vocabulary import EntryKind
from escalation import backtest
from escalation.models import BackTest, BackTestStatus
from escalation.services import child_evaluate, rule_set_active


def bad_row(*, child, agency, author) -> Entry:
    """An entry dated year 1, written past the services as a row from before the rule."""
    entry = Entry.objects.create(
        event_date=datetime.date(1, 1, 1),
        agency=agency,
        author=author,
        kind=EntryKind.CONCERN,
        summary="Dated year 1 by mistake",
    )
    EntryChild.objects.create(entry=entry, child=child)
    return entry


@pytest.fixture
def child_with_bad_row(alice, social_care, child):
    for day in (3, 10, 17):
        services.entry_record(
            actor=alice,
            children=[child],
            kind=EntryKind.CONCERN,
            categories=["neglect.nutrition"],
            event_date=datetime.date(2026, 1, day),
            summary="No breakfast",
        )
    bad_row(child=child, agency=social_care, author=alice)
    return child


def test_the_sweep_evaluates_a_child_with_a_year_one_entry(child_with_bad_row):
    child_evaluate(child_id=child_with_bad_row.pk, notify=False)


def test_a_back_test_skips_and_reports_a_year_one_entry_and_goes_on(alice, child_with_bad_row):
    active = rule_set_active()
    run = BackTest.objects.create(rule_set=active, baseline=active, created_by=alice)

    backtest.backtest_run(run.pk, scenarios=backtest.live_scenarios())

    run.refresh_from_db()
    assert run.status == BackTestStatus.DONE, run.error
    (row,) = run.results
    assert row["skipped"] == [
        "event E1 dated 0001-01-01: The date cannot be before 1 January 1900."
    ]
    assert row["active"]["alerts"] is not None
    assert run.done == run.total == 2


def test_a_back_test_reports_a_scenario_it_cannot_read_and_goes_on(alice, db):
    active = rule_set_active()
    run = BackTest.objects.create(rule_set=active, baseline=active, created_by=alice)
    good = backtest.stored_scenarios()[0]

    backtest.backtest_run(run.pk, scenarios=[("broken.json", b"{not json"), good])

    run.refresh_from_db()
    assert run.status == BackTestStatus.DONE
    broken, replayed = run.results
    assert broken["scenario"] == "broken.json" and "not a JSON document" in broken["error"]
    assert "active" in replayed and "draft" in replayed


def test_a_back_test_replays_a_live_history_holding_the_system_agencys_entries(
    alice, child_with_bad_row
):
    """Entries the system wrote (an allocation recorded by an import, say) are part
    of a live history; the importer refuses the system agency's code, so the
    back-test replays them under a code of its own instead of failing the scenario."""
    from agencies.services import service_account_get

    system = service_account_get(purpose="backtest")
    entry = Entry.objects.create(
        event_date=datetime.date(2026, 2, 1),
        agency=system.agency,
        author=system,
        kind=EntryKind.NOTE,
        summary="Recorded by the system",
    )
    EntryChild.objects.create(entry=entry, child=child_with_bad_row)
    active = rule_set_active()
    run = BackTest.objects.create(rule_set=active, baseline=active, created_by=alice)

    backtest.backtest_run(run.pk, scenarios=backtest.live_scenarios())

    run.refresh_from_db()
    (row,) = run.results
    assert "error" not in row, row
    assert run.status == BackTestStatus.DONE
