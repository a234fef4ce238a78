"""Neglect map pages: a child's domain × month map and timeline, and the household's
siblings side by side. Children are fetched through chronology.selectors, so a child
that is not the user's is a 404; each child shown is audited as viewed."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from chronology.audit import audit_record
from chronology.selectors import child_get_for_user, siblings_visible_to, timeline_rows_for_child
from core.dates import months_back

from .charts import BANDS, heat_map, timeline
from .forms import AssessmentForm
from .models import Domain
from .selectors import neglect_map, neglect_maps
from .services import assessment_record

PERIODS = {"12": 12, "24": 24, "36": 36, "60": 60}
DEFAULT_PERIOD = "24"


def _period(request) -> tuple[str, datetime.date, datetime.date]:
    key = request.GET.get("months", DEFAULT_PERIOD)
    if key not in PERIODS:
        key = DEFAULT_PERIOD
    today = timezone.localdate()
    return key, months_back(today, PERIODS[key]), today


def _legend():
    # Colours come from app.css classes: the Content Security Policy refuses inline styles.
    return [{"band": i, "label": label} for i, (_, _, label) in enumerate(BANDS)]


@login_required
@require_GET
def child_map(request, public_id):
    child = child_get_for_user(user=request.user, public_id=public_id)
    with transaction.atomic(savepoint=False):
        period, start, end = _period(request)
        neglect = neglect_map(child, start, end)
        rows = list(timeline_rows_for_child(child=child, start=start, end=end))
        timeline_svg, counts = timeline(rows, start, end)
        audit_record(
            actor=request.user, action="child.view", child=child, obj=child, details={"page": "map"}
        )
        return render(
            request,
            "neglect_tool/child_map.html",
            {
                "child": child,
                "period": period,
                "periods": PERIODS,
                "map": neglect,
                "map_svg": heat_map(neglect),
                "legend": _legend(),
                "timeline_svg": timeline_svg,
                "timeline_counts": [
                    {"agency": agency, "counts": [c.get(s, 0) for s in (None, 1, 2, 3, 4, 5)]}
                    for agency, c in counts.items()
                ],
                "entry_count": len(rows),
            },
        )


@login_required
@require_GET
def household_map(request, public_id):
    """The child and the siblings the user may see, over the same months."""
    child = child_get_for_user(user=request.user, public_id=public_id)
    with transaction.atomic(savepoint=False):
        period, start, end = _period(request)
        children = [child, *siblings_visible_to(user=request.user, child=child)]
        maps = neglect_maps(children, start, end)
        for shown in children:
            audit_record(
                actor=request.user,
                action="child.view",
                child=shown,
                obj=shown,
                details={"page": "household_map", "from": str(child.public_id)},
            )
        return render(
            request,
            "neglect_tool/household_map.html",
            {
                "child": child,
                "period": period,
                "periods": PERIODS,
                "maps": [
                    {"map": m, "svg": heat_map(m, ident=f"map-{i}")} for i, m in enumerate(maps)
                ],
                "legend": _legend(),
            },
        )


@login_required
def assessment_create(request, public_id):
    """Record a structured neglect assessment: each domain graded 1 to 5, with a note.
    It joins the chronology as an assessment entry, and the score takes it in."""
    child = child_get_for_user(user=request.user, public_id=public_id)
    domains = Domain.objects.filter(is_active=True).order_by("position", "code")
    form = AssessmentForm(
        request.POST or None, domains=domains, initial={"event_date": timezone.localdate()}
    )
    if request.method == "POST" and form.is_valid():
        try:
            assessment_record(
                actor=request.user,
                child=child,
                grades=form.grades(),
                note=form.cleaned_data["note"],
                event_date=form.cleaned_data["event_date"],
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Assessment recorded for {child.full_name}.")
            return redirect("child_detail", public_id=child.public_id)
    if request.method == "GET":
        with transaction.atomic(savepoint=False):
            audit_record(
                actor=request.user,
                action="child.view",
                child=child,
                obj=child,
                details={"page": "assessment_form"},
            )
    return render(
        request,
        "neglect_tool/assessment_form.html",
        {
            "child": child,
            "form": form,
            "heading": "Record a neglect assessment",
            "draft_key": f"assessment:{child.public_id}",
            "submit": "Save assessment",
        },
    )
