from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone

from neglect_tool.selectors import child_score

from .audit import audit_record
from .selectors import child_get_for_user, children_visible_to, entries_for_child


@login_required
def home(request):
    return redirect("child_list")


@login_required
def child_list(request):
    children = children_visible_to(user=request.user).select_related("household")
    return render(request, "chronology/child_list.html", {"children": children})


@login_required
@transaction.atomic
def child_detail(request, public_id):
    """A child's page. Opening it is a read of the record, so it is audited; the
    audit row is written in the request's transaction, and if it fails the page fails."""
    child = child_get_for_user(user=request.user, public_id=public_id)
    entries = list(entries_for_child(user=request.user, child=child))
    score = child_score(child, timezone.localdate())
    audit_record(actor=request.user, action="child.view", child=child, obj=child)
    return render(
        request,
        "chronology/child_detail.html",
        {"child": child, "entries": entries, "score": score},
    )
