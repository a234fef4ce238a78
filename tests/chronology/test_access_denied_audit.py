"""A read refused by the access rule writes one access.denied audit row, and the
person refused sees the same 404 as before."""

import uuid

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from chronology.models import AuditEvent


def denied_rows():
    return list(AuditEvent.objects.filter(action="access.denied").order_by("pk"))


@pytest.fixture
def api(charlie):
    api = APIClient()
    api.force_authenticate(charlie)
    return api


@pytest.mark.parametrize(
    "url_name", ["child_detail", "child_chronology", "export_csv", "export_pdf", "export_json"]
)
def test_a_refused_page_or_export_writes_one_row_naming_user_route_and_child(
    client, charlie, child, url_name
):
    client.force_login(charlie)
    url = reverse(url_name, kwargs={"public_id": child.public_id})
    response = client.get(url)
    assert response.status_code == 404
    [row] = denied_rows()
    assert (row.actor, row.actor_agency, row.child) == (charlie, charlie.agency, child)
    assert row.details["path"] == url
    assert row.details["url_name"] == url_name
    assert row.details["method"] == "GET"
    assert row.details["asked_for"] == "child"
    assert row.details["public_id"] == str(child.public_id)


def test_a_refused_api_read_writes_one_row_and_answers_the_same_json_404(api, charlie, child):
    url = reverse("api_child_detail", kwargs={"child_id": child.public_id})
    response = api.get(url)
    missing = api.get(reverse("api_child_detail", kwargs={"child_id": uuid.uuid4()}))
    assert response.status_code == missing.status_code == 404
    assert response.json() == missing.json()
    first, second = denied_rows()
    assert (first.actor, first.child, first.details["url_name"]) == (
        charlie,
        child,
        "api_child_detail",
    )
    assert second.child is None  # no such child: the row names the route only
    assert second.details["url_name"] == "api_child_detail"


def test_a_child_that_does_not_exist_is_recorded_without_a_child(client, charlie):
    client.force_login(charlie)
    public_id = uuid.uuid4()
    assert client.get(reverse("child_detail", kwargs={"public_id": public_id})).status_code == 404
    [row] = denied_rows()
    assert row.child is None
    assert row.details["public_id"] == str(public_id)


def test_the_refused_page_is_exactly_the_page_for_a_child_that_does_not_exist(
    client, charlie, child
):
    client.force_login(charlie)
    refused = client.get(reverse("child_detail", kwargs={"public_id": child.public_id}))
    missing = client.get(reverse("child_detail", kwargs={"public_id": uuid.uuid4()}))
    assert refused.status_code == missing.status_code == 404
    assert refused.content == missing.content


def test_a_refused_write_through_a_form_is_recorded_once(client, charlie, child):
    client.force_login(charlie)
    url = reverse("entry_create", kwargs={"public_id": child.public_id})
    assert client.post(url, {"summary": "x"}).status_code == 404
    assert len(denied_rows()) == 1


@pytest.mark.parametrize(
    "url_name", ["child_detail", "child_chronology", "export_csv", "export_pdf", "api_child_detail"]
)
def test_a_permitted_read_writes_no_access_denied_row(client, alice, child, url_name):
    if url_name.startswith("api_"):
        caller = APIClient()
        caller.force_authenticate(alice)
        url = reverse(url_name, kwargs={"child_id": child.public_id})
    else:
        caller = client
        caller.force_login(alice)
        url = reverse(url_name, kwargs={"public_id": child.public_id})
    assert caller.get(url).status_code == 200
    assert denied_rows() == []


def test_a_404_that_is_not_a_refusal_writes_nothing(client, alice):
    client.force_login(alice)
    assert client.get("/no-such-page/").status_code == 404
    assert denied_rows() == []


def test_access_checks_outside_a_request_write_nothing(charlie, child):
    from django.http import Http404

    from chronology.selectors import child_get_for_user

    with pytest.raises(Http404):
        child_get_for_user(user=charlie, public_id=child.public_id)
    assert denied_rows() == []
