"""The admins' rules editor: one field for each parameter of a rule's type.

The fields come from escalation.rule_params, as do the bounds the service checks
again; the form only turns what was typed into typed values, with messages that
name the field. escalation.services decides."""

from django import forms
from django.core.exceptions import ValidationError

from agencies.models import AgencyKind
from chronology.vocabulary import role_name

from .rule_params import BOOL, CATEGORIES, INT, NOTIFY_ROLES, PARAMS, Param, choices_for


def _number_field(param: Param) -> forms.Field:
    bounds = f"between {param.minimum} and {param.maximum}"
    return forms.IntegerField(
        label=param.label,
        help_text=f"{param.hint} A whole number {bounds}.",
        min_value=param.minimum,
        max_value=param.maximum,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "class": "govuk-input--width-4"}),
        error_messages={
            "required": f"Enter the {param.label.lower()}.",
            "invalid": f"{param.label} must be a whole number.",
            "min_value": f"{param.label} must be {bounds}.",
            "max_value": f"{param.label} must be {bounds}.",
        },
    )


def _field_for(param: Param) -> forms.Field:
    if param.kind == INT:
        return _number_field(param)
    if param.kind == BOOL:
        return forms.BooleanField(label=param.label, help_text=param.hint, required=False)
    if param.kind == CATEGORIES:
        return forms.MultipleChoiceField(
            label=param.label,
            help_text=param.hint,
            choices=choices_for(param),
            widget=forms.CheckboxSelectMultiple,
            error_messages={
                "required": f"Choose at least one of the {param.label.lower()}.",
                "invalid_choice": f"{param.label}: choose from the list.",
            },
        )
    choices = [(str(value), label) for value, label in choices_for(param)]
    if param.optional:
        choices = [("", param.empty_label), *choices]
    return forms.TypedChoiceField(
        label=param.label,
        help_text=param.hint,
        choices=choices,
        coerce=int,
        empty_value=None,
        required=not param.optional,
        error_messages={
            "required": f"Choose the {param.label.lower()}.",
            "invalid_choice": f"{param.label}: choose from the list.",
        },
    )


class RuleForm(forms.Form):
    """A rule of a draft: its parameters, then who it tells and whether it runs."""

    revision = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, rule, revision: int, **kwargs):
        self.rule = rule
        self.params = PARAMS.get(rule.type, [])
        initial = {
            **{p.name: rule.params.get(p.name) for p in self.params},
            "notify_roles": rule.notify_roles,
            "notify_agency_kinds": rule.notify_agency_kinds,
            "is_enabled": rule.is_enabled,
            "revision": revision,
        }
        super().__init__(*args, initial=initial, **kwargs)
        for param in self.params:
            self.fields[param.name] = _field_for(param)
        self.fields["notify_roles"] = forms.MultipleChoiceField(
            label="Roles told at the first level",
            help_text="In each agency involved with the child. Tick none to tell the "
            "safeguarding leads and managers.",
            choices=[(role.value, role_name(role)) for role in NOTIFY_ROLES],
            widget=forms.CheckboxSelectMultiple,
            required=False,
            error_messages={"invalid_choice": "Roles told: choose from the list."},
        )
        self.fields["notify_agency_kinds"] = forms.MultipleChoiceField(
            label="Agencies told at the first level",
            help_text="Tick none to tell every kind of agency involved with the child.",
            choices=AgencyKind.choices,
            widget=forms.CheckboxSelectMultiple,
            required=False,
            error_messages={"invalid_choice": "Agencies told: choose from the list."},
        )
        self.fields["is_enabled"] = forms.BooleanField(
            label="Rule on",
            help_text="Untick to keep the rule in the version without it raising alerts.",
            required=False,
        )

    def param_values(self) -> dict:
        return {p.name: self.cleaned_data.get(p.name) for p in self.params}

    def add_service_errors(self, error: ValidationError) -> None:
        """Show a service's ValidationError on the fields it names."""
        for field, messages in error.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)


class RuleSetSettingsForm(forms.Form):
    """A draft's note and escalation ladder timings."""

    revision = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(
        label="What this version changes, and why",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": "Keep the note to 2,000 characters or fewer."},
    )
    level_2_after_working_hours = forms.IntegerField(
        label="Working hours before service managers are told",
        help_text="An alert nobody has acknowledged goes up to level 2 after this many "
        "working hours. A whole number between 1 and 80.",
        min_value=1,
        max_value=80,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "class": "govuk-input--width-4"}),
        error_messages={
            "required": "Enter the working hours before service managers are told.",
            "invalid": "Working hours before service managers are told must be a whole number.",
            "min_value": "Working hours before service managers are told must be between 1 and 80.",
            "max_value": "Working hours before service managers are told must be between 1 and 80.",
        },
    )
    level_3_after_working_hours = forms.IntegerField(
        label="Working hours before the partnership is told",
        help_text="Counted from level 2: still unacknowledged this long after, the alert goes "
        "to the safeguarding partnership. A whole number between 1 and 80.",
        min_value=1,
        max_value=80,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "class": "govuk-input--width-4"}),
        error_messages={
            "required": "Enter the working hours before the partnership is told.",
            "invalid": "Working hours before the partnership is told must be a whole number.",
            "min_value": "Working hours before the partnership is told must be between 1 and 80.",
            "max_value": "Working hours before the partnership is told must be between 1 and 80.",
        },
    )

    add_service_errors = RuleForm.add_service_errors
