"""The pages that bring a child's whole case together: the home page's caseload by
level, the child page with its score, trend and alerts, the score's explanation,
the handover summary and the PDF export.

They read from every app (chronology, neglect_tool, escalation), so they live in
the project package, above the apps, which import downward only
(docs/architecture.md, "Layers"). Each reads and audits as chronology's own pages
do (chronology/views.py)."""

import re

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from agencies.models import Role
from chronology.audit import audit_record
from chronology.forms import ExportForm
from chronology.models import Adult
from chronology.selectors import (
    adults_for_child,
    adults_named_for_child,
    allocations_for_child,
    child_get_for_user,
    child_words_for_child,
    chronology_for_child_page,
    referrals_and_decisions_for_child,
    status_timeline_for_child,
)
from chronology.views import _audit_view, _chronology_context, _download, _file_stem
from chronology.vocabulary import EntryKind
from core.dates import months_back
from core.pagination import PAGE_SIZE, paginate
from escalation.selectors import (
    alerts_open_for_child,
    alerts_visible_to,
    children_by_level_for_user,
    children_count_by_level_for_user,
    trend_stored,
)
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
    last evaluation (escalation.selectors.children_by_level_for_user): no child is
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
        # A long chronology's trend as today's evaluation stored it, if it holds;
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
