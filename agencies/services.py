"""Writes to agencies and staff accounts."""

import datetime
from importlib import import_module

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.audit import audit_record

from .models import Agency, AgencyKind, ApiToken, Role, User, UserSession
from .tokens import PREFIX_LENGTH, api_key_new, api_token_digest

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
    if role == Role.ADMIN and is_staff:
        user.groups.add(configuration_group())
    return user


# What the configuration admins may manage in the admin site: agencies, staff and
# their roles, the holiday calendar, scoring and escalation versions, retention
# classes, second-factor devices and API tokens. No model that holds a child's
# record is here: admins configure the system, they do not read records.
CONFIGURATION_PERMISSIONS = {
    # API tokens: admins list and revoke them (agencies.admin.ApiTokenAdmin refuses
    # adding and changing whatever the permissions say).
    "agencies": ["agency", "user", "apitoken"],
    "escalation": ["holiday", "ruleset", "rule"],
    "neglect_tool": ["domain", "scoringconfig"],
    "chronology": ["retentionclass"],
    "otp_totp": ["totpdevice"],
}
CONFIGURATION_GROUP = "Configuration administrators"


def configuration_group() -> Group:
    """The group that gives admins the configuration permissions (kept up to date)."""
    group, _ = Group.objects.get_or_create(name=CONFIGURATION_GROUP)
    wanted = Permission.objects.none()
    for app_label, models in CONFIGURATION_PERMISSIONS.items():
        wanted |= Permission.objects.filter(
            content_type__app_label=app_label, content_type__model__in=models
        )
    group.permissions.set(wanted)
    return group


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


def user_session_record(*, user: User, session_key: str) -> None:
    """Remember that `user` holds the session `session_key` (called at login)."""
    UserSession.objects.update_or_create(session_key=session_key, defaults={"user": user})


def user_session_forget(*, session_key: str) -> None:
    UserSession.objects.filter(session_key=session_key).delete()


def user_sessions_end(*, user: User) -> int:
    """End every session `user` holds, whatever the session engine. Returns how many."""
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    for key in keys:
        store_class(session_key=key).delete()
    UserSession.objects.filter(user=user).delete()
    return len(keys)


@transaction.atomic
def user_deactivate(*, actor: User, user: User) -> User:
    """Deactivate `user` and end their sessions immediately, audited.

    Only an administrator may do it. The account stays (its name is on the record);
    it can no longer sign in, and every session it holds is deleted in the same
    transaction, so its next request is anonymous. Running it again changes nothing
    but ends any session left over.
    """
    if not (actor.is_superuser or (actor.is_active and actor.role == Role.ADMIN)):
        raise PermissionDenied("Only an administrator can deactivate a user.")
    was_active = user.is_active
    if was_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    ended = user_sessions_end(user=user)
    audit_record(
        actor=actor,
        action="user_deactivate",
        obj=user,
        details={"username": user.username, "was_active": was_active, "sessions_ended": ended},
    )
    return user


def totp_device_for_enrolment(*, user: User) -> TOTPDevice:
    """The unconfirmed TOTP device `user` is enrolling, made if there is none yet."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


@transaction.atomic
def totp_device_confirm(*, user: User, device: TOTPDevice) -> TOTPDevice:
    """Confirm `device` after the user typed a correct code from it, audited. Any other
    unconfirmed device of the user is removed."""
    if device.user_id != user.pk:
        raise PermissionDenied("Not your device.")
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    audit_record(actor=user, action="otp_device_confirm", obj=user, details={})
    return device


# Roles whose tokens need the second factor passed in the session that makes them:
# a manager's or an administrator's token reaches more than anyone else's.
API_TOKEN_SECOND_FACTOR_ROLES = frozenset({Role.MANAGER, Role.ADMIN})


def api_token_needs_second_factor(*, user: User) -> bool:
    from .sessions import otp_required_for  # sessions imports this module

    return (
        user.role in API_TOKEN_SECOND_FACTOR_ROLES
        or user.is_staff
        or user.is_superuser
        or otp_required_for(user)
    )


@transaction.atomic
def api_token_create(
    *, user: User, name: str, second_factor_verified: bool
) -> tuple[ApiToken, str]:
    """Make an API token for `user` (only ever their own), audited as `api_token.create`.

    Returns the token and its key. The key is not stored (only its SHA-256 digest)
    and is never available again: the caller shows it once. A manager, an
    administrator, staff, and anyone whose role needs a second factor must have
    passed it in this session (`second_factor_verified`), or PermissionDenied.
    """
    if not user.is_active:
        raise PermissionDenied("An inactive user cannot make tokens.")
    if api_token_needs_second_factor(user=user) and not second_factor_verified:
        raise PermissionDenied("Complete two-factor authentication before making a token.")
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Enter what the token is for."})
    key = api_key_new()
    token = ApiToken(
        user=user,
        name=name,
        prefix=key[:PREFIX_LENGTH],
        digest=api_token_digest(key),
        expires_at=timezone.now() + datetime.timedelta(days=settings.API_TOKEN_TTL_DAYS),
    )
    token.full_clean()
    token.save()
    audit_record(
        actor=user,
        action="api_token.create",
        obj=token,
        details={
            "name": token.name,
            "prefix": token.prefix,
            "expires_at": token.expires_at.isoformat(),
        },
    )
    return token, key


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    """Revoke `token` at once, audited as `api_token.revoke`. Its owner or an
    administrator may; anyone else gets PermissionDenied. Revoking a revoked token
    changes nothing and writes nothing."""
    is_admin = actor.is_superuser or (actor.is_active and actor.role == Role.ADMIN)
    if token.user_id != actor.pk and not is_admin:
        raise PermissionDenied("Only the token's owner or an administrator can revoke it.")
    # Conditional, so two revocations at once write one audit row between them.
    changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=actor
    )
    token.refresh_from_db()
    if changed:
        audit_record(
            actor=actor,
            action="api_token.revoke",
            obj=token,
            details={"name": token.name, "prefix": token.prefix, "user": token.user.username},
        )
    return token
