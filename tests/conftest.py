"""Named people for the tests, as STYLE.md asks.

- alice: a social worker (practitioner) in children's social care (agency A);
- bob: the safeguarding lead of a primary school (agency B);
- charlie: an outsider, a practitioner in a housing agency (agency C) with no involvement;
- mallory: a manager in social care;
- ada: an administrator; auditor: an auditor in social care.

`child` is a child that social care and the school are both involved with.
"""

import datetime
import uuid
from importlib import import_module

import pgtrigger
import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.test import TransactionTestCase
from django.utils import timezone

from agencies.models import AgencyKind, Role
from chronology import services
from chronology.models import Involvement
from chronology.vocabulary import EntryKind
from escalation.services import child_evaluate
from safeguarding import db_roles

from .factories import AgencyFactory, UserFactory
from .private_redis import private_redis, private_redis_running  # noqa: F401 - fixtures

# --- Two database roles (docs/database-roles.md) -------------------------------------
# The tests connect as the app's role (DATABASE_URL). The test database is created and
# migrated by the owner (DATABASE_OWNER_URL), and the flush after each committed test
# runs as the owner too, with the append-only triggers set aside for it: the app's
# role may not TRUNCATE, and the append-only tables refuse TRUNCATE to everyone.
# With one URL (no DATABASE_OWNER_URL) all of this is the same single role.


@pytest.fixture(scope="session")
def _test_database_made_by_the_owner():
    with db_roles.as_owner():
        yield


@pytest.fixture(scope="session")
def django_db_setup(_test_database_made_by_the_owner, django_db_setup):
    with db_roles.connection_as("app"):
        yield


_flush_after_committed_test = TransactionTestCase._fixture_teardown


def _flush_as_the_owner(self):
    with db_roles.as_owner(), pgtrigger.ignore():
        _flush_after_committed_test(self)


TransactionTestCase._fixture_teardown = _flush_as_the_owner


@pytest.fixture(autouse=True)
def _require_postgresql(db):
    # The suite runs on the database of record, never on a stand-in.
    assert connection.vendor == "postgresql", "Set DATABASE_URL: tests run on PostgreSQL"


# The data migrations that load the shipped configuration, each safe to run again.
CONFIGURATION_LOADERS = [
    ("neglect_tool.migrations.0002_default_domains_and_scoring", "load_defaults"),
    ("escalation.migrations.0002_default_rule_set", "load_defaults"),
    ("escalation.migrations.0009_default_rule_set_version_2", "load_version_2"),
    ("chronology.migrations.0007_default_retention_classes", "load"),
]


def configuration_defaults_load() -> None:
    for module, loader in CONFIGURATION_LOADERS:
        getattr(import_module(module), loader)(django_apps, None)


@pytest.fixture(autouse=True)
def _configuration_defaults(_require_postgresql):
    """Tests that commit (browser, workers, faults) end by emptying every table,
    the migrations' configuration too; put it back before each test."""
    configuration_defaults_load()


@pytest.fixture(autouse=True)
def _second_factor_not_required(settings):
    # client.force_login passes no second factor, so outside tests/security (whose
    # conftest overrides this fixture) no role needs one. tests/security tests the rule.
    settings.OTP_REQUIRED_ROLES = frozenset()


@pytest.fixture(autouse=True)
def _api_call_counts_of_its_own(settings):
    # The API throttles count calls in the cache (Redis), which outlives a test; a
    # key prefix of the test's own starts every test at zero calls.
    settings.CACHES = {
        name: {**config, "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
        for name, config in settings.CACHES.items()
    }


@pytest.fixture
def social_care(db):
    return AgencyFactory(code="sc", name="Children's social care", kind=AgencyKind.SOCIAL_CARE)


@pytest.fixture
def school(db):
    return AgencyFactory(code="school", name="Primary school", kind=AgencyKind.EDUCATION)


@pytest.fixture
def housing(db):
    return AgencyFactory(code="housing", name="District housing", kind=AgencyKind.HOUSING)


@pytest.fixture
def alice(social_care):
    return UserFactory(username="alice", agency=social_care, role=Role.PRACTITIONER)


@pytest.fixture
def bob(school):
    return UserFactory(username="bob", agency=school, role=Role.SAFEGUARDING_LEAD)


@pytest.fixture
def charlie(housing):
    return UserFactory(username="charlie", agency=housing, role=Role.PRACTITIONER)


@pytest.fixture
def mallory(social_care):
    return UserFactory(username="mallory", agency=social_care, role=Role.MANAGER)


@pytest.fixture
def ada(social_care):
    return UserFactory(username="ada", agency=social_care, role=Role.ADMIN, is_staff=True)


@pytest.fixture
def auditor(social_care):
    return UserFactory(username="audrey", agency=social_care, role=Role.AUDITOR)


@pytest.fixture
def child(alice, school):
    """A child recorded by social care, with the school involved too."""
    child = services.child_create(actor=alice, given_names="Robin", family_name="Synthetic")
    services.involvement_grant(
        actor=alice, child=child, agency=school, reason="Pupil at the school"
    )
    return child


def record_neglect_pattern(*, alice, bob, child):
    """Four neglect concerns from two agencies in the last 40 days: the default
    frequency rule's pattern. Involvements are back-dated to cover them. Returns
    the entries, oldest first."""
    Involvement.objects.filter(child=child).update(started_on=datetime.date(2025, 1, 1))
    today = timezone.localdate()
    return [
        services.entry_record(
            actor=actor,
            children=[child],
            kind=EntryKind.CONCERN,
            categories=["neglect.nutrition"],
            event_date=today - datetime.timedelta(days=days_ago),
            summary="No breakfast again",
        )
        for days_ago, actor in [(40, bob), (30, alice), (20, bob), (10, bob)]
    ]


@pytest.fixture
def alert(alice, bob, child):
    """The open frequency alert that `record_neglect_pattern` raises for `child`."""
    record_neglect_pattern(alice=alice, bob=bob, child=child)
    return child_evaluate(child_id=child.pk).raised[0]
