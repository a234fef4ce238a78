"""Escalation: versioned rules, the alerts they raise, and the ladder they climb.

An alert is one episode of concern about one child under one rule. While it is
not resolved, no second alert can exist for the same child, rule code and
episode key: a partial unique index decides, so two workers evaluating the same
child at once cannot both raise it.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from agencies.models import Agency
from chronology.models import AppendOnlyModel, Child, Entry


class RuleSetStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class RuleSet(models.Model):
    """One version of the escalation rules and ladder timings.

    Versions are drafted, back-tested and activated; activating one retires the
    previous, which stays for the record. Every alert names the rule it came from."""

    version = models.PositiveIntegerField(unique=True)
    status = models.CharField(
        max_length=10, choices=RuleSetStatus.choices, default=RuleSetStatus.DRAFT
    )
    note = models.TextField(blank=True, help_text="What changed in this version, and why.")
    level_2_after_working_hours = models.PositiveSmallIntegerField(
        default=8, help_text="Unacknowledged for this many working hours: go to service managers."
    )
    level_3_after_working_hours = models.PositiveSmallIntegerField(
        default=16,
        help_text="Still unacknowledged this long after level 2: go to the partnership.",
    )
    partnership = models.ForeignKey(
        Agency,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The safeguarding partnership's agency, told at ladder level 3.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    revision = models.PositiveIntegerField(
        default=1, help_text="Goes up with each edit of the draft (optimistic concurrency)."
    )

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="active"), name="one_active_rule_set"
            )
        ]

    def __str__(self) -> str:
        return f"Rules v{self.version} ({self.get_status_display()})"


class RuleType(models.TextChoices):
    LEVEL_REACHED = "level_reached", "Neglect level reached"
    SERIOUS_INCIDENT = "serious_incident", "Serious incident without a strategy discussion"
    FREQUENCY = "frequency", "Repeated concerns"
    VOICE_UNANSWERED = "voice_unanswered", "Child's words not acted on"
    REFERRAL_NO_DECISION = "referral_no_decision", "Referral without a decision"
    NOT_SUSTAINED = "not_sustained", "Improvement not sustained"
    TURNOVER = "turnover", "Changes of worker"
    RETURN_HOME = "return_home", "Concerns after a return home"
    DOMESTIC_ABUSE_NOTICE = "domestic_abuse_notice", "Domestic abuse notice not acknowledged"
    INJURY_NON_MOBILE = "injury_non_mobile", "Injury to a baby not yet mobile"


class Rule(models.Model):
    rule_set = models.ForeignKey(RuleSet, on_delete=models.PROTECT, related_name="rules")
    code = models.SlugField(
        max_length=50, help_text="Stable across versions, e.g. 'voice-unanswered'."
    )
    type = models.CharField(max_length=30, choices=RuleType.choices)
    params = models.JSONField(default=dict, help_text="The rule type's parameters; see the README.")
    notify_roles = models.JSONField(
        default=list, help_text="Roles told at ladder level 1 in each involved agency."
    )
    notify_agency_kinds = models.JSONField(
        default=list,
        blank=True,
        help_text="Agency kinds told at level 1; empty means all involved.",
    )
    is_enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["rule_set", "code"]
        constraints = [
            models.UniqueConstraint(fields=["rule_set", "code"], name="rule_code_once_per_set")
        ]

    def __str__(self) -> str:
        return f"{self.code} (v{self.rule_set.version})"


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    ESCALATED = "escalated", "Escalated"
    RESOLVED = "resolved", "Resolved"


UNRESOLVED = [AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.ESCALATED]

# Professional disagreements are alerts raised by a person, not by a rule.
DISAGREEMENT_CODE = "professional-disagreement"


class Alert(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="alerts")
    rule = models.ForeignKey(
        Rule, on_delete=models.PROTECT, null=True, blank=True, related_name="alerts"
    )
    rule_code = models.SlugField(max_length=50)
    episode_key = models.CharField(
        max_length=100,
        blank=True,
        help_text="Tells apart episodes under one rule (a harm, an agency).",
    )
    reason = models.TextField()
    categories = models.JSONField(default=list)
    evidence = models.ManyToManyField(Entry, through="AlertEvidence", related_name="alerts")
    pattern_started_on = models.DateField()
    raised_on = models.DateField(help_text="The day the pattern was found (the replay's clock).")
    raised_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=15, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    ladder_level = models.PositiveSmallIntegerField(default=1)
    ladder_due_at = models.DateTimeField(
        null=True, blank=True, help_text="When the alert climbs a rung if nobody acknowledges it."
    )
    urgency = models.PositiveIntegerField(
        default=1, help_text="Grows as more evidence joins the same episode."
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_by_decision = models.ForeignKey(
        Entry, on_delete=models.PROTECT, null=True, blank=True, related_name="resolved_alerts"
    )
    resolved_on = models.DateField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, help_text="For optimistic concurrency.")

    class Meta:
        ordering = ["-raised_at"]
        indexes = [models.Index(fields=["status", "ladder_due_at"], name="alert_ladder_due")]
        constraints = [
            models.UniqueConstraint(
                fields=["child", "rule_code", "episode_key"],
                condition=Q(status__in=UNRESOLVED),
                name="one_unresolved_alert_per_episode",
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule_code} for {self.child} ({self.get_status_display()})"


class AlertEvidence(AppendOnlyModel):
    """An entry behind an alert. Links are added as evidence arrives, never removed."""

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="evidence_rows")
    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="+")

    class Meta(AppendOnlyModel.Meta):
        verbose_name_plural = "alert evidence"
        constraints = [
            models.UniqueConstraint(fields=["alert", "entry"], name="alert_evidence_once")
        ]

    def __str__(self) -> str:
        return f"{self.entry} behind {self.alert}"


class AlertEvent(AppendOnlyModel):
    """A change of an alert's status or ladder level: who, when and why. The alert's
    history: written once, never edited."""

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="history")
    status = models.CharField(max_length=15, choices=AlertStatus.choices)
    ladder_level = models.PositiveSmallIntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField()
    occurred_at = models.DateTimeField(auto_now_add=True)

    class Meta(AppendOnlyModel.Meta):
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.alert}: {self.status} at level {self.ladder_level}"


class Notification(models.Model):
    """An in-app message to one person about an alert; email goes out too."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notifications"
    )
    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="notifications")
    ladder_level = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "alert", "ladder_level"], name="notify_once_per_rung"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} about {self.alert} (level {self.ladder_level})"


class ChildWatch(models.Model):
    """What the workers know about a child between evaluations.

    `due_since` is the outbox: set in the same transaction as any entry about the
    child, cleared only by an evaluation that started after it. If the queue
    loses the message (Redis down, flushed, a worker killed), the sweep finds the
    mark and evaluates anyway."""

    child = models.OneToOneField(
        Child, on_delete=models.PROTECT, primary_key=True, related_name="watch"
    )
    due_since = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(
        null=True, blank=True, help_text="When a time-based rule could next fire."
    )
    evaluated_at = models.DateTimeField(null=True, blank=True)
    level = models.PositiveSmallIntegerField(default=1)
    score = models.DecimalField(max_digits=9, decimal_places=3, default=0)
    config_version = models.PositiveIntegerField(null=True, blank=True)
    level_rose_on = models.JSONField(
        default=dict,
        help_text='For each level reached, the day it was last reached: {"3": "2012-10-01"}.',
    )
    # Scores on past days do not change while the evidence does not, so the next
    # evaluation, and the child's page, reuse them rather than work them out again
    # from every entry (escalation.context, escalation.selectors.trend_stored).
    month_totals = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            "The neglect totals the last evaluation worked out, in thousandths by day, "
            'with the key of the evidence they rest on: {"key": "…", "rows": 12, '
            '"totals": {"2026-10-31": 1250}}.'
        ),
    )

    class Meta:
        indexes = [
            models.Index(fields=["due_since"], name="watch_due"),
            models.Index(fields=["next_check_at"], name="watch_next_check"),
        ]

    def __str__(self) -> str:
        return f"watch on {self.child}"


class Holiday(models.Model):
    """A day that is not a working day, besides weekends (bank holidays, closures)."""

    day = models.DateField(unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day}: {self.name}"


class BackTestStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class BackTest(models.Model):
    """A replay of a draft rule set, beside the active one, over stored case
    histories and part of the live chronology. Run by a worker; the page polls it."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    rule_set = models.ForeignKey(RuleSet, on_delete=models.PROTECT, related_name="backtests")
    baseline = models.ForeignKey(RuleSet, on_delete=models.PROTECT, related_name="+")
    rule_set_revision = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="The draft's revision when the back-test began: an edit since makes it stale.",
    )
    status = models.CharField(
        max_length=10, choices=BackTestStatus.choices, default=BackTestStatus.QUEUED
    )
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=list, blank=True)
    summary = models.JSONField(
        default=dict,
        blank=True,
        help_text="Recall and false alarms of each rule set: {'active': {...}, 'draft': {...}}.",
    )
    error = models.TextField(blank=True)
    heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the worker running it last saved progress; a stale one is taken over.",
    )
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="How many times a worker has started or resumed it."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Back-test of {self.rule_set} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


class HeartbeatName(models.TextChoices):
    """The background jobs whose last run /healthz and the dashboard report."""

    SWEEP = "evaluations_sweep", "Evaluation sweep"
    LADDER = "ladder_tick", "Escalation ladder"


class Heartbeat(models.Model):
    """When a periodic job last finished. One row per job, overwritten each time:
    only the last beat matters, and a missing or old one means the job is not running
    (beat or the worker is down), which the sweep itself can never report."""

    name = models.CharField(max_length=50, unique=True, choices=HeartbeatName.choices)
    last_beat = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.get_name_display()} at {self.last_beat:%Y-%m-%d %H:%M:%S}"
