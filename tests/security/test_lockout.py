"""Lockout (django-axes): 5 failures in 15 minutes; nothing tells a real username from
an unknown one."""

import re

import time_machine
from django.urls import reverse

from .conftest import sign_in, without_csrf

USERNAME_VALUE = re.compile(r'name="username" type="text"[^>]*value="[^"]*"')


def comparable(response) -> tuple[int, str]:
    """Status and page, without the parts that differ by design: the CSRF token and
    the username the visitor typed, echoed back into the form."""
    return response.status_code, USERNAME_VALUE.sub("", without_csrf(response.content.decode()))


def test_five_wrong_passwords_lock_the_username_for_fifteen_minutes(client, alice):
    with time_machine.travel("2026-03-02 09:00Z", tick=False) as clock:
        for _ in range(4):
            assert sign_in(client, "alice", "wrong-password-1234").status_code == 200
        locked = sign_in(client, "alice", "wrong-password-1234")
        assert locked.status_code == 429

        # Locked: even the right password is refused.
        assert sign_in(client, "alice").status_code == 429
        clock.shift(14 * 60)
        assert sign_in(client, "alice").status_code == 429

        clock.shift(16 * 60)
        response = sign_in(client, "alice")
        assert response.status_code == 302
        assert client.get(reverse("home")).status_code == 200


def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(client, alice):
    with time_machine.travel("2026-03-02 09:00Z", tick=False) as clock:
        for _ in range(4):
            sign_in(client, "alice", "wrong-password-1234")
        clock.shift(16 * 60)
        assert sign_in(client, "alice", "wrong-password-1234").status_code == 200
        assert sign_in(client, "alice").status_code == 302


def test_a_successful_sign_in_clears_the_failures(client, alice):
    for _ in range(4):
        sign_in(client, "alice", "wrong-password-1234")
    assert sign_in(client, "alice").status_code == 302
    client.post(reverse("logout"))
    for _ in range(4):
        assert sign_in(client, "alice", "wrong-password-1234").status_code == 200


def test_an_unknown_username_and_a_wrong_password_get_the_same_page(client, alice):
    wrong_password = sign_in(client, "alice", "wrong-password-1234")
    unknown_user = sign_in(client, "nobody-here", "wrong-password-1234")

    assert wrong_password.status_code == 200
    assert comparable(wrong_password) == comparable(unknown_user)
    assert "Enter a correct username and password" in wrong_password.content.decode()


def test_an_inactive_account_gets_the_same_page_as_a_wrong_password(client, alice, bob):
    bob.is_active = False
    bob.save()

    inactive = sign_in(client, "bob")
    wrong_password = sign_in(client, "alice", "wrong-password-1234")

    assert comparable(inactive) == comparable(wrong_password)


def test_unknown_usernames_lock_out_the_same_way_and_the_page_does_not_tell_them_apart(
    client, alice
):
    for _ in range(5):
        known = sign_in(client, "alice", "wrong-password-1234")
        unknown = sign_in(client, "nobody-here", "wrong-password-1234")

    assert known.status_code == unknown.status_code == 429
    assert comparable(known) == comparable(unknown)
    page = known.content.decode()
    assert "alice" not in page
    assert "Sign-in paused" in page


def test_the_lock_is_for_that_username_only(client, alice, bob):
    for _ in range(5):
        sign_in(client, "alice", "wrong-password-1234")

    assert sign_in(client, "bob").status_code == 302
