"""The structured neglect assessment form: each active domain graded 1 to 5.

The grade guidance is our own wording of the common structure of graded-care
tools (1 = needs met well, 5 = care seriously harmful); no published tool's text."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

GRADES = [
    ("", "Not assessed"),
    ("1", "1 – Needs met well: care is reliable and the child is doing well"),
    ("2", "2 – Needs mostly met: small or occasional gaps that the family puts right"),
    ("3", "3 – Needs met only some of the time: the gaps are affecting the child"),
    ("4", "4 – Needs often unmet: the child regularly goes without, and is being harmed"),
    ("5", "5 – Needs seldom met: care is seriously harmful to the child"),
]


class AssessmentForm(forms.Form):
    event_date = forms.DateField(
        label="Date of the assessment",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": "Enter the date of the assessment.",
            "invalid": "Enter a real date, for example 27/3/2026.",
        },
    )
    note = forms.CharField(
        label="Summary of the assessment",
        help_text="What you saw and who you spoke to. This is the entry's text in the chronology.",
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Summarise the assessment."},
    )

    def __init__(self, *args, domains, **kwargs):
        super().__init__(*args, **kwargs)
        self.domains = list(domains)
        for domain in self.domains:
            self.fields[f"grade_{domain.code}"] = forms.TypedChoiceField(
                label=domain.name,
                help_text=domain.description,
                choices=GRADES,
                coerce=int,
                empty_value=None,
                required=False,
                widget=forms.RadioSelect,
            )

    def grade_fields(self):
        return [self[f"grade_{domain.code}"] for domain in self.domains]

    def clean_event_date(self):
        day = self.cleaned_data["event_date"]
        if day > timezone.localdate():
            raise ValidationError("The date cannot be in the future.")
        return day

    def clean(self):
        data = super().clean()
        if not self.grades() and not self.errors:
            first = f"grade_{self.domains[0].code}" if self.domains else None
            self.add_error(first, "Grade at least one domain.")
        return data

    def grades(self) -> dict[str, int]:
        data = getattr(self, "cleaned_data", {})
        return {
            domain.code: data[f"grade_{domain.code}"]
            for domain in self.domains
            if data.get(f"grade_{domain.code}") is not None
        }

    def add_service_errors(self, error: ValidationError) -> None:
        for field, messages in error.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)
