"""Admins configure the system in the admin site; they do not read records there."""

from django.urls import reverse

from agencies import services
from agencies.models import Role


def make_admin(agency):
    return services.user_create(
        username="config.admin", agency=agency, role=Role.ADMIN, password="x" * 20, is_staff=True
    )


def test_an_admin_manages_agencies_users_holidays_and_rules(client, social_care):
    admin_user = make_admin(social_care)
    client.force_login(admin_user)
    index = client.get(reverse("admin:index")).content.decode()
    for model in ["agency", "user", "holiday", "ruleset", "domain", "retentionclass"]:
        assert f"/{model}/" in index, model
    assert client.get(reverse("admin:escalation_holiday_add")).status_code == 200
    assert client.get(reverse("admin:agencies_agency_changelist")).status_code == 200


def test_an_admin_sees_no_childrens_records_in_the_admin(client, social_care, child):
    client.force_login(make_admin(social_care))
    index = client.get(reverse("admin:index")).content.decode()
    assert "/chronology/child/" not in index and "/chronology/entry/" not in index
    assert client.get("/admin/chronology/child/").status_code in (403, 404)


def test_an_admin_cannot_make_anyone_a_superuser(client, social_care, alice):
    admin_user = make_admin(social_care)
    client.force_login(admin_user)
    page = client.get(reverse("admin:agencies_user_change", args=[admin_user.pk])).content.decode()
    assert 'name="is_superuser"' not in page and 'name="groups"' not in page
