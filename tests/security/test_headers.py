"""Headers: Content Security Policy, no-store, nosniff, same-origin referrer."""

import re
from pathlib import Path

from django.conf import settings
from django.urls import reverse

from tests.factories import api_key_for

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def test_every_page_carries_a_content_security_policy_with_no_inline_script(client, alice):
    client.force_login(alice)
    for path in [reverse("login"), reverse("home"), "/no-such-page/"]:
        policy = client.get(path)["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["default-src"] == "'self'"
        assert directives["script-src"] == "'self'"
        assert directives["style-src"] == "'self'"
        assert directives["object-src"] == "'none'"
        assert directives["frame-ancestors"] == "'none'"
        assert "unsafe-inline" not in policy
        assert "unsafe-eval" not in policy


def test_a_page_with_a_child_on_it_is_not_stored(client, alice, child):
    client.force_login(alice)

    response = client.get(reverse("child_detail", args=[child.public_id]))

    assert response.status_code == 200
    assert "Robin" in response.content.decode()
    assert response["Cache-Control"] == "no-store"


def test_an_api_answer_with_a_child_in_it_is_not_stored(client, alice, child):
    key = api_key_for(alice)

    response = client.get(reverse("api_child_list"), HTTP_AUTHORIZATION=f"Token {key}")

    assert "Robin" in response.content.decode()
    assert response["Cache-Control"] == "no-store"


def test_every_response_of_the_app_is_no_store_and_nosniff_with_a_same_origin_referrer(
    client, alice
):
    client.force_login(alice)
    for path in [reverse("login"), reverse("home"), reverse("child_search"), "/no-such-page/"]:
        response = client.get(path)
        assert response["Cache-Control"] == "no-store", path
        assert response["X-Content-Type-Options"] == "nosniff", path
        assert response["Referrer-Policy"] == "same-origin", path
        assert response["X-Frame-Options"] == "DENY", path


def test_no_template_relies_on_inline_script():
    """The policy refuses inline script, so a template must load its scripts from files."""
    offenders = []
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text, flags=re.IGNORECASE):
            if "src=" not in tag:
                offenders.append(f"{template.relative_to(TEMPLATES)}: {tag}")
        for handler in re.findall(r"<[^>]*\son[a-z]+\s*=", text, flags=re.IGNORECASE):
            offenders.append(f"{template.relative_to(TEMPLATES)}: {handler}")
        if "javascript:" in text.lower():
            offenders.append(f"{template.relative_to(TEMPLATES)}: javascript: URL")
    assert offenders == []
