"""Names for codes, and numbers rounded for reading: `{% load words %}`, then e.g.
`{{ entry.status|status_name }}` or `{{ score.total|score }}`. The names live in
chronology/vocabulary.py; these filters only reach them from templates."""

from django import template

from chronology import vocabulary

register = template.Library()

for _name in (
    "category_name",
    "status_name",
    "kind_name",
    "decision_type_name",
    "decision_outcome_name",
    "agency_kind_name",
    "role_name",
    "relationship_name",
    "action_name",
    "domain_name",
    "agency_name",
    "words_for",
):
    register.filter(_name, getattr(vocabulary, _name))


@register.filter
def rule_name(code, rule_type=None) -> str:
    return vocabulary.rule_name(code, rule_type)


@register.filter
def category_names(codes) -> str:
    """Several categories as one line: "Neglect: nutrition, Domestic abuse"."""
    return ", ".join(vocabulary.category_name(code) for code in codes or [])


@register.filter
def score(value) -> str:
    """One decimal, as a score is read."""
    return vocabulary.score_text(value, 1)


@register.filter
def points(value) -> str:
    """Three decimals, as scoring keeps them: one entry's share of a score, listed so
    that the shares add up to the unrounded score exactly."""
    return vocabulary.score_text(value, 3)
