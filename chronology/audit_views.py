"""Pages for auditors: who looked at a child's record, what each person did, and
the retention review list. Auditors read the access log, not the records: they
see who did what and when, never what the record says."""

import uuid
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from agencies.models import Role, User

from .audit import audit_record
from .models import AuditEvent, Child, Involvement
from .retention import retention_review_list
from .selectors import child_refused


def auditor_required(view):
    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if request.user.role != Role.AUDITOR or not request.user.is_active:
            raise PermissionDenied("Only auditors use the access log.")
        return view(request, *args, **kwargs)

    return wrapped


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def children_audited_by(*, user):
    """Children the auditor's agency has ever been involved with."""
    ever = Involvement.objects.filter(child=OuterRef("pk"), agency_id=user.agency_id)
    return Child.objects.filter(Exists(ever))


@auditor_required
def audit_home(request):
    query = request.GET.get("child", "").strip()
    found = None
    if query:
        condition = Q(ref=query) | Q(nhs_number=query.replace(" ", ""))
        if _is_uuid(query):
            condition |= Q(public_id=query)
        found = children_audited_by(user=request.user).filter(condition).first()
    staff = User.objects.filter(agency=request.user.agency).order_by("username")
    return render(request, "audit/home.html", {"query": query, "found": found, "staff": staff})


@auditor_required
@transaction.atomic
def audit_child(request, public_id):
    child = children_audited_by(user=request.user).filter(public_id=public_id).first()
    if child is None:
        child_refused(user=request.user, public_id=public_id)
        raise Http404("No child found")
    events = AuditEvent.objects.filter(child=child).select_related("actor", "actor_agency", "child")
    page = Paginator(events.order_by("-occurred_at", "-id"), 100).get_page(request.GET.get("page"))
    audit_record(actor=request.user, action="audit.view_child", child=child, obj=child)
    return render(request, "audit/child.html", {"child": child, "page": page})


@auditor_required
@transaction.atomic
def audit_user(request, public_id):
    person = get_object_or_404(User, public_id=public_id, agency=request.user.agency)
    events = AuditEvent.objects.filter(actor=person).select_related(
        "actor", "actor_agency", "child"
    )
    page = Paginator(events.order_by("-occurred_at", "-id"), 100).get_page(request.GET.get("page"))
    audit_record(actor=request.user, action="audit.view_user", obj=person)
    return render(request, "audit/user.html", {"person": person, "page": page})


@auditor_required
def retention_review(request):
    due = retention_review_list(
        as_of=timezone.localdate(), within_days=90, children=children_audited_by(user=request.user)
    )
    return render(request, "audit/retention.html", {"due": due})
