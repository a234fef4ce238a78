"""Who can see a child's record: restrict it, and name the people who may see it."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone

from agencies.models import User

from . import services
from .audit import audit_record
from .models import AccessGrantKind, ChildAccessGrant
from .selectors import child_get_for_user


def _date(value: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value.strip())
    except ValueError:
        return None


def _grant_from_form(request, child, form: dict, errors: dict):
    user = User.objects.filter(username=form["username"]).first()
    if user is None:
        errors["username"] = "No one has that username."
    starts_on = _date(form["starts_on"]) if form["starts_on"] else None
    if form["starts_on"] and starts_on is None:
        errors["starts_on"] = "Enter the first day as YYYY-MM-DD."
    last_day = _date(form["last_day"]) if form["last_day"] else None
    if form["last_day"] and last_day is None:
        errors["last_day"] = "Enter the last day as YYYY-MM-DD."
    if errors:
        return None
    return services.access_grant_create(
        actor=request.user,
        child=child,
        user=user,
        kind=form["kind"],
        reason=form["reason"],
        starts_on=starts_on,
        last_day=last_day,
    )


@login_required
def child_access(request, public_id):
    """For a manager of an involved agency: restrict or unrestrict the record, name
    people on it, give an outsider view access for a period, and revoke either. Each
    change asks for a reason and is audited."""
    child = child_get_for_user(user=request.user, public_id=public_id)
    services.access_manager_check(request.user, child)
    fields = ("action", "username", "kind", "starts_on", "last_day", "reason", "grant")
    form = {key: request.POST.get(key, "").strip() for key in fields}
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            if form["action"] == "restrict":
                services.child_restrict(actor=request.user, child=child, reason=form["reason"])
                messages.success(request, "The record is restricted to the people named on it.")
            elif form["action"] == "unrestrict":
                services.child_unrestrict(actor=request.user, child=child, reason=form["reason"])
                messages.success(request, "The restriction is lifted.")
            elif form["action"] == "grant":
                grant = _grant_from_form(request, child, form, errors)
                if grant is not None:
                    messages.success(request, f"{grant.user} is named on the record.")
            elif form["action"] == "revoke":
                grant = ChildAccessGrant.objects.filter(
                    content_object=child, pk=form["grant"] if form["grant"].isdigit() else None
                ).first()
                if grant is None:
                    errors["grant"] = "Choose an access to revoke."
                else:
                    services.access_grant_revoke(
                        actor=request.user, grant=grant, reason=form["reason"]
                    )
                    messages.success(request, f"{grant.user}'s access is revoked.")
            else:
                errors["action"] = "Choose what to change."
        except ValidationError as exc:
            errors.update({key: value[0] for key, value in exc.message_dict.items()})
        if not errors:
            return redirect("child_access", public_id=child.public_id)
    with transaction.atomic():
        audit_record(
            actor=request.user,
            action="child.view",
            child=child,
            obj=child,
            details={"page": "access"},
        )
    grants = (
        ChildAccessGrant.objects.filter(content_object=child)
        .select_related("user__agency", "granted_by", "revoked_by")
        .order_by("revoked_at", "-granted_at")
    )
    return render(
        request,
        "chronology/child_access.html",
        {
            "child": child,
            "title": "Who can see this record",
            "grants": grants,
            "today": timezone.localdate(),
            "form": form,
            "errors": errors,
            "kinds": AccessGrantKind.choices,
        },
    )
