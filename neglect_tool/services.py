"""Changes to the scoring configuration. Versions are drafted, then activated."""

from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.forms.models import model_to_dict
from django.utils import timezone

from agencies.models import Role
from chronology.audit import audit_record
from chronology.vocabulary import Category, EntryKind, category_name, kind_name
from core.concurrency import check_version

from .models import ConfigStatus, Domain, ScoringConfig
from .signals import scoring_config_activated

EDITABLE_FIELDS = frozenset(
    {
        "note",
        "half_life_days",
        "corroboration_window_days",
        "corroboration_factor",
        "severity_factors",
        "kind_factors",
        "category_rules",
        "assessment_keys",
        "assessment_weight",
        "early_help_from",
        "targeted_from",
        "statutory_from",
    }
)


def _admin_only(actor) -> None:
    if actor.role != Role.ADMIN:
        raise PermissionDenied("Only an administrator changes the scoring configuration.")


@transaction.atomic
def scoring_config_draft(*, actor, based_on: ScoringConfig, **changes) -> ScoringConfig:
    """Start a new version from an existing one, with `changes` applied."""
    _admin_only(actor)
    next_version = (ScoringConfig.objects.aggregate(v=Max("version"))["v"] or 0) + 1
    values = {k: v for k, v in model_to_dict(based_on).items() if k in EDITABLE_FIELDS}
    draft = ScoringConfig(
        version=next_version, status=ConfigStatus.DRAFT, created_by=actor, **values
    )
    _apply_changes(draft, changes)
    draft.save()
    audit_record(
        actor=actor, action="scoring_config.draft", obj=draft, details={"changes": sorted(changes)}
    )
    return draft


@transaction.atomic
def scoring_config_update_draft(
    *, actor, draft: ScoringConfig, expected_revision: int | None = None, **changes
) -> ScoringConfig:
    """Change a draft. With `expected_revision`, a draft edited since it was read is
    refused (StaleVersion), so two admins never silently overwrite each other."""
    _admin_only(actor)
    draft = ScoringConfig.objects.select_for_update().get(pk=draft.pk)
    check_version(draft.revision, expected_revision, "draft")
    if draft.status != ConfigStatus.DRAFT:
        raise ValidationError({"status": "Only a draft can be changed; start a new draft instead."})
    before = {name: getattr(draft, name, None) for name in changes}
    _apply_changes(draft, changes)
    after = {name: getattr(draft, name) for name in changes}
    changed = sorted(name for name in changes if before[name] != after[name])
    if not changed:
        return draft
    draft.revision += 1
    draft.save()
    audit_record(
        actor=actor,
        action="scoring_config.update",
        obj=draft,
        details={
            "changes": changed,
            "before": {name: _plain(before[name]) for name in changed},
            "after": {name: _plain(after[name]) for name in changed},
        },
    )
    return draft


@transaction.atomic
def scoring_config_activate(*, actor, draft: ScoringConfig) -> ScoringConfig:
    """Make a draft the active version; the previous one is retired, not deleted.
    Every watched child is made due, so the sweep scores each with the new version
    (and its rules see the new levels) without waiting for new entries."""
    _admin_only(actor)
    draft = ScoringConfig.objects.select_for_update().get(pk=draft.pk)
    if draft.status != ConfigStatus.DRAFT:
        raise ValidationError({"status": "Only a draft can be activated."})
    ScoringConfig.objects.filter(status=ConfigStatus.ACTIVE).update(status=ConfigStatus.RETIRED)
    draft.status = ConfigStatus.ACTIVE
    draft.activated_at = timezone.now()
    draft.save(update_fields=["status", "activated_at"])
    audit_record(actor=actor, action="scoring_config.activate", obj=draft)
    scoring_config_activated.send(sender=ScoringConfig, at=timezone.now())
    return draft


def _plain(value):
    """A setting as the audit row stores it (JSON: decimals as text)."""
    return str(value) if isinstance(value, Decimal) else value


def _apply_changes(config: ScoringConfig, changes: dict) -> None:
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError({sorted(unknown)[0]: "This setting does not exist."})
    for name, value in changes.items():
        setattr(config, name, value)
    _validate(config)


def _validate(config: ScoringConfig) -> None:
    errors = {}
    domains = set(Domain.objects.values_list("code", flat=True))
    for category, rule in config.category_rules.items():
        if category not in Category.values:
            errors["category_rules"] = f"Unknown category '{category}'."
        elif rule.get("domain") is not None and rule["domain"] not in domains:
            errors["category_rules"] = f"{category}: unknown domain '{rule['domain']}'."
        elif not (isinstance(rule.get("weight"), int | float) and rule["weight"] >= 0):
            errors["category_rules"] = f"{category}: the weight must be a number, 0 or more."
        elif rule.get("default_severity") not in {1, 2, 3, 4, 5}:
            errors["category_rules"] = f"{category}: the default severity is 1 to 5."
    if sorted(config.severity_factors) != ["1", "2", "3", "4", "5"]:
        errors["severity_factors"] = "Give a factor for each severity from 1 to 5."
    if not 1 <= config.half_life_days <= 3650:
        errors["half_life_days"] = "The half-life must be between 1 and 3,650 days."
    if not 1 <= config.corroboration_window_days <= 365:
        errors["corroboration_window_days"] = (
            "The corroboration window must be between 1 and 365 days."
        )
    for name, label, top in (
        ("corroboration_factor", "The corroboration factor", 5),
        ("assessment_weight", "The weight of an assessment's grades", 5),
    ):
        if not 0 <= Decimal(str(getattr(config, name))) <= top:
            errors[name] = f"{label} must be between 0 and {top}."
    for key, factor in config.severity_factors.items():
        if not (isinstance(factor, int | float) and 0 <= factor <= 10):
            errors["severity_factors"] = f"Severity {key}'s factor must be between 0 and 10."
    for kind, factor in config.kind_factors.items():
        if kind not in EntryKind.values:
            errors["kind_factors"] = f"Unknown kind of entry '{kind}'."
        elif not (isinstance(factor, int | float) and 0 <= factor <= 5):
            errors["kind_factors"] = f"{kind_name(kind)}: the factor must be between 0 and 5."
    for category, rule in config.category_rules.items():
        weight = rule.get("weight")
        if isinstance(weight, int | float) and weight > 5:
            errors["category_rules"] = f"{category_name(category)}: the weight is 5 at most."
    if config.early_help_from <= 0:
        errors["early_help_from"] = "The early help threshold must be more than 0."
    if not (config.early_help_from < config.targeted_from < config.statutory_from):
        errors["early_help_from"] = "Cut points must rise: early help < targeted < statutory."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def assessment_record(
    *,
    actor,
    child,
    grades: dict[str, int],
    note: str,
    event_date=None,
    evidence: dict[str, list] | None = None,
):
    """Record a structured neglect assessment as a chronology entry of kind
    `assessment` (its grades are the interchange format's scores object), with the
    entries the assessor cites as evidence for each domain.

    Every grade must be for an active domain and from 1 to 5, and every cited entry
    must be about this child; otherwise nothing is saved."""
    from chronology.services import entry_record
    from chronology.vocabulary import EntryKind

    from .models import AssessmentEvidence

    domains = set(Domain.objects.filter(is_active=True).values_list("code", flat=True))
    unknown = sorted(set(grades) - domains)
    if unknown:
        raise ValidationError({"grades": f"Unknown domain '{unknown[0]}'."})
    evidence = evidence or {}
    cited = [(domain, entry) for domain, entries in evidence.items() for entry in entries]
    for domain, entry in cited:
        if domain not in grades:
            raise ValidationError({"evidence": f"Evidence given for ungraded domain '{domain}'."})
        if not entry.child_rows.filter(child=child).exists():
            raise ValidationError({"evidence": "Evidence must be an entry about this child."})
    assessment = entry_record(
        actor=actor,
        children=[child],
        kind=EntryKind.ASSESSMENT,
        event_date=event_date or timezone.localdate(),
        summary=note,
        scores=grades,
    )
    AssessmentEvidence.objects.bulk_create(
        AssessmentEvidence(assessment=assessment, evidence=entry, domain=domain)
        for domain, entry in cited
    )
    return assessment
