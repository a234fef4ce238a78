"""The controlled lists of the chronology interchange format, version 1.

Models, forms, import and export all take their choices from here, so a value
the format does not know can never be stored.
"""

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
ENDING_STATUSES = {
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
