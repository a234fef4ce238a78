"""The child search's input: refused when PostgreSQL could not compare it."""

from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import api_key_for


def test_a_search_with_a_nul_character_is_a_400_naming_q(bob, child):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(bob)}")
    response = api.get(reverse("api_child_list"), {"q": "Rob\x00in"})
    assert response.status_code == 400
    assert set(response.json()) == {"q"}


def test_a_search_still_finds_the_child_by_name(bob, child):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(bob)}")
    response = api.get(reverse("api_child_list"), {"q": "  robin "})
    assert response.status_code == 200
    assert [c["id"] for c in response.json()["results"]] == [str(child.public_id)]
