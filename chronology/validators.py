import re

from django.core.exceptions import ValidationError

UPN_PATTERN = re.compile(r"^[A-Z]\d{11}[0-9A-Z]$")


def validate_nhs_number(value: str) -> None:
    """Check an NHS number's ten digits and its modulus-11 check digit."""
    if not (len(value) == 10 and value.isdigit()):
        raise ValidationError("An NHS number is 10 digits.", code="nhs_format")
    total = sum(
        int(digit) * weight for digit, weight in zip(value[:9], range(10, 1, -1), strict=False)
    )
    check = 11 - total % 11
    if check == 11:
        check = 0
    if check == 10 or check != int(value[9]):
        raise ValidationError(
            "This NHS number's check digit is wrong: check it for a typing error.",
            code="nhs_check_digit",
        )


def validate_unique_pupil_number(value: str) -> None:
    """A unique pupil number is a letter, eleven digits, then a digit or letter."""
    if not UPN_PATTERN.match(value):
        raise ValidationError(
            "A unique pupil number is 13 characters: a capital letter, 11 digits, then a "
            "digit or capital letter.",
            code="upn_format",
        )
