"""Evaluating children, and every change to alerts and rule sets.

`child_evaluate` is the one place where rules become alerts. The workers, the
sweep and the replay all call it; only its clock and whether it notifies differ.
"""

import datetime
import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from agencies.models import AgencyKind, Role, User
from chronology.audit import audit_record
from chronology.models import Child, Involvement
from chronology.selectors import child_is_visible_to
from core.concurrency import check_version
from neglect_tool.selectors import domain_codes, scoring_config_active

from .context import contexts_load
from .models import (
    DISAGREEMENT_CODE,
    UNRESOLVED,
    Alert,
    AlertEvent,
    AlertEvidence,
    AlertStatus,
    ChildWatch,
    Heartbeat,
    Notification,
    Rule,
    RuleSet,
    RuleSetStatus,
)
from .rule_params import PARAMS as RULE_PARAMS
from .rule_params import notify_clean, rule_params_clean
from .rules import RULE_TYPES, Context, Finding
from .working_time import add_working_hours

logger = logging.getLogger(__name__)


@dataclass
class EvaluationResult:
    raised: list[Alert] = field(default_factory=list)
    grown: list[Alert] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)
    level: int = 1


def rule_set_active() -> RuleSet:
    return RuleSet.objects.get(status=RuleSetStatus.ACTIVE)


# --- marking and evaluating ----------------------------------------------------------


# The watch table is named in full, not formatted in: these statements are constants.
MARK_DUE_MANY = """
    INSERT INTO escalation_childwatch
        (child_id, due_since, level, score, level_rose_on, month_totals)
    SELECT child_id, %s, 1, 0, '{}', '{}'
    FROM unnest(%s::bigint[]) WITH ORDINALITY AS marked(child_id, position)
    ORDER BY position
    ON CONFLICT (child_id) DO UPDATE
    SET due_since = COALESCE(escalation_childwatch.due_since, EXCLUDED.due_since)
"""
# Many watches' evaluated fields at once, from one array a column, and their marks
# cleared where the evaluation began after them (see _watches_save).
WATCHES_SAVE = """
    UPDATE escalation_childwatch AS watch
    SET level = saved.level, score = saved.score, config_version = saved.config_version,
        level_rose_on = saved.level_rose_on, evaluated_at = saved.evaluated_at,
        next_check_at = saved.next_check_at, month_totals = saved.month_totals,
        due_since = CASE WHEN watch.due_since <= %s THEN NULL ELSE watch.due_since END
    FROM unnest(
        %s::bigint[], %s::smallint[], %s::numeric[], %s::integer[], %s::jsonb[],
        %s::timestamptz[], %s::timestamptz[], %s::jsonb[]
    ) AS saved(child_id, level, score, config_version, level_rose_on, evaluated_at,
               next_check_at, month_totals)
    WHERE watch.child_id = saved.child_id
"""


def children_mark_for_evaluation(child_ids) -> None:
    """Record, in the caller's transaction, that these children need evaluating,
    and queue the evaluation for after the commit (never before: a worker must
    not look for rows that are not committed yet). If the queue is unreachable
    the mark stays, and the sweep evaluates them."""
    now = timezone.now()
    ids = sorted(set(child_ids))  # one order, so two writers lock watches alike
    if not ids:
        return
    # One statement for all the children. It always writes the
    # row, keeping an older mark, so that we hold it until commit: an evaluation
    # under way then either waits for us and reads our entry, or ends first and
    # cannot clear our mark. Deciding from a read could skip the write while an evaluation that
    # never sees us clears it. (An older mark is kept so that a stream of writes
    # cannot keep pushing back the moment the sweep takes over from the queue.)
    with connection.cursor() as cursor:
        cursor.execute(MARK_DUE_MANY, [now, ids])
    _queue_after_commit(ids)


class _QueueAfterCommit:
    """The children marked in one transaction, queued together once it commits."""

    def __init__(self) -> None:
        self.ids: set[int] = set()
        self.sent = False

    def __call__(self) -> None:
        self.sent = True
        _queue_evaluations(sorted(self.ids))


def _queue_after_commit(ids) -> None:
    """Queue each child at most once per transaction, however many changes marked it
    (an import of many events about one child queues one evaluation). The pending
    set lives on the connection; it is reused only while its callback is still
    waiting in the transaction, so one dropped by a rollback is never added to."""
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        _queue_evaluations(ids)
        return
    pending = getattr(conn, "_evaluations_after_commit", None)
    if (
        pending is None
        or pending.sent
        or not any(func is pending for _, func, _ in conn.run_on_commit)
    ):
        pending = _QueueAfterCommit()
        conn._evaluations_after_commit = pending
        transaction.on_commit(pending)
    pending.ids.update(ids)


def watches_due_with_timers(*, now: datetime.datetime) -> int:
    """Every child waiting for a timer, due now: what the timer was worked out from
    (the working days, say) has changed. Returns how many were made due."""
    return ChildWatch.objects.filter(next_check_at__gt=now).order_by().update(next_check_at=now)


def watches_due_all(*, now: datetime.datetime) -> int:
    """Every watched child due for evaluation at `now` (those due sooner stay so),
    in one statement; the sweep takes them from there. Returns how many were made due.
    Nothing is locked beyond this statement, and doing it twice is harmless."""
    return (
        ChildWatch.objects.filter(Q(next_check_at__isnull=True) | Q(next_check_at__gt=now))
        .order_by()
        .update(next_check_at=now)
    )


def _queue_evaluations(child_ids) -> None:
    from .tasks import child_evaluate_task

    for child_id in child_ids:
        try:
            child_evaluate_task.apply_async((child_id,), retry=False)
        except Exception as error:  # noqa: BLE001 - any broker failure; the sweep will catch up
            logger.warning(
                "Could not queue evaluation of child %s (%r); the sweep will.", child_id, error
            )


# What an evaluation writes to the watch (never due_since: see children_mark_for_evaluation).
WATCH_FIELDS = [
    "level",
    "score",
    "config_version",
    "level_rose_on",
    "evaluated_at",
    "next_check_at",
    "month_totals",
]


def _load_context(child: Child, now: datetime.datetime, watch: ChildWatch, config) -> Context:
    rule_set = rule_set_active()
    rules = list(rule_set.rules.filter(is_enabled=True).order_by("code"))
    return contexts_load(
        [child], {child.pk: watch}, now=now, config=config, domains=domain_codes(), rules=rules
    )[child.pk]


def child_evaluate(
    *,
    child_id: int,
    now: datetime.datetime | None = None,
    rule_set: RuleSet | None = None,
    notify: bool = True,
) -> EvaluationResult:
    """Run every enabled rule for one child at `now` and bring its alerts in line.

    Guarantees: the child's row is locked for the evaluation, so two workers take
    turns; an episode never gets a second unresolved alert (a unique index decides
    even without the lock); a multi-agency decision resolves the open alerts it
    covers and is linked to them; notifications go out only after commit. Safe to
    run any number of times."""
    real_start = timezone.now()
    now = now or real_start
    rule_set = rule_set or rule_set_active()
    config = scoring_config_active()
    rules = list(rule_set.rules.filter(is_enabled=True).order_by("code"))
    with transaction.atomic():
        # Evaluations of one child take turns. NO KEY UPDATE, not UPDATE: a writer
        # checks its foreign keys to the child at commit, after marking the watch;
        # with FOR UPDATE here, it and we would wait for each other (a deadlock).
        child = Child.objects.select_for_update(no_key=True).get(pk=child_id)
        # A writer marking this child holds the watch until it commits: wait, so the
        # entries read below include its entry.
        watch, _ = ChildWatch.objects.select_for_update().get_or_create(child=child)
        ctx = contexts_load(
            [child], {child.pk: watch}, now=now, config=config, domains=domain_codes(), rules=rules
        )[child.pk]
        result = _evaluate_loaded(ctx, watch, rule_set, real_start=real_start)
        if notify:
            _notify_raised(result.raised)
        watch.save(update_fields=WATCH_FIELDS)
        # Clear the outbox mark only if nothing new arrived while we were working.
        ChildWatch.objects.filter(child=child, due_since__lte=real_start).update(due_since=None)
    return result


def children_evaluate(
    child_ids: list[int], *, now: datetime.datetime | None = None, notify: bool = True
) -> int:
    """child_evaluate for many children in one transaction and a constant number of
    queries (the sweep's path); queries per child only where an alert changes.

    A child whose row or watch another transaction holds is skipped, not waited
    for: a writer holding the watch has marked the child, so the queue or the
    next sweep evaluates it after that writer's entry is in. Returns how many
    were evaluated."""
    with transaction.atomic():
        return _children_evaluate_in_transaction(child_ids, now=now, notify=notify)


def children_evaluate_due(
    *, now: datetime.datetime, grace: datetime.timedelta, limit: int, notify: bool = True
) -> tuple[int, int]:
    """Take up to `limit` due children, as children_due orders them, and evaluate
    them in one transaction: (how many were taken, how many evaluated).

    The due watches are locked as they are taken, skipping any another sweep holds,
    so sweeps running side by side on several worker processes take different
    children rather than queue behind each other (escalation.tasks)."""
    with transaction.atomic():
        taken = children_due(now=now, grace=grace, limit=limit, lock=True)
        if not taken:
            return 0, 0
        return len(taken), _children_evaluate_in_transaction(taken, now=now, notify=notify)


def children_due(
    *, now: datetime.datetime, grace: datetime.timedelta, limit: int, lock: bool = False
) -> list[int]:
    """Up to `limit` children due: those the queue missed (marked longer than `grace`
    ago) first, then those whose timers ran out. Two queries, each along its own
    index: one with OR scanned every due watch for every batch, so a county due
    at night cost the sweep the square of its size. With `lock`, in the caller's
    transaction, the watches are locked and those locked elsewhere skipped."""

    def first(rows):
        if lock:
            rows = rows.select_for_update(skip_locked=True)
        return list(rows.values_list("child_id", flat=True)[:limit])

    marked = first(ChildWatch.objects.filter(due_since__lte=now - grace).order_by("due_since"))
    if len(marked) == limit:
        return marked
    timed = first(ChildWatch.objects.filter(next_check_at__lte=now).order_by("next_check_at"))
    due = dict.fromkeys(marked)  # a child both marked and timed is evaluated once
    due.update(dict.fromkeys(timed))
    return list(due)[:limit]


def _children_evaluate_in_transaction(
    child_ids: list[int], *, now: datetime.datetime | None, notify: bool
) -> int:
    real_start = timezone.now()
    now = now or real_start
    rule_set = rule_set_active()
    config = scoring_config_active()
    rules = list(rule_set.rules.filter(is_enabled=True).order_by("code"))
    domains = domain_codes()
    children = list(
        Child.objects.filter(pk__in=list(child_ids))
        .order_by("pk")
        .select_for_update(no_key=True, skip_locked=True)
    )
    watches = _watches_lock([c.pk for c in children])
    missing = [c.pk for c in children if c.pk not in watches]
    if missing:  # never evaluated nor written about: as child_evaluate, make them
        ChildWatch.objects.bulk_create(
            [ChildWatch(child_id=pk) for pk in missing], ignore_conflicts=True
        )
        watches.update(_watches_lock(missing))
    children = [child for child in children if child.pk in watches]
    if not children:
        return 0
    contexts = contexts_load(
        children, watches, now=now, config=config, domains=domains, rules=rules
    )
    raised = []
    for child in children:
        result = _evaluate_loaded(
            contexts[child.pk], watches[child.pk], rule_set, real_start=real_start
        )
        raised.extend(result.raised)
    if notify:
        _notify_raised(raised)
    _watches_save([watches[child.pk] for child in children], marks_before=real_start)
    return len(children)


def _watches_lock(child_ids: list[int]) -> dict[int, ChildWatch]:
    return {
        watch.child_id: watch
        for watch in ChildWatch.objects.filter(child__in=child_ids)
        .order_by("child_id")
        .select_for_update(skip_locked=True)
    }


def _watches_save(watches: list[ChildWatch], *, marks_before: datetime.datetime) -> None:
    """Save the evaluated fields of many watches, and clear their marks made before
    `marks_before` (when the evaluation began, so it read those writers' entries).
    A mark made since stays: that writer's entry may not have been read."""
    # bulk_update builds a CASE per field and row, which costs more than the
    # evaluations themselves at sweep scale; here each column is one array. The
    # marks are cleared in the same statement, so each watch gets one new row
    # version a sweep, not two.
    params: list[Any] = [
        marks_before,
        [w.child_id for w in watches],
        [w.level for w in watches],
        [w.score for w in watches],
        [w.config_version for w in watches],
        [json.dumps(w.level_rose_on) for w in watches],
        [w.evaluated_at for w in watches],
        [w.next_check_at for w in watches],
        [json.dumps(w.month_totals) for w in watches],
    ]
    with connection.cursor() as cursor:
        cursor.execute(WATCHES_SAVE, params)


def _evaluate_loaded(
    ctx: Context,
    watch: ChildWatch,
    rule_set: RuleSet,
    *,
    real_start: datetime.datetime,
) -> EvaluationResult:
    """Bring one child's alerts in line with its loaded context, and set (not save)
    the watch's fields. The caller notifies (_notify_raised), once for a batch."""
    result = EvaluationResult(level=ctx.score.level)
    result.resolved = _resolve_covered(ctx.child, ctx)
    findings: list[Finding] = []
    for rule in ctx.rules:
        findings.extend(RULE_TYPES[rule.type](rule, ctx))
    for finding in findings:
        alert, created = _alert_for(ctx.child, finding, ctx, rule_set)
        (result.raised if created else result.grown).append(alert)
    watch.level = ctx.score.level
    watch.score = ctx.score.total
    watch.config_version = ctx.score.config_version
    watch.level_rose_on = ctx.level_rose_on
    watch.evaluated_at = real_start
    watch.next_check_at = min(ctx.next_checks, default=None)
    watch.month_totals = ctx.totals_to_store()
    return result


def _resolve_covered(child: Child, ctx: Context) -> list[Alert]:
    decisions = ctx.multi_agency_decisions()
    resolved = []
    for alert in ctx.unresolved:
        if alert.status not in UNRESOLVED:
            continue
        decision = next((d for d in decisions if d.event_date >= alert.pattern_started_on), None)
        if decision is None:
            continue
        alert.status = AlertStatus.RESOLVED
        alert.resolved_by_decision_id = decision.id
        alert.resolved_on = decision.event_date
        alert.ladder_due_at = None
        alert.version += 1
        alert.save(
            update_fields=[
                "status",
                "resolved_by_decision",
                "resolved_on",
                "ladder_due_at",
                "version",
            ]
        )
        AlertEvent.objects.create(
            alert=alert,
            status=alert.status,
            ladder_level=alert.ladder_level,
            reason=(
                f"Resolved by the {decision.decision_type_label.lower()} of "
                f"{decision.event_date:%Y-%m-%d} with {decision.agencies_present} agencies present"
            ),
        )
        resolved.append(alert)
    return resolved


def _alert_for(child: Child, finding: Finding, ctx: Context, rule_set: RuleSet):
    """The unresolved alert of this episode, made now if there is none. Returns (alert, created)."""
    existing = next(
        (
            a
            for a in ctx.unresolved
            if a.status in UNRESOLVED
            and a.rule_code == finding.rule.code
            and a.episode_key == finding.episode_key
        ),
        None,
    )
    created = False
    if existing is None:
        try:
            with transaction.atomic():
                existing = Alert.objects.create(
                    child=child,
                    rule=finding.rule,
                    rule_code=finding.rule.code,
                    episode_key=finding.episode_key,
                    reason=finding.reason,
                    categories=finding.categories,
                    pattern_started_on=finding.started_on,
                    raised_on=ctx.today,
                    urgency=finding.urgency,
                    ladder_due_at=add_working_hours(
                        ctx.now, rule_set.level_2_after_working_hours, ctx.holidays
                    ),
                )
                AlertEvent.objects.create(
                    alert=existing, status=existing.status, ladder_level=1, reason=finding.reason
                )
                created = True
        except IntegrityError:
            # Another evaluation raised it first: the index kept it to one.
            existing = Alert.objects.get(
                child=child,
                rule_code=finding.rule.code,
                episode_key=finding.episode_key,
                status__in=UNRESOLVED,
            )
        ctx.unresolved.append(existing)
    elif finding.urgency > existing.urgency:
        existing.urgency = finding.urgency
        existing.reason = finding.reason
        existing.categories = sorted(set(existing.categories) | set(finding.categories))
        existing.version += 1
        existing.save(update_fields=["urgency", "reason", "categories", "version"])
    linked = ctx.evidence_linked.setdefault(existing.pk, set())
    missing = [e for e in finding.evidence if e.id not in linked]
    if missing:
        AlertEvidence.objects.bulk_create(
            [AlertEvidence(alert=existing, entry_id=e.id) for e in missing], ignore_conflicts=True
        )
        linked.update(e.id for e in missing)
    return existing, created


# --- who is told ---------------------------------------------------------------------


def alert_recipients(alert: Alert, level: int) -> list[User]:
    """Level 1: the involved agencies' safeguarding leads and managers (or the
    rule's roles and agency kinds). Level 2: managers in involved social care.
    Level 3: the safeguarding partnership's managers and leads."""
    today = timezone.localdate()
    involved = Involvement.objects.active_on(today).filter(child=alert.child).values("agency")
    users = User.objects.filter(is_active=True)
    if level == 1:
        return _first_recipients([alert])[alert.pk]
    if level == 2:
        users = users.filter(
            agency__in=involved, agency__kind=AgencyKind.SOCIAL_CARE, role=Role.MANAGER
        )
    else:
        partnership = (
            alert.rule.rule_set.partnership if alert.rule else rule_set_active().partnership
        )
        if partnership is None:
            return []
        users = users.filter(agency=partnership, role__in=[Role.MANAGER, Role.SAFEGUARDING_LEAD])
    return list(users)


def _first_recipients(alerts: list[Alert]) -> dict[int, list[User]]:
    """Level-1 recipients of each alert, by alert id, in two queries however many
    alerts: the active users of the child's involved agencies in the rule's roles
    (safeguarding leads and managers unless it names others) and agency kinds."""
    today = timezone.localdate()
    involved = defaultdict(set)
    for child_id, agency_id in (
        Involvement.objects.active_on(today)
        .filter(child_id__in={alert.child_id for alert in alerts})
        .values_list("child_id", "agency_id")
    ):
        involved[child_id].add(agency_id)
    agency_ids = set().union(*involved.values())
    users = list(User.objects.filter(is_active=True, agency_id__in=agency_ids).order_by("pk"))
    found = {}
    for alert in alerts:
        rule = alert.rule
        roles = (rule.notify_roles if rule and rule.notify_roles else None) or [
            Role.SAFEGUARDING_LEAD,
            Role.MANAGER,
        ]
        kinds = rule.notify_agency_kinds if rule and rule.notify_agency_kinds else None
        found[alert.pk] = [
            user
            for user in users
            if user.agency_id in involved[alert.child_id]
            and user.role in roles
            and (kinds is None or user.agency.kind in kinds)
        ]
    return found


def _notify_raised(alerts: list[Alert]) -> None:
    """Tell level 1 about newly raised alerts: one lookup and one insert for all."""
    if not alerts:
        return
    recipients = _first_recipients(alerts)
    Notification.objects.bulk_create(
        [
            Notification(user=user, alert=alert, ladder_level=1)
            for alert in alerts
            for user in recipients[alert.pk]
        ],
        ignore_conflicts=True,
    )
    for alert in alerts:
        _email(alert, level=1, recipients=recipients[alert.pk])


def _notify(alert: Alert, *, level: int) -> None:
    recipients = alert_recipients(alert, level)
    Notification.objects.bulk_create(
        [Notification(user=u, alert=alert, ladder_level=level) for u in recipients],
        ignore_conflicts=True,
    )
    _email(alert, level=level, recipients=recipients)


def _email(alert: Alert, *, level: int, recipients: list[User]) -> None:
    emails = [u.email for u in recipients if u.email]
    if emails:
        # The message names no child: mail leaves the system, the record does not.
        subject = f"Safeguarding alert at level {level}: please review"
        body = (
            "An escalation alert needs your attention. Sign in to the chronology to see it "
            f"(alert {alert.public_id})."
        )
        # One message each, so recipients in different agencies do not see each other.
        transaction.on_commit(lambda: _send_each(subject, body, emails))


def _send_each(subject: str, body: str, emails: list[str]) -> None:
    for email in emails:
        try:
            send_mail(subject, body, None, [email])
        except Exception:  # noqa: BLE001 - a mail failure must not undo the alert
            logger.exception("Could not email an alert notification to %s", email)


# --- the ladder ----------------------------------------------------------------------


def ladder_advance_due(*, now: datetime.datetime | None = None) -> int:
    """Move every unacknowledged alert whose timer has run out one rung up.
    Each move is a conditional update, so two beats or workers never move one
    alert twice. Returns how many moved."""
    now = now or timezone.now()
    moved = 0
    due = Alert.objects.filter(
        status__in=[AlertStatus.OPEN, AlertStatus.ESCALATED],
        ladder_level__lt=3,
        ladder_due_at__lte=now,
    ).select_related("rule__rule_set")
    for alert in due:
        rule_set = alert.rule.rule_set if alert.rule else rule_set_active()
        new_level = alert.ladder_level + 1
        next_due = (
            add_working_hours(now, rule_set.level_3_after_working_hours) if new_level < 3 else None
        )
        with transaction.atomic():
            changed = Alert.objects.filter(
                pk=alert.pk,
                ladder_level=alert.ladder_level,
                status__in=[AlertStatus.OPEN, AlertStatus.ESCALATED],
            ).update(
                ladder_level=new_level,
                status=AlertStatus.ESCALATED,
                ladder_due_at=next_due,
                version=alert.version + 1,
            )
            if changed != 1:
                continue
            alert.refresh_from_db()
            AlertEvent.objects.create(
                alert=alert,
                status=AlertStatus.ESCALATED,
                ladder_level=new_level,
                reason=f"Not acknowledged in time: escalated to level {new_level}",
            )
            _notify(alert, level=new_level)
            moved += 1
    return moved


# --- people acting on alerts ------------------------------------------------------------


def _locked_alert(actor, alert: Alert, expected_version: int | None) -> Alert:
    alert = Alert.objects.select_for_update().select_related("child").get(pk=alert.pk)
    if not child_is_visible_to(user=actor, child=alert.child):
        raise PermissionDenied("No alert found")
    check_version(alert.version, expected_version, "alert")
    return alert


def _record(actor, alert: Alert, action: str, reason: str, fields: list[str]) -> Alert:
    alert.version += 1
    alert.save(update_fields=[*fields, "version"])
    AlertEvent.objects.create(
        alert=alert,
        status=alert.status,
        ladder_level=alert.ladder_level,
        actor=actor,
        reason=reason,
    )
    audit_record(
        actor=actor, action=action, child=alert.child, obj=alert, details={"reason": reason}
    )
    return alert


@transaction.atomic
def alert_acknowledge(
    *, actor, alert: Alert, reason: str, expected_version: int | None = None
) -> Alert:
    """Someone has seen the alert and is acting: the ladder stops climbing. It is
    not resolved: that needs a multi-agency decision, or a manager's reason."""
    alert = _locked_alert(actor, alert, expected_version)
    if alert.status == AlertStatus.RESOLVED:
        raise ValidationError({"status": "This alert is already resolved."})
    if not reason.strip():
        raise ValidationError({"reason": "Say what you are doing about it."})
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.ladder_due_at = None
    return _record(actor, alert, "alert.acknowledge", reason, ["status", "ladder_due_at"])


@transaction.atomic
def alert_assign(
    *, actor, alert: Alert, assignee: User, reason: str, expected_version=None
) -> Alert:
    alert = _locked_alert(actor, alert, expected_version)
    if actor.role != Role.MANAGER:
        raise PermissionDenied("Only a manager assigns alerts.")
    if not child_is_visible_to(user=assignee, child=alert.child):
        raise ValidationError({"assignee": "That person's agency is not involved with the child."})
    alert.assigned_to = assignee
    return _record(
        actor, alert, "alert.assign", reason or f"Assigned to {assignee}", ["assigned_to"]
    )


@transaction.atomic
def alert_resolve(*, actor, alert: Alert, reason: str, expected_version=None) -> Alert:
    """A manager closes an alert without a multi-agency decision, saying why."""
    alert = _locked_alert(actor, alert, expected_version)
    if actor.role != Role.MANAGER:
        raise PermissionDenied("Only a manager resolves an alert without a decision.")
    if alert.status == AlertStatus.RESOLVED:
        raise ValidationError({"status": "This alert is already resolved."})
    if len(reason.strip()) < 20:
        raise ValidationError({"reason": "Give the reason in at least 20 characters."})
    alert.status = AlertStatus.RESOLVED
    alert.resolved_on = timezone.localdate()
    alert.ladder_due_at = None
    resolved = _record(
        actor, alert, "alert.resolve", reason, ["status", "resolved_on", "ladder_due_at"]
    )
    # A resolution moves the rule's floor (Context.floor): evaluate the child again
    # now, rather than wait for its next entry or timer.
    children_mark_for_evaluation([alert.child_id])
    return resolved


@transaction.atomic
def disagreement_raise(*, actor, child: Child, reason: str) -> Alert:
    """A practitioner's formal escalation ("this child needs a strategy
    discussion"). It climbs the same ladder and every involved agency sees it
    until it is resolved."""
    if not child_is_visible_to(user=actor, child=child):
        raise PermissionDenied("No child found")
    if len(reason.strip()) < 20:
        raise ValidationError(
            {"reason": "Say what you think should happen, in 20 characters or more."}
        )
    now = timezone.now()
    rule_set = rule_set_active()
    alert = Alert.objects.create(
        child=child,
        rule=None,
        rule_code=DISAGREEMENT_CODE,
        episode_key=str(now.timestamp()),
        reason=f"Professional disagreement raised by {actor} ({actor.agency}): {reason}",
        categories=[],
        pattern_started_on=timezone.localdate(),
        raised_on=timezone.localdate(),
        raised_by=actor,
        ladder_due_at=add_working_hours(now, rule_set.level_2_after_working_hours),
    )
    AlertEvent.objects.create(
        alert=alert, status=alert.status, ladder_level=1, actor=actor, reason=alert.reason
    )
    audit_record(actor=actor, action="disagreement.raise", child=child, obj=alert)
    _notify(alert, level=1)
    return alert


# --- rule sets -------------------------------------------------------------------------


@transaction.atomic
def rule_set_draft(*, actor, based_on: RuleSet, note: str = "") -> RuleSet:
    """A new draft version copying `based_on` and its rules, to edit and back-test."""
    version = (RuleSet.objects.aggregate(v=Max("version"))["v"] or 0) + 1
    draft = RuleSet.objects.create(
        version=version,
        note=note,
        level_2_after_working_hours=based_on.level_2_after_working_hours,
        level_3_after_working_hours=based_on.level_3_after_working_hours,
        partnership=based_on.partnership,
        created_by=actor,
    )
    Rule.objects.bulk_create(
        Rule(
            rule_set=draft,
            code=r.code,
            type=r.type,
            params=r.params,
            notify_roles=r.notify_roles,
            notify_agency_kinds=r.notify_agency_kinds,
            is_enabled=r.is_enabled,
        )
        for r in based_on.rules.all()
    )
    audit_record(actor=actor, action="rule_set.draft", obj=draft)
    return draft


def _admin_only(actor) -> None:
    if actor.role != Role.ADMIN:
        raise PermissionDenied("Only an administrator changes the escalation rules.")


def _draft_locked(rule_set: RuleSet, expected_revision: int | None) -> RuleSet:
    """The draft, locked for the caller's transaction: edits, back-test starts and
    activation of one draft take turns, so none of them reads a revision that
    another is about to change."""
    draft = RuleSet.objects.select_for_update().get(pk=rule_set.pk)
    if draft.status != RuleSetStatus.DRAFT:
        raise ValidationError(
            {"status": "Only a draft can be changed: make a new draft from the active rules."}
        )
    check_version(draft.revision, expected_revision, "draft")
    return draft


def _rule_as_saved(rule: Rule) -> dict:
    return {
        "params": rule.params,
        "notify_roles": rule.notify_roles,
        "notify_agency_kinds": rule.notify_agency_kinds,
        "is_enabled": rule.is_enabled,
    }


@transaction.atomic
def rule_update(
    *,
    actor,
    rule: Rule,
    params: dict,
    notify_roles: list[str],
    notify_agency_kinds: list[str],
    is_enabled: bool,
    expected_revision: int | None = None,
) -> Rule:
    """Change one rule of a draft rule set: its parameters, who it tells and whether
    it runs.

    Guarantees: only an admin, only a draft; every value is checked against the
    rule type's parameters (escalation.rule_params) and nothing is saved if any is
    wrong (ValidationError keyed by field); with `expected_revision`, a draft
    changed since the page was read is refused (StaleVersion). The draft's revision
    goes up, so any back-test run before this edit no longer allows activation.
    One audit row with the rule's values before and after."""
    _admin_only(actor)
    draft = _draft_locked(rule.rule_set, expected_revision)
    rule = Rule.objects.get(pk=rule.pk, rule_set=draft)
    errors: dict = {}
    cleaned: dict = {}
    roles: list[str] = []
    kinds: list[str] = []
    try:
        cleaned = rule_params_clean(rule.type, params)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        roles, kinds = notify_clean(roles=notify_roles, agency_kinds=notify_agency_kinds)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not isinstance(is_enabled, bool):
        errors["is_enabled"] = ["Rule on: answer yes or no."]
    if errors:
        raise ValidationError(errors)
    before = _rule_as_saved(rule)
    # Parameters the editor does not offer (none today) are kept as they were, not lost.
    known = {param.name for param in RULE_PARAMS[rule.type]}
    rule.params = {k: v for k, v in rule.params.items() if k not in known} | cleaned
    rule.notify_roles = roles
    rule.notify_agency_kinds = kinds
    rule.is_enabled = is_enabled
    after = _rule_as_saved(rule)
    if after == before:
        return rule
    rule.save(update_fields=["params", "notify_roles", "notify_agency_kinds", "is_enabled"])
    draft.revision += 1
    draft.save(update_fields=["revision"])
    audit_record(
        actor=actor,
        action="rule.update",
        obj=draft,
        details={"rule": rule.code, "before": before, "after": after},
    )
    return rule


RULE_SET_EDITABLE = ("note", "level_2_after_working_hours", "level_3_after_working_hours")


@transaction.atomic
def rule_set_update(
    *,
    actor,
    rule_set: RuleSet,
    note: str,
    level_2_after_working_hours: int,
    level_3_after_working_hours: int,
    expected_revision: int | None = None,
) -> RuleSet:
    """Change a draft's note and ladder timings. Same guarantees as rule_update:
    admin and draft only, checked values, revision up (a back-test goes stale) and
    audited with before and after."""
    _admin_only(actor)
    draft = _draft_locked(rule_set, expected_revision)
    errors = {}
    for name, label, value in (
        (
            "level_2_after_working_hours",
            "Working hours before service managers are told",
            level_2_after_working_hours,
        ),
        (
            "level_3_after_working_hours",
            "Working hours before the partnership is told",
            level_3_after_working_hours,
        ),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 80:
            errors[name] = f"{label} must be a whole number between 1 and 80."
    if errors:
        raise ValidationError(errors)
    before = {name: getattr(draft, name) for name in RULE_SET_EDITABLE}
    draft.note = note.strip()
    draft.level_2_after_working_hours = level_2_after_working_hours
    draft.level_3_after_working_hours = level_3_after_working_hours
    after = {name: getattr(draft, name) for name in RULE_SET_EDITABLE}
    if after == before:
        return draft
    draft.revision += 1
    draft.save(update_fields=[*RULE_SET_EDITABLE, "revision"])
    audit_record(
        actor=actor, action="rule_set.update", obj=draft, details={"before": before, "after": after}
    )
    return draft


def backtest_current(rule_set: RuleSet):
    """The newest finished back-test of this draft as it is now (its revision),
    beside the rules active now, or None. A back-test beside a version retired
    since compared the draft with rules no longer in force: activating on it could
    silently undo what the newer version changed."""
    return (
        rule_set.backtests.filter(
            status="done",
            rule_set_revision=rule_set.revision,
            baseline__status=RuleSetStatus.ACTIVE,
        )
        .order_by("-finished_at", "-pk")
        .first()
    )


@transaction.atomic
def rule_set_activate(*, actor, draft: RuleSet) -> RuleSet:
    """Make a draft the active rule set; the previous one is retired, kept for the
    record. Refused unless a back-test of this exact draft has finished: one begun
    before the draft's last edit does not count."""
    _admin_only(actor)
    draft = RuleSet.objects.select_for_update().get(pk=draft.pk)
    if draft.status != RuleSetStatus.DRAFT:
        raise ValidationError({"status": "Only a draft can be activated."})
    if backtest_current(draft) is None:
        stale = draft.backtests.filter(status="done").exists()
        raise ValidationError(
            {
                "backtest": (
                    "The draft or the active rules changed after its last back-test: "
                    "back-test it again before activating it."
                    if stale
                    else "Back-test the draft before activating it."
                )
            }
        )
    RuleSet.objects.filter(status=RuleSetStatus.ACTIVE).update(status=RuleSetStatus.RETIRED)
    draft.status = RuleSetStatus.ACTIVE
    draft.activated_at = timezone.now()
    draft.save(update_fields=["status", "activated_at"])
    audit_record(actor=actor, action="rule_set.activate", obj=draft)
    # Every watched child is evaluated under the new rules at the next sweep, not
    # only when an entry arrives or one of the old rules' timers runs out.
    watches_due_all(now=timezone.now())
    return draft


def heartbeat_beat(*, name: str, now: datetime.datetime | None = None) -> None:
    """Record that the periodic job `name` (a HeartbeatName) has just run: one
    INSERT ... ON CONFLICT UPDATE, so two workers beating at once cannot collide.
    Not audited: it is the machine's state, not a change to anyone's record."""
    Heartbeat.objects.bulk_create(
        [Heartbeat(name=name, last_beat=now or timezone.now())],
        update_conflicts=True,
        unique_fields=["name"],
        update_fields=["last_beat"],
    )
