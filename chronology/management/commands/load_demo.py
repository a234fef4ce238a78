"""Load the Eastmere demo: a fictional county's agencies, Case Q, five synthetic
families and one login per role.

Everything here is invented. The families under chronology/fixtures/demo/ are
synthetic; Case Q comes from a published serious case review (see its notes).
"""

import datetime
import hashlib
import os
from pathlib import Path

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from agencies.models import Agency, AgencyKind, Role, User
from agencies.services import agency_create, service_account_get, user_create
from chronology import interchange
from chronology.models import Child, ImportBatch
from chronology.services import involvement_grant, worker_allocate

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

# Codes are the agency refs used in the interchange files, so the events of Case Q
# and of the families land on these agencies.
AGENCIES = [
    ("social_care", "Eastmere Children's Social Care", AgencyKind.SOCIAL_CARE),
    ("school", "Saltmarsh Primary School", AgencyKind.EDUCATION),
    ("ferrybridge_primary", "Ferrybridge Primary School", AgencyKind.EDUCATION),
    ("heath_academy", "Eastmere Heath Academy", AgencyKind.EDUCATION),
    ("police", "Eastmere Constabulary", AgencyKind.POLICE),
    ("health", "Mereside Health Centre (GP practice and health visiting)", AgencyKind.HEALTH),
    ("probation", "Probation Service (Eastmere)", AgencyKind.PROBATION),
    (
        "council",
        "Brackenmoor District Council (housing and anti-social behaviour)",
        AgencyKind.HOUSING,
    ),
    ("refuge", "Eastmere Women's Refuge", AgencyKind.VOLUNTARY),
    ("early_help", "Eastmere Early Help Service", AgencyKind.EARLY_HELP),
    ("nspcc", "Children's Helpline (charity)", AgencyKind.VOLUNTARY),
]

# Demo passwords are printed on purpose: they exist only in a DEBUG database.
USERS = [
    {
        "username": "sw.jones",
        "password": "demo-practitioner-eastmere-2026",
        "first_name": "Sam",
        "last_name": "Jones",
        "role": Role.PRACTITIONER,
        "agency": "social_care",
        "sees": "all 11 demo children (social care holds every case)",
    },
    {
        "username": "lead.patel",
        "password": "demo-dsl-saltmarsh-2026",
        "first_name": "Priya",
        "last_name": "Patel",
        "role": Role.SAFEGUARDING_LEAD,
        "agency": "school",
        "sees": "Case Q (2 children), Mia and Leo Brennan, Ella Carver",
    },
    {
        "username": "mgr.okafor",
        "password": "demo-manager-eastmere-2026",
        "first_name": "Grace",
        "last_name": "Okafor",
        "role": Role.MANAGER,
        "agency": "social_care",
        "sees": "all 11 demo children",
    },
    {
        "username": "admin.reed",
        "password": "demo-admin-eastmere-2026",
        "first_name": "Tom",
        "last_name": "Reed",
        "role": Role.ADMIN,
        "agency": "social_care",
        "is_staff": True,
        "sees": "no children's records (configures the system)",
    },
    {
        "username": "audit.lewis",
        "password": "demo-auditor-eastmere-2026",
        "first_name": "Hannah",
        "last_name": "Lewis",
        "role": Role.AUDITOR,
        "agency": "social_care",
        "sees": "no children's records (reads the access log)",
    },
    {
        "username": "lead.ahmed",
        "password": "demo-dsl-ferrybridge-2026",
        "first_name": "Yusuf",
        "last_name": "Ahmed",
        "role": Role.SAFEGUARDING_LEAD,
        "agency": "ferrybridge_primary",
        "sees": "Oliver Ashworth, Kai Dalton",
    },
    {
        "username": "pc.hughes",
        "password": "demo-police-eastmere-2026",
        "first_name": "Rhys",
        "last_name": "Hughes",
        "role": Role.PRACTITIONER,
        "agency": "police",
        "sees": "Case Q (2 children), Tyler and Ella Carver, Jade Ellis",
    },
]

# Import gives access to social care and to each agency with an event about a
# child. These are the other agencies that would be working with the child
# without having written anything: (child ref, agency code, from, reason).
EXTRA_INVOLVEMENTS = {
    "case_q.json": [
        ("C1", "health", "2011-09-01", "Health member of the child protection conference"),
        ("C2", "health", "2011-09-01", "Health member of the child protection conference"),
    ],
    "demo/family_b.json": [
        ("EM-B1", "health", "2025-10-02", "Registered with the GP practice; sibling on caseload"),
        ("EM-B2", "health", "2025-10-02", "Registered with the GP practice; sibling on caseload"),
    ],
    "demo/family_c.json": [
        ("EM-C1", "early_help", "2026-09-24", "Stepped down to early help at the CIN review"),
        ("EM-C2", "early_help", "2026-09-24", "Stepped down to early help at the CIN review"),
    ],
}

# Cases the demo social worker holds, by child ref: "My caseload" then has
# something in it. Each is allocated on the day its current team allocation began,
# so no extra change of worker is added to the families' histories (the turnover
# rule counts those). Kai Dalton (EM-D1) and Case Q keep their own stories.
ALLOCATED_TO_DEMO_SOCIAL_WORKER = ["EM-B1", "EM-B2", "EM-B3", "EM-C1", "EM-C2", "EM-E1"]

DOCUMENTS = [
    "case_q.json",
    "demo/family_a.json",
    "demo/family_b.json",
    "demo/family_c.json",
    "demo/family_d.json",
    "demo/family_e.json",
]

# `make run` passes its ADDR on; the default is runserver's.
DEFAULT_ADDR = "127.0.0.1:8000"


class Command(BaseCommand):
    help = "Load the fictional Eastmere demo: agencies, Case Q, five families, one login per role."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-without-debug",
            action="store_true",
            help="Load even though DEBUG is off. The demo logins have published passwords.",
        )

    def handle(self, *args, allow_without_debug=False, **options):
        # Published passwords must never reach a live system by accident.
        if not settings.DEBUG and not allow_without_debug:
            raise CommandError(
                "The demo creates logins with published passwords; it runs only with DEBUG=true "
                "(or --allow-without-debug on a throwaway database)."
            )
        usernames = [u["username"] for u in USERS]
        existing = User.objects.filter(username__in=usernames).count()
        if existing == len(USERS):
            self.stdout.write("Demo data already loaded.")
        elif existing:
            raise CommandError(
                "Some demo users exist but not all: this database was changed by hand. "
                "Load the demo into a fresh database."
            )
        else:
            self._load()
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self._print_logins()

    @transaction.atomic
    def _load(self) -> None:
        # One transaction: a failure half-way leaves no half-loaded demo behind,
        # so the next run starts cleanly.
        agencies = {code: self._agency(code, name, kind) for code, name, kind in AGENCIES}
        for spec in USERS:
            email = f"{spec['username']}@eastmere.example"
            # The demo passwords obey the same rules as real ones.
            validate_password(
                spec["password"],
                User(
                    username=spec["username"],
                    first_name=spec["first_name"],
                    last_name=spec["last_name"],
                    email=email,
                ),
            )
            user_create(
                username=spec["username"],
                password=spec["password"],
                first_name=spec["first_name"],
                last_name=spec["last_name"],
                email=email,
                role=spec["role"],
                agency=agencies[spec["agency"]],
                is_staff=spec.get("is_staff", False),
            )

        actor = service_account_get(purpose="import")
        for name in DOCUMENTS:
            raw = (FIXTURES / name).read_bytes()
            # A file imported already (by hand, say) is kept as it is.
            if ImportBatch.objects.filter(sha256=hashlib.sha256(raw).hexdigest()).exists():
                self.stdout.write(f"  {name}: already imported, skipped")
                continue
            result = interchange.import_document(
                raw, file_name=Path(name).name, as_agency=agencies["social_care"], actor=actor
            )
            children = len(result.children)
            self.stdout.write(
                f"  {name}: {children} {'child' if children == 1 else 'children'}, "
                f"{result.entries} entries"
            )
            self._grant_extra(name, agencies, actor)
        self._allocate_demo_cases(actor)

    def _agency(self, code: str, name: str, kind: str) -> Agency:
        # An agency imported earlier under the same code is reused, so its events stay its own.
        agency = Agency.objects.filter(code=code).first()
        return agency or agency_create(code=code, name=name, kind=kind)

    def _grant_extra(self, name: str, agencies: dict, actor) -> None:
        for child_ref, code, started, reason in EXTRA_INVOLVEMENTS.get(name, []):
            involvement_grant(
                actor=actor,
                child=Child.objects.get(ref=child_ref),
                agency=agencies[code],
                reason=reason,
                started_on=datetime.date.fromisoformat(started),
            )

    def _allocate_demo_cases(self, actor) -> None:
        worker = User.objects.get(username="sw.jones")
        for ref in ALLOCATED_TO_DEMO_SOCIAL_WORKER:
            child = Child.objects.get(ref=ref)
            current = child.allocations.filter(ended_on__isnull=True).order_by("-started_on")
            started = current.values_list("started_on", flat=True).first()
            worker_allocate(actor=actor, child=child, worker=worker, on=started)

    def _print_logins(self) -> None:
        names = dict(
            Agency.objects.filter(code__in=[u["agency"] for u in USERS]).values_list("code", "name")
        )
        rows = [("USERNAME", "PASSWORD", "ROLE", "AGENCY", "SEES")]
        rows += [
            (
                u["username"],
                u["password"],
                u["role"].label,
                names.get(u["agency"], u["agency"]),
                u["sees"],
            )
            for u in USERS
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        self.stdout.write("")
        self.stdout.write("Demo logins (fictional people; passwords for this demo only):")
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
            self.stdout.write("  " + "  ".join([*cells, row[4]]))
        self.stdout.write("")
        self.stdout.write("")
        self.stdout.write(
            "The manager (mgr.okafor) and the admin (admin.reed) must also set up an "
            "authenticator app: after the password, the first sign-in shows a QR code. "
            "Scan it with any TOTP app (or type the key under it) and enter the 6-digit "
            "code. Later sign-ins ask only for the code."
        )
        address = os.environ.get("ADDR") or DEFAULT_ADDR
        if address.isdigit():  # runserver takes a bare port to mean 127.0.0.1
            address = f"127.0.0.1:{address}"
        self.stdout.write(f"Open http://{address}/ and sign in as any of them.")
