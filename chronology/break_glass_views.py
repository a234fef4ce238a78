"""The break-glass page: emergency access to a child outside an involvement."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import redirect, render

from . import services
from .audit import audit_record
from .context_processors import remember_break_glass
from .selectors import child_find_for_break_glass, child_is_visible_to


class BreakGlassForm(forms.Form):
    """Translates the page's fields; the reason rule is the service's."""

    nhs_number = forms.CharField(required=False)
    given_names = forms.CharField(required=False)
    family_name = forms.CharField(required=False)
    date_of_birth = forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "Enter the date of birth as YYYY-MM-DD."},
    )
    reason = forms.CharField(required=False)

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"]
        try:
            services.break_glass_reason_check(reason=reason)
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["reason"]) from exc
        return reason


@login_required
def break_glass(request):
    """Find one child by exact identifiers and open the record for an hour, with a
    reason. Nothing is shown about a child until the access is granted."""
    if not request.user.reads_records:
        raise PermissionDenied("Your role does not read children's records.")
    errors: dict[str, str] = {}
    # The page's template reads the values as they were typed, and one message a field.
    form = {
        key: request.POST.get(key, "").strip()
        for key in ("nhs_number", "given_names", "family_name", "date_of_birth", "reason")
    }
    if request.method == "POST":
        checked = BreakGlassForm(form)
        if not checked.is_valid():
            errors = {name: str(messages_[0]) for name, messages_ in checked.errors.items()}
        else:
            born = checked.cleaned_data["date_of_birth"]
            with transaction.atomic():
                child = child_find_for_break_glass(
                    nhs_number=form["nhs_number"],
                    given_names=form["given_names"],
                    family_name=form["family_name"],
                    date_of_birth=born,
                )
                if child is None:
                    audit_record(
                        actor=request.user,
                        action="break_glass.no_match",
                        details={"reason": form["reason"]},
                    )
                    errors["nhs_number"] = (
                        "No single child matches. Give the NHS number, or the full name and "
                        "date of birth exactly."
                    )
                elif child_is_visible_to(user=request.user, child=child):
                    return redirect("child_detail", public_id=child.public_id)
            if child is not None and not errors:
                try:
                    access = services.break_glass_open(
                        actor=request.user, child=child, reason=form["reason"]
                    )
                except ValidationError as exc:
                    errors.update({k: v[0] for k, v in exc.message_dict.items()})
                else:
                    remember_break_glass(request, access)
                    messages.warning(
                        request,
                        "Emergency access is open for 60 minutes. The child's lead agency and "
                        "the auditors have been told.",
                    )
                    return redirect("child_detail", public_id=child.public_id)
    return render(request, "chronology/break_glass.html", {"form": form, "errors": errors})
