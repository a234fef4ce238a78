"""The default neglect model: domains, category mapping, weights and cut points.

The numbers are the first configuration version (made by a data migration). An
admin changes them by making a new version; this file is then only history.
docs/neglect-model.md gives the reasoning for each number.

The domain structure (areas of care graded 1 = needs met to 5 = care seriously
harmful) is the common structure of graded-care tools. The wording is ours.
"""

# code, name, what the domain looks at (our own words)
DOMAINS = [
    ("nutrition", "Nutrition", "Whether the child is fed enough, regularly and suitably."),
    ("hygiene", "Hygiene", "The child's cleanliness, and care of skin, hair and teeth."),
    ("clothing", "Clothing", "Clothes and shoes that fit, are clean and suit the weather."),
    (
        "home_conditions",
        "Home conditions",
        "Whether the home is safe, warm, clean enough and has the basics.",
    ),
    ("health", "Health", "Whether health needs are noticed and met: GP, dentist, medicines."),
    (
        "supervision_safety",
        "Supervision and safety",
        "Whether the child is protected from danger, including from violence and risky adults.",
    ),
    ("education", "Education", "Attendance, and support for learning."),
    (
        "emotional_care",
        "Emotional care",
        "Warmth, attention and stability in the child's relationships.",
    ),
    (
        "stimulation",
        "Stimulation",
        "Play, conversation and encouragement suited to the child's age.",
    ),
]

# category: (domain or None, weight, severity assumed when the entry gives none)
CATEGORY_RULES = {
    "neglect.nutrition": ("nutrition", 1.0, 2),
    "neglect.hygiene": ("hygiene", 1.0, 2),
    "neglect.clothing": ("clothing", 1.0, 2),
    "neglect.home_conditions": ("home_conditions", 1.0, 2),
    "neglect.health": ("health", 1.0, 2),
    "neglect.supervision": ("supervision_safety", 1.0, 2),
    "neglect.education": ("education", 1.0, 2),
    "neglect.emotional": ("emotional_care", 1.0, 2),
    "domestic_abuse": ("supervision_safety", 1.0, 3),
    "parental_substance_misuse": ("supervision_safety", 1.0, 2),
    "risky_adults": ("supervision_safety", 1.0, 3),
    "physical_abuse": ("supervision_safety", 1.0, 3),
    "sexual_abuse": ("supervision_safety", 1.0, 4),
    "emotional_abuse": ("emotional_care", 1.0, 3),
    "parental_mental_health": ("emotional_care", 0.5, 2),
    "anti_social_behaviour": ("home_conditions", 0.5, 2),
    "missing": ("supervision_safety", 1.0, 3),
    "self_harm": ("emotional_care", 1.0, 3),
    "other": (None, 0.0, 1),
}

SEVERITY_FACTORS = {"1": 0.5, "2": 1.0, "3": 2.0, "4": 3.0, "5": 4.0}

# Kinds of entry that are evidence about the child's care. Decisions, status
# changes and allocations record what professionals did, not what the child
# lived; assessments count through their grades instead.
KIND_FACTORS = {
    "concern": 1.0,
    "visit": 1.0,
    "child_voice": 1.0,
    "referral": 1.0,
    "notification": 1.0,
    "note": 0.5,
}

HALF_LIFE_DAYS = 365
CORROBORATION_WINDOW_DAYS = 90
CORROBORATION_FACTOR = 1.5

# Assessment grades: keys of the interchange scores object that are not domain
# codes themselves.
ASSESSMENT_KEYS = {"housing": "home_conditions", "safety": "supervision_safety"}
ASSESSMENT_WEIGHT = 1.0

# Total score from which each level starts (level 1, universal, is below the first).
LEVEL_CUT_POINTS = {"early_help": 2.0, "targeted": 6.0, "statutory": 12.0}
