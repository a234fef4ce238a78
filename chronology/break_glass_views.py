"""The break-glass page: emergency access to a child outside an involvement."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import redirect, render

from . import services
from .audit import audit_record
from .context_processors import remember_break_glass
from .selectors import child_find_for_break_glass, child_is_visible_to


def _date(value: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value.strip())
    except ValueError:
        return None


@login_required
def break_glass(request):
    """Find one child by exact identifiers and open the record for an hour, with a
    reason. Nothing is shown about a child until the access is granted."""
    if not request.user.reads_records:
        raise PermissionDenied("Your role does not read children's records.")
    errors: dict[str, str] = {}
    form = {
        key: request.POST.get(key, "").strip()
        for key in ("nhs_number", "given_names", "family_name", "date_of_birth", "reason")
    }
    if request.method == "POST":
        born = _date(form["date_of_birth"]) if form["date_of_birth"] else None
        if form["date_of_birth"] and born is None:
            errors["date_of_birth"] = "Enter the date of birth as YYYY-MM-DD."
        if len(form["reason"]) < services.BREAK_GLASS_MIN_REASON:
            errors["reason"] = "Give the reason in at least 20 characters."
        if not errors:
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
