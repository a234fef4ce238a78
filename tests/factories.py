import datetime

import factory

from agencies.models import Agency, AgencyKind, Role, User
from chronology.models import Child

PASSWORD = "correct-horse-battery-staple"


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"agency-{n}")
    name = factory.LazyAttribute(lambda a: f"Agency {a.code}")
    kind = AgencyKind.SOCIAL_CARE


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    agency = factory.SubFactory(AgencyFactory)
    role = Role.PRACTITIONER
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ChildFactory(factory.django.DjangoModelFactory):
    """A bare child with no involvement. Tests usually create children through
    chronology.services.child_create, which also grants the involvement."""

    class Meta:
        model = Child

    given_names = factory.Sequence(lambda n: f"Child{n}")
    family_name = "Synthetic"
    date_of_birth = datetime.date(2015, 5, 1)


def api_key_for(user, *, name: str = "Test system") -> str:
    """A new API token's key for `user`, made through the service as the token page
    makes it (with the second factor passed, which managers and admins need)."""
    from agencies.services import api_token_create

    _, key = api_token_create(user=user, name=name, second_factor_verified=True)
    return key
