from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from . import services
from .models import Agency, ApiToken, User


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind"]
    list_filter = ["kind"]
    search_fields = ["name", "code"]


@admin.action(description="Deactivate selected users and end their sessions")
def deactivate_users(modeladmin, request, queryset):
    for user in queryset:
        services.user_deactivate(actor=request.user, user=user)
    modeladmin.message_user(
        request,
        f"Deactivated {len(queryset)} user(s); their sessions have ended.",
        messages.SUCCESS,
    )


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "first_name", "last_name", "agency", "role", "is_active"]
    list_filter = ["agency", "role", "is_active"]
    actions = [deactivate_users]
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("Agency and role", {"fields": ("agency", "role")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        ("Agency and role", {"fields": ("email", "agency", "role")}),
    )

    def get_readonly_fields(self, request, obj=None):
        # Only a superuser hands out superuser status, groups or permissions: an
        # admin who manages staff must not be able to raise anyone's own access.
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        return ["is_superuser", "groups", "user_permissions", "last_login", "date_joined"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if obj.role == "admin" and obj.is_staff:
            obj.groups.add(services.configuration_group())
        # Unticking "active" goes through the service, so the sessions end and it is audited.
        if change and "is_active" in form.changed_data and not obj.is_active:
            services.user_deactivate(actor=request.user, user=obj)


@admin.action(description="Revoke selected API tokens", permissions=["change"])
def revoke_tokens(modeladmin, request, queryset):
    for token in queryset.filter(revoked_at__isnull=True):
        services.api_token_revoke(actor=request.user, token=token)
    modeladmin.message_user(request, "The selected tokens are revoked.", messages.SUCCESS)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Admins see who holds which token and can revoke it; nothing more. They cannot
    make a token (a token made for someone else would let them act as that person),
    nor open one: the list shows no key (none is stored) and no digest."""

    list_display = [
        "user",
        "name",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_display_links = None
    list_filter = ["revoked_at"]
    search_fields = ["user__username", "name", "prefix"]
    list_select_related = ["user__agency"]
    actions = [revoke_tokens]
    # Should a change page ever be reached, these are all it shows.
    fields = readonly_fields = [
        "user",
        "name",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "revoked_by",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # The list's revoke action needs "change"; a single token's change page does not exist.
        return obj is None and super().has_change_permission(request)

    def has_view_permission(self, request, obj=None):
        return obj is None and super().has_view_permission(request)

    def has_delete_permission(self, request, obj=None):
        # Revoked, never deleted: who held a token stays on record.
        return False
