"""Browser forms. They check what a person typed; the services decide everything else.

No form saves anything: views pass `cleaned_data` to chronology.services, and a
ValidationError from a service is put back on the form with `add_service_errors`,
so the page names the field the service refused.
"""

import datetime
import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from agencies.models import Agency

from . import services
from .vocabulary import Category, DatePrecision, DecisionOutcome, DecisionType, EntryKind, Severity

# Kinds the general entry form records. Status, allocation, decision and
# assessment entries carry structured fields of their own and have their own forms.
FORM_KINDS = (
    EntryKind.CONCERN,
    EntryKind.CHILD_VOICE,
    EntryKind.VISIT,
    EntryKind.REFERRAL,
    EntryKind.NOTIFICATION,
    EntryKind.NOTE,
)
SEVERITY_CHOICES = [("", "Not given")] + [(str(v), label) for v, label in Severity.choices]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


def _not_in_future(day: datetime.date) -> datetime.date:
    # The services' date rule, shown on the field before anything is sent on.
    problem = services.date_problem(day=day)
    if problem:
        raise ValidationError(problem)
    return day


def _new_request_key() -> str:
    return uuid.uuid4().hex


class _RecordsOnce(forms.Form):
    """A form that records an entry carries a key of its own, made when the page is
    drawn, so a second click on Save, or the same form sent again, records the entry
    once (chronology.services.entry_record_once)."""

    request_key = forms.CharField(
        widget=forms.HiddenInput, required=False, max_length=100, initial=_new_request_key
    )

    def request_key_renew(self) -> None:
        """Give the page drawn again a new key, so that saving it records a new entry."""
        self.data = self.data.copy()
        self.data[self.add_prefix("request_key")] = _new_request_key()


class _EntryFields(_RecordsOnce):
    """Fields every way of recording an entry shares."""

    event_date = forms.DateField(
        label="Date it happened",
        widget=DateInput(),
        error_messages={
            "required": "Enter the date it happened.",
            "invalid": "Enter a real date, for example 27/3/2026.",
        },
    )
    categories = forms.MultipleChoiceField(
        label="Categories",
        choices=Category.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Select all that apply.",
    )
    severity = forms.TypedChoiceField(
        label="Severity",
        choices=SEVERITY_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )
    summary = forms.CharField(
        label="What happened",
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": "Say what happened."},
    )
    child_words = forms.CharField(
        label="The child's own words",
        help_text="What the child said, as they said it. Leave empty if they said nothing.",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    action = forms.CharField(
        label="Action taken", widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    def clean_event_date(self):
        return _not_in_future(self.cleaned_data["event_date"])

    def add_service_errors(self, error: ValidationError) -> None:
        """Show a service's ValidationError on the fields it names."""
        for field, messages in error.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)


class EntryForm(_EntryFields):
    kind = forms.ChoiceField(
        label="Kind of entry",
        choices=[(k.value, k.label) for k in FORM_KINDS],
        error_messages={"required": "Select the kind of entry."},
    )
    date_precision = forms.ChoiceField(
        label="How exact is the date?",
        choices=DatePrecision.choices,
        initial=DatePrecision.DAY,
        widget=forms.RadioSelect,
    )

    field_order = [
        "kind",
        "event_date",
        "date_precision",
        "categories",
        "severity",
        "summary",
        "child_words",
        "action",
    ]


class ConcernForm(_EntryFields):
    """A school lead's quick concern: pick the pupil, what was seen or said, and act."""

    child = forms.ChoiceField(
        label="Pupil",
        error_messages={"required": "Select the pupil.", "invalid_choice": "Select the pupil."},
    )

    field_order = [
        "child",
        "event_date",
        "categories",
        "summary",
        "child_words",
        "action",
        "severity",
    ]

    def __init__(self, *args, children, **kwargs):
        super().__init__(*args, **kwargs)
        self.children = {str(c.public_id): c for c in children}
        self.fields["child"].choices = [("", "Select a pupil")] + [
            (
                key,
                f"{c.full_name}"
                + (f" (born {c.date_of_birth:%d/%m/%Y})" if c.date_of_birth else ""),
            )
            for key, c in self.children.items()
        ]
        self.fields["categories"].required = True
        self.fields["categories"].error_messages["required"] = "Select at least one category."
        self.fields["summary"].label = "What was seen or said"
        self.fields["event_date"].initial = timezone.localdate()

    def clean_child(self):
        return self.children[self.cleaned_data["child"]]


class VisitForm(_EntryFields):
    # A baby's first independent moves, as the visitor or health worker saw them:
    # the injury rule for babies not yet mobile stops applying from that day
    # (escalation.rules.injury_non_mobile). Kept in the entry's extra.
    mobile_from = forms.DateField(
        label="Baby independently mobile from (if seen)",
        help_text="The day the baby was first seen rolling, crawling or cruising. Leave empty "
        "if not yet mobile or not a baby.",
        widget=DateInput(),
        required=False,
        error_messages={"invalid": "Enter a real date, for example 27/3/2026."},
    )

    field_order = [
        "event_date",
        "summary",
        "child_words",
        "action",
        "categories",
        "severity",
        "mobile_from",
    ]

    def clean_mobile_from(self):
        day = self.cleaned_data["mobile_from"]
        return _not_in_future(day) if day else None

    def clean(self):
        cleaned = super().clean()
        mobile_from = cleaned.pop("mobile_from", None)
        if mobile_from is not None:
            cleaned["extra"] = {"mobile_from": mobile_from.isoformat()}
        return cleaned

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["summary"].label = "What happened on the visit"
        self.fields["summary"].help_text = "Who was seen, where, and what you saw."
        self.fields["categories"].label = "Concerns seen (if any)"
        self.fields["action"].label = "Actions agreed"
        self.fields["event_date"].initial = timezone.localdate()


class DecisionForm(_RecordsOnce):
    decision_type = forms.ChoiceField(
        label="Type of meeting or decision",
        choices=[("", "Select a type")] + DecisionType.choices,
        error_messages={"required": "Select the type of decision."},
    )
    event_date = forms.DateField(
        label="Date of the decision",
        widget=DateInput(),
        error_messages={
            "required": "Enter the date of the decision.",
            "invalid": "Enter a real date, for example 27/3/2026.",
        },
    )
    agencies_present = forms.ModelMultipleChoiceField(
        label="Agencies present",
        queryset=Agency.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        to_field_name="code",
        error_messages={"required": "Select the agencies that were present."},
    )
    decision_outcome = forms.ChoiceField(
        label="Outcome",
        choices=DecisionOutcome.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select the outcome."},
    )
    summary = forms.CharField(
        label="Summary of the decision",
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Summarise the decision."},
    )
    decision_notes = forms.CharField(
        label="Actions, owners and due dates",
        help_text="One action a line, with who owns it and when it is due.",
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agencies_present"].queryset = Agency.objects.filter(is_system=False)
        self.fields["event_date"].initial = timezone.localdate()

    def clean_event_date(self):
        return _not_in_future(self.cleaned_data["event_date"])

    add_service_errors = _EntryFields.add_service_errors


class ChronologyFilterForm(forms.Form):
    """The chronology's filters. Read from the query string; a bad value is ignored."""

    order = forms.ChoiceField(
        label="Order",
        choices=[("newest", "Newest first"), ("oldest", "Oldest first")],
        required=False,
    )
    view = forms.ChoiceField(
        label="Show",
        choices=[("all", "All entries"), ("significant", "Significant events only")],
        required=False,
    )
    agency = forms.ChoiceField(label="Agency", required=False)
    kind = forms.ChoiceField(
        label="Kind", choices=[("", "Any kind")] + EntryKind.choices, required=False
    )
    category = forms.ChoiceField(
        label="Category", choices=[("", "Any category")] + Category.choices, required=False
    )
    severity = forms.TypedChoiceField(
        label="Severity at least",
        choices=[("", "Any severity")] + [(str(v), label) for v, label in Severity.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    date_from = forms.DateField(label="From", widget=DateInput(), required=False)
    date_to = forms.DateField(label="To", widget=DateInput(), required=False)

    def __init__(self, *args, agencies, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].choices = [("", "Any agency")] + [(a.code, a.name) for a in agencies]

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "agency": data["agency"],
            "kind": data["kind"],
            "category": data["category"],
            "severity": data["severity"],
            "date_from": data["date_from"],
            "date_to": data["date_to"],
            "significant": data["view"] == "significant",
        }

    @property
    def newest_first(self) -> bool:
        return not (self.is_valid() and self.cleaned_data["order"] == "oldest")

    @property
    def active(self) -> bool:
        """True when a filter narrows the chronology (order and paging do not)."""
        filters = self.filters()
        return any(v for v in filters.values())


class ChildSearchForm(forms.Form):
    q = forms.CharField(
        label="Name, date of birth or NHS number",
        help_text="For example Robin Smith, 31/12/2015 or 485 777 3456",
        max_length=100,
        required=False,
    )


class ExportForm(forms.Form):
    redact = forms.BooleanField(
        label="Replace other people's names with 'Adult 1', 'Adult 2'…",
        required=False,
    )
