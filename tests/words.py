"""What a page must not show a person: a machine code, or a number with more
decimals than anyone reads. Used by the browser crawl (tests/browser/
test_every_page_in_words.py) and by page tests that check one page's text."""

import re

# A code is lower-case words joined by "_" or ".": `social_care`,
# `neglect.nutrition`, `child.view`. Each part has two letters or more, so
# "e.g." and "i.e." are not codes.
SNAKE_OR_DOTTED = re.compile(r"(?<![\w@/.-])[a-z][a-z0-9]+(?:[_.][a-z][a-z0-9]+)+(?![\w@/-])")
LONG_DECIMAL = re.compile(r"\d+\.\d{4,}")
# Ordinary text that looks like a code: file names, addresses, hosts.
NOT_CODES = re.compile(r"\.(json|csv|pdf|html|example|uk|org|com|py|txt)$")


def known_codes() -> set[str]:
    """Codes from our controlled lists that a person could mistake for words, such as
    rule codes (`level-statutory`), which the pattern above would not catch."""
    from escalation.defaults import RULES

    return {rule["code"] for rule in RULES if "-" in rule["code"]}


def problems_in(text: str, *, extra_codes: set[str] | None = None) -> list[str]:
    """The raw codes and over-long numbers in `text`, each with a little context."""
    found = []
    for match in SNAKE_OR_DOTTED.finditer(text):
        word = match.group(0)
        if NOT_CODES.search(word):
            continue
        found.append(_with_context(text, match, f"code {word!r}"))
    for match in LONG_DECIMAL.finditer(text):
        found.append(_with_context(text, match, f"number {match.group(0)}"))
    codes = known_codes() | (extra_codes or set())
    for code in codes:
        for match in re.finditer(rf"(?<![\w-]){re.escape(code)}(?![\w-])", text):
            found.append(_with_context(text, match, f"code {code!r}"))
    return found


def _with_context(text: str, match: re.Match, what: str) -> str:
    start, end = max(match.start() - 40, 0), min(match.end() + 40, len(text))
    return f"{what} in …{' '.join(text[start:end].split())}…"
