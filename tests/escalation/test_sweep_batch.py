"""The sweep's batch path (escalation.services.children_evaluate, issue 7).

It must decide exactly what child_evaluate decides one child at a time, cost
the same number of queries however many children a batch holds, and step
around a child whose watch a writer is holding rather than wait for it.
"""

import datetime
import json
import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chronology import services
from chronology.vocabulary import EntryKind
from escalation import services as escalation
from escalation import tasks
from escalation.models import Alert, AlertEvidence, ChildWatch
from neglect_tool.selectors import child_score
from tests.conftest import record_neglect_pattern


class Rollback(Exception):
    pass


def make_children(alice, school, count):
    children = []
    for number in range(count):
        child = services.child_create(actor=alice, given_names=f"Sam{number}", family_name="Batch")
        services.involvement_grant(actor=alice, child=child, agency=school, reason="Pupil")
        children.append(child)
    return children


def outcome(child_ids):
    """What an evaluation decided, in a form two evaluations can be compared by."""
    alerts = sorted(
        Alert.objects.filter(child_id__in=child_ids).values_list(
            "child_id",
            "rule_code",
            "episode_key",
            "status",
            "reason",
            "categories",
            "pattern_started_on",
            "urgency",
        )
    )
    evidence = sorted(
        AlertEvidence.objects.filter(alert__child_id__in=child_ids).values_list(
            "alert__child_id", "alert__rule_code", "entry_id"
        )
    )
    watches = sorted(
        ChildWatch.objects.filter(child_id__in=child_ids).values_list(
            "child_id",
            "level",
            "score",
            "level_rose_on",
            "next_check_at",
            "due_since",
            "month_totals",
        )
    )
    return alerts, evidence, watches


def test_a_batch_decides_what_one_child_at_a_time_decides(alice, bob, school):
    children = make_children(alice, school, 4)
    record_neglect_pattern(alice=alice, bob=bob, child=children[0])
    record_neglect_pattern(alice=alice, bob=bob, child=children[2])
    services.entry_record(
        actor=bob,
        children=[children[1]],
        kind=EntryKind.CHILD_VOICE,
        categories=["physical_abuse"],
        event_date=timezone.localdate() - datetime.timedelta(days=10),
        summary="Said a grown-up hit them",
    )
    ids = [child.pk for child in children]
    now = timezone.now()

    try:
        with transaction.atomic():
            assert escalation.children_evaluate(ids, now=now) == 4
            by_batch = outcome(ids)
            raise Rollback
    except Rollback:
        pass
    for child_id in ids:
        escalation.child_evaluate(child_id=child_id, now=now)
    one_at_a_time = outcome(ids)

    assert by_batch == one_at_a_time
    alerted = {(child_id, code) for child_id, code, *_ in by_batch[0]}
    assert (children[0].pk, "frequency-neglect") in alerted
    assert (children[2].pk, "frequency-neglect") in alerted
    assert (children[1].pk, "voice-unanswered") in alerted
    assert not any(child_id == children[3].pk for child_id, _ in alerted)


def test_a_batch_costs_the_same_queries_for_two_children_as_for_six(alice, bob, school):
    children = make_children(alice, school, 6)
    for child in children:
        record_neglect_pattern(alice=alice, bob=bob, child=child)
    ids = [child.pk for child in children]
    escalation.children_evaluate(ids)  # raises their alerts; what follows is a nightly re-run

    with CaptureQueriesContext(connection) as two:
        assert escalation.children_evaluate(ids[:2]) == 2
    with CaptureQueriesContext(connection) as six:
        assert escalation.children_evaluate(ids) == 6

    assert len(six) == len(two) <= 25
    assert Alert.objects.filter(child_id__in=ids, rule_code="frequency-neglect").count() == 6


@pytest.mark.django_db(transaction=True)
def test_a_child_whose_watch_a_writer_holds_is_left_marked_for_later(alice, bob, school):
    held, other = make_children(alice, school, 2)
    for child in (held, other):
        record_neglect_pattern(alice=alice, bob=bob, child=child)
    locked, release = threading.Event(), threading.Event()

    def writer_mid_transaction():
        # As entry_record does: the watch row is held until the writer commits.
        try:
            with transaction.atomic():
                ChildWatch.objects.select_for_update().get(child=held)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    writer = threading.Thread(target=writer_mid_transaction)
    writer.start()
    try:
        assert locked.wait(10)
        assert escalation.children_evaluate([held.pk, other.pk]) == 1
    finally:
        release.set()
        writer.join(10)

    assert ChildWatch.objects.get(child=other).due_since is None
    assert Alert.objects.filter(child=other, rule_code="frequency-neglect").exists()
    assert ChildWatch.objects.get(child=held).due_since is not None
    assert not Alert.objects.filter(child=held).exists()
    # Once the writer is gone, the next batch takes it.
    assert escalation.children_evaluate([held.pk, other.pk]) == 2
    assert Alert.objects.filter(child=held, rule_code="frequency-neglect").exists()


def test_one_sweep_works_through_every_batch_that_is_due(alice, bob, school, monkeypatch):
    children = make_children(alice, school, 5)
    for child in children:
        record_neglect_pattern(alice=alice, bob=bob, child=child)
    # The queue never ran: every mark is older than the grace the sweep gives it.
    ChildWatch.objects.filter(child__in=children).update(
        due_since=timezone.now() - tasks.SWEEP_GRACE - datetime.timedelta(seconds=1)
    )
    monkeypatch.setattr(tasks, "SWEEP_BATCH", 2)
    monkeypatch.setattr(tasks, "SWEEP_SECONDS", 60)  # time enough, however slow the machine

    assert tasks.evaluations_sweep() == 5

    assert not ChildWatch.objects.filter(child__in=children, due_since__isnull=False).exists()
    assert Alert.objects.filter(child__in=children, rule_code="frequency-neglect").count() == 5
    assert tasks.evaluations_sweep() == 0


def test_the_watch_keeps_the_score_the_childs_page_shows(alice, bob, school):
    # The sweep scores from its own plain rows; the pages from neglect_tool.selectors.
    [child] = make_children(alice, school, 1)
    record_neglect_pattern(alice=alice, bob=bob, child=child)
    services.entry_record(
        actor=alice,
        children=[child],
        kind=EntryKind.VISIT,
        categories=["neglect.home_conditions", "neglect.hygiene"],
        severity=3,
        event_date=timezone.localdate() - datetime.timedelta(days=400),
        summary="Home conditions poor",
    )
    escalation.children_evaluate([child.pk])

    watch = ChildWatch.objects.get(child=child)
    shown = child_score(child, timezone.localdate())
    assert watch.score == shown.total > 0
    assert watch.level == shown.level


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_side_by_side_take_different_children(alice, school):
    children = due_children(alice, school, 4)
    now = timezone.now()
    taken_first, holding, release = [], threading.Event(), threading.Event()

    def first_sweep_mid_batch():
        try:
            with transaction.atomic():
                taken_first.extend(
                    escalation.children_due(now=now, grace=tasks.SWEEP_GRACE, limit=2, lock=True)
                )
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    first = threading.Thread(target=first_sweep_mid_batch)
    first.start()
    try:
        assert holding.wait(10)
        with transaction.atomic():
            taken_second = escalation.children_due(
                now=now, grace=tasks.SWEEP_GRACE, limit=2, lock=True
            )
    finally:
        release.set()
        first.join(10)

    assert len(taken_first) == len(taken_second) == 2
    assert set(taken_first).isdisjoint(taken_second)
    assert set(taken_first) | set(taken_second) == {child.pk for child in children}


def sweeps_queued(queue) -> list[tuple[str, str]]:
    """The sweep tasks waiting on the test's queue (conftest.queue), as (task, kwargs)."""
    messages = [json.loads(raw) for raw in queue.client.lrange(queue.name, 0, -1)]
    return [
        (m["headers"]["task"], m["headers"]["kwargsrepr"])
        for m in messages
        if m["headers"]["task"] == "escalation.tasks.evaluations_sweep"
    ]


def due_children(alice, school, count):
    """Children whose timers ran out a minute ago."""
    children = make_children(alice, school, count)
    ChildWatch.objects.bulk_create([ChildWatch(child=c) for c in children], ignore_conflicts=True)
    ChildWatch.objects.filter(child__in=children).update(
        next_check_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    return children


HELPER = ("escalation.tasks.evaluations_sweep", "{'fan_out': False}")


def test_a_county_due_at_once_brings_in_helper_sweeps_and_a_small_one_does_not(
    alice, school, monkeypatch, settings, queue
):
    monkeypatch.setattr(tasks, "SWEEP_BATCH", 2)  # "many" is four batches: 8 children
    settings.SWEEP_WORKERS = 3
    children = due_children(alice, school, 9)
    assert tasks.evaluations_sweep() == 9  # no worker here: it does them all itself
    assert sweeps_queued(queue) == [HELPER, HELPER]

    queue.clear()
    due = timezone.now() - datetime.timedelta(minutes=1)
    ChildWatch.objects.filter(child__in=children[:7]).update(next_check_at=due)
    assert tasks.evaluations_sweep() == 7
    assert sweeps_queued(queue) == []
    # A helper sweeps but never fans out again.
    ChildWatch.objects.filter(child__in=children).update(next_check_at=due)
    assert tasks.evaluations_sweep(fan_out=False) == 9
    assert sweeps_queued(queue) == []


def test_a_sweep_out_of_time_queues_its_continuation_rather_than_wait_for_beat(
    alice, school, monkeypatch, queue
):
    monkeypatch.setattr(tasks, "SWEEP_BATCH", 2)
    monkeypatch.setattr(tasks, "SWEEP_SECONDS", 0)  # out of time after one batch
    due_children(alice, school, 5)
    assert tasks.evaluations_sweep() == 2
    assert sweeps_queued(queue) == [HELPER]  # the continuation: the same task, no fan-out
    assert tasks.evaluations_sweep(fan_out=False) == 2
    assert sweeps_queued(queue) == [HELPER, HELPER]
    # The last child: fewer than a batch, so the work is done and nothing is queued.
    assert tasks.evaluations_sweep(fan_out=False) == 1
    assert sweeps_queued(queue) == [HELPER, HELPER]


def test_a_batch_clears_the_marks_it_has_read_and_keeps_a_later_one(alice, bob, school):
    """A mark made after the batch began may stand for an entry the batch did not
    read, so it must outlive the batch; one made before is answered and cleared."""
    read, later = make_children(alice, school, 2)
    for child in (read, later):
        record_neglect_pattern(alice=alice, bob=bob, child=child)
    began = timezone.now()
    # A writer that marks `later` while the batch is under way, as seen by the batch.
    ChildWatch.objects.filter(child=later).update(due_since=began + datetime.timedelta(minutes=1))

    assert escalation.children_evaluate([read.pk, later.pk], now=began) == 2

    assert ChildWatch.objects.get(child=read).due_since is None
    assert ChildWatch.objects.get(child=later).due_since == began + datetime.timedelta(minutes=1)
    # Both were evaluated all the same.
    evaluated = ChildWatch.objects.filter(child__in=[read, later], evaluated_at__isnull=False)
    assert evaluated.count() == 2
