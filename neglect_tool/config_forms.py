"""The admins' form for a draft scoring version: the weights and level thresholds,
one typed field each, named in words. neglect_tool.services checks them again and
decides; this form only turns what was typed into numbers."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from chronology.vocabulary import Category, EntryKind, Severity, category_name, kind_name

from .scoring import LEVEL_NAMES

# Kinds an admin may weigh: an assessment counts through its grades, not as an entry.
WEIGHED_KINDS = [kind for kind in EntryKind.values if kind != EntryKind.ASSESSMENT]


def _number(label, hint, low, high, *, places=2, whole=False, required=True):
    bounds = f"between {low} and {high}"
    messages = {
        "required": f"Enter {label[:1].lower() + label[1:]}.",
        "invalid": f"{label} must be a number.",
        "min_value": f"{label} must be {bounds}.",
        "max_value": f"{label} must be {bounds}.",
        "max_decimal_places": f"{label} can have {places} decimal places at most.",
        "max_digits": f"{label} must be {bounds}.",
        "max_whole_digits": f"{label} must be {bounds}.",
    }
    widget = forms.TextInput(attrs={"inputmode": "decimal", "class": "govuk-input--width-5"})
    if whole:
        messages["invalid"] = f"{label} must be a whole number."
        return forms.IntegerField(
            label=label,
            help_text=f"{hint} A whole number {bounds}.".strip(),
            min_value=low,
            max_value=high,
            required=required,
            widget=widget,
            error_messages=messages,
        )
    return forms.DecimalField(
        label=label,
        help_text=f"{hint} A number {bounds}.".strip(),
        min_value=Decimal(str(low)),
        max_value=Decimal(str(high)),
        decimal_places=places,
        max_digits=places + 5,
        required=required,
        widget=widget,
        error_messages=messages,
    )


def field_name(prefix: str, code: str) -> str:
    # Codes such as "neglect.nutrition" hold a dot, which an id in a link must not.
    return f"{prefix}_{code.replace('.', '__')}"


class ScoringConfigForm(forms.Form):
    revision = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(
        label="What this version changes, and why",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": "Keep the note to 2,000 characters or fewer."},
    )

    def __init__(self, *args, config, **kwargs):
        self.config = config
        initial = {
            "revision": config.revision,
            "note": config.note,
            "early_help_from": config.early_help_from,
            "targeted_from": config.targeted_from,
            "statutory_from": config.statutory_from,
            "half_life_days": config.half_life_days,
            "corroboration_window_days": config.corroboration_window_days,
            "corroboration_factor": config.corroboration_factor,
            "assessment_weight": config.assessment_weight,
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.thresholds = []
        for name, level in (("early_help_from", 2), ("targeted_from", 3), ("statutory_from", 4)):
            label = f"{LEVEL_NAMES[level]} from"
            self.fields[name] = _number(
                label,
                f"A child whose total score reaches this is at level {level} "
                f"({LEVEL_NAMES[level].lower()}).",
                Decimal("0.001"),
                9999,
                places=3,
            )
            self.thresholds.append(name)
        self.fields["half_life_days"] = _number(
            "Half-life in days",
            "After this many days an entry counts half as much.",
            1,
            3650,
            whole=True,
        )
        self.fields["corroboration_window_days"] = _number(
            "Corroboration window in days",
            "Two agencies reporting the same area of care within this many days back "
            "each other up.",
            1,
            365,
            whole=True,
        )
        self.fields["corroboration_factor"] = _number(
            "Corroboration factor",
            "What a corroborated entry counts for, as a multiple of itself.",
            0,
            5,
        )
        self.fields["assessment_weight"] = _number(
            "Weight of an assessment's grades",
            "How much a structured neglect assessment counts, as a multiple.",
            0,
            5,
        )
        self.severities = []
        for key in ("1", "2", "3", "4", "5"):
            name = f"severity_{key}"
            self.fields[name] = _number(
                f"Severity {key} factor",
                f"How many times an entry of severity {Severity(int(key)).label} counts.",
                0,
                10,
            )
            self.initial[name] = config.severity_factors.get(key)
            self.severities.append(name)
        self.kinds = []
        for kind in WEIGHED_KINDS:
            name = field_name("kind", kind)
            self.fields[name] = _number(
                f"{kind_name(kind)} factor",
                "Leave empty for entries of this kind not to count.",
                0,
                5,
                required=False,
            )
            self.initial[name] = config.kind_factors.get(kind)
            self.kinds.append(name)
        self.weights = []
        for category in Category.values:
            if category not in config.category_rules:
                continue
            name = field_name("weight", category)
            self.fields[name] = _number(f"{category_name(category)} weight", "", 0, 5)
            self.initial[name] = config.category_rules[category].get("weight")
            self.weights.append(name)

    def field_groups(self):
        """(legend, bound fields) for each fieldset of the page."""
        return [
            ("Level thresholds", [self[n] for n in self.thresholds]),
            (
                "How entries count",
                [
                    self[n]
                    for n in (
                        "half_life_days",
                        "corroboration_window_days",
                        "corroboration_factor",
                        "assessment_weight",
                    )
                ],
            ),
            ("Severity factors", [self[n] for n in self.severities]),
            ("Kinds of entry", [self[n] for n in self.kinds]),
            ("Weight of each category of concern", [self[n] for n in self.weights]),
        ]

    def clean(self):
        cleaned = super().clean()
        cuts = [cleaned.get(n) for n in self.thresholds]
        if None not in cuts and not cuts[0] < cuts[1] < cuts[2]:
            self.add_error(
                "targeted_from",
                "Thresholds must rise: early help, then targeted, then statutory.",
            )
        return cleaned

    def changes(self) -> dict:
        """The service's keyword arguments for the values typed."""
        data = self.cleaned_data
        category_rules = {
            category: {
                **rule,
                "weight": float(data[field_name("weight", category)])
                if field_name("weight", category) in data
                else rule.get("weight"),
            }
            for category, rule in self.config.category_rules.items()
        }
        kind_factors = {
            kind: float(data[field_name("kind", kind)])
            for kind in WEIGHED_KINDS
            if data.get(field_name("kind", kind)) is not None
        }
        # A kind the form does not offer (an assessment) keeps its factor.
        kind_factors.update(
            {k: v for k, v in self.config.kind_factors.items() if k not in WEIGHED_KINDS}
        )
        return {
            "note": data["note"].strip(),
            "early_help_from": data["early_help_from"],
            "targeted_from": data["targeted_from"],
            "statutory_from": data["statutory_from"],
            "half_life_days": data["half_life_days"],
            "corroboration_window_days": data["corroboration_window_days"],
            "corroboration_factor": data["corroboration_factor"],
            "assessment_weight": data["assessment_weight"],
            "severity_factors": {k: float(data[f"severity_{k}"]) for k in "12345"},
            "kind_factors": kind_factors,
            "category_rules": category_rules,
        }

    def add_service_errors(self, error: ValidationError) -> None:
        for field, messages in error.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)
