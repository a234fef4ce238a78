"""TOTP second factor: required for managers and admins, configurable for everyone."""

import time_machine
from django.urls import reverse
from django.utils.http import urlencode
from django_otp.plugins.otp_totp.models import TOTPDevice

from chronology.models import AuditEvent
from tests.factories import api_key_for

from .conftest import code_for, confirmed_device, sign_in

VERIFY = reverse("otp_verify")
SETUP = reverse("otp_setup")


def test_a_manager_without_a_device_is_sent_to_enrol_after_the_password(client, mallory):
    response = sign_in(client, "mallory")
    assert response.status_code == 302
    assert response["Location"] == VERIFY + "?" + urlencode({"next": "/"})

    response = client.get(response["Location"])
    assert response.status_code == 302
    assert response["Location"].startswith(SETUP)

    response = client.get(response["Location"])
    assert response.status_code == 200
    device = TOTPDevice.objects.get(user=mallory, confirmed=False)
    page = response.content.decode()
    assert "otpauth://totp/" in page
    assert " ".join(response.context["secret"][i : i + 4] for i in range(0, 32, 4)) in page
    assert response.context["otpauth_uri"] == device.config_url
    assert '<img src="data:image/svg+xml' in page  # the QR code, as an image


def test_a_manager_enrols_with_a_real_code_and_then_reaches_the_page_they_asked_for(
    client, mallory
):
    sign_in(client, "mallory")
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=mallory, confirmed=False)

    response = client.post(SETUP, {"code": code_for(device), "next": "/children/search/"})

    assert response.status_code == 302
    assert response["Location"] == "/children/search/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("home")).status_code == 200
    assert AuditEvent.objects.filter(actor=mallory, action="otp_device_confirm").count() == 1


def test_a_wrong_code_neither_enrols_nor_verifies(client, mallory):
    sign_in(client, "mallory")
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=mallory, confirmed=False)
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"

    response = client.post(SETUP, {"code": wrong})

    assert response.status_code == 200
    assert "Enter the 6-digit code" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get(reverse("home"))["Location"].startswith(VERIFY)


def test_with_a_device_a_manager_must_enter_a_code_at_every_sign_in(client, mallory):
    device = confirmed_device(mallory)
    with time_machine.travel("2026-03-02 09:00Z", tick=False) as clock:
        response = sign_in(client, "mallory")
        assert response["Location"].startswith(VERIFY)
        assert client.get(reverse("home"))["Location"].startswith(VERIFY)

        response = client.post(VERIFY, {"code": code_for(device), "next": "/"})
        assert response.status_code == 302
        assert response["Location"] == "/"
        assert client.get(reverse("home")).status_code == 200

        client.post(reverse("logout"))
        clock.shift(60)  # a new 30-second step: the last code cannot be replayed
        sign_in(client, "mallory")
        assert client.get(reverse("home"))["Location"].startswith(VERIFY)
        assert client.post(VERIFY, {"code": code_for(device)})["Location"] == "/"
        assert client.get(reverse("home")).status_code == 200


def test_a_code_cannot_be_used_twice(client, mallory):
    device = confirmed_device(mallory)
    with time_machine.travel("2026-03-02 09:00Z", tick=False):
        code = code_for(device)
        sign_in(client, "mallory")
        assert client.post(VERIFY, {"code": code})["Location"] == "/"
        client.post(reverse("logout"))
        sign_in(client, "mallory")
        response = client.post(VERIFY, {"code": code})
    assert response.status_code == 200
    assert "Enter the 6-digit code" in response.content.decode()


def test_a_wrong_code_keeps_the_manager_on_the_second_factor_step(client, mallory):
    device = confirmed_device(mallory)
    sign_in(client, "mallory")
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"

    response = client.post(VERIFY, {"code": wrong})

    assert response.status_code == 200
    assert client.get(reverse("home"))["Location"].startswith(VERIFY)


def test_until_verified_every_page_but_sign_in_and_out_goes_to_the_second_factor_step(
    client, mallory, child
):
    confirmed_device(mallory)
    sign_in(client, "mallory")
    for path in [
        reverse("home"),
        reverse("child_search"),
        reverse("child_detail", args=[child.public_id]),
        reverse("admin:index"),
        "/no-such-page/",
    ]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == VERIFY + "?" + urlencode({"next": path}), path
    assert client.get(reverse("login")).status_code == 200
    assert client.get(VERIFY).status_code == 200
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("home"))["Location"].startswith(reverse("login"))


def test_until_verified_the_api_answers_403_to_a_session(client, mallory, child):
    confirmed_device(mallory)
    sign_in(client, "mallory")
    for path in [
        reverse("api_child_list"),
        reverse("api_child_detail", args=[child.public_id]),
        reverse("api_schema"),
    ]:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Robin" not in response.content.decode()


def test_a_token_authenticated_api_call_is_not_asked_for_a_second_factor(client, mallory, child):
    confirmed_device(mallory)
    key = api_key_for(mallory)

    response = client.get(reverse("api_child_list"), HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 200
    assert "Robin" in response.content.decode()


def test_another_authorization_header_does_not_get_a_session_past_the_second_factor(
    client, mallory
):
    confirmed_device(mallory)
    sign_in(client, "mallory")

    response = client.get(reverse("api_child_list"), HTTP_AUTHORIZATION="Basic bWFsbG9yeTp4")

    assert response.status_code == 403


def test_a_practitioner_is_not_asked_for_a_second_factor_by_default(client, alice):
    response = sign_in(client, "alice")

    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200


def test_all_in_otp_required_roles_asks_every_role(client, settings, alice):
    settings.OTP_REQUIRED_ROLES = frozenset({"all"})

    response = sign_in(client, "alice")

    assert response["Location"].startswith(VERIFY)
    assert client.get(reverse("home"))["Location"].startswith(VERIFY)


def test_an_admin_is_asked_for_a_second_factor(client, ada):
    assert sign_in(client, "ada")["Location"].startswith(VERIFY)
    assert client.get(reverse("admin:index"))["Location"].startswith(VERIFY)


def test_the_second_factor_pages_show_no_child_data_before_verification(client, mallory, child):
    """An outsider's view: someone holding only a manager's password sees nothing of a child."""
    confirmed_device(mallory)
    sign_in(client, "mallory")
    pages = [
        client.get(VERIFY, {"next": reverse("child_detail", args=[child.public_id])}),
        client.get(reverse("child_detail", args=[child.public_id]), follow=True),
        client.get(reverse("child_search"), {"q": "Rob"}, follow=True),
        client.post(VERIFY, {"code": "000000"}),
    ]
    for response in pages:
        assert response.status_code == 200
        text = response.content.decode()
        assert "Robin" not in text
        assert "Synthetic" not in text


def test_someone_with_only_the_password_cannot_enrol_a_second_device(client, mallory):
    confirmed_device(mallory)
    sign_in(client, "mallory")

    response = client.get(SETUP)

    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)
    assert not TOTPDevice.objects.filter(user=mallory, confirmed=False).exists()


def test_the_second_factor_pages_send_anonymous_visitors_to_sign_in(client):
    for path in [VERIFY, SETUP]:
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_the_second_factor_step_never_redirects_off_site(client, mallory):
    device = confirmed_device(mallory)
    sign_in(client, "mallory")

    response = client.post(VERIFY, {"code": code_for(device), "next": "https://evil.example/"})

    assert response["Location"] == reverse("home")
