"""Writes to agencies and staff accounts."""

from django.db import transaction

from .models import Agency, AgencyKind, Role, User

SYSTEM_AGENCY_CODE = "system"


@transaction.atomic
def agency_create(*, code: str, name: str, kind: str) -> Agency:
    agency = Agency(code=code, name=name, kind=kind)
    agency.full_clean()
    agency.save()
    return agency


@transaction.atomic
def user_create(
    *,
    username: str,
    agency: Agency,
    role: str,
    password: str | None = None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    is_staff: bool = False,
) -> User:
    """Create a member of staff. Without a password the account cannot log in."""
    user = User(
        username=username,
        agency=agency,
        role=role,
        first_name=first_name,
        last_name=last_name,
        email=email,
        is_staff=is_staff,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    return user


def service_account_get(*, purpose: str = "operator") -> User:
    """The account that command-line tools (import, export, demo data) act as.

    It belongs to the system agency, which is never involved with a child, and it
    cannot log in. Its writes are audited like anyone's, under its own name.
    """
    agency, _ = Agency.objects.get_or_create(
        code=SYSTEM_AGENCY_CODE,
        defaults={
            "name": "System (command-line tools)",
            "kind": AgencyKind.OTHER,
            "is_system": True,
        },
    )
    username = f"system-{purpose}"
    user = User.objects.filter(username=username).first()
    if user is None:
        user = user_create(username=username, agency=agency, role=Role.ADMIN)
    return user
