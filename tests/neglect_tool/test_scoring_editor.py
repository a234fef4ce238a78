"""The admins' scoring pages: a draft's weights and thresholds on a form, checked
and audited by neglect_tool.services, a preview of the levels it would give, and
activation."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from chronology.models import AuditEvent
from neglect_tool import services
from neglect_tool.models import ScoringConfig
from tests.conftest import record_neglect_pattern


@pytest.fixture
def draft(ada):
    return services.scoring_config_draft(
        actor=ada, based_on=ScoringConfig.objects.get(status="active"), note="Try"
    )


def form_of(client, url) -> dict:
    """The form's fields as the page gives them (values as the admin would send)."""
    page = client.get(url)
    form = page.context["form"]
    data = {}
    for field in form:
        value = form.initial.get(field.name, field.initial)
        data[field.html_name] = "" if value is None else str(value)
    return data


def test_a_threshold_out_of_order_names_the_field_and_saves_nothing(client, ada, draft):
    client.force_login(ada)
    url = reverse("scoring_config_edit", args=[draft.version])
    data = form_of(client, url)
    data.update({"targeted_from": "1", "severity_3": "eleven", "half_life_days": "0"})
    response = client.post(url, data)
    html = response.content.decode()
    assert response.status_code == 400 and "There is a problem" in html
    assert "Thresholds must rise: early help, then targeted, then statutory." in html
    assert "Severity 3 factor must be a number." in html
    assert "Half-life in days must be between 1 and 3650." in html
    before = ScoringConfig.objects.get(pk=draft.pk)
    assert (before.targeted_from, before.revision) == (draft.targeted_from, draft.revision)
    assert not AuditEvent.objects.filter(action="scoring_config.update").exists()


def test_a_valid_change_is_saved_audited_previewed_and_activated(client, ada, alice, bob, child):
    record_neglect_pattern(alice=alice, bob=bob, child=child)
    from escalation.services import children_evaluate

    children_evaluate([child.pk])
    client.force_login(ada)
    response = client.post(reverse("scoring_config_draft"), {"note": "Lower thresholds"})
    draft = ScoringConfig.objects.get(status="draft")
    assert response.url == reverse("scoring_config_detail", args=[draft.version])
    url = reverse("scoring_config_edit", args=[draft.version])
    data = form_of(client, url)
    data.update(
        {
            "early_help_from": "0.5",
            "targeted_from": "1",
            "statutory_from": "1.5",
            "weight_neglect__nutrition": "2",
            "kind_note": "",
        }
    )
    assert client.post(url, data).status_code == 302
    draft.refresh_from_db()
    assert draft.statutory_from == Decimal("1.5")
    assert draft.category_rules["neglect.nutrition"]["weight"] == 2.0
    assert "note" not in draft.kind_factors
    row = AuditEvent.objects.get(action="scoring_config.update")
    assert row.details["before"]["statutory_from"] == "12.000"
    assert row.details["after"]["statutory_from"] == "1.5"
    page = client.get(reverse("scoring_config_detail", args=[draft.version])).content.decode()
    assert "What this draft would do today" in page and "Robin" not in page
    assert "1 child goes up a level or more" in page
    client.post(reverse("scoring_config_activate", args=[draft.version]))
    draft.refresh_from_db()
    assert draft.status == "active"
    # Every watched child is made due, to be scored with the new version.
    assert child.watch.__class__.objects.get(child=child).next_check_at is not None


def test_an_active_version_cannot_be_changed_and_a_non_admin_gets_403(client, ada, mallory):
    active = ScoringConfig.objects.get(status="active")
    client.force_login(ada)
    url = reverse("scoring_config_edit", args=[active.version])
    assert client.get(url).status_code == 302
    data = {"revision": active.revision, "half_life_days": "10"}
    client.post(url, data)
    active.refresh_from_db()
    assert active.half_life_days != 10
    client.force_login(mallory)
    assert client.get(reverse("scoring_configs")).status_code == 403
    assert client.get(url).status_code == 403


def test_the_preview_counts_levels_without_naming_anyone(ada, draft, alice, bob, child):
    from neglect_tool.selectors import scoring_config_active, scoring_preview

    record_neglect_pattern(alice=alice, bob=bob, child=child)
    preview = scoring_preview(
        draft=draft, active=scoring_config_active(), as_of=timezone.localdate()
    )
    assert preview["children"] == 1 and preview["up"] == preview["down"] == 0
    assert sum(active for _, active, _ in preview["levels"]) == 1
