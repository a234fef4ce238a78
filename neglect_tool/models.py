"""Neglect domains and the versioned scoring configuration."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from chronology.models import AppendOnlyModel, Entry


class Domain(models.Model):
    """An area of a child's care, graded 1 (needs met) to 5 (care seriously harmful)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order on maps and lists.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.name


class ConfigStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class ScoringConfig(models.Model):
    """One version of the scoring model. Versions are never edited once active:
    a change is a new draft, and activating it retires the old version, which
    stays for the record and for back-testing. Every score names its version."""

    version = models.PositiveIntegerField(unique=True)
    status = models.CharField(
        max_length=10, choices=ConfigStatus.choices, default=ConfigStatus.DRAFT
    )
    note = models.TextField(blank=True, help_text="What changed in this version, and why.")
    half_life_days = models.PositiveIntegerField(
        help_text="Days after which an entry counts half as much."
    )
    corroboration_window_days = models.PositiveIntegerField(
        help_text="Two agencies reporting the same domain within this many days corroborate."
    )
    corroboration_factor = models.DecimalField(max_digits=4, decimal_places=2)
    severity_factors = models.JSONField(help_text='Severity "1".."5" to a multiplier.')
    kind_factors = models.JSONField(help_text="Entry kinds that count, with a multiplier.")
    category_rules = models.JSONField(
        help_text='Category to {"domain": code or null, "weight": n, "default_severity": 1-5}.'
    )
    assessment_keys = models.JSONField(
        default=dict, help_text="Assessment score keys that are not domain codes, to a domain."
    )
    assessment_weight = models.DecimalField(max_digits=4, decimal_places=2)
    early_help_from = models.DecimalField(max_digits=7, decimal_places=3)
    targeted_from = models.DecimalField(max_digits=7, decimal_places=3)
    statutory_from = models.DecimalField(max_digits=7, decimal_places=3)
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
        verbose_name = "scoring configuration"
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="active"), name="one_active_scoring_config"
            ),
            models.CheckConstraint(
                condition=Q(early_help_from__lt=models.F("targeted_from"))
                & Q(targeted_from__lt=models.F("statutory_from")),
                name="scoring_cut_points_ascend",
            ),
        ]

    def __str__(self) -> str:
        return f"Scoring v{self.version} ({self.get_status_display()})"

    def level_starts_at(self, level: int) -> Decimal:
        """The lowest total at `level` (2, 3 or 4)."""
        return {2: self.early_help_from, 3: self.targeted_from, 4: self.statutory_from}[level]

    def level_for(self, total: Decimal) -> int:
        if total >= self.statutory_from:
            return 4
        if total >= self.targeted_from:
            return 3
        if total >= self.early_help_from:
            return 2
        return 1


class AssessmentEvidence(AppendOnlyModel):
    """A chronology entry an assessor cites as evidence for a domain grade.

    Written once with its assessment, like the assessment entry itself."""

    assessment = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="evidence_rows")
    evidence = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="cited_by")
    domain = models.SlugField(max_length=40)

    class Meta(AppendOnlyModel.Meta):
        verbose_name_plural = "assessment evidence"
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "evidence", "domain"], name="evidence_cited_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.evidence} cited for {self.domain}"
