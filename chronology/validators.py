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


# --- text that can be stored ------------------------------------------------------------

# PostgreSQL's text and jsonb cannot hold NUL, and a lone surrogate (half of a UTF-16
# pair, e.g. JSON's "\ud800") is not a character: UTF-8 cannot encode it, so the
# database driver fails on it. Both are refused at the door, naming the field,
# instead of failing as a server error at the INSERT.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# How deeply a JSON body or document may nest. The interchange format needs 4
# (document, list, event, decision object); 32 leaves room for kept unknown keys
# and stops a body of brackets long before Python's recursion limit.
JSON_MAX_DEPTH = 32


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character (\\x00), which cannot be stored"
    return f"contains a lone surrogate (\\u{ord(found.group()):04x}), which is not a character"


def printable(value: str) -> str:
    """`value` with NUL and lone surrogates written as escapes, so a message can
    quote it (a lone surrogate cannot even be sent back in an answer)."""
    return _UNSTORABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", value)


def storable_text_errors(fields: dict[str, str | None]) -> dict[str, str]:
    """For the services: field name -> message for each value that cannot be stored."""
    return {
        name: f"The text {problem}."
        for name, value in fields.items()
        if isinstance(value, str) and (problem := text_problem(value))
    }


def json_problems(document, *, max_depth: int = JSON_MAX_DEPTH):
    """(path, message) for each string (key or value) in a parsed JSON value that
    cannot be stored, and for the first place it nests deeper than `max_depth`.

    Walks with a list, not recursion, so that a deep value cannot exhaust the
    stack here either. A path is a list of keys and indexes from the top."""
    stack = [((), document, 1)]
    deep_reported = False
    while stack:
        path, value, depth = stack.pop()
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                yield list(path), problem
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > max_depth:
            if not deep_reported:
                deep_reported = True
                yield list(path), f"nests more than {max_depth} levels deep"
            continue
        items = value.items() if isinstance(value, dict) else enumerate(value)
        children = []
        for key, item in items:
            if isinstance(key, str) and (problem := text_problem(key)):
                yield [*path, printable(key)], f"the key {problem}"
            children.append(((*path, key), item, depth + 1))
        stack.extend(reversed(children))


def json_depth_exceeds(value, max_depth: int = JSON_MAX_DEPTH) -> bool:
    """Whether a parsed JSON value nests deeper than `max_depth` (iteratively)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > max_depth:
                return True
            stack.extend(
                (child, depth + 1) for child in (item.values() if isinstance(item, dict) else item)
            )
    return False
