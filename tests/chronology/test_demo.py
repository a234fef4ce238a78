"""`manage.py load_demo`: the fictional Eastmere county, Case Q, five synthetic
families and one login per role, each login seeing only its own agency's children."""

import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http import HttpRequest

from agencies.models import Agency, Role, User
from chronology.models import AuditEvent, Child, Entry, ImportBatch, Involvement
from chronology.selectors import children_visible_to

from ..factories import UserFactory

FIXTURES = Path(__file__).resolve().parents[2] / "chronology" / "fixtures"
FAMILY_FILES = [f"family_{letter}.json" for letter in "abcde"]

CASE_Q = {"C1", "C2"}
ASHWORTH = {"EM-A1", "EM-A2"}
BRENNAN = {"EM-B1", "EM-B2", "EM-B3"}
CARVER = {"EM-C1", "EM-C2"}
DALTON = {"EM-D1"}
ELLIS = {"EM-E1"}
EVERY_CHILD = CASE_Q | ASHWORTH | BRENNAN | CARVER | DALTON | ELLIS

# Written out here, not read from the command, so that a change to who sees what
# has to be made on purpose in both places.
EXPECTED_VISIBLE = {
    "sw.jones": EVERY_CHILD,
    "mgr.okafor": EVERY_CHILD,
    "lead.patel": CASE_Q | {"EM-B1", "EM-B2", "EM-C2"},
    "lead.ahmed": {"EM-A1", "EM-D1"},
    "pc.hughes": CASE_Q | CARVER | ELLIS,
    "admin.reed": set(),
    "audit.lewis": set(),
}


def load_demo() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


@pytest.fixture
def demo(db, settings):
    """The command's output after loading the demo into an empty database."""
    settings.DEBUG = True  # the demo refuses to run without it; pytest turns it off
    return load_demo()


def printed_logins(output: str) -> dict[str, str]:
    """Username to password, read from the table the command prints."""
    logins = {}
    for line in output.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) == 5 and cells[0] != "USERNAME":
            logins[cells[0]] = cells[1]
    return logins


def events_in(file_name: str) -> list[dict]:
    path = FIXTURES / file_name if file_name == "case_q.json" else FIXTURES / "demo" / file_name
    return json.loads(path.read_text(encoding="utf-8"))["events"]


def test_load_demo_loads_case_q_and_the_five_families(demo):
    assert set(Child.objects.values_list("ref", flat=True)) == EVERY_CHILD
    entries_by_file = {
        batch.file_name: batch.entries.count() for batch in ImportBatch.objects.all()
    }
    assert entries_by_file == {
        name: len(events_in(name)) for name in ["case_q.json", *FAMILY_FILES]
    }
    assert entries_by_file["case_q.json"] == 66
    for name in FAMILY_FILES:
        assert 10 <= entries_by_file[name] <= 30, name


def test_case_q_events_land_on_the_eastmere_agencies(demo):
    # Had the demo not created its agencies first, the import would have made
    # agencies from Case Q's own generic names ("Primary school", "Police"...).
    names = dict(Agency.objects.values_list("code", "name"))
    assert names["school"] == "Saltmarsh Primary School"
    assert names["police"] == "Eastmere Constabulary"
    assert names["nspcc"] == "Children's Helpline (charity)"
    case_q = Entry.objects.filter(import_batch__file_name="case_q.json")
    assert case_q.filter(agency__code="school").count() == 22


def test_the_families_are_dated_2025_to_today_and_show_the_planned_patterns(demo):
    family_entries = Entry.objects.filter(import_batch__file_name__startswith="family_")
    dates = family_entries.values_list("event_date", flat=True)
    assert min(dates).isoformat() >= "2025-01-01"
    assert max(dates).isoformat() <= "2026-11-26"
    assert family_entries.filter(kind="assessment", scores__isnull=False).exists()
    assert family_entries.filter(kind="child_voice", child_words__isnull=False).count() >= 5
    strategy = family_entries.get(
        kind="decision", decision_type="strategy_discussion", child_rows__child__ref="EM-C2"
    )
    assert set(strategy.agencies_present.values_list("code", flat=True)) == {
        "social_care",
        "police",
        "school",
    }


def test_each_demo_user_can_log_in_with_the_printed_password(demo, client):
    logins = printed_logins(demo)
    assert set(logins) == set(EXPECTED_VISIBLE)
    assert "http://127.0.0.1:8000/" in demo
    for username, password in logins.items():
        user = User.objects.get(username=username)
        validate_password(password, user)
        # django-axes checks every sign-in against its request, so one is passed.
        assert client.login(request=HttpRequest(), username=username, password=password), username
        client.logout()


def test_there_is_one_demo_login_per_role_and_no_superuser(demo):
    users = User.objects.filter(username__in=EXPECTED_VISIBLE)
    assert {user.role for user in users} == set(Role.values)
    assert not users.filter(is_superuser=True).exists()
    admin = users.get(role=Role.ADMIN)
    assert admin.is_staff


def test_each_demo_user_sees_only_their_own_agencys_children(demo):
    # One load for every user: loading the demo is the slow part of these tests.
    visible = {
        user.username: set(children_visible_to(user=user).values_list("ref", flat=True))
        for user in User.objects.filter(username__in=EXPECTED_VISIBLE)
    }
    assert visible == EXPECTED_VISIBLE
    # Spelled out: police never worked with these families, so never see them.
    assert not visible["pc.hughes"] & (ASHWORTH | BRENNAN | DALTON)


def test_running_load_demo_twice_changes_nothing(demo):
    models = [Agency, User, Child, Entry, Involvement, ImportBatch, AuditEvent]
    before = {model.__name__: model.objects.count() for model in models}

    output = load_demo()

    assert "Demo data already loaded" in output
    assert printed_logins(output) == printed_logins(demo)
    assert {model.__name__: model.objects.count() for model in models} == before


def test_the_demo_social_worker_has_cases_allocated_by_name(demo, client):
    worker = User.objects.get(username="sw.jones")
    client.force_login(worker)
    page = client.get("/").content.decode()
    allocated = page[page.index("Allocated to you") : page.index("All children your agency")]
    assert "Mia Brennan" in allocated and "Sam Jones" in allocated
    assert "No case is allocated to you" not in page


def test_load_demo_says_how_the_manager_and_admin_set_up_two_factor(demo):
    assert "mgr.okafor" in demo and "authenticator app" in demo


def test_load_demo_prints_the_address_it_was_given(db, settings, monkeypatch):
    settings.DEBUG = True
    monkeypatch.setenv("ADDR", "0.0.0.0:8123")
    assert "Open http://0.0.0.0:8123/ and sign in" in load_demo()


def test_load_demo_refuses_to_run_without_debug(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        load_demo()
    assert not User.objects.filter(username__in=EXPECTED_VISIBLE).exists()


def test_load_demo_refuses_a_database_with_only_some_demo_users(db, settings):
    settings.DEBUG = True
    UserFactory(username="sw.jones")
    with pytest.raises(CommandError, match="Some demo users exist"):
        load_demo()
    assert not Child.objects.exists()
