"""Every URL pattern and API route, taken from the resolver, is checked for who
may reach it. A route missing from ROUTES fails the first test, so a new route
cannot escape: add it here with its rule."""

import pytest
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from agencies.services import api_token_create
from chronology import services
from chronology.imports import import_job_create
from chronology.vocabulary import EntryKind
from escalation import services as escalation
from escalation.backtest import backtest_start
from escalation.models import RuleSet
from neglect_tool.models import ScoringConfig
from neglect_tool.services import scoring_config_draft
from tests.conftest import record_neglect_pattern
from tests.factories import UserFactory

# name: (argument kind, HTTP method, who is refused and how)
#   argument kind: what the URL's id names (None for no id)
#   "outsider": a practitioner of an uninvolved agency gets 404
#   "role": a role that does not use it gets 403; "public": open to anyone
ROUTES = {
    "healthz": (None, "get", "public"),
    "login": (None, "get", "public"),
    "logout": (None, "post", "public"),
    "otp_verify": (None, "get", "signed-in"),
    "otp_setup": (None, "get", "signed-in"),
    "home": (None, "get", "signed-in"),
    "account_api_tokens": (None, "get", "signed-in"),
    "account_api_token_revoke": ("api_token", "post", "outsider"),
    "break_glass": (None, "get", "role"),
    "child_list": (None, "get", "signed-in"),
    "child_search": (None, "get", "signed-in"),
    "concern_create": (None, "get", "signed-in"),
    "notification_inbox": (None, "get", "signed-in"),
    "import_start": (None, "get", "role"),
    "import_detail": ("import_job", "get", "role"),
    "import_confirm": ("import_job", "post", "role"),
    "notification_acknowledge": ("notification", "post", "outsider"),
    "child_detail": ("child", "get", "outsider"),
    "child_chronology": ("child", "get", "outsider"),
    "child_score": ("child", "get", "outsider"),
    "entry_create": ("child", "get", "outsider"),
    "visit_create": ("child", "get", "outsider"),
    "decision_create": ("child", "get", "outsider"),
    "handover": ("child", "get", "outsider"),
    "export_options": ("child", "get", "outsider"),
    "export_pdf": ("child", "get", "outsider"),
    "export_csv": ("child", "get", "outsider"),
    "export_json": ("child", "get", "outsider"),
    "child_access": ("child", "get", "outsider"),
    "neglect_map": ("child", "get", "outsider"),
    "assessment_create": ("child", "get", "outsider"),
    "adult_create": ("child", "get", "outsider"),
    "adult_flag": ("child", "get", "outsider"),
    "entry_correct": ("child_entry", "get", "outsider"),
    "household_map": ("child", "get", "outsider"),
    "disagreement_create": ("child", "get", "outsider"),
    "escalation_dashboard": (None, "get", "role"),
    "alert_detail": ("alert", "get", "outsider"),
    "alert_acknowledge": ("alert", "post", "outsider"),
    "alert_resolve": ("alert", "post", "role"),
    "alert_assign": ("alert", "post", "role"),
    "rule_sets": (None, "get", "role"),
    "rule_set_draft": (None, "post", "role"),
    "rule_set_backtest": ("version", "post", "role"),
    "rule_set_activate": ("version", "post", "role"),
    "rule_set_detail": ("version", "get", "role"),
    "rule_set_settings": ("version", "get", "role"),
    "rule_edit": ("rule", "get", "role"),
    "scoring_configs": (None, "get", "role"),
    "scoring_config_draft": (None, "post", "role"),
    "scoring_config_detail": ("scoring", "get", "role"),
    "scoring_config_edit": ("scoring", "get", "role"),
    "scoring_config_activate": ("scoring", "post", "role"),
    "backtest_detail": ("backtest", "get", "role"),
    "audit_home": (None, "get", "role"),
    "audit_child": ("child", "get", "role"),
    "audit_user": ("user", "get", "role"),
    "retention_review": (None, "get", "role"),
    "api_schema": (None, "get", "signed-in"),
    "api_docs": (None, "get", "signed-in"),
    "api_child_list": (None, "get", "signed-in"),
    "api_child_detail": ("child", "get", "outsider"),
    "api_entry_list": ("child", "get", "outsider"),
    "api_decision_create": ("child", "post", "outsider"),
    "api_child_score": ("child", "get", "outsider"),
    "api_entry_amend": ("entry", "post", "outsider"),
    "api_import": (None, "post", "role"),
    "api_alert_list": (None, "get", "signed-in"),
    "api_alert_detail": ("alert", "get", "outsider"),
    "api_alert_acknowledge": ("alert", "post", "outsider"),
    "api_alert_resolve": ("alert", "post", "outsider"),
}


def named_routes():
    """(name, pattern) of every route, the admin site's own aside."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if str(pattern.pattern) == "admin/":
                    continue
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield pattern.name, prefix + str(pattern.pattern)

    return list(walk(get_resolver().url_patterns))


def test_every_route_has_an_access_rule():
    routes = named_routes()
    assert all(name for name, _ in routes), "every route needs a name to be checked"
    missing = sorted(name for name, _ in routes if name not in ROUTES)
    assert not missing, f"routes with no access rule in ROUTES: {missing}"


@pytest.fixture
def world(alice, bob, mallory, child):
    """One of each thing a URL can name, about `child`, which charlie's agency is not
    involved with."""
    entry = record_neglect_pattern(alice=alice, bob=bob, child=child)[-1]
    today = timezone.localdate()
    notice = services.entry_record(
        actor=alice,
        children=[child],
        kind=EntryKind.NOTIFICATION,
        categories=["domestic_abuse"],
        event_date=today,
        summary="Notice",
    )
    alert = escalation.child_evaluate(child_id=child.pk).raised[0]
    admin = UserFactory(agency=alice.agency, role="admin", is_staff=True)
    draft = escalation.rule_set_draft(actor=admin, based_on=RuleSet.objects.get(version=1))
    run = backtest_start(actor=admin, rule_set=draft)
    scoring_draft = scoring_config_draft(actor=admin, based_on=ScoringConfig.objects.get(version=1))
    api_token, _ = api_token_create(user=alice, name="MIS", second_factor_verified=False)
    import_job = import_job_create(actor=mallory, raw=b"date\n", file_name="world.csv")
    return {
        "child": {"public_id": child.public_id, "child_id": child.public_id},
        "alert": {"public_id": alert.public_id, "alert_id": alert.public_id},
        "entry": {"entry_id": entry.public_id},
        "child_entry": {"public_id": child.public_id, "entry_id": entry.public_id},
        "notification": {"public_id": notice.public_id},
        "user": {"public_id": alice.public_id},
        "version": {"version": draft.version},
        "rule": {"version": draft.version, "code": "turnover"},
        "scoring": {"version": scoring_draft.version},
        "backtest": {"public_id": run.public_id},
        "api_token": {"public_id": api_token.public_id},
        "import_job": {"public_id": import_job.public_id},
    }


def url_for(name, kind, world):
    pattern = dict(named_routes())[name]
    kwargs = {
        key: value for key, value in (world[kind] if kind else {}).items() if f":{key}>" in pattern
    }
    return reverse(name, kwargs=kwargs)


def call(client, method, url):
    return client.post(url, {}) if method == "post" else client.get(url)


def test_anonymous_visitors_get_the_sign_in_page_or_401(client, world):
    wrong = []
    for name in sorted(n for n, rule in ROUTES.items() if rule[2] != "public"):
        kind, method, _ = ROUTES[name]
        url = url_for(name, kind, world)
        if name.startswith("api_"):
            if call(APIClient(), method, url).status_code != 401:
                wrong.append(url)
        else:
            response = call(client, method, url)
            if response.status_code != 302 or not response.url.startswith(reverse("login")):
                wrong.append(url)
    assert not wrong


def test_a_user_of_an_uninvolved_agency_gets_404(client, charlie, world):
    api = APIClient()
    api.force_authenticate(charlie)
    client.force_login(charlie)
    wrong = []
    for name in sorted(n for n, rule in ROUTES.items() if rule[2] == "outsider"):
        kind, method, _ = ROUTES[name]
        url = url_for(name, kind, world)
        status = call(api if name.startswith("api_") else client, method, url).status_code
        if status != 404:
            wrong.append((url, status))
    assert not wrong


# For each role-gated route, a signed-in role that does not use it.
WRONG_ROLE = {
    "escalation_dashboard": "alice",
    "alert_resolve": "bob",
    "alert_assign": "bob",
    "rule_sets": "mallory",
    "rule_set_draft": "mallory",
    "rule_set_backtest": "mallory",
    "rule_set_activate": "mallory",
    "rule_set_detail": "mallory",
    "rule_set_settings": "mallory",
    "rule_edit": "mallory",
    "scoring_configs": "mallory",
    "scoring_config_draft": "mallory",
    "scoring_config_detail": "mallory",
    "scoring_config_edit": "mallory",
    "scoring_config_activate": "mallory",
    "backtest_detail": "mallory",
    "audit_home": "alice",
    "audit_child": "alice",
    "audit_user": "alice",
    "retention_review": "mallory",
    "api_import": "alice",
    "import_start": "alice",
    "import_detail": "alice",
    "import_confirm": "alice",
    "break_glass": "auditor",
}


def test_every_role_gated_route_names_a_wrong_role():
    assert set(WRONG_ROLE) == {n for n, rule in ROUTES.items() if rule[2] == "role"}


def test_the_wrong_role_gets_403(client, request, world):
    wrong = []
    for name, username in sorted(WRONG_ROLE.items()):
        kind, method, _ = ROUTES[name]
        user = request.getfixturevalue(username)
        url = url_for(name, kind, world)
        if name.startswith("api_"):
            caller = APIClient()
            caller.force_authenticate(user)
        else:
            caller = client
            caller.force_login(user)
        status = call(caller, method, url).status_code
        if status != 403:
            wrong.append((url, username, status))
    assert not wrong


# Outsider routes whose object is not about a child: the row names no child.
NOT_ABOUT_A_CHILD = {"account_api_token_revoke"}


def test_every_refused_read_writes_one_access_denied_row_naming_user_route_and_child(
    client, charlie, child, world
):
    """Each 404 an outsider gets is audited once, with the route asked for and the
    child the URL's object is about (they all are about `child`)."""
    from chronology.models import AuditEvent

    api = APIClient()
    api.force_authenticate(charlie)
    client.force_login(charlie)
    wrong = []
    for name in sorted(n for n, rule in ROUTES.items() if rule[2] == "outsider"):
        kind, method, _ = ROUTES[name]
        url = url_for(name, kind, world)
        about = None if name in NOT_ABOUT_A_CHILD else child.pk
        before = AuditEvent.objects.count()
        call(api if name.startswith("api_") else client, method, url)
        rows = list(AuditEvent.objects.order_by("pk")[before:])
        denied = [row for row in rows if row.action == "access.denied"]
        if (
            len(denied) != 1
            or denied[0].actor_id != charlie.pk
            or denied[0].child_id != about
            or denied[0].details["url_name"] != name
            or denied[0].details["path"] != url
        ):
            wrong.append((url, [(r.action, r.child_id, r.details) for r in denied]))
    assert not wrong
