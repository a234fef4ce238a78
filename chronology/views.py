"""Browser pages for the chronology.

Every view needs a signed-in user and fetches a child through
selectors.child_get_for_user, so a child that is not the user's is a 404. Opening a
child's page is a read of the record and is audited in the request's transaction:
if the audit row cannot be written, the page fails. Writes go through services.

Read views use `transaction.atomic(savepoint=False)`: there is nothing to roll back
part of, so a nested call (as in tests) joins the outer transaction rather than
paying for a savepoint. At the top level it is an ordinary transaction.
"""

import json
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from agencies.models import Agency
from core.pagination import PAGE_SIZE, paginate

from . import interchange, services
from .audit import audit_record
from .forms import (
    AdultLinkForm,
    AdultRiskForm,
    ChildSearchForm,
    ChronologyFilterForm,
    ConcernForm,
    DecisionForm,
    EntryCorrectionForm,
    EntryForm,
    ExportForm,
    VisitForm,
)
from .models import Adult, Amendment, Entry
from .selectors import (
    child_get_for_user,
    children_search,
    children_visible_to,
    children_writable_by,
    chronology_for_child_page,
    chronology_rows,
    entries_in_error_for_child,
    entry_get_for_user,
    entry_refused,
    notifications_for_user,
)
from .vocabulary import EntryKind


def _audit_view(request, child, page: str) -> None:
    audit_record(
        actor=request.user, action="child.view", child=child, obj=child, details={"page": page}
    )


# --- home and search ------------------------------------------------------------------------


@login_required
def child_list(request):
    """Every child the user's agency works with, by name, 50 a page."""
    children = (
        children_visible_to(user=request.user, for_list=True)
        .select_related("household")
        .order_by("family_name", "given_names", "pk")
    )
    page = Paginator(children, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "chronology/child_list.html", {"page": page, "children": page.object_list}
    )


@login_required
@require_GET
def child_search(request):
    form = ChildSearchForm(request.GET or None)
    results = None
    if form.is_valid() and form.cleaned_data["q"].strip():
        results = list(children_search(user=request.user, query=form.cleaned_data["q"])[:100])
    return render(request, "chronology/child_search.html", {"form": form, "results": results})


# --- the child page and its chronology ------------------------------------------------------


def _chronology_context(request, child, query=None) -> dict:
    agencies = Agency.objects.filter(is_system=False).order_by("name")
    query = request.GET if query is None else query
    form = ChronologyFilterForm(query, agencies=agencies)
    entries = chronology_for_child_page(
        child=child, filters=form.filters(), newest_first=form.newest_first, category_list=True
    )
    page = paginate(
        entries,
        query.get("page"),
        rows_for=lambda ids: chronology_rows(
            Entry.objects.filter(pk__in=ids), newest_first=form.newest_first, category_list=True
        ),
    )
    return {
        "filter_form": form,
        "page": page,
        "entries": page.object_list if page else [],
        "chronology_url": reverse("child_chronology", args=[child.public_id]),
    }


@login_required
@require_GET
def child_chronology(request, public_id):
    """The merged chronology, filtered and paged. Its cost does not grow with its length."""
    child = child_get_for_user(user=request.user, public_id=public_id)
    with transaction.atomic(savepoint=False):
        context = {"child": child, **_chronology_context(request, child)}
        context["in_error"] = entries_in_error_for_child(child=child)
        if context["page"] is None:  # a page past the end, e.g. after filtering
            query = request.GET.copy()
            query.pop("page")
            return redirect(f"{request.path}?{query.urlencode()}#chronology")
        _audit_view(request, child, "chronology")
        return render(request, "chronology/chronology.html", context)


# --- recording ----------------------------------------------------------------------------


def _record(request, form, *, children, **fixed):
    """Record the form's entry, once for the form's key; put a refusal back on the form.

    The same form sent twice (a double click, a resend after a timeout) records one
    entry and says so. A form sent again after it was changed, with the key it was
    drawn with (the browser's Back button), is shown again with a new key and a
    word of warning, so that pressing Save records it as a new entry."""
    data = {k: v for k, v in form.cleaned_data.items() if k not in ("child", "request_key")}
    key = form.cleaned_data.get("request_key")
    try:
        if not key:  # a page drawn before forms carried keys
            return services.entry_record(actor=request.user, children=children, **data, **fixed)
        entry, recorded = services.entry_record_once(
            actor=request.user, request_key=key, children=children, **data, **fixed
        )
        if not recorded:
            messages.info(request, "That form was sent twice; the entry is recorded once.")
        return entry
    except ValidationError as error:
        form.add_service_errors(error)
    except services.RequestKeyReused:
        form.add_error(
            None,
            "This form has already saved an entry, which is in the chronology. If this "
            "is another entry, check it and save it again.",
        )
        form.request_key_renew()
    except PermissionDenied as error:
        raise Http404("No child found") from error
    return None


def _recorded(request, child, what: str):
    messages.success(request, f"{what} recorded for {child.full_name}.")
    return redirect("child_detail", public_id=child.public_id)


def _form_page(request, child, form, template, page, **extra):
    if request.method == "GET":
        with transaction.atomic(savepoint=False):
            _audit_view(request, child, page)
    return render(request, template, {"child": child, "form": form, **extra})


def _child_to_write_about(request, public_id):
    """The child, if the user may record entries about it. Someone who may only read
    it (an outsider's grant) is told so: they know the child already."""
    child = child_get_for_user(user=request.user, public_id=public_id)
    if not child.may_write:
        raise PermissionDenied("Your access to this child's record is view only.")
    return child


@login_required
def adult_create(request, public_id):
    """Link a new adult to the child; flagged as a risk, the reason goes in the chronology."""
    child = child_get_for_user(user=request.user, public_id=public_id)
    form = AdultLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                link = services.adult_link(
                    actor=request.user,
                    child=child,
                    relationship=data["relationship"],
                    name=data["name"],
                    known_to_police_or_probation=data["known_to_police_or_probation"],
                )
                if data["poses_risk_to_children"]:
                    services.adult_flag_risk(
                        actor=request.user,
                        child=child,
                        adult=link.adult,
                        reason=data["risk_reason"],
                    )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"{link.adult.name} linked to {child.full_name}.")
            return redirect("child_detail", public_id=child.public_id)
    return _form_page(
        request,
        child,
        form,
        "chronology/adult_form.html",
        "adult_form",
        heading="Add a linked adult",
        draft_key=f"adult:{child.public_id}",
        submit="Save adult",
    )


@login_required
def adult_flag(request, public_id):
    """Flag an adult linked to the child as a risk to children, with the reason."""
    child = child_get_for_user(user=request.user, public_id=public_id)
    linked = Adult.objects.filter(child_links__child=child).order_by("name")
    form = AdultRiskForm(request.POST or None, adults=linked)
    if request.method == "POST" and form.is_valid():
        adult = form.cleaned_data["adult"]
        try:
            services.adult_flag_risk(
                actor=request.user, child=child, adult=adult, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"{adult.name} is flagged as a risk to children.")
            return redirect("child_detail", public_id=child.public_id)
    return _form_page(
        request,
        child,
        form,
        "chronology/adult_flag.html",
        "adult_flag",
        heading="Flag an adult as a risk to children",
        draft_key=f"adult-flag:{child.public_id}",
        submit="Flag adult",
        no_adults=not linked.exists(),
    )


@login_required
def entry_correct(request, public_id, entry_id):
    """Correct an entry, or mark it entered in error, with a reason, from its row in
    the chronology. The same services as the API decide (who may, what may change),
    and the original stays in the record, shown beside the correction."""
    child = child_get_for_user(user=request.user, public_id=public_id)
    entry = entry_get_for_user(user=request.user, public_id=entry_id)
    if not entry.child_rows.filter(child=child).exists():
        raise Http404("No entry found")
    if entry.agency_id != request.user.agency_id:
        raise PermissionDenied("Only the agency that recorded an entry can correct it.")
    already = Amendment.objects.filter(entry=entry).select_related("author").first()
    form = EntryCorrectionForm(request.POST or None, entry=entry)
    if request.method == "POST" and already is None and form.is_valid():
        try:
            if form.cleaned_data["what"] == EntryCorrectionForm.ERROR:
                services.entry_mark_entered_in_error(
                    actor=request.user, entry=entry, reason=form.cleaned_data["reason"]
                )
                done = "Entry marked as entered in error"
            else:
                services.entry_amend(
                    actor=request.user,
                    entry=entry,
                    reason=form.cleaned_data["reason"],
                    **form.changes(),
                )
                done = "Correction saved"
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"{done}. The original stays in the record.")
            return redirect(reverse("child_chronology", args=[child.public_id]) + "#chronology")
    return _form_page(
        request,
        child,
        form,
        "chronology/entry_correct.html",
        "entry_correct",
        entry=entry,
        already=already,
        heading="Correct an entry",
        draft_key=f"correct:{entry.public_id}",
        submit="Save",
    )


@login_required
def entry_create(request, public_id):
    child = _child_to_write_about(request, public_id)
    form = EntryForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and _record(request, form, children=[child]):
        return _recorded(request, child, "Entry")
    return _form_page(
        request,
        child,
        form,
        "chronology/entry_form.html",
        "entry_form",
        heading="Add an entry",
        draft_key=f"entry:{child.public_id}",
    )


@login_required
def visit_create(request, public_id):
    child = _child_to_write_about(request, public_id)
    form = VisitForm(request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid()
        and _record(request, form, children=[child], kind=EntryKind.VISIT)
    ):
        return _recorded(request, child, "Visit")
    return _form_page(
        request,
        child,
        form,
        "chronology/visit_form.html",
        "visit_form",
        heading="Record a visit",
        draft_key=f"visit:{child.public_id}",
        submit="Save visit",
    )


@login_required
def decision_create(request, public_id):
    child = _child_to_write_about(request, public_id)
    form = DecisionForm(request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid()
        and _record(request, form, children=[child], kind=EntryKind.DECISION)
    ):
        return _recorded(request, child, "Decision")
    return _form_page(
        request,
        child,
        form,
        "chronology/decision_form.html",
        "decision_form",
        heading="Record a multi-agency decision",
        draft_key=f"decision:{child.public_id}",
        submit="Save decision",
    )


@login_required
def concern_create(request):
    """A school lead's quick concern: the pupil is picked from the children they may see."""
    children = children_writable_by(user=request.user).order_by("family_name", "given_names")
    initial = {"child": request.GET.get("child", "")}
    form = ConcernForm(request.POST or None, children=children, initial=initial)
    if request.method == "POST" and form.is_valid():
        child = form.cleaned_data["child"]
        if _record(request, form, children=[child], kind=EntryKind.CONCERN):
            return _recorded(request, child, "Concern")
    return render(
        request,
        "chronology/concern_form.html",
        {
            "form": form,
            "heading": "Record a concern",
            "draft_key": "concern",
            "submit": "Save concern",
        },
    )


# --- notifications --------------------------------------------------------------------------

NOTIFICATIONS_SHOWN = 100


def _visible_children_of(entry, user_children: set[int]) -> list:
    return [row.child for row in entry.child_rows.all() if row.child_id in user_children]


@login_required
def notification_inbox(request):
    """Notifications from other agencies (police domestic-abuse notices to schools,
    for example) about the user's children, with a button to acknowledge each."""
    if not request.user.reads_records:
        raise Http404("No notifications")
    visible = set(children_visible_to(user=request.user).values_list("pk", flat=True))
    with transaction.atomic(savepoint=False):
        waiting = list(notifications_for_user(user=request.user, acknowledged=False))
        done = list(
            notifications_for_user(user=request.user, acknowledged=True)[:NOTIFICATIONS_SHOWN]
        )
        rows = {"waiting": [], "done": []}
        shown: dict[int, object] = {}
        for key, entries in (("waiting", waiting), ("done", done)):
            for entry in entries:
                children = _visible_children_of(entry, visible)
                rows[key].append({"entry": entry, "children": children})
                shown.update((child.pk, child) for child in children)
        # Each child whose notifications are on screen has been read.
        for child in shown.values():
            _audit_view(request, child, "notifications")
        return render(request, "chronology/notifications.html", rows)


@login_required
@require_POST
def notification_acknowledge(request, public_id):
    entry = (
        notifications_for_user(user=request.user, acknowledged=False)
        .filter(public_id=public_id)
        .first()
    )
    if entry is None:
        entry_refused(user=request.user, public_id=public_id)
        raise Http404("No notification found")
    try:
        services.notification_acknowledge(actor=request.user, entry=entry)
    except PermissionDenied as error:
        entry_refused(user=request.user, public_id=public_id)
        raise Http404("No notification found") from error
    except ValidationError:
        pass  # acknowledged by someone else meanwhile: the inbox shows who
    messages.success(request, f"Notification of {entry.event_date:%d %B %Y} acknowledged.")
    return redirect("notification_inbox")


# --- handover ----------------------------------------------------------------------------


# --- export ------------------------------------------------------------------------------


@login_required
@require_GET
def export_options(request, public_id):
    child = child_get_for_user(user=request.user, public_id=public_id)
    return _form_page(request, child, ExportForm(), "chronology/export.html", "export")


def _download(content, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _file_stem(child) -> str:
    name = re.sub(r"[^A-Za-z0-9]+", "-", child.full_name).strip("-").lower() or "child"
    return f"chronology-{name}-{timezone.localdate():%Y-%m-%d}"


@login_required
@require_GET
@never_cache
def export_csv(request, public_id):
    child = child_get_for_user(user=request.user, public_id=public_id)
    text = interchange.export_csv([child], actor=request.user)  # audited there
    return _download(text, "text/csv; charset=utf-8", f"{_file_stem(child)}.csv")


@login_required
@require_GET
@never_cache
def export_json(request, public_id):
    child = child_get_for_user(user=request.user, public_id=public_id)
    document = interchange.export_document([child], actor=request.user)  # audited there
    text = json.dumps(document, ensure_ascii=False, indent=2)
    return _download(text, "application/json; charset=utf-8", f"{_file_stem(child)}.json")
