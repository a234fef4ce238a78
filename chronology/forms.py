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
from .vocabulary import (
    RELATIONSHIPS,
    Category,
    DatePrecision,
    DecisionOutcome,
    DecisionType,
    EntryKind,
    Severity,
)

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


class EntryCorrectionForm(forms.Form):
    """Correct an entry, or mark it entered in error, with a reason. The fields start
    as the entry has them; a correction saves only what was changed
    (chronology.services.entry_amend), and the original stays in the record."""

    CORRECT = "correct"
    ERROR = "error"

    what = forms.ChoiceField(
        label="What do you want to do?",
        choices=[
            (CORRECT, "Correct the entry: the corrected version replaces it"),
            (ERROR, "Mark it entered in error: it was never true, or is about the wrong child"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Select whether to correct the entry or mark it in error."},
    )
    reason = forms.CharField(
        label="Why",
        help_text="Everyone who reads the chronology sees this beside the entry.",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say why the entry is being corrected."},
    )
    event_date = forms.DateField(
        label="Date it happened",
        widget=DateInput(),
        required=False,  # not needed to mark an entry in error; see clean()
        error_messages={"invalid": "Enter a real date, for example 27/3/2026."},
    )
    categories = _EntryFields.base_fields["categories"]
    severity = _EntryFields.base_fields["severity"]
    summary = forms.CharField(
        label="What happened", widget=forms.Textarea(attrs={"rows": 5}), required=False
    )
    child_words = _EntryFields.base_fields["child_words"]
    action = _EntryFields.base_fields["action"]

    def __init__(self, *args, entry, **kwargs):
        self.entry = entry
        initial = {
            "event_date": entry.event_date,
            "categories": entry.categories,
            "severity": entry.severity,
            "summary": entry.summary,
            "child_words": entry.child_words or "",
            "action": entry.action or "",
        }
        super().__init__(*args, initial=initial, **kwargs)

    def clean_event_date(self):
        return _not_in_future(self.cleaned_data["event_date"])

    def clean(self):
        data = super().clean()
        if data.get("what") == self.CORRECT:
            if not (data.get("summary") or "").strip():
                self.add_error("summary", "Say what happened.")
            if not data.get("event_date") and "event_date" not in self.errors:
                self.add_error("event_date", "Enter the date it happened.")
        return data

    def changes(self) -> dict:
        """The fields given a new value, with the values to save."""
        entry, data, changed = self.entry, self.cleaned_data, {}
        if data["event_date"] != entry.event_date:
            changed["event_date"] = data["event_date"]
        if sorted(data["categories"]) != sorted(entry.categories):
            changed["categories"] = data["categories"]
        if data["severity"] != entry.severity:
            changed["severity"] = data["severity"]
        for name in ("summary", "child_words", "action"):
            if (data[name] or "") != (getattr(entry, name) or ""):
                changed[name] = data[name] or ("" if name == "summary" else None)
        return changed

    def add_service_errors(self, error: ValidationError) -> None:
        for field, messages in error.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)


RELATIONSHIP_CHOICES = [("", "Select a relationship")] + [
    (code, name) for code, name in RELATIONSHIPS.items()
]


class AdultLinkForm(forms.Form):
    """A new adult in the child's life; the risk flag, when ticked, needs its reason."""

    name = forms.CharField(
        label="Full name", max_length=200, error_messages={"required": "Enter the adult's name."}
    )
    relationship = forms.ChoiceField(
        label="Relationship to the child",
        choices=RELATIONSHIP_CHOICES,
        error_messages={"required": "Select the adult's relationship to the child."},
    )
    known_to_police_or_probation = forms.BooleanField(
        label="Known to police or probation", required=False
    )
    poses_risk_to_children = forms.BooleanField(
        label="A risk to children",
        required=False,
        help_text="Assessed or convicted as a risk to children.",
    )
    risk_reason = forms.CharField(
        label="Why they are a risk to children",
        help_text="Needed when the adult is flagged. It is recorded in the chronology.",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )

    def clean(self):
        data = super().clean()
        if data.get("poses_risk_to_children") and not (data.get("risk_reason") or "").strip():
            self.add_error("risk_reason", "Say why this adult is a risk to children.")
        return data

    def add_service_errors(self, error: ValidationError) -> None:
        for field, messages in error.message_dict.items():
            field = "risk_reason" if field == "reason" else field
            self.add_error(field if field in self.fields else None, messages)


class AdultRiskForm(forms.Form):
    """Flag an adult already linked to the child as a risk to children."""

    adult = forms.ModelChoiceField(
        label="Adult",
        queryset=None,
        empty_label="Select an adult",
        error_messages={"required": "Select the adult.", "invalid_choice": "Select the adult."},
    )
    reason = forms.CharField(
        label="Why they are a risk to children",
        help_text="Recorded in the chronology, with your name and today's date.",
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Say why this adult is a risk to children."},
    )

    def __init__(self, *args, adults, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["adult"].queryset = adults

    def add_service_errors(self, error: ValidationError) -> None:
        for field, messages in error.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)


class ImportUploadForm(forms.Form):
    """A chronology file to check before importing (the interchange format)."""

    file = forms.FileField(
        label="Chronology file",
        help_text="A JSON or CSV file in the chronology interchange format.",
        error_messages={
            "required": "Choose a JSON or CSV file to import.",
            "empty": "The selected file is empty.",
        },
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".json", ".csv")):
            raise ValidationError("The selected file must be a JSON or CSV file.")
        return upload
