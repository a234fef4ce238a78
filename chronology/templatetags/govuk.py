"""GOV.UK Frontend markup for Django form fields."""

from django import template
from django.utils import formats

register = template.Library()

CLASSES = {"select": "govuk-select", "textarea": "govuk-textarea"}


@register.filter
def govuk_widget(field):
    """Render a text, date, select or textarea widget with GOV.UK classes, and point
    aria-describedby at the field's hint and error so screen readers read them."""
    base = CLASSES.get(field.widget_type, "govuk-input")
    # A width the form gave the widget (govuk-input--width-4) is kept.
    extra = field.field.widget.attrs.get("class", "")
    attrs = {"class": base + (f" {base}--error" if field.errors else "") + f" {extra}".rstrip()}
    described = [f"{field.auto_id}-hint"] if field.help_text else []
    if field.errors:
        described.append(f"{field.auto_id}-error")
    if described:
        attrs["aria-describedby"] = " ".join(described)
    return field.as_widget(attrs=attrs)


@register.filter
def is_choice_group(field) -> bool:
    return field.widget_type in {"checkboxselectmultiple", "radioselect"}


@register.filter
def first_input_id(field) -> str:
    """The id an error summary links to: a group's first box, or the field itself."""
    return f"{field.auto_id}_0" if is_choice_group(field) else field.auto_id


@register.filter
def as_recorded(date, precision) -> str:
    """A date as precisely as it was recorded: "2012", "March 2012" or "4 March 2012";
    a dash for none. (A filter, not an included template: a chronology page shows
    dozens of dates, and an include costs a template render each.)"""
    if not date:
        return "—"
    if precision == "year":
        return formats.date_format(date, "Y")
    if precision == "month":
        return formats.date_format(date, "F Y")
    return formats.date_format(date, "j F Y")
