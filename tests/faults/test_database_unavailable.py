"""A lost database connection is a clean 503, for the API and for pages alike
(safeguarding.db_errors, safeguarding.api). The real thing, PostgreSQL restarted
under a served app, is test_postgres_restart.py; here the fault is raised where a
query would have raised it, with details in its message that must not reach the
client."""

import json
import logging

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from chronology import apis, services
from chronology.models import Entry
from safeguarding import case_views, security
from safeguarding.db_errors import DETAIL, RETRY_AFTER_SECONDS
from tests.factories import api_key_for

pytestmark = pytest.mark.faults

# What psycopg2 says when PostgreSQL goes away mid-query, plus a child's name and a
# table name: none of it may appear in a response.
FAULT = (
    "terminating connection due to administrator command\nserver closed the connection "
    "unexpectedly\nDETAIL: SELECT ... FROM \"chronology_child\" WHERE family_name = 'Synthetic'"
)
LEAKS = ["Traceback", "terminating", "chronology_child", "Synthetic", "Robin", "psycopg"]


def raises(error_class):
    def fail(*args, **kwargs):
        raise error_class(FAULT)

    return fail


def assert_clean(response):
    text = response.content.decode()
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Cache-Control"] == "no-store"
    for leak in LEAKS + [OperationalError.__name__, InterfaceError.__name__]:
        assert leak not in text, leak
    return text


def assert_clean_json(response):
    text = assert_clean(response)
    assert response["Content-Type"] == "application/json"
    assert json.loads(text) == {"detail": DETAIL}


def assert_clean_page(response):
    text = assert_clean(response)
    assert response["Content-Type"].startswith("text/html")
    assert "Sorry, the service is unavailable" in text
    # Rendered without the request: no user, no menu, no sign-out form.
    assert "alice" not in text and "Sign out" not in text


@pytest.fixture
def api(alice):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(alice)}")
    return client


@pytest.mark.parametrize("error_class", [OperationalError, InterfaceError])
def test_an_api_write_that_loses_the_database_is_a_clean_503(
    api, child, monkeypatch, caplog, error_class
):
    monkeypatch.setattr(services, "entry_record", raises(error_class))
    with caplog.at_level(logging.WARNING, logger="safeguarding.db_errors"):
        response = api.post(
            reverse("api_entry_list", args=[child.public_id]),
            {"kind": "concern", "event_date": "2025-01-02", "summary": "Bruise"},
            format="json",
        )
    assert_clean_json(response)
    # The fault is in the server's log, with the request it broke.
    (record,) = [r for r in caplog.records if r.name == "safeguarding.db_errors"]
    assert record.levelno == logging.WARNING and "POST" in record.getMessage()
    assert record.exc_info[0] is error_class
    assert not Entry.objects.exists()


def test_an_api_read_that_loses_the_database_is_a_clean_503(api, child, monkeypatch):
    monkeypatch.setattr(apis, "child_get_for_user", raises(OperationalError))
    assert_clean_json(api.get(reverse("api_child_detail", args=[child.public_id])))


def test_the_browsable_api_answers_a_lost_database_with_the_same_json(api, child, monkeypatch):
    monkeypatch.setattr(apis, "child_get_for_user", raises(OperationalError))
    response = api.get(reverse("api_child_detail", args=[child.public_id]), HTTP_ACCEPT="text/html")
    text = response.content.decode()
    assert response.status_code == 503
    assert DETAIL in text
    # (The page's stylesheet names pygments' "Generic.Traceback" style: not a traceback.)
    for leak in ["Traceback (most recent call last)", "terminating", "chronology_child"]:
        assert leak not in text, leak


@pytest.mark.parametrize("error_class", [OperationalError, InterfaceError])
def test_a_page_that_loses_the_database_is_the_503_page(
    client, alice, child, monkeypatch, error_class
):
    client.force_login(alice)
    monkeypatch.setattr(case_views, "child_get_for_user", raises(error_class))
    response = client.get(reverse("child_detail", args=[child.public_id]))
    assert_clean_page(response)
    # It passed the middlewares inside ours, so it has their headers too.
    assert response["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in response


def test_a_middleware_that_loses_the_database_gives_the_503_page(alice, child, monkeypatch):
    """SessionLimitsMiddleware queries before any view runs; Django makes what it
    raises a 500, which becomes the 503."""
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    monkeypatch.setattr(security.SessionLimitsMiddleware, "_check", raises(OperationalError))
    response = client.get(reverse("child_detail", args=[child.public_id]))
    assert_clean_page(response)
    assert response["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in response
    assert response["X-Request-ID"]


def test_a_session_api_call_that_loses_the_database_in_a_middleware_is_json(
    alice, child, monkeypatch
):
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    monkeypatch.setattr(security.SessionLimitsMiddleware, "_check", raises(OperationalError))
    assert_clean_json(client.get(reverse("api_child_detail", args=[child.public_id])))


def test_other_errors_are_still_a_500(alice, child, monkeypatch):
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    monkeypatch.setattr(case_views, "child_get_for_user", raises(RuntimeError))
    response = client.get(reverse("child_detail", args=[child.public_id]))
    assert response.status_code == 500
    assert "Retry-After" not in response


def test_the_503_page_renders_without_the_database(django_assert_num_queries):
    from safeguarding.db_errors import unavailable_response

    class Request:
        path_info = "/children/"

    with django_assert_num_queries(0):
        response = unavailable_response(Request())
    assert response.status_code == 503
