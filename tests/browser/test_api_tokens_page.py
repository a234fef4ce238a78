"""The API tokens page in a real browser: made with the keyboard, shown once,
revoked; each state passes axe-core."""

import pytest
from django.urls import reverse

from agencies.models import ApiToken

from .conftest import assert_accessible
from .test_journeys import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_practitioner_makes_copies_and_revokes_a_token(live_server, new_page, alice):
    page = new_page()
    sign_in(page, live_server, "alice")
    page.click("text=API tokens")
    page.wait_for_url(live_server.url + reverse("account_api_tokens"))
    assert_accessible(page)

    # Sent empty: the error names the field.
    page.click("text=Make token")
    page.wait_for_selector(".govuk-error-summary")
    assert_accessible(page)

    page.fill("#id_name", "School MIS")
    page.keyboard.press("Enter")
    page.wait_for_selector("#api-token-key")
    key = page.inner_text("#api-token-key")
    assert len(key) == 43
    assert_accessible(page)

    page.click("text=Back to your API tokens")
    page.wait_for_url(live_server.url + reverse("account_api_tokens"))
    assert key not in page.content()
    page.click("button:has-text('Revoke')")
    page.wait_for_selector("text=is revoked")
    assert_accessible(page)
    assert ApiToken.objects.get().revoked_at is not None
