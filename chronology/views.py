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
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from agencies.models import Agency, Role
from core.dates import months_back
from core.pagination import PAGE_SIZE, paginate
from escalation.selectors import alerts_open_for_child, alerts_visible_to, trend_stored
from neglect_tool.charts import heat_map, sparkline
from neglect_tool.scoring import LEVEL_NAMES
from neglect_tool.selectors import (
    month_ends,
    neglect_map,
    score_history,
    score_with_trend,
    scoring_config_and_domains,
)
from neglect_tool.summary import domain_summary

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
    adults_for_child,
    adults_named_for_child,
    allocations_for_child,
    child_get_for_user,
    child_words_for_child,
    children_by_level_for_user,
    children_count_by_level_for_user,
    children_search,
    children_visible_to,
    children_writable_by,
    chronology_for_child_page,
    chronology_rows,
    entries_in_error_for_child,
    entry_get_for_user,
    entry_refused,
    notifications_for_user,
    referrals_and_decisions_for_child,
    status_timeline_for_child,
)
from .vocabulary import EntryKind

TREND_MONTHS = 12
# The child page quotes the child's most recent words; the rest are a filter of the
# chronology away (the handover summary quotes every one). Hundreds of quotes at
# the top of a long record bury the page, and cost a third of its time to render.
CHILD_WORDS_ON_CHILD_PAGE = 20
# A child with more scored rows than this has the contributions to its score listed on
# a page of their own (child_score), not on the child page: a long chronology has
# thousands, and listing them cost more than drawing the rest of the page.
CONTRIBUTIONS_ON_CHILD_PAGE = 30
HANDOVER_MAP_MONTHS = 24


def _audit_view(request, child, page: str) -> None:
    audit_record(
        actor=request.user, action="child.view", child=child, obj=child, details={"page": page}
    )


# --- home and search ------------------------------------------------------------------------


def _named_levels(children) -> list:
    for child in children:
        child.level_name = LEVEL_NAMES.get(child.watch_level, "")
    return children


def _level_filter(request) -> int | None:
    value = request.GET.get("level", "")
    return int(value) if value in {"1", "2", "3", "4"} else None


@login_required
def home(request):
    """A page for the user's role: a caseload, pupils, levels, configuration or the audit role.

    The children are listed 50 a page, highest neglect level first as at each child's
    last evaluation (chronology.selectors.children_by_level_for_user): no child is
    scored to draw the page, so it costs the same few queries for 20 children or 2,000."""
    user = request.user
    if user.role == Role.ADMIN:
        return render(request, "chronology/home_admin.html")
    if user.role == Role.AUDITOR or not user.reads_records:
        return render(request, "chronology/home_auditor.html")
    level = _level_filter(request) if user.role == Role.MANAGER else None
    page = paginate(children_by_level_for_user(user=user, level=level), request.GET.get("page"))
    if page is None:  # a page past the end: the first page, with the same filter
        query = request.GET.copy()
        query.pop("page")
        return redirect(f"{request.path}?{query.urlencode()}#children")
    _named_levels(page.object_list)
    context = {"page": page, "level_filter": level, "level_filter_name": LEVEL_NAMES.get(level)}
    if user.role == Role.MANAGER:
        counts = children_count_by_level_for_user(user=user)
        context.update(
            levels=[(n, LEVEL_NAMES[n], counts.get(n, 0)) for n in (4, 3, 2, 1)],
            not_evaluated=counts.get(None, 0),
            total_children=sum(counts.values()),
        )
        return render(request, "chronology/home_manager.html", context)
    if user.role == Role.SAFEGUARDING_LEAD:
        return render(request, "chronology/home_pupils.html", context)
    allocated = children_by_level_for_user(user=user, allocated_only=True)
    context["allocated"] = _named_levels(list(allocated))
    return render(request, "chronology/home_caseload.html", context)


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


def _recent_child_words(child) -> dict:
    """The child's CHILD_WORDS_ON_CHILD_PAGE most recent words, oldest first, and
    whether there are more, in one query."""
    newest = list(child_words_for_child(child=child).reverse()[: CHILD_WORDS_ON_CHILD_PAGE + 1])
    return {
        "child_words": newest[:CHILD_WORDS_ON_CHILD_PAGE][::-1],
        "more_child_words": len(newest) > CHILD_WORDS_ON_CHILD_PAGE,
    }


@login_required
@require_GET
def child_detail(request, public_id):
    """A child's page: who they are, their status, level and words, and the chronology."""
    child = child_get_for_user(user=request.user, public_id=public_id)
    if request.GET:
        # Filters and pages of the chronology live on its own page, which does not
        # recompute the neglect score for every page turned.
        url = reverse("child_chronology", args=[child.public_id])
        return redirect(f"{url}?{request.GET.urlencode()}#chronology")
    with transaction.atomic(savepoint=False):
        context = {
            "child": child,
            "on_child_page": True,
            **_chronology_context(request, child, query={}),
        }
        today = timezone.localdate()
        months = month_ends(months_back(today, TREND_MONTHS), today)
        # A long chronology's trend as tonight's evaluation stored it, if it holds;
        # worked out afresh otherwise (the same numbers, from every row).
        config, domains = scoring_config_and_domains()
        stored = trend_stored(
            child=child,
            days=months,
            more_rows_than=CONTRIBUTIONS_ON_CHILD_PAGE,
            config=config,
            domains=domains,
        )
        totals, score = stored or score_with_trend(
            child,
            months,
            explain_up_to=CONTRIBUTIONS_ON_CHILD_PAGE,
            config=config,
            domains=domains,
        )
        context.update(
            {
                "score": score,
                "explained": len(score.contributions) > 0 or score.total == 0,
                "trend": sparkline(totals, months),
                "adults": adults_for_child(child=child),
                "status_periods": status_timeline_for_child(child=child),
                **_recent_child_words(child),
                "open_alerts": alerts_open_for_child(user=request.user, child=child),
            }
        )
        _audit_view(request, child, "child")
        return render(request, "chronology/child_detail.html", context)


@login_required
@require_GET
def child_score(request, public_id):
    """Every contribution to the child's neglect score today, largest first, 50 a page:
    the "why" of a long chronology, computed only when asked for."""
    child = child_get_for_user(user=request.user, public_id=public_id)
    with transaction.atomic(savepoint=False):
        today = timezone.localdate()
        score = score_history(child, [today], explain_last=True)[-1]
        ranked = sorted(score.contributions, key=lambda c: c.value, reverse=True)  # stable
        page = Paginator(ranked, PAGE_SIZE).get_page(request.GET.get("page"))
        _audit_view(request, child, "score")
        return render(
            request,
            "chronology/child_score.html",
            {
                "child": child,
                "score": score,
                "summary": domain_summary(score),
                "page": page,
                "title": "Why this neglect level",
            },
        )


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


def _referral_outcomes(entries) -> list[dict]:
    """Each referral with the decisions made after it, up to the next referral.
    Decisions before the first referral are listed on their own."""
    groups: list[dict] = []
    for entry in entries:
        if entry.kind == EntryKind.REFERRAL or not groups:
            groups.append(
                {"referral": entry if entry.kind == EntryKind.REFERRAL else None, "decisions": []}
            )
            if entry.kind == EntryKind.REFERRAL:
                continue
        groups[-1]["decisions"].append(entry)
    return groups


@login_required
@require_GET
def handover(request, public_id):
    """The whole history on one page, so a new worker does not start again."""
    child = child_get_for_user(user=request.user, public_id=public_id)
    with transaction.atomic(savepoint=False):
        today = timezone.localdate()
        neglect = neglect_map(child, months_back(today, HANDOVER_MAP_MONTHS), today)
        context = {
            "child": child,
            "status_periods": status_timeline_for_child(child=child),
            "referrals": _referral_outcomes(referrals_and_decisions_for_child(child=child)),
            "map": neglect,
            "map_svg": heat_map(neglect),
            "child_words": child_words_for_child(child=child),
            "allocations": allocations_for_child(child=child),
            "alerts": alerts_visible_to(user=request.user)
            .filter(child=child)
            .select_related("resolved_by_decision")
            .order_by("-raised_at"),
        }
        _audit_view(request, child, "handover")
        return render(request, "chronology/handover.html", context)


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


class Redactor:
    """Replaces adults' names with 'Adult 1', 'Adult 2'… in text for a redacted export.

    Full names are replaced, then given names on their own, except a given name that
    is also part of a child's name in the document (it would hide the child's own
    name). Family names alone are left: they are usually the child's too."""

    def __init__(self, adults: list[Adult], child_names: list[str]):
        child_words = {w.lower() for name in child_names for w in name.split()}
        self.labels: dict[int, str] = {}
        patterns: list[tuple[str, str]] = []
        for number, adult in enumerate(adults, start=1):
            label = f"Adult {number}"
            self.labels[adult.pk] = label
            patterns.append((adult.name, label))
            given = adult.name.split()[0] if adult.name.split() else ""
            if len(given) >= 3 and given.lower() not in child_words:
                patterns.append((given, label))
        # Longest first, so "Anna Q" goes before "Anna".
        patterns.sort(key=lambda p: -len(p[0]))
        self.patterns = [
            (re.compile(rf"\b{re.escape(name)}\b", re.IGNORECASE), label)
            for name, label in patterns
            if name.strip()
        ]

    def __call__(self, text: str | None) -> str | None:
        if not text:
            return text
        for pattern, label in self.patterns:
            text = pattern.sub(label, text)
        return text


@login_required
@require_GET
@never_cache
def export_pdf(request, public_id):
    """The chronology as a PDF for a conference or court bundle, optionally redacted."""
    from weasyprint import HTML  # imported here: it is slow to load and only PDFs need it

    child = child_get_for_user(user=request.user, public_id=public_id)
    with transaction.atomic(savepoint=False):
        form = ExportForm(request.GET)
        redact = form.is_valid() and form.cleaned_data["redact"]
        today = timezone.localdate()
        entries = list(chronology_for_child_page(child=child, newest_first=False))
        adults = list(adults_named_for_child(child=child))
        redactor = Redactor(adults, [child.full_name]) if redact else (lambda text: text)
        rows = [
            {
                "entry": entry,
                "summary": redactor(entry.summary),
                "child_words": redactor(entry.child_words),
                "action": redactor(entry.action),
                "decision_notes": redactor(entry.decision_notes),
            }
            for entry in entries
        ]
        neglect = neglect_map(child, months_back(today, HANDOVER_MAP_MONTHS), today)
        score = score_history(child, [today], explain_last=True)[-1]
        relationships = {link.adult_id: link.relationship for link in adults_for_child(child=child)}
        html = render_to_string(
            "chronology/export_pdf.html",
            {
                "child": child,
                "score": score,
                "summary": domain_summary(score),
                "map": neglect,
                "status_periods": status_timeline_for_child(child=child),
                "rows": rows,
                "adults": [
                    {
                        "name": redactor.labels[a.pk] if redact else a.name,
                        "relationship": relationships.get(a.pk, ""),
                        "adult": a,
                    }
                    for a in adults
                ],
                "redacted": redact,
                "map_svg": heat_map(neglect, ident="pdf-map"),
                "generated_by": request.user,
                "generated_at": timezone.localtime(),
            },
            request=request,
        )
        audit_record(
            actor=request.user,
            action="child.export",
            child=child,
            obj=child,
            details={"format": "pdf", "redacted": bool(redact), "entries": len(entries)},
        )
        pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
        suffix = "-redacted" if redact else ""
        return _download(pdf, "application/pdf", f"{_file_stem(child)}{suffix}.pdf")
