"""schemathesis fuzzes every operation of the OpenAPI schema as a low-privilege
user: no server error, and no byte of another agency's child ever comes back."""

import json

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, given, settings

from chronology import services
from chronology.vocabulary import EntryKind
from tests.factories import api_key_for

CANARY = "CANARY-c0ffee-1234"


@pytest.fixture(scope="session")
def api_schema():
    """Built when the fuzz test first runs, not when this module is imported: building
    it is most of the time collecting the suite would otherwise take, and a run that
    leaves this test out does not pay for it."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    raw = json.loads(OpenApiJsonRenderer().render(document))
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = get_wsgi_application()
    return schema


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    # Served through WSGI directly, Django would close the database connection at
    # the end of each request, and with it the test's transaction. Django's own
    # test client disconnects these signals for the same reason.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def low_privilege_token(bob, charlie, child):
    """bob, a school's safeguarding lead, sees `child`; charlie's agency has a child
    full of canary text that bob must never see."""
    secret = services.child_create(actor=charlie, given_names=CANARY, family_name=CANARY)
    services.entry_record(
        actor=charlie,
        children=[secret],
        kind=EntryKind.CHILD_VOICE,
        categories=["sexual_abuse"],
        event_date=child.created_at.date(),
        summary=CANARY,
        child_words=CANARY,
    )
    services.entry_record(
        actor=bob,
        children=[child],
        kind=EntryKind.CONCERN,
        categories=["neglect.nutrition"],
        event_date=child.created_at.date(),
        summary="Visible concern",
    )
    return api_key_for(bob)


def test_no_server_error_and_no_other_agencys_data(api_schema, low_privilege_token):
    # Every operation in turn, inside one test: schemathesis's own lazy loading
    # (schemathesis.pytest.from_fixture) does not work with pytest 9, and its eager
    # parametrize() would need the schema while the suite is being collected.
    headers = {"Authorization": f"Token {low_privilege_token}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert operations

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def no_server_error_nor_canary(case):
            response = case.call(headers=headers)
            assert response.status_code < 500, (case.method, case.path, response.text[:500])
            assert CANARY not in response.text, (case.method, case.path)

        no_server_error_nor_canary()
