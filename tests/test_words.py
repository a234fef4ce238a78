"""The check the page crawl relies on (tests/words.py) finds what it should, and only that."""

from tests.words import problems_in


def test_codes_and_long_decimals_are_found():
    found = problems_in(
        "Agency: social_care. neglect.nutrition feeds supervision_safety. "
        "Score 47.3350000000000; action child.view; rule level-statutory"
    )
    words = " ".join(found)
    for code in ("social_care", "neglect.nutrition", "supervision_safety", "child.view"):
        assert repr(code) in words
    assert "47.3350000000000" in words and "'level-statutory'" in words


def test_ordinary_words_and_short_numbers_pass():
    text = (
        "Score 47.3 today (47.335 before rounding), e.g. Mia's mother's partner; "
        "a multi-agency, anti-social case; family_a.json; sw.jones@eastmere.example"
    )
    assert problems_in(text) == []
