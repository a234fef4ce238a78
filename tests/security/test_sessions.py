"""Sessions: 30 minutes idle, 12 hours at most; deactivating a user ends their sessions."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from agencies import services
from agencies.models import UserSession
from chronology.models import AuditEvent
from tests.factories import api_key_for

from .conftest import sign_in

START = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=datetime.UTC)


def signed_out(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_session_ends_after_thirty_minutes_without_a_request(client, alice):
    with time_machine.travel(START, tick=False) as clock:
        sign_in(client, "alice")
        assert client.get(reverse("home")).status_code == 200
        clock.shift(datetime.timedelta(minutes=29))
        assert client.get(reverse("home")).status_code == 200
        # Activity moves the idle clock on: another 29 minutes is still fine.
        clock.shift(datetime.timedelta(minutes=29))
        assert client.get(reverse("home")).status_code == 200
        clock.shift(datetime.timedelta(minutes=31))
        assert signed_out(client.get(reverse("home")))
        # Signed out for good, not just for one request.
        assert signed_out(client.get(reverse("home")))


def test_a_session_ends_twelve_hours_after_sign_in_however_active(client, alice):
    with time_machine.travel(START, tick=False) as clock:
        sign_in(client, "alice")
        for _ in range(12 * 3):
            assert client.get(reverse("home")).status_code == 200
            clock.shift(datetime.timedelta(minutes=20))
        # 12 hours after sign-in, the last request was 20 minutes ago.
        clock.shift(datetime.timedelta(seconds=1))
        assert signed_out(client.get(reverse("home")))


def test_an_expired_session_cannot_reach_the_api(client, alice, child):
    with time_machine.travel(START, tick=False) as clock:
        sign_in(client, "alice")
        assert client.get(reverse("api_child_list")).status_code == 200
        clock.shift(datetime.timedelta(minutes=31))
        response = client.get(reverse("api_child_list"))
    assert response.status_code in {401, 403}
    assert "Robin" not in response.content.decode()


def test_the_session_cookie_lasts_at_most_twelve_hours_and_ends_with_the_browser(client, alice):
    assert settings.SESSION_COOKIE_AGE == 12 * 60 * 60
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True

    response = sign_in(client, "alice")

    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"]
    assert not cookie["max-age"] and not cookie["expires"]  # a browser-session cookie


def test_deactivating_a_user_ends_all_their_sessions_at_once(alice, ada):
    laptop, phone = Client(), Client()
    sign_in(laptop, "alice")
    sign_in(phone, "alice")
    keys = set(UserSession.objects.filter(user=alice).values_list("session_key", flat=True))
    assert keys == {laptop.session.session_key, phone.session.session_key}
    assert laptop.get(reverse("home")).status_code == 200

    services.user_deactivate(actor=ada, user=alice)

    assert signed_out(laptop.get(reverse("home")))
    assert signed_out(phone.get(reverse("child_search")))
    assert not Session.objects.filter(session_key__in=keys).exists()
    assert not UserSession.objects.filter(user=alice).exists()
    alice.refresh_from_db()
    assert not alice.is_active
    audit = AuditEvent.objects.get(action="user_deactivate")
    assert audit.actor == ada
    assert audit.object_id == str(alice.public_id)
    assert audit.details["sessions_ended"] == 2


def test_a_deactivated_users_api_token_stops_working_too(client, alice, ada, child):
    key = api_key_for(alice)
    header = {"HTTP_AUTHORIZATION": f"Token {key}"}
    assert client.get(reverse("api_child_list"), **header).status_code == 200

    services.user_deactivate(actor=ada, user=alice)

    response = client.get(reverse("api_child_list"), **header)
    assert response.status_code == 401
    assert "Robin" not in response.content.decode()


def test_deactivation_leaves_other_users_signed_in(alice, bob, ada):
    alices, bobs = Client(), Client()
    sign_in(alices, "alice")
    sign_in(bobs, "bob")

    services.user_deactivate(actor=ada, user=alice)

    assert bobs.get(reverse("home")).status_code == 200


def test_only_an_administrator_can_deactivate_a_user(alice, mallory):
    with pytest.raises(PermissionDenied):
        services.user_deactivate(actor=mallory, user=alice)
    alice.refresh_from_db()
    assert alice.is_active
    assert not AuditEvent.objects.filter(action="user_deactivate").exists()


def test_deactivating_in_the_admin_ends_the_sessions_too(client, settings, alice, ada):
    alices = Client()
    sign_in(alices, "alice")
    settings.OTP_REQUIRED_ROLES = frozenset()  # the admin's second factor is tested elsewhere
    ada.is_superuser = True
    ada.save()
    client.force_login(ada)

    response = client.post(
        reverse("admin:agencies_user_changelist"),
        {"action": "deactivate_users", "_selected_action": [alice.pk]},
    )

    assert response.status_code == 302
    assert signed_out(alices.get(reverse("home")))
    assert AuditEvent.objects.filter(action="user_deactivate", actor=ada).count() == 1


def test_signing_out_forgets_the_session(client, alice):
    sign_in(client, "alice")
    key = client.session.session_key
    assert UserSession.objects.filter(session_key=key).exists()

    client.post(reverse("logout"))

    assert not UserSession.objects.filter(session_key=key).exists()
