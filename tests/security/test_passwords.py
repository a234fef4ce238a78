"""Passwords: at least 12 characters, and not on the list of common passwords."""

import pytest
from django.contrib.auth.password_validation import CommonPasswordValidator, validate_password
from django.core.exceptions import ValidationError


def test_a_password_shorter_than_twelve_characters_is_refused(alice):
    with pytest.raises(ValidationError) as refused:
        validate_password("Kx7#pq2!vLm", user=alice)  # 11 characters
    assert "at least 12 characters" in " ".join(refused.value.messages)


def test_a_common_password_is_refused_even_when_it_is_long_enough(alice):
    common = "qwertyuiop123"
    assert len(common) >= 12
    with pytest.raises(ValidationError) as refused:
        validate_password(common, user=alice)
    assert "too common" in " ".join(refused.value.messages)
    assert common in CommonPasswordValidator().passwords


def test_a_long_uncommon_password_is_accepted(alice):
    validate_password("lantern-orchard-ferry-47", user=alice)
