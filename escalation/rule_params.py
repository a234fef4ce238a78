"""What each rule type's parameters are, in words, with their bounds.

The rules editor builds one form field from each `Param`, and
`escalation.services.rule_update` checks every value against the same list, so
a parameter the page offers is always one the rule reads (escalation.rules), and
a value the service accepts is always one the rule can run with.

The bounds are wide enough for any sensible local policy and narrow enough to
stop a slip of the keyboard (a 72-hour timer typed as 7200) from going live.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from agencies.models import AgencyKind, Role
from chronology.vocabulary import Category, Severity
from neglect_tool.scoring import LEVEL_NAMES

from .models import RuleType

INT, BOOL, LEVEL, SEVERITY, CATEGORIES = "int", "bool", "level", "severity", "categories"


@dataclass(frozen=True)
class Param:
    name: str
    label: str
    hint: str
    kind: str
    minimum: int | None = None
    maximum: int | None = None
    # An optional parameter may be left out; the rule then behaves as it did before
    # the parameter existed (rule set version 1).
    optional: bool = False
    empty_label: str = ""


def _hours(hint: str) -> Param:
    return Param("hours", "Hours allowed", hint, INT, 1, 720)


def _categories(hint: str) -> Param:
    return Param("categories", "Categories of concern", hint, CATEGORIES)


PARAMS: dict[str, list[Param]] = {
    RuleType.LEVEL_REACHED: [
        Param(
            "level",
            "Neglect level",
            "Alert when a child's neglect score reaches this level.",
            LEVEL,
            2,
            4,
        ),
        Param(
            "plan_cadence",
            "Trust the statutory reviews of children on a plan or looked after",
            "If ticked, a child on a child protection plan or looked after is alerted only "
            "when a review is overdue or the level was reached after the last "
            "multi-agency decision.",
            BOOL,
        ),
    ],
    RuleType.SERIOUS_INCIDENT: [
        Param(
            "min_severity",
            "Lowest severity",
            "An incident of this severity or worse needs a strategy discussion.",
            SEVERITY,
            1,
            5,
        ),
        _categories("The kinds of harm that count as a serious incident."),
        _hours("How long after the incident a strategy discussion must be recorded."),
    ],
    RuleType.FREQUENCY: [
        Param(
            "count",
            "Number of concerns",
            "Alert when at least this many concerns fall inside the period.",
            INT,
            2,
            50,
        ),
        Param("days", "Period in days", "How far back to count concerns from.", INT, 7, 730),
        _categories("Only concerns in these categories are counted."),
        Param(
            "min_agencies",
            "Number of agencies",
            "The concerns must come from at least this many different agencies.",
            INT,
            1,
            10,
        ),
        Param(
            "min_severity",
            "Lowest severity counted",
            "Concerns below this severity still count towards the score, not here.",
            SEVERITY,
            1,
            5,
            optional=True,
            empty_label="Any severity",
        ),
    ],
    RuleType.VOICE_UNANSWERED: [
        _hours(
            "How long after the child's words an action, referral or multi-agency "
            "decision must be recorded."
        ),
        _categories("What the child said must be about one of these."),
    ],
    RuleType.REFERRAL_NO_DECISION: [
        Param(
            "days",
            "Days allowed",
            "How many days after a referral a decision must be recorded.",
            INT,
            1,
            60,
        ),
        _categories("Only referrals about these count."),
    ],
    RuleType.NOT_SUSTAINED: [
        Param(
            "times",
            "Number of relapses",
            "Alert when the score falls and comes back this many times.",
            INT,
            1,
            10,
        ),
        Param(
            "within_months",
            "Months for a relapse",
            "A score that comes back within this many months of falling is a relapse.",
            INT,
            1,
            24,
        ),
        Param(
            "lookback_months",
            "Months looked back",
            "How far back to look for relapses.",
            INT,
            3,
            60,
        ),
        Param(
            "min_level",
            "Level that matters",
            "A relapse counts only if the score comes back to this level or above "
            "(or to the level at which a plan ended).",
            LEVEL,
            1,
            4,
            optional=True,
            empty_label="Any level",
        ),
        Param(
            "min_gap_months",
            "Months below the peak",
            "The score must stay down for at least this many month ends before it "
            "counts as coming back. 0 counts any dip.",
            INT,
            0,
            12,
        ),
    ],
    RuleType.TURNOVER: [
        Param(
            "changes",
            "Number of changes",
            "Alert when the worker or team changes at least this many times.",
            INT,
            2,
            20,
        ),
        Param("months", "Period in months", "How far back to count changes.", INT, 1, 36),
    ],
    RuleType.RETURN_HOME: [
        Param(
            "days",
            "Days after the return home",
            "A concern within this many days of a child going home from care raises an alert.",
            INT,
            7,
            730,
        ),
    ],
    RuleType.DOMESTIC_ABUSE_NOTICE: [
        Param(
            "min_age",
            "Youngest age",
            "In years. Children younger than this are not in school, so no school is told.",
            INT,
            0,
            18,
        ),
        Param(
            "max_age",
            "Oldest age",
            "In years. Children older than this are not told about through school.",
            INT,
            0,
            18,
        ),
    ],
    RuleType.INJURY_NON_MOBILE: [
        _categories("An injury recorded under one of these raises the alert."),
        Param(
            "age_months",
            "Age in months",
            "A baby younger than this counts as not yet mobile when the record does not "
            "say when they began to move.",
            INT,
            1,
            24,
        ),
    ],
}

# Roles a rule can tell at level 1 (those who work with children's records).
NOTIFY_ROLES = [Role.PRACTITIONER, Role.SAFEGUARDING_LEAD, Role.MANAGER]


def choices_for(param: Param) -> list[tuple[object, str]]:
    """The named options of a select or checkbox parameter."""
    if param.kind == LEVEL:
        return [(n, f"{n} – {LEVEL_NAMES[n]}") for n in range(param.minimum, param.maximum + 1)]
    if param.kind == SEVERITY:
        return [(int(value), str(label)) for value, label in Severity.choices]
    if param.kind == CATEGORIES:
        return list(Category.choices)
    return []


def _whole_number(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def rule_params_clean(rule_type: str, values: dict) -> dict:
    """The parameters of a rule of `rule_type`, checked: each known parameter
    present (unless optional) and within its bounds. Raises ValidationError keyed
    by parameter name, with messages that name the field as the page labels it."""
    if rule_type not in PARAMS:
        raise ValidationError({"type": "This kind of rule cannot be edited here."})
    errors: dict[str, str] = {}
    cleaned: dict = {}
    for param in PARAMS[rule_type]:
        value = values.get(param.name)
        if value is None or value == "" or value == []:
            if param.kind == BOOL:
                cleaned[param.name] = False
            elif param.kind == CATEGORIES:
                errors[param.name] = f"Choose at least one of the {param.label.lower()}."
            elif not param.optional:
                errors[param.name] = f"Enter the {param.label.lower()}."
            continue
        if param.kind == BOOL:
            if not isinstance(value, bool):
                errors[param.name] = f"{param.label}: answer yes or no."
            else:
                cleaned[param.name] = value
        elif param.kind == CATEGORIES:
            known = set(Category.values)
            if not isinstance(value, list) or not all(v in known for v in value):
                errors[param.name] = f"{param.label}: choose from the list."
            else:
                cleaned[param.name] = sorted(set(value), key=Category.values.index)
        elif not _whole_number(value):
            errors[param.name] = f"{param.label} must be a whole number."
        elif not param.minimum <= value <= param.maximum:
            errors[param.name] = (
                f"{param.label} must be between {param.minimum} and {param.maximum}."
            )
        else:
            cleaned[param.name] = value
    if (
        rule_type == RuleType.DOMESTIC_ABUSE_NOTICE
        and "min_age" in cleaned
        and "max_age" in cleaned
        and cleaned["max_age"] < cleaned["min_age"]
    ):
        errors["max_age"] = "Oldest age must be the same as the youngest age or older."
    if errors:
        raise ValidationError(errors)
    return cleaned


def notify_clean(*, roles, agency_kinds) -> tuple[list[str], list[str]]:
    """Who a rule tells at level 1, checked against the roles and agency kinds."""
    errors = {}
    if not isinstance(roles, list) or not set(roles) <= set(NOTIFY_ROLES):
        errors["notify_roles"] = "Roles told: choose from the list."
    if not isinstance(agency_kinds, list) or not set(agency_kinds) <= set(AgencyKind.values):
        errors["notify_agency_kinds"] = "Agencies told: choose from the list."
    if errors:
        raise ValidationError(errors)
    return (
        [r for r in NOTIFY_ROLES if r in roles],
        [k for k in AgencyKind.values if k in agency_kinds],
    )


def rule_params_text(rule) -> list[tuple[str, str]]:
    """A rule's parameters as the page reads them: (label, value in words)."""
    from chronology.vocabulary import category_name

    rows = []
    for param in PARAMS.get(rule.type, []):
        value = rule.params.get(param.name)
        if param.kind == BOOL:
            text = "Yes" if value else "No"
        elif value is None:
            text = param.empty_label or "—"
        elif param.kind == CATEGORIES:
            text = ", ".join(category_name(code) for code in value)
        elif param.kind in (LEVEL, SEVERITY):
            text = dict(choices_for(param)).get(value, str(value))
        else:
            text = str(value)
        rows.append((param.label, text))
    return rows
