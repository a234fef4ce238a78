"""API tokens (agencies.ApiToken): stored only as a digest, shown once to the user
who made it, never shown or made by an administrator, revocable, audited, expiring,
and for managers and admins only after the second factor."""

import datetime
import hashlib
import re

import pytest
import time_machine
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from agencies import services
from agencies.models import ApiToken
from chronology.models import AuditEvent
from tests.factories import api_key_for

from .conftest import code_for, confirmed_device, sign_in

PAGE = reverse("account_api_tokens")
KEY_ON_PAGE = re.compile(r'<code id="api-token-key">([^<]+)</code>')


def make_token_on_page(client, name="School MIS"):
    response = client.post(PAGE, {"name": name})
    assert response.status_code == 200, response.content.decode()
    return KEY_ON_PAGE.search(response.content.decode()).group(1)


def signed_in_with_second_factor(client, user):
    device = confirmed_device(user)
    sign_in(client, user.username)
    response = client.post(reverse("otp_verify"), {"code": code_for(device), "next": "/"})
    assert response["Location"] == "/"


def api_status(client, key) -> int:
    return client.get(reverse("api_child_list"), HTTP_AUTHORIZATION=f"Token {key}").status_code


def tables_containing(text: str) -> list[str]:
    """Every table in the database with a row whose text form contains `text`."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            # Table names come from the database itself, quoted; the text is a parameter.
            quoted = connection.ops.quote_name(table)
            sql = f"SELECT 1 FROM {quoted} AS t WHERE strpos(t::text, %s) > 0"  # noqa: S608
            cursor.execute(sql, [text])
            if cursor.fetchone():
                found.append(table)
    return found


@pytest.fixture
def admin_user(ada):
    # An administrator as the admin site knows them: staff, in the configuration group.
    ada.groups.add(services.configuration_group())
    return ada


def test_a_token_is_stored_only_as_its_digest_and_the_key_is_nowhere_in_the_database(client, alice):
    client.force_login(alice)
    key = make_token_on_page(client)

    token = ApiToken.objects.get(user=alice)
    assert token.digest == hashlib.sha256(key.encode()).hexdigest()
    assert token.digest != key
    assert key.startswith(token.prefix) and len(token.prefix) < len(key) // 4
    assert tables_containing(key) == []
    assert api_status(client, key) == 200


def test_the_key_is_shown_once_and_never_again(client, alice):
    client.force_login(alice)
    key = make_token_on_page(client)

    listing = client.get(PAGE)
    assert listing.status_code == 200
    page = listing.content.decode()
    assert key not in page
    assert "School MIS" in page and ApiToken.objects.get().prefix in page
    assert all(key not in str(value) for value in client.session.values())


def test_making_and_revoking_are_audited_and_a_revoked_token_stops_working(client, alice):
    client.force_login(alice)
    key = make_token_on_page(client)
    token = ApiToken.objects.get()
    made = AuditEvent.objects.get(action="api_token.create")
    assert (made.actor, made.object_id) == (alice, str(token.public_id))
    assert key not in str(made.details)

    response = client.post(reverse("account_api_token_revoke", args=[token.public_id]))

    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == alice
    revoked = AuditEvent.objects.get(action="api_token.revoke")
    assert (revoked.actor, revoked.object_id) == (alice, str(token.public_id))
    assert api_status(client, key) == 401
    # Revoking again changes nothing and writes nothing.
    services.api_token_revoke(actor=alice, token=token)
    assert AuditEvent.objects.filter(action="api_token.revoke").count() == 1


def test_nobody_can_revoke_or_list_another_users_token(client, alice, bob):
    key = api_key_for(alice)
    token = ApiToken.objects.get(user=alice)
    client.force_login(bob)

    assert (
        client.post(reverse("account_api_token_revoke", args=[token.public_id])).status_code == 404
    )
    assert token.prefix not in client.get(PAGE).content.decode()
    with pytest.raises(PermissionDenied):
        services.api_token_revoke(actor=bob, token=token)
    assert api_status(client, key) == 200


def test_an_expired_token_is_refused(client, alice, settings):
    settings.API_TOKEN_TTL_DAYS = 30
    key = api_key_for(alice)
    assert api_status(client, key) == 200
    with time_machine.travel(timezone.now() + datetime.timedelta(days=29, hours=23)):
        assert api_status(client, key) == 200
    with time_machine.travel(timezone.now() + datetime.timedelta(days=30, minutes=1)):
        response = client.get(reverse("api_child_list"), HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or expired token."}


def test_the_lifetime_is_a_setting(alice, settings):
    settings.API_TOKEN_TTL_DAYS = 7
    api_key_for(alice)
    token = ApiToken.objects.get()
    assert token.expires_at - token.created_at == pytest.approx(
        datetime.timedelta(days=7), abs=datetime.timedelta(seconds=5)
    )


def test_an_unknown_or_empty_key_is_refused(client, alice):
    assert api_status(client, "not-a-real-key") == 401
    assert api_status(client, "") == 401


def test_use_is_recorded_at_most_once_a_minute(client, alice):
    key = api_key_for(alice)
    assert api_status(client, key) == 200
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    assert api_status(client, key) == 200
    assert ApiToken.objects.get().last_used_at == first


def test_a_manager_without_the_second_factor_cannot_make_a_token(client, mallory, settings):
    # Even where the second factor is not required to sign in, a manager's token needs it.
    settings.OTP_REQUIRED_ROLES = frozenset()
    client.force_login(mallory)

    page = client.get(PAGE).content.decode()
    assert "needs two-factor authentication" in page
    response = client.post(PAGE, {"name": "Case system"})

    assert response.status_code == 403
    assert not ApiToken.objects.exists()
    assert not AuditEvent.objects.filter(action="api_token.create").exists()
    with pytest.raises(PermissionDenied):
        services.api_token_create(user=mallory, name="x", second_factor_verified=False)


def test_a_manager_who_passed_the_second_factor_can(client, mallory):
    signed_in_with_second_factor(client, mallory)
    key = make_token_on_page(client, name="Case system")
    assert ApiToken.objects.get(user=mallory).digest == hashlib.sha256(key.encode()).hexdigest()


def test_no_admin_page_shows_a_key_or_digest_and_the_admin_cannot_add_one(
    client, alice, admin_user
):
    key = api_key_for(alice)
    token = ApiToken.objects.get()
    signed_in_with_second_factor(client, admin_user)

    changelist = client.get(reverse("admin:agencies_apitoken_changelist"))
    assert changelist.status_code == 200
    pages = [changelist.content.decode()]
    assert token.prefix in pages[0] and "alice" in pages[0]
    for url in [
        reverse("admin:index"),
        reverse("admin:agencies_user_change", args=[alice.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        pages.append(response.content.decode())
    assert all(key not in page and token.digest not in page for page in pages)
    assert "/admin/agencies/apitoken/add/" not in pages[0]

    assert client.get(reverse("admin:agencies_apitoken_add")).status_code == 403
    add = client.post(reverse("admin:agencies_apitoken_add"), {"user": alice.pk})
    assert add.status_code == 403
    change = client.get(reverse("admin:agencies_apitoken_change", args=[token.pk]))
    assert change.status_code in (302, 403, 404)
    assert key not in change.content.decode() and token.digest not in change.content.decode()
    assert ApiToken.objects.count() == 1
    # DRF's plain-text token admin is gone, with its app and its table.
    assert not apps.is_installed("rest_framework.authtoken")
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 404
    assert "authtoken_token" not in connection.introspection.table_names()


def test_an_admin_revokes_a_token_from_the_list_audited_as_themselves(client, alice, admin_user):
    key = api_key_for(alice)
    token = ApiToken.objects.get()
    signed_in_with_second_factor(client, admin_user)

    response = client.post(
        reverse("admin:agencies_apitoken_changelist"),
        {"action": "revoke_tokens", "_selected_action": [token.pk]},
    )

    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_by == admin_user
    row = AuditEvent.objects.get(action="api_token.revoke")
    assert row.actor == admin_user and row.details["user"] == "alice"
    assert api_status(client, key) == 401
