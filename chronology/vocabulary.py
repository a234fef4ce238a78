"""The controlled lists of the chronology interchange format, version 1.

Models, forms, import and export all take their choices from here, so a value
the format does not know can never be stored.
"""

from collections.abc import Callable

from django.db import models


class DatePrecision(models.TextChoices):
    DAY = "day", "Day"
    MONTH = "month", "Month"
    YEAR = "year", "Year"


class EntryKind(models.TextChoices):
    CONCERN = "concern", "Concern"
    CHILD_VOICE = "child_voice", "Child's voice"
    VISIT = "visit", "Visit or contact"
    REFERRAL = "referral", "Referral"
    NOTIFICATION = "notification", "Notification"
    STATUS = "status", "Status change"
    ALLOCATION = "allocation", "Allocation"
    DECISION = "decision", "Multi-agency decision"
    ASSESSMENT = "assessment", "Neglect assessment"
    NOTE = "note", "Note"


class Category(models.TextChoices):
    NEGLECT_NUTRITION = "neglect.nutrition", "Neglect: nutrition"
    NEGLECT_HYGIENE = "neglect.hygiene", "Neglect: hygiene"
    NEGLECT_CLOTHING = "neglect.clothing", "Neglect: clothing"
    NEGLECT_HOME_CONDITIONS = "neglect.home_conditions", "Neglect: home conditions"
    NEGLECT_HEALTH = "neglect.health", "Neglect: health"
    NEGLECT_SUPERVISION = "neglect.supervision", "Neglect: supervision"
    NEGLECT_EDUCATION = "neglect.education", "Neglect: education"
    NEGLECT_EMOTIONAL = "neglect.emotional", "Neglect: emotional"
    PHYSICAL_ABUSE = "physical_abuse", "Physical abuse"
    SEXUAL_ABUSE = "sexual_abuse", "Sexual abuse"
    EMOTIONAL_ABUSE = "emotional_abuse", "Emotional abuse"
    DOMESTIC_ABUSE = "domestic_abuse", "Domestic abuse"
    PARENTAL_SUBSTANCE_MISUSE = "parental_substance_misuse", "Parental substance misuse"
    PARENTAL_MENTAL_HEALTH = "parental_mental_health", "Parental mental health"
    RISKY_ADULTS = "risky_adults", "Risky adults"
    ANTI_SOCIAL_BEHAVIOUR = "anti_social_behaviour", "Anti-social behaviour"
    MISSING = "missing", "Missing"
    SELF_HARM = "self_harm", "Self-harm"
    OTHER = "other", "Other"


# The one list of harms, gravest first: what the escalation rules watch for (a
# child's words about any of them, a referral about any of them), and the order
# in which a harm names an episode. The categories that describe the family's
# circumstances rather than a harm to the child (substance misuse, risky adults,
# missing and so on) count in the neglect score but are not on this list.
HARM_CATEGORIES: tuple[str, ...] = tuple(
    category.value
    for category in (
        Category.SEXUAL_ABUSE,
        Category.PHYSICAL_ABUSE,
        Category.EMOTIONAL_ABUSE,
        Category.DOMESTIC_ABUSE,
        Category.NEGLECT_SUPERVISION,
        Category.NEGLECT_HOME_CONDITIONS,
        Category.NEGLECT_NUTRITION,
        Category.NEGLECT_HEALTH,
        Category.NEGLECT_HYGIENE,
        Category.NEGLECT_CLOTHING,
        Category.NEGLECT_EDUCATION,
        Category.NEGLECT_EMOTIONAL,
    )
)
# The neglect categories, in the order the format lists them.
NEGLECT_CATEGORIES: tuple[str, ...] = tuple(
    category for category in Category.values if category.startswith("neglect.")
)


class Severity(models.IntegerChoices):
    MINOR = 1, "1 minor"
    MODERATE = 2, "2 moderate"
    SIGNIFICANT = 3, "3 significant"
    SERIOUS = 4, "4 serious"
    IMMEDIATE = 5, "5 immediate risk of significant harm"


class Status(models.TextChoices):
    EARLY_HELP = "early_help", "Early help"
    CHILD_IN_NEED = "child_in_need", "Child in need"
    CHILD_PROTECTION_PLAN = "child_protection_plan", "Child protection plan"
    CHILD_PROTECTION_PLAN_ENDED = "child_protection_plan_ended", "Child protection plan ended"
    LOOKED_AFTER = "looked_after", "Looked after"
    LOOKED_AFTER_ENDED = "looked_after_ended", "Looked after: ended"
    POLICE_PROTECTION = "police_protection", "Police protection"
    INTERIM_CARE_ORDER = "interim_care_order", "Interim care order"
    CARE_ORDER = "care_order", "Care order"
    PLACED_FOR_ADOPTION = "placed_for_adoption", "Placed for adoption"
    CLOSED = "closed", "Closed"


# A child holds at most one status on each track at a time: a new status on a
# track ends the open one there. A plan and a legal order can run together
# (Case Q's children were on a CP plan when they became looked after).
PLAN_TRACK = frozenset({Status.EARLY_HELP, Status.CHILD_IN_NEED, Status.CHILD_PROTECTION_PLAN})
CARE_TRACK = frozenset(
    {
        Status.LOOKED_AFTER,
        Status.POLICE_PROTECTION,
        Status.INTERIM_CARE_ORDER,
        Status.CARE_ORDER,
        Status.PLACED_FOR_ADOPTION,
    }
)
# "X_ended" statuses end X without opening anything; "closed" ends everything.
ENDING_STATUSES: dict[str, Status] = {
    Status.CHILD_PROTECTION_PLAN_ENDED: Status.CHILD_PROTECTION_PLAN,
    Status.LOOKED_AFTER_ENDED: Status.LOOKED_AFTER,
}


class DecisionType(models.TextChoices):
    MASH_DECISION = "mash_decision", "MASH decision"
    STRATEGY_DISCUSSION = "strategy_discussion", "Strategy discussion"
    CHILD_PROTECTION_CONFERENCE = "child_protection_conference", "Child protection conference"
    CORE_GROUP = "core_group", "Core group"
    CHILD_IN_NEED_REVIEW = "child_in_need_review", "Child in need review"
    LOOKED_AFTER_REVIEW = "looked_after_review", "Looked-after review"
    PROFESSIONALS_MEETING = "professionals_meeting", "Professionals meeting"
    LEGAL_PLANNING_MEETING = "legal_planning_meeting", "Legal planning meeting"


class DecisionOutcome(models.TextChoices):
    NO_FURTHER_ACTION = "no_further_action", "No further action"
    EARLY_HELP = "early_help", "Early help"
    CHILD_IN_NEED = "child_in_need", "Child in need"
    SECTION_47_ENQUIRY = "section_47_enquiry", "Section 47 enquiry"
    CHILD_PROTECTION_PLAN = "child_protection_plan", "Child protection plan"
    LEGAL_PROCEEDINGS = "legal_proceedings", "Legal proceedings"
    MONITOR = "monitor", "Monitor"
    OTHER = "other", "Other"


class Sex(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"
    OTHER = "X", "Other or not stated"


# --- Words for people ----------------------------------------------------------------
#
# Pages, the PDF and CSV headers show these names; JSON and the API keep the codes.
# Every code a person might meet has a name here or in a TextChoices above, and a
# code with no name falls back to its words ("maternal_grandmother" becomes
# "Maternal grandmother"), so no page ever shows a raw code.

# Relationships are free text in the format; these are the usual codes.
RELATIONSHIPS = {
    "mother": "Mother",
    "father": "Father",
    "step_mother": "Stepmother",
    "step_father": "Stepfather",
    "mothers_partner": "Mother's partner",
    "fathers_partner": "Father's partner",
    "partner": "Partner",
    "maternal_grandmother": "Maternal grandmother",
    "maternal_grandfather": "Maternal grandfather",
    "paternal_grandmother": "Paternal grandmother",
    "paternal_grandfather": "Paternal grandfather",
    "grandparent": "Grandparent",
    "aunt": "Aunt",
    "uncle": "Uncle",
    "sibling_adult": "Adult sibling",
    "foster_carer": "Foster carer",
    "kinship_carer": "Kinship carer",
    "lodger": "Lodger",
    "visitor": "Visitor",
    "visitors": "Visitors",
    "associate": "Associate",
    "neighbour": "Neighbour",
}

# What each audit action means, as a sentence fragment for the access log.
AUDIT_ACTIONS = {
    "adult.link": "Linked an adult",
    "adult.flag": "Flagged an adult as a risk to children",
    "alert.view": "Viewed an alert",
    "audit.view_child": "Read a child's access log",
    "audit.view_user": "Read a person's access log",
    "assessment.record": "Recorded a neglect assessment",
    "break_glass.no_match": "Emergency access: no child matched",
    "break_glass.open": "Emergency access opened",
    "child.create": "Added a child",
    "child.export": "Exported a child's chronology",
    "child.view": "Viewed a child",
    "chronology.view": "Viewed a chronology",
    "disagreement.raise": "Raised a professional disagreement",
    "entry.amend": "Corrected an entry",
    "entry.entered_in_error": "Marked an entry entered in error",
    "entry.record": "Recorded an entry",
    "entry.repeat": "Sent an entry twice (recorded once)",
    "export": "Exported",
    "household.join": "Linked a household",
    "import": "Imported a file",
    "import.refused": "Refused an import",
    "import.request": "Asked for an import",
    "import.upload": "Uploaded a file to import",
    "involvement.end": "Ended an agency's involvement",
    "involvement.grant": "Gave an agency involvement",
    "legal_hold.place": "Placed a legal hold",
    "notification.acknowledge": "Acknowledged a notification",
    "otp_device_confirm": "Set up an authenticator app",
    "rule.update": "Changed a rule of draft escalation rules",
    "rule_set.activate": "Activated escalation rules",
    "rule_set.backtest": "Back-tested escalation rules",
    "rule_set.draft": "Drafted escalation rules",
    "rule_set.update": "Changed the escalation ladder of draft rules",
    "score.view": "Viewed why a neglect level",
    "scoring_config.activate": "Activated a scoring version",
    "scoring_config.draft": "Drafted a scoring version",
    "scoring_config.update": "Changed a draft scoring version",
    "user_deactivate": "Deactivated a login",
}

# The default escalation rules by code (escalation/defaults.py). A rule added later
# without a name here is named from its type.
RULE_NAMES = {
    "level-targeted": "Neglect level reached targeted (3)",
    "level-statutory": "Neglect level reached statutory (4)",
    "serious-incident": "Serious incident without a strategy discussion",
    "frequency-neglect": "Repeated neglect concerns from more than one agency",
    "voice-unanswered": "Child's words not acted on",
    "referral-no-decision": "Referral without a decision",
    "not-sustained": "Improvement not sustained",
    "turnover": "Frequent changes of worker",
    "return-home": "Concerns after a return home",
    "encompass": "Domestic abuse notice for a school",
    "professional-disagreement": "Professional disagreement",
}


def words_for(code) -> str:
    """A code's words when no list names it: "maternal_grandmother" →
    "Maternal grandmother", "neglect.home_conditions" → "Neglect: home conditions"."""
    if code is None or code == "":
        return ""
    text = str(code)
    head, dot, tail = text.partition(".")
    if dot and tail:
        return f"{words_for(head)}: {words_for(tail).lower()}"
    text = text.replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]


def _from_choices(choices, code) -> str | None:
    try:
        return str(choices(code).label)
    except ValueError:
        return None


def category_name(code) -> str:
    return _from_choices(Category, code) or words_for(code)


def status_name(code) -> str:
    return _from_choices(Status, code) or words_for(code)


def kind_name(code) -> str:
    return _from_choices(EntryKind, code) or words_for(code)


def decision_type_name(code) -> str:
    return _from_choices(DecisionType, code) or words_for(code)


def decision_outcome_name(code) -> str:
    return _from_choices(DecisionOutcome, code) or words_for(code)


def agency_kind_name(code) -> str:
    from agencies.models import AgencyKind

    return _from_choices(AgencyKind, code) or words_for(code)


def role_name(code) -> str:
    from agencies.models import Role

    return _from_choices(Role, code) or words_for(code)


def relationship_name(code) -> str:
    key = str(code or "").strip().lower().replace(" ", "_").replace("'", "").replace("-", "_")
    return RELATIONSHIPS.get(key) or words_for(str(code or "").strip())


def action_name(code) -> str:
    return AUDIT_ACTIONS.get(code) or words_for(code)


# Names owned by the apps above chronology, which it cannot import: each registers
# its own in its AppConfig.ready (docs/architecture.md, "Layers").
_RULE_TYPES: list[type[models.Choices]] = []
_DOMAIN_DEFAULTS: dict[str, str] = {}
_DOMAIN_LOOKUP: list[Callable[[str], str | None]] = []


def rule_types_register(choices: type[models.Choices]) -> None:
    """escalation's rule types, named when a rule's own code is not (rule_name)."""
    if choices not in _RULE_TYPES:
        _RULE_TYPES.append(choices)


def domains_register(*, defaults: dict[str, str], lookup: Callable[[str], str | None]) -> None:
    """neglect_tool's default domains by code, and how to find a domain added later."""
    _DOMAIN_DEFAULTS.update(defaults)
    _DOMAIN_LOOKUP[:] = [lookup]


def rule_name(code, rule_type: str | None = None) -> str:
    if code in RULE_NAMES:
        return RULE_NAMES[code]
    if rule_type:
        for choices in _RULE_TYPES:
            named = _from_choices(choices, rule_type)
            if named:
                return named
    return words_for(code)


def domain_name(code, *, look_up: bool = True) -> str:
    """A neglect domain's name. The default domains are named in code; a domain an
    admin added later is looked up once and remembered for the process (unless
    look_up is False, for code that must not touch the database)."""
    if not code:
        return ""
    names = _domain_names()
    if code not in names:
        if not look_up:
            return words_for(code)
        row = _DOMAIN_LOOKUP[0](code) if _DOMAIN_LOOKUP else None
        names[code] = row or words_for(code)
    return names[code]


_DOMAIN_NAMES: dict[str, str] = {}
_AGENCY_NAMES: dict[str, str] = {}


def agency_name(code) -> str:
    """An agency's name from its code (scores carry codes). Agencies are few and
    their names rarely change: the names are read once, and again on a code not seen."""
    if not code:
        return ""
    if code not in _AGENCY_NAMES:
        from agencies.models import Agency

        _AGENCY_NAMES.update(Agency.objects.values_list("code", "name"))
    return _AGENCY_NAMES.get(code) or words_for(code)


def _domain_names() -> dict[str, str]:
    if not _DOMAIN_NAMES:
        _DOMAIN_NAMES.update(_DOMAIN_DEFAULTS)
    return _DOMAIN_NAMES


def score_text(value, places: int = 1) -> str:
    """A score as a reader needs it: one decimal ("47.3"), none for None."""
    if value is None or value == "":
        return "—"
    return f"{float(value):.{places}f}"
