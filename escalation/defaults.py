"""The default escalation rules (rule set version 1, made by a data migration).

docs/escalation.md gives the reasoning for each number. They are
set for neglect histories in general, not tuned to one case: Case Q is the
check, not the target.
"""

from chronology.vocabulary import HARM_CATEGORIES, NEGLECT_CATEGORIES

# Lists, as they are stored in the rules' parameters (JSON).
NEGLECT = list(NEGLECT_CATEGORIES)
HARM = list(HARM_CATEGORIES)
LEADS = ["safeguarding_lead", "manager"]

RULES = [
    {
        "code": "level-targeted",
        "type": "level_reached",
        "params": {"level": 3},
    },
    {
        "code": "level-statutory",
        "type": "level_reached",
        "params": {"level": 4},
    },
    {
        "code": "serious-incident",
        "type": "serious_incident",
        "params": {
            "min_severity": 4,
            "categories": ["physical_abuse", "sexual_abuse"],
            "hours": 24,
        },
    },
    {
        "code": "frequency-neglect",
        "type": "frequency",
        "params": {"count": 4, "days": 90, "categories": NEGLECT, "min_agencies": 2},
    },
    {
        "code": "voice-unanswered",
        "type": "voice_unanswered",
        "params": {"hours": 72, "categories": HARM},
    },
    {
        "code": "referral-no-decision",
        "type": "referral_no_decision",
        "params": {"days": 7, "categories": HARM},
    },
    {
        "code": "not-sustained",
        "type": "not_sustained",
        "params": {"times": 2, "within_months": 6, "lookback_months": 24},
    },
    {
        "code": "turnover",
        "type": "turnover",
        "params": {"changes": 3, "months": 12},
    },
    {
        "code": "return-home",
        "type": "return_home",
        "params": {"days": 180},
    },
    {
        "code": "encompass",
        "type": "domestic_abuse_notice",
        "params": {"min_age": 4, "max_age": 16},
        "notify_agency_kinds": ["education"],
    },
]

# Rule set version 2 (data migration 0007): the same rules made to hold up on
# ordinary families, and one new. What changed and why (docs/escalation.md,
# docs/alert-precision.md):
# - level rules: children on a child protection plan or looked after are covered
#   while their statutory reviews run to cadence (rules.PLAN_REVIEWS); the rule
#   then alerts when a review is overdue or the level was reached after the
#   last multi-agency decision;
# - not-sustained: a relapse counts only after a real gap (3 month ends below
#   the peak) and back at a level that matters (3 or above, or the level at
#   which a plan ended);
# - frequency: concerns of moderate severity or more (minor ones still count in
#   the score);
# - injury-non-mobile: any bruise or injury on a baby not yet independently
#   mobile (NICE CG89; "bruising in non-mobile babies" protocols).
_V2_PARAMS = {
    "level-targeted": {"level": 3, "plan_cadence": True},
    "level-statutory": {"level": 4, "plan_cadence": True},
    "frequency-neglect": {
        "count": 4,
        "days": 90,
        "categories": NEGLECT,
        "min_agencies": 2,
        "min_severity": 2,
    },
    "not-sustained": {
        "times": 2,
        "within_months": 6,
        "lookback_months": 24,
        "min_level": 3,
        "min_gap_months": 3,
    },
}
RULES_V2 = [{**rule, "params": _V2_PARAMS.get(rule["code"], rule["params"])} for rule in RULES] + [
    {
        "code": "injury-non-mobile",
        "type": "injury_non_mobile",
        # Six months: the age most local protocols use for "not independently
        # mobile" where the record does not say when the baby began to move.
        "params": {"categories": ["physical_abuse"], "age_months": 6},
    }
]

LEVEL_2_AFTER_WORKING_HOURS = 8
LEVEL_3_AFTER_WORKING_HOURS = 16
