"""The default escalation rules (rule set version 1, made by a data migration).

The README's "Escalation" section gives the reasoning for each number. They are
set for neglect histories in general, not tuned to one case: Case Q is the
check, not the target.
"""

NEGLECT = [
    "neglect.nutrition",
    "neglect.hygiene",
    "neglect.clothing",
    "neglect.home_conditions",
    "neglect.health",
    "neglect.supervision",
    "neglect.education",
    "neglect.emotional",
]
HARM = ["sexual_abuse", "physical_abuse", "emotional_abuse", "domestic_abuse", *NEGLECT]
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

LEVEL_2_AFTER_WORKING_HOURS = 8
LEVEL_3_AFTER_WORKING_HOURS = 16
