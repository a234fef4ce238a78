from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from . import services
from .models import Agency, User


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
