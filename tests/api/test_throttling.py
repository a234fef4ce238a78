"""The API's rate limits: per user (or token), and per address for calls without
valid credentials; a 429 in JSON with Retry-After; counted in the shared cache."""

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import api_key_for

LIST = reverse("api_child_list")


@pytest.fixture
def low_rates(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "3/min", "anon": "2/min"},
    }


def token_client(user, address="10.0.0.1") -> APIClient:
    api = APIClient(REMOTE_ADDR=address)
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    return api


def test_a_user_over_the_rate_gets_a_429_in_json_with_retry_after(low_rates, bob, child):
    api = token_client(bob)
    assert [api.get(LIST).status_code for _ in range(3)] == [200, 200, 200]

    response = api.get(LIST)

    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert "throttled" in response.json()["detail"]
    assert 0 < int(response["Retry-After"]) <= 60
    assert "Robin" not in response.content.decode()


def test_the_limit_is_per_user_not_per_token_or_address(low_rates, alice, bob, child):
    first, second = token_client(bob, "10.0.0.1"), token_client(bob, "10.0.0.2")
    for api in (first, second, first):
        assert api.get(LIST).status_code == 200
    assert second.get(LIST).status_code == 429
    # Another user, from the same address, is not held back by bob's calls.
    assert token_client(alice, "10.0.0.1").get(LIST).status_code == 200


def test_a_signed_in_browser_session_is_limited_too(low_rates, client, bob):
    client.force_login(bob)
    statuses = [client.get(LIST).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_calls_without_credentials_are_limited_per_address(low_rates):
    here, there = APIClient(REMOTE_ADDR="10.0.0.7"), APIClient(REMOTE_ADDR="10.0.0.8")
    assert [here.get(LIST).status_code for _ in range(3)] == [401, 401, 429]
    assert here.get(LIST).json()["detail"].startswith("Request was throttled")
    assert there.get(LIST).status_code == 401


def test_guessing_tokens_is_limited_per_address_and_keeps_its_401_until_then(low_rates):
    guesser = APIClient(REMOTE_ADDR="10.0.0.9")
    guesser.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    first = guesser.get(LIST)
    assert first.status_code == 401
    assert first.json() == {"detail": "Invalid or expired token."}
    assert guesser.get(LIST).status_code == 401
    assert guesser.get(LIST).status_code == 429


def test_a_user_is_not_held_back_by_anonymous_calls_from_their_address(low_rates, bob):
    anonymous = APIClient(REMOTE_ADDR="10.0.0.3")
    for _ in range(3):
        anonymous.get(LIST)
    assert anonymous.get(LIST).status_code == 429
    assert token_client(bob, "10.0.0.3").get(LIST).status_code == 200


def test_the_default_rates_leave_ordinary_use_alone(bob, child):
    api = token_client(bob)
    assert all(api.get(LIST).status_code == 200 for _ in range(30))


def test_counts_are_kept_in_redis_so_every_web_process_shares_them(low_rates, bob):
    assert isinstance(caches["default"], RedisCache)
    token_client(bob).get(LIST)
    assert cache.get(f"throttle_user_{bob.pk}") is not None


def test_without_its_cache_the_api_still_answers(low_rates, settings, bob, child):
    # Nothing listens on port 1: the throttle cannot count, and lets the call through.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    api = token_client(bob)
    assert [api.get(LIST).status_code for _ in range(5)] == [200] * 5
