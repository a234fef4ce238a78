"""The admins' scoring pages: versions, a draft's weights and thresholds on a
form, a preview of what the draft would do to levels today, and activation.
Every write goes through neglect_tool.services."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from agencies.models import Role
from chronology.vocabulary import category_name, domain_name, kind_name
from core.concurrency import StaleVersion
from core.decorators import role_required

from . import services
from .config_forms import ScoringConfigForm
from .models import ConfigStatus, ScoringConfig
from .scoring import LEVEL_NAMES
from .selectors import scoring_config_active, scoring_preview


@role_required(Role.ADMIN)
def scoring_configs(request):
    return render(
        request,
        "neglect_tool/scoring_configs.html",
        {"configs": ScoringConfig.objects.order_by("-version")},
    )


@role_required(Role.ADMIN)
@require_POST
def scoring_config_draft(request):
    draft = services.scoring_config_draft(
        actor=request.user,
        based_on=scoring_config_active(),
        note=request.POST.get("note", "").strip(),
    )
    messages.success(
        request,
        f"Draft scoring version {draft.version} made: change it, check the preview, "
        "then activate it.",
    )
    return redirect("scoring_config_detail", version=draft.version)


def _settings_in_words(config: ScoringConfig) -> list[tuple[str, list[tuple[str, str]]]]:
    def number(value) -> str:
        return f"{float(value):g}"

    return [
        (
            "Level thresholds",
            [
                (f"{LEVEL_NAMES[2]} from", number(config.early_help_from)),
                (f"{LEVEL_NAMES[3]} from", number(config.targeted_from)),
                (f"{LEVEL_NAMES[4]} from", number(config.statutory_from)),
            ],
        ),
        (
            "How entries count",
            [
                ("Half-life in days", str(config.half_life_days)),
                ("Corroboration window in days", str(config.corroboration_window_days)),
                ("Corroboration factor", number(config.corroboration_factor)),
                ("Weight of an assessment's grades", number(config.assessment_weight)),
            ],
        ),
        (
            "Severity factors",
            [(f"Severity {k}", number(v)) for k, v in sorted(config.severity_factors.items())],
        ),
        (
            "Kinds of entry that count",
            [(kind_name(k), number(v)) for k, v in config.kind_factors.items()],
        ),
        (
            "Weight of each category of concern",
            [
                (
                    category_name(category),
                    f"{number(rule.get('weight', 0))}"
                    + (f" ({domain_name(rule['domain'])})" if rule.get("domain") else ""),
                )
                for category, rule in config.category_rules.items()
            ],
        ),
    ]


@role_required(Role.ADMIN)
def scoring_config_detail(request, version):
    config = get_object_or_404(ScoringConfig, version=version)
    is_draft = config.status == ConfigStatus.DRAFT
    preview = None
    if is_draft:
        preview = scoring_preview(
            draft=config, active=scoring_config_active(), as_of=timezone.localdate()
        )
    return render(
        request,
        "neglect_tool/scoring_config_detail.html",
        {
            "config": config,
            "is_draft": is_draft,
            "groups": _settings_in_words(config),
            "preview": preview,
            "level_names": LEVEL_NAMES,
        },
    )


@role_required(Role.ADMIN)
def scoring_config_edit(request, version):
    config = get_object_or_404(ScoringConfig, version=version)
    if config.status != ConfigStatus.DRAFT and request.method != "POST":
        messages.error(
            request, "Only a draft can be changed: make a draft from the active version."
        )
        return redirect("scoring_config_detail", version=version)
    form = ScoringConfigForm(request.POST or None, config=config)
    if request.method == "POST" and form.is_valid():
        try:
            services.scoring_config_update_draft(
                actor=request.user,
                draft=config,
                expected_revision=form.cleaned_data["revision"],
                **form.changes(),
            )
        except StaleVersion:
            form.add_error(
                None,
                "Someone else changed this draft while you were editing it. Reload the page "
                "to see their changes, then make yours again.",
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Scoring version {version} saved: check the preview.")
            return redirect("scoring_config_detail", version=version)
    return render(
        request,
        "neglect_tool/scoring_config_form.html",
        {"form": form, "config": config},
        status=400 if form.errors else 200,
    )


@role_required(Role.ADMIN)
@require_POST
def scoring_config_activate(request, version):
    config = get_object_or_404(ScoringConfig, version=version, status=ConfigStatus.DRAFT)
    try:
        services.scoring_config_activate(actor=request.user, draft=config)
    except ValidationError as exc:
        for errors in exc.message_dict.values():
            for error in errors:
                messages.error(request, error)
        return redirect("scoring_config_detail", version=version)
    messages.success(
        request,
        f"Scoring version {version} is now active. Every child is scored with it at the "
        "next sweep.",
    )
    return redirect("scoring_configs")
