import uuid

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone


class AgencyKind(models.TextChoices):
    """The agency kinds of the chronology interchange format."""

    SOCIAL_CARE = "social_care", "Children's social care"
    EDUCATION = "education", "Education"
    POLICE = "police", "Police"
    HEALTH = "health", "Health"
    PROBATION = "probation", "Probation"
    HOUSING = "housing", "Housing"
    VOLUNTARY = "voluntary", "Voluntary sector"
    EARLY_HELP = "early_help", "Early help"
    OTHER = "other", "Other"


class Agency(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    code = models.SlugField(
        max_length=50,
        unique=True,
        help_text="Short code, also the agency's ref in interchange files (e.g. 'school').",
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=AgencyKind.choices)
    is_system = models.BooleanField(
        default=False,
        help_text="Holds service accounts for imports and command-line tools; never involved.",
    )

    class Meta:
        verbose_name = "agency"
        verbose_name_plural = "agencies"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    PRACTITIONER = "practitioner", "Practitioner"
    SAFEGUARDING_LEAD = "safeguarding_lead", "Safeguarding lead"
    MANAGER = "manager", "Manager"
    ADMIN = "admin", "Administrator"
    AUDITOR = "auditor", "Auditor"


# Roles that work with children's records. Admins configure the system and
# auditors read the access log; neither reads records by default.
RECORD_ROLES = frozenset({Role.PRACTITIONER, Role.SAFEGUARDING_LEAD, Role.MANAGER})


class StaffManager(UserManager):
    # Every request loads the signed-in user, and nearly every page asks for their
    # agency: fetch both in one query.
    def get_queryset(self):
        return super().get_queryset().select_related("agency")


class User(AbstractUser):
    """A member of staff. Every user belongs to exactly one agency."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="staff")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.PRACTITIONER)

    objects = StaffManager()

    REQUIRED_FIELDS = ["email", "agency"]

    class Meta:
        verbose_name = "user"
        verbose_name_plural = "users"
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def reads_records(self) -> bool:
        return self.is_active and self.role in RECORD_ROLES and not self.agency.is_system


class UserSession(models.Model):
    """A session a user signed in with, so that deactivating the user can end it at
    once without scanning (and decoding) every session. Written at login."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "user session"
        verbose_name_plural = "user sessions"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user} since {self.created_at:%Y-%m-%d %H:%M}"


class ApiToken(models.Model):
    """A key another system (a school's MIS, the police feed) sends as
    `Authorization: Token <key>`. Only the key's SHA-256 digest is kept: the key is
    shown once, to the user who made it, and nobody can read it back afterwards.
    A plain digest is enough because keys are 256 random bits (nothing to guess from
    a dictionary), and it lets the lookup be one indexed equality."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, in the user's words.")
    prefix = models.CharField(
        max_length=12, help_text="The key's first characters, to tell tokens apart."
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "API token"
        verbose_name_plural = "API tokens"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, *, at) -> bool:
        return self.revoked_at is None and self.expires_at > at

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "Revoked"
        if self.expires_at <= timezone.now():
            return "Expired"
        return "Active"
