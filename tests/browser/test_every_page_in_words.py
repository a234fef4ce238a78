"""Every page each demo user can reach is in words: signed in as each demo login
(the manager and the admin through their authenticator app), the crawl follows
every same-site link and fails on a raw code (`social_care`, `neglect.nutrition`,
`level-statutory`) or a number with more than three decimals in the visible text,
and on any server error.

Pages of one shape (the same path with a different child, say) are visited a few
times each, not once for every child: the words come from the template, and the
crawl stays within a few minutes on a small machine."""

import datetime
import re
from collections import Counter
from urllib.parse import urljoin, urlparse

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies.models import User
from chronology import services
from chronology.management.commands.load_demo import USERS
from chronology.models import Child
from chronology.vocabulary import EntryKind
from escalation.models import Alert
from escalation.services import child_evaluate
from tests.words import problems_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Not pages of this app in a person's words: Django's own admin (configuration,
# item 3 of issue 17), the API, downloads, and signing out.
SKIP = re.compile(r"^/(admin|api|static|logout)/|\.(pdf|csv|json)$|^/login/")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PER_SHAPE = 2  # visits of each page shape per user
MAX_PAGES = 80  # per user, a guard against a crawl that never ends


def shape(path: str) -> str:
    parsed = urlparse(path)
    keys = sorted(part.split("=")[0] for part in parsed.query.split("&") if part)
    return UUID.sub("{id}", parsed.path) + "?" + "&".join(keys)


def sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(base + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    if "/login/two-factor/" in page.url:
        # The first sign-in enrols the authenticator app the page shows; the code is
        # the one that app would give.
        device = TOTPDevice.objects.filter(user__username=username).latest("id")
        code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
        page.fill("#id_code", f"{code:0{device.digits}d}")
        page.click("main button[type=submit]")
        page.wait_for_load_state()
    assert "/login/" not in page.url, f"{username} did not get past sign-in: {page.url}"


def crawl(page, base: str) -> tuple[int, list[str]]:
    todo, seen, shapes, problems = ["/"], set(), Counter(), []
    while todo and len(seen) < MAX_PAGES:
        path = todo.pop(0)
        if path in seen or shapes[shape(path)] >= PER_SHAPE:
            continue
        seen.add(path)
        shapes[shape(path)] += 1
        response = page.goto(base + path)
        if response is None or response.status >= 500:
            problems.append(f"{path}: status {response and response.status}")
            continue
        problems += [f"{path}: {p}" for p in problems_in(page.inner_text("body"))]
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            target = urlparse(urljoin(page.url, href))
            if target.netloc != urlparse(base).netloc or SKIP.search(target.path):
                continue
            link = target.path + (f"?{target.query}" if target.query else "")
            if link not in seen:
                todo.append(link)
    return len(seen), problems


def test_every_page_each_demo_user_reaches_is_in_words(live_server, new_page, settings):
    settings.DEBUG = True  # the demo loads only with DEBUG on
    settings.OTP_REQUIRED_ROLES = frozenset({"manager", "admin"})  # as in production
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    # The demo opens with no false alarms, so give the alert pages one true alert: a
    # social worker records a bruise on a four-month-old (the injury rule).
    worker = User.objects.get(username="sw.jones")
    baby = services.child_create(
        actor=worker,
        given_names="Crawl",
        family_name="Baby",
        date_of_birth=timezone.localdate() - datetime.timedelta(days=120),
    )
    services.entry_record(
        actor=worker,
        children=[baby],
        kind=EntryKind.CONCERN,
        categories=["physical_abuse"],
        severity=2,
        event_date=timezone.localdate(),
        summary="Small bruise on the cheek seen on a home visit",
    )
    # Evaluate every child, as the workers would.
    for child_id in Child.objects.values_list("pk", flat=True):
        child_evaluate(child_id=child_id)
    assert Alert.objects.exists()
    visited, problems = {}, []
    for user in USERS:
        page = new_page()
        sign_in(page, live_server.url, user["username"], user["password"])
        visited[user["username"]], found = crawl(page, live_server.url)
        problems += [f"{user['username']} {p}" for p in found]
    assert not problems, "\n".join(problems[:40])
    # The crawl reached the pages that matter, not only a home page.
    assert visited["sw.jones"] >= 20 and visited["mgr.okafor"] >= 20, visited
