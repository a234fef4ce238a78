"""Children, the people around them, and their shared, append-only chronology.

The chronology tables (Entry and its link tables, Amendment, NotificationAck,
AuditEvent and EntryRequest) are write-once: Django refuses to update or delete
their rows, and on PostgreSQL triggers declared on the model (AppendOnlyModel's
Meta, installed by migrations through django-pgtrigger) refuse UPDATE, DELETE
and TRUNCATE too. Corrections are new rows: an Amendment, with a replacement
Entry when content changes. docs/database-roles.md has the whole design.
"""

import uuid

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from guardian.models import UserObjectPermissionBase

from agencies.models import Agency

from .validators import validate_nhs_number, validate_unique_pupil_number
from .vocabulary import (
    Category,
    DatePrecision,
    DecisionOutcome,
    DecisionType,
    EntryKind,
    Severity,
    Sex,
    Status,
)


class AppendOnlyError(Exception):
    """Raised when code tries to change or remove a chronology record."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model.__name__} rows are never updated; amend instead.")

    def delete(self):
        raise AppendOnlyError(f"{self.model.__name__} rows are never deleted.")


# The names of the triggers every append-only table has (safeguarding.checks and
# tests/security/test_db_roles.py look for them).
APPEND_ONLY_TRIGGERS = ("append_only", "append_only_truncate")


def append_only_triggers() -> list[pgtrigger.Trigger]:
    """UPDATE and DELETE are refused row by row; TRUNCATE fires no row trigger, so a
    statement-level BEFORE TRUNCATE trigger refuses it (TRUNCATE ... CASCADE too,
    since PostgreSQL fires it on every table the cascade reaches)."""
    return [
        pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete),
        pgtrigger.Trigger(
            name="append_only_truncate",
            level=pgtrigger.Statement,
            when=pgtrigger.Before,
            operation=pgtrigger.Truncate,
            func="RAISE EXCEPTION 'pgtrigger: Cannot truncate the append-only table %', "
            "TG_TABLE_NAME;",
        ),
    ]


class AppendOnlyModel(models.Model):
    """A row that is written once. Saving it again or deleting it is an error.

    This is the one place append-only is declared: subclasses inherit the database
    triggers with `class Meta(AppendOnlyModel.Meta)`, and a system check
    (safeguarding.checks) fails if one of them has lost them."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True
        triggers = append_only_triggers()

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are never updated; amend instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} rows are never deleted.")


class Household(models.Model):
    """Links siblings, and the adults who live with them."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, help_text="A label, e.g. 'Q family'.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Child(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    ref = models.CharField(
        max_length=50,
        unique=True,
        null=True,
        blank=True,
        help_text="The case's own identifier for this child; CSV imports match children by it.",
    )
    given_names = models.CharField(max_length=200)
    family_name = models.CharField(max_length=200, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    date_of_birth_precision = models.CharField(
        max_length=5, choices=DatePrecision.choices, default=DatePrecision.DAY
    )
    sex = models.CharField(max_length=1, choices=Sex.choices, null=True, blank=True)
    nhs_number = models.CharField(
        max_length=10, unique=True, null=True, blank=True, validators=[validate_nhs_number]
    )
    unique_pupil_number = models.CharField(
        max_length=13,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_unique_pupil_number],
    )
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    notes = models.TextField(blank=True)
    # Keys of an imported child record that this model has no field for, kept so
    # that an export gives them back.
    extra = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    restricted = models.BooleanField(
        default=False,
        help_text="Visible only to the users named on it (ChildAccessGrant), even inside an "
        "involved agency: children of staff, high-profile cases.",
    )

    class Meta:
        verbose_name_plural = "children"
        ordering = ["family_name", "given_names"]
        permissions = [("add_entry", "Can record chronology entries about the child")]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.given_names} {self.family_name}".strip()


class Adult(models.Model):
    """A parent, carer or other adult in a child's life."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    known_to_police_or_probation = models.BooleanField(default=False)
    poses_risk_to_children = models.BooleanField(
        default=False, help_text="Assessed or convicted as a risk to children."
    )
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, null=True, blank=True, related_name="adults"
    )
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ChildAdult(models.Model):
    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="adult_links")
    adult = models.ForeignKey(Adult, on_delete=models.PROTECT, related_name="child_links")
    relationship = models.CharField(
        max_length=50, help_text="mother, father, partner, grandparent, visitor…"
    )

    class Meta:
        verbose_name = "adult linked to a child"
        ordering = ["child", "relationship"]
        constraints = [
            models.UniqueConstraint(fields=["child", "adult"], name="child_adult_once"),
        ]

    def __str__(self) -> str:
        return f"{self.adult} ({self.relationship}) of {self.child}"


class InvolvementQuerySet(models.QuerySet):
    def active_on(self, day):
        """Involvements that give access on `day`: started, and not yet ended."""
        return self.filter(Q(ended_on__isnull=True) | Q(ended_on__gt=day), started_on__lte=day)


class Involvement(models.Model):
    """An agency's work with a child. While active, it is the agency's access to the child.

    The period runs from `started_on` up to, but not including, `ended_on`: an
    involvement ended today gives no access today.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="involvements")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="involvements")
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    reason = models.TextField()
    end_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revision = models.PositiveIntegerField(default=1, help_text="For optimistic concurrency.")

    objects = InvolvementQuerySet.as_manager()

    class Meta:
        ordering = ["child", "started_on"]
        indexes = [models.Index(fields=["agency", "child"], name="involvement_agency_child")]
        constraints = [
            models.UniqueConstraint(
                fields=["child", "agency"],
                condition=Q(ended_on__isnull=True),
                name="one_open_involvement_per_agency",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="involvement_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agency} with {self.child} from {self.started_on}"


class Allocation(models.Model):
    """Which worker or team held a child's case, and when."""

    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="allocations")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="allocations",
    )
    team = models.CharField(max_length=200, blank=True)
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    # One allocation entry about several children starts one allocation for each.
    entry = models.ForeignKey(
        "Entry", on_delete=models.PROTECT, null=True, blank=True, related_name="allocations"
    )

    class Meta:
        ordering = ["child", "started_on"]

    def __str__(self) -> str:
        holder = self.worker or self.team or "unnamed worker"
        return f"{self.child} allocated to {holder} from {self.started_on}"


class StatusPeriod(models.Model):
    """A period of legal or plan status. See vocabulary.PLAN_TRACK and CARE_TRACK."""

    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="status_periods")
    status = models.CharField(max_length=30, choices=Status.choices)
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    started_by = models.ForeignKey(
        "Entry", on_delete=models.PROTECT, related_name="status_periods_started"
    )

    class Meta:
        ordering = ["child", "started_on"]

    def __str__(self) -> str:
        return f"{self.get_status_display()} from {self.started_on}"


class ImportBatch(models.Model):
    """One interchange file imported, so each entry can say where it came from."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, unique=True)
    title = models.TextField(blank=True)
    # Document-level keys (title, notes, sources, expect…) kept for export.
    document_meta = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # An import commits in batches (docs/bulk-import.md). While it runs, these say how
    # far it got, so that a run that died is resumed and no batch is written twice.
    in_progress = models.BooleanField(
        default=False, help_text="Some of the file's batches are still to be written."
    )
    batch_size = models.PositiveIntegerField(default=0)
    batches_total = models.PositiveIntegerField(default=0)
    batches_done = models.PositiveIntegerField(default=0)
    written = models.JSONField(
        default=dict,
        blank=True,
        help_text="The ids the file's refs were written to (children, adults, agencies).",
    )

    class Meta:
        verbose_name_plural = "import batches"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.created_at:%Y-%m-%d})"


class ImportJobStatus(models.TextChoices):
    CHECKED = "checked", "Checked, waiting for you to confirm"
    REFUSED = "refused", "Refused"
    QUEUED = "queued", "Waiting to start"
    RUNNING = "running", "Importing"
    DONE = "done", "Imported"
    FAILED = "failed", "Not imported"


class ImportJob(models.Model):
    """A file uploaded in the browser, held between its preview and its import.

    Only its owner sees it. The file is checked again when the import runs, so a
    preview that went stale (an involvement ended, the file imported meanwhile)
    cannot let it through. The bytes are emptied once the file is imported: the
    batch and its entries are then the record."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(max_length=255)
    file_format = models.CharField(max_length=4, choices=[("json", "JSON"), ("csv", "CSV")])
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    status = models.CharField(
        max_length=10, choices=ImportJobStatus.choices, default=ImportJobStatus.CHECKED
    )
    preview = models.JSONField(
        default=dict, blank=True, help_text="What the import will write, or its errors."
    )
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    batch = models.ForeignKey(
        ImportBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    result = models.JSONField(
        default=dict, blank=True, help_text="The children written and their entries."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(
        null=True, blank=True, help_text="When its owner confirmed it; the sweep runs it late."
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


class EntryQuerySet(AppendOnlyQuerySet):
    def current(self):
        """Entries that stand: not replaced by a correction, not marked entered in error."""
        return self.exclude(Exists(Amendment.objects.filter(entry=OuterRef("pk"))))


class Entry(AppendOnlyModel):
    """One dated event in the shared chronology. Written once, never changed."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event_date = models.DateField(help_text="When it happened (not when it was recorded).")
    date_precision = models.CharField(
        max_length=5, choices=DatePrecision.choices, default=DatePrecision.DAY
    )
    event_time = models.TimeField(null=True, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True, help_text="Set by the server.")
    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="entries", help_text="Whose event it is."
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="entries"
    )
    children = models.ManyToManyField(Child, through="EntryChild", related_name="entries")
    adults = models.ManyToManyField(Adult, through="EntryAdult", related_name="entries")
    kind = models.CharField(max_length=20, choices=EntryKind.choices)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, null=True, blank=True)
    summary = models.TextField()
    child_words = models.TextField(null=True, blank=True)
    action = models.TextField(null=True, blank=True)
    status = models.CharField(max_length=30, choices=Status.choices, null=True, blank=True)
    decision_type = models.CharField(
        max_length=40, choices=DecisionType.choices, null=True, blank=True
    )
    decision_outcome = models.CharField(
        max_length=40, choices=DecisionOutcome.choices, null=True, blank=True
    )
    decision_notes = models.TextField(null=True, blank=True)
    agencies_present = models.ManyToManyField(
        Agency, through="DecisionAttendance", related_name="decisions_attended"
    )
    scores = models.JSONField(null=True, blank=True, help_text="Domain to grade, 1 to 5.")
    import_batch = models.ForeignKey(
        ImportBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="entries"
    )
    source_ref = models.CharField(max_length=50, blank=True, help_text="Ref in the source file.")
    source_row = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Where in the source file: a CSV line, or an event's position in a document.",
    )
    extra = models.JSONField(default=dict, blank=True)

    objects = EntryQuerySet.as_manager()

    class Meta(AppendOnlyModel.Meta):
        verbose_name_plural = "entries"
        ordering = ["event_date", "event_time", "recorded_at"]
        indexes = [models.Index(fields=["event_date"], name="entry_event_date")]
        constraints = [
            models.CheckConstraint(
                condition=Q(severity__isnull=True) | Q(severity__gte=1, severity__lte=5),
                name="entry_severity_1_to_5",
            ),
            models.CheckConstraint(
                condition=~Q(kind=EntryKind.STATUS) | Q(status__isnull=False),
                name="status_entry_has_status",
            ),
            models.CheckConstraint(
                condition=~Q(kind=EntryKind.DECISION) | Q(decision_type__isnull=False),
                name="decision_entry_has_type",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_date} {self.get_kind_display()} ({self.agency.code})"

    @property
    def categories(self) -> list[str]:
        # Sorted by the row's id, which is the order in which they were given.
        return [row.category for row in self.category_rows.all()]

    @property
    def category_names(self) -> list[str]:
        """The categories, from the list a page's query gathered when it did
        (selectors.chronology_for_child_page), else from category_rows."""
        gathered = self.__dict__.get("category_list")
        return self.categories if gathered is None else gathered


class EntryChild(AppendOnlyModel):
    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="child_rows")
    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="entry_rows")

    class Meta(AppendOnlyModel.Meta):
        constraints = [models.UniqueConstraint(fields=["child", "entry"], name="entry_child_once")]

    def __str__(self) -> str:
        return f"{self.entry} about child {self.child_id}"


class EntryAdult(AppendOnlyModel):
    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="adult_rows")
    adult = models.ForeignKey(Adult, on_delete=models.PROTECT, related_name="entry_rows")

    class Meta(AppendOnlyModel.Meta):
        constraints = [models.UniqueConstraint(fields=["entry", "adult"], name="entry_adult_once")]

    def __str__(self) -> str:
        return f"{self.entry} naming adult {self.adult_id}"


class EntryCategory(AppendOnlyModel):
    """One category of an entry: a table rather than a list, so SQL can count by category."""

    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="category_rows")
    category = models.CharField(max_length=40, choices=Category.choices)

    class Meta(AppendOnlyModel.Meta):
        verbose_name_plural = "entry categories"
        ordering = ["id"]
        indexes = [models.Index(fields=["category", "entry"], name="entry_category_lookup")]
        constraints = [
            models.UniqueConstraint(fields=["entry", "category"], name="entry_category_once")
        ]

    def __str__(self) -> str:
        return self.category


class DecisionAttendance(AppendOnlyModel):
    """An agency present at a multi-agency decision."""

    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="attendance_rows")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")

    class Meta(AppendOnlyModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["entry", "agency"], name="decision_agency_once")
        ]

    def __str__(self) -> str:
        return f"agency {self.agency_id} at {self.entry}"


class AmendmentKind(models.TextChoices):
    CORRECTION = "correction", "Correction"
    ENTERED_IN_ERROR = "entered_in_error", "Entered in error"


class Amendment(AppendOnlyModel):
    """A correction to an entry, or a mark that it was entered in error.

    The original entry stays as it was. A correction points at a replacement
    entry carrying the corrected content; views show the two side by side.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    entry = models.OneToOneField(Entry, on_delete=models.PROTECT, related_name="amendment")
    kind = models.CharField(max_length=20, choices=AmendmentKind.choices)
    reason = models.TextField()
    replacement = models.OneToOneField(
        Entry, on_delete=models.PROTECT, null=True, blank=True, related_name="amends"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta(AppendOnlyModel.Meta):
        ordering = ["recorded_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind=AmendmentKind.CORRECTION, replacement__isnull=False)
                | Q(kind=AmendmentKind.ENTERED_IN_ERROR, replacement__isnull=True),
                name="correction_has_replacement",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.entry}"


class NotificationAck(AppendOnlyModel):
    """The receiving agency's acknowledgement of a notification entry."""

    entry = models.OneToOneField(Entry, on_delete=models.PROTECT, related_name="acknowledgement")
    acknowledged_on = models.DateField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta(AppendOnlyModel.Meta):
        verbose_name = "notification acknowledgement"

    def __str__(self) -> str:
        return f"{self.entry} acknowledged on {self.acknowledged_on}"


class AuditEvent(AppendOnlyModel):
    """Who did what to which child's record, and when (UTC). Never changed."""

    occurred_at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    actor_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    actor_role = models.CharField(max_length=20)
    action = models.CharField(max_length=50)
    child = models.ForeignKey(
        Child, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_events"
    )
    object_type = models.CharField(max_length=50, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta(AppendOnlyModel.Meta):
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["child", "occurred_at"], name="audit_child_time")]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor} {self.action}"


class EntryRequest(AppendOnlyModel):
    """The key a client gave a request to record an entry: the API's Idempotency-Key
    header, or the hidden key of a browser form. The same request again (a retry
    after a timeout, or after a 503 whose commit had in fact landed, or a second
    click on Save) gets the entry the first one recorded, not a second entry."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=100)
    digest = models.CharField(
        max_length=64,
        help_text="SHA-256 of what was asked: a key reused for another entry is refused.",
    )
    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(AppendOnlyModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["actor", "key"], name="entry_request_once_per_actor")
        ]

    def __str__(self) -> str:
        return f"{self.actor} request {self.key}"


class BreakGlassAccess(models.Model):
    """Emergency access by one user to a child their agency is not involved with.

    Given only with a written reason, for a fixed time, announced to the child's
    lead agency and the auditors, and audited like any read."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="break_glass"
    )
    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="break_glass")
    reason = models.TextField()
    started_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = "break-glass access"
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["user", "child", "expires_at"], name="break_glass_active")]

    def __str__(self) -> str:
        return f"{self.user} opened {self.child} until {self.expires_at:%H:%M}"


class AccessGrantKind(models.TextChoices):
    NAMED = "named", "Named on a restricted record"
    OUTSIDER = "outsider", "Named outsider, view only"


class ChildAccessGrantQuerySet(models.QuerySet):
    def live_on(self, day):
        """Grants that give access on `day`: started, last day not passed, not revoked."""
        return self.filter(
            Q(last_day__isnull=True) | Q(last_day__gte=day),
            revoked_at__isnull=True,
            starts_on__lte=day,
        )


class ChildAccessGrant(UserObjectPermissionBase):
    """Access to one child named for one user: django-guardian's direct foreign-key
    object permission (the `view_child` permission on this child), with a period, a
    reason and who gave it.

    - `named`: the user is named on a restricted child, which their agency's
      involvement alone no longer opens to them (see Child.restricted);
    - `outsider`: view-only access for a period, whatever the user's agency, e.g.
      an independent reviewing officer or a court's children's guardian.

    The period runs from `starts_on` to `last_day` inclusive (no last day: until
    revoked); revoking ends it at once. Rows are kept after they end. The access rule
    reads this table in SQL (chronology.selectors.VisibleTo), not through guardian's
    backend, which would not know the dates (see chronology/backends.py)."""

    content_object = models.ForeignKey(
        Child, on_delete=models.PROTECT, related_name="access_grants", db_column="child_id"
    )
    kind = models.CharField(max_length=10, choices=AccessGrantKind.choices)
    starts_on = models.DateField()
    last_day = models.DateField(null=True, blank=True, help_text="The last day of access.")
    reason = models.TextField()
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoke_reason = models.TextField(blank=True)

    objects = ChildAccessGrantQuerySet.as_manager()

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = "named access to a child"
        verbose_name_plural = "named access to children"
        ordering = ["-granted_at"]
        # guardian's one row per (user, permission, object) would forbid granting
        # again after a grant ended; ended grants are kept as the record of access.
        unique_together = ()
        indexes = [
            models.Index(
                fields=["user", "content_object", "kind"],
                condition=Q(revoked_at__isnull=True),
                name="access_grant_live",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(last_day__isnull=True) | Q(last_day__gte=models.F("starts_on")),
                name="access_grant_ends_after_start",
            ),
            models.CheckConstraint(
                condition=~Q(kind="outsider") | Q(last_day__isnull=False),
                name="outsider_grant_has_last_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.user} for {self.content_object}"

    @property
    def child(self) -> Child:
        return self.content_object


class LegalHold(models.Model):
    """A child's records are under legal hold: retention review leaves them alone."""

    child = models.OneToOneField(Child, on_delete=models.PROTECT, related_name="legal_hold")
    reason = models.TextField()
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    placed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "legal hold"

    def __str__(self) -> str:
        return f"Legal hold on {self.child}"


class RetentionBasis(models.TextChoices):
    AGE = "age", "Until the child reaches an age"
    AFTER_LAST_CONTACT = "after_last_contact", "Years after the last entry"


class RetentionClass(models.Model):
    """How long a kind of record is kept before it is reviewed (never destroyed
    automatically). A child takes the highest-priority class whose statuses it
    has ever held; a class with no statuses is the default."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    statuses = models.JSONField(
        default=list, blank=True, help_text="Status values that place a child here."
    )
    basis = models.CharField(max_length=20, choices=RetentionBasis.choices)
    years = models.PositiveSmallIntegerField()
    priority = models.PositiveSmallIntegerField(default=0, help_text="Higher wins.")

    class Meta:
        verbose_name_plural = "retention classes"
        ordering = ["-priority", "code"]

    def __str__(self) -> str:
        return self.name
