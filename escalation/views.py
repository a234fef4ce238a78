"""Pages for alerts, the managers' escalation dashboard, disagreements, and the
admins' rule drafts and back-tests. Every write goes through escalation.services."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from agencies.models import Role, User
from chronology.audit import audit_record
from chronology.selectors import child_get_for_user
from chronology.vocabulary import rule_name
from core.concurrency import StaleVersion
from core.decorators import role_required
from core.pagination import paginate

from . import backtest as backtests
from . import services
from .forms import RuleForm, RuleSetSettingsForm
from .models import (
    DISAGREEMENT_CODE,
    UNRESOLVED,
    AlertStatus,
    BackTest,
    Rule,
    RuleSet,
    RuleSetStatus,
)
from .rule_params import rule_params_text
from .selectors import (
    alert_get_for_user,
    alerts_open_for_user,
    background_jobs_status,
    dashboard_figures,
)

RECORD_ROLES = (Role.PRACTITIONER, Role.SAFEGUARDING_LEAD, Role.MANAGER)


@role_required(Role.MANAGER, Role.SAFEGUARDING_LEAD)
def dashboard(request):
    """Open alerts about the user's children, 50 a page, most urgent first: the highest
    ladder rung, then the longest waiting. The figures count every alert the filters
    match, not only the page shown; the page and its total are one query."""
    alerts = alerts_open_for_user(user=request.user, for_list=True)
    filters = {
        "ladder_level": request.GET.get("level", ""),
        "rule_code": request.GET.get("rule", "").strip(),
        "status": request.GET.get("status", ""),
    }
    if filters["ladder_level"] in {"1", "2", "3"}:
        alerts = alerts.filter(ladder_level=int(filters["ladder_level"]))
    if filters["rule_code"]:
        alerts = alerts.filter(rule_code=filters["rule_code"])
    if filters["status"] in UNRESOLVED:
        alerts = alerts.filter(status=filters["status"])
    if request.GET.get("mine"):
        alerts = alerts.filter(assigned_to=request.user)
    page = paginate(alerts.order_by("-ladder_level", "raised_at", "pk"), request.GET.get("page"))
    if page is None:  # a page past the end, e.g. after filtering: the first page
        query = request.GET.copy()
        query.pop("page")
        return redirect(f"{request.path}?{query.urlencode()}#alerts")
    return render(
        request,
        "escalation/dashboard.html",
        {
            "page": page,
            "alerts": page.object_list,
            "figures": dashboard_figures(user=request.user, alerts=alerts),
            "filters": filters,
            "statuses": [(s, AlertStatus(s).label) for s in UNRESOLVED],
            # Managers answer for the escalation process: they are told when the
            # background jobs behind this page have stopped (one query).
            "stale_jobs": (
                [job for job in background_jobs_status() if job.stale]
                if request.user.role == Role.MANAGER
                else []
            ),
            "rules": _rule_choices(),
        },
    )


def _rule_choices() -> list[tuple[str, str]]:
    """The rules a manager can filter by, by name: the active set's, and disagreements."""
    active = Rule.objects.filter(rule_set__status=RuleSetStatus.ACTIVE).values_list("code", "type")
    choices = {code: rule_name(code, rule_type) for code, rule_type in active}
    choices[DISAGREEMENT_CODE] = rule_name(DISAGREEMENT_CODE)
    return sorted(choices.items(), key=lambda item: item[1])


@role_required(*RECORD_ROLES)
@transaction.atomic
def alert_detail(request, public_id):
    alert = alert_get_for_user(user=request.user, public_id=public_id)
    audit_record(actor=request.user, action="alert.view", child=alert.child, obj=alert)
    colleagues = (
        User.objects.filter(agency=request.user.agency, is_active=True, role__in=RECORD_ROLES)
        if request.user.role == Role.MANAGER
        else User.objects.none()
    )
    return render(
        request,
        "escalation/alert_detail.html",
        {
            "alert": alert,
            "evidence": alert.evidence.select_related("agency").order_by("event_date"),
            "history": alert.history.select_related("actor"),
            "colleagues": colleagues,
            "is_manager": request.user.role == Role.MANAGER,
        },
    )


def _alert_action(request, public_id, act):
    alert = alert_get_for_user(user=request.user, public_id=public_id)
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = None
    try:
        act(alert, request.POST.get("reason", ""), version)
    except StaleVersion:
        messages.error(
            request, "Someone changed this alert while you were reading it: check it again."
        )
    except ValidationError as exc:
        for errors in exc.message_dict.values():
            for error in errors:
                messages.error(request, error)
    else:
        messages.success(request, "Done.")
    return redirect("alert_detail", public_id=alert.public_id)


@role_required(*RECORD_ROLES)
@require_POST
def alert_acknowledge(request, public_id):
    return _alert_action(
        request,
        public_id,
        lambda alert, reason, version: services.alert_acknowledge(
            actor=request.user, alert=alert, reason=reason, expected_version=version
        ),
    )


@role_required(Role.MANAGER)
@require_POST
def alert_resolve(request, public_id):
    return _alert_action(
        request,
        public_id,
        lambda alert, reason, version: services.alert_resolve(
            actor=request.user, alert=alert, reason=reason, expected_version=version
        ),
    )


@role_required(Role.MANAGER)
@require_POST
def alert_assign(request, public_id):
    assignee = get_object_or_404(
        User, public_id=request.POST.get("assignee") or None, agency=request.user.agency
    )
    return _alert_action(
        request,
        public_id,
        lambda alert, reason, version: services.alert_assign(
            actor=request.user,
            alert=alert,
            assignee=assignee,
            reason=reason,
            expected_version=version,
        ),
    )


@role_required(*RECORD_ROLES)
def disagreement_create(request, public_id):
    child = child_get_for_user(user=request.user, public_id=public_id)
    error = None
    if request.method == "POST":
        try:
            alert = services.disagreement_raise(
                actor=request.user, child=child, reason=request.POST.get("reason", "")
            )
        except ValidationError as exc:
            error = exc.message_dict["reason"][0]
        else:
            messages.success(request, "Your escalation has been raised and the leads told.")
            return redirect("alert_detail", public_id=alert.public_id)
    return render(
        request,
        "escalation/disagreement_form.html",
        {"child": child, "error": error, "reason": request.POST.get("reason", "")},
    )


# --- admins: rule drafts and back-tests ---------------------------------------------------


@role_required(Role.ADMIN)
def rule_sets(request):
    return render(
        request,
        "escalation/rule_sets.html",
        {
            "rule_sets": RuleSet.objects.prefetch_related("rules"),
            "backtests": BackTest.objects.select_related("rule_set")[:10],
        },
    )


@role_required(Role.ADMIN)
@require_POST
def rule_set_draft(request):
    draft = services.rule_set_draft(
        actor=request.user, based_on=services.rule_set_active(), note=request.POST.get("note", "")
    )
    messages.success(
        request, f"Draft version {draft.version} made: edit its rules, then back-test it."
    )
    return redirect("rule_set_detail", version=draft.version)


@role_required(Role.ADMIN)
def rule_set_detail(request, version):
    """One version: its ladder timings and rules in words; for a draft, links to
    edit each, its back-tests, and activation once a back-test of it as it is now
    has finished."""
    rule_set = get_object_or_404(RuleSet, version=version)
    rules = [(rule, rule_params_text(rule)) for rule in rule_set.rules.order_by("code")]
    backtest_list = list(rule_set.backtests.order_by("-created_at")[:10])
    return render(
        request,
        "escalation/rule_set_detail.html",
        {
            "rule_set": rule_set,
            "rules": rules,
            "backtests": backtest_list,
            "current_backtest": services.backtest_current(rule_set),
            "is_draft": rule_set.status == RuleSetStatus.DRAFT,
        },
    )


def _service_errors(form, call) -> bool:
    """Run a service call for a form; its refusals become the form's errors. True if done."""
    try:
        call()
    except StaleVersion:
        form.add_error(
            None,
            "Someone else changed this draft while you were editing it. Reload the page to "
            "see their changes, then make yours again.",
        )
    except ValidationError as exc:
        form.add_service_errors(exc)
    else:
        return True
    return False


@role_required(Role.ADMIN)
def rule_edit(request, version, code):
    rule = get_object_or_404(
        Rule.objects.select_related("rule_set"), rule_set__version=version, code=code
    )
    rule_set = rule.rule_set
    if rule_set.status != RuleSetStatus.DRAFT and request.method != "POST":
        messages.error(request, "Only a draft can be changed: make a draft from the active rules.")
        return redirect("rule_set_detail", version=version)
    form = RuleForm(request.POST or None, rule=rule, revision=rule_set.revision)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if _service_errors(
            form,
            lambda: services.rule_update(
                actor=request.user,
                rule=rule,
                params=form.param_values(),
                notify_roles=data["notify_roles"],
                notify_agency_kinds=data["notify_agency_kinds"],
                is_enabled=data["is_enabled"],
                expected_revision=data["revision"],
            ),
        ):
            messages.success(
                request,
                f"{rule_name(rule.code, rule.type)} saved. Back-test the draft again before "
                "activating it.",
            )
            return redirect("rule_set_detail", version=version)
    return render(
        request,
        "escalation/rule_form.html",
        {
            "form": form,
            "rule": rule,
            "rule_set": rule_set,
            "rule_title": rule_name(rule.code, rule.type),
        },
        status=400 if form.errors else 200,
    )


@role_required(Role.ADMIN)
def rule_set_settings(request, version):
    rule_set = get_object_or_404(RuleSet, version=version)
    if rule_set.status != RuleSetStatus.DRAFT and request.method != "POST":
        messages.error(request, "Only a draft can be changed: make a draft from the active rules.")
        return redirect("rule_set_detail", version=version)
    form = RuleSetSettingsForm(
        request.POST or None,
        initial={
            "revision": rule_set.revision,
            "note": rule_set.note,
            "level_2_after_working_hours": rule_set.level_2_after_working_hours,
            "level_3_after_working_hours": rule_set.level_3_after_working_hours,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if _service_errors(
            form,
            lambda: services.rule_set_update(
                actor=request.user,
                rule_set=rule_set,
                note=data["note"],
                level_2_after_working_hours=data["level_2_after_working_hours"],
                level_3_after_working_hours=data["level_3_after_working_hours"],
                expected_revision=data["revision"],
            ),
        ):
            messages.success(request, f"Version {version}'s timings saved.")
            return redirect("rule_set_detail", version=version)
    return render(
        request,
        "escalation/rule_set_settings.html",
        {"form": form, "rule_set": rule_set},
        status=400 if form.errors else 200,
    )


@role_required(Role.ADMIN)
@require_POST
def rule_set_backtest(request, version):
    draft = get_object_or_404(RuleSet, version=version, status=RuleSetStatus.DRAFT)
    backtest = backtests.backtest_start(actor=request.user, rule_set=draft)
    return redirect("backtest_detail", public_id=backtest.public_id)


@role_required(Role.ADMIN)
@require_POST
def rule_set_activate(request, version):
    draft = get_object_or_404(RuleSet, version=version, status=RuleSetStatus.DRAFT)
    try:
        services.rule_set_activate(actor=request.user, draft=draft)
    except ValidationError as exc:
        for errors in exc.message_dict.values():
            for error in errors:
                messages.error(request, error)
        return redirect("rule_set_detail", version=version)
    messages.success(request, f"Version {draft.version} is now active.")
    return redirect("rule_sets")


@role_required(Role.ADMIN)
def backtest_detail(request, public_id):
    backtest = get_object_or_404(
        BackTest.objects.select_related("rule_set", "baseline"), public_id=public_id
    )
    template = (
        "escalation/_backtest_progress.html"
        if request.GET.get("fragment")
        else "escalation/backtest_detail.html"
    )
    return render(
        request,
        template,
        {
            "backtest": backtest,
            "summary_rows": backtests.summary_rows(backtest),
            # Activation is offered from a back-test of the draft as it is now.
            "can_activate": backtest.rule_set.status == RuleSetStatus.DRAFT
            and services.backtest_current(backtest.rule_set) == backtest,
            "is_stale": backtest.rule_set.status == RuleSetStatus.DRAFT
            and (
                backtest.rule_set_revision != backtest.rule_set.revision
                or backtest.baseline.status != RuleSetStatus.ACTIVE
            ),
        },
    )
