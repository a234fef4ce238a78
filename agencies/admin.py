from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import Agency, User


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind"]
    list_filter = ["kind"]
    search_fields = ["name", "code"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "first_name", "last_name", "agency", "role", "is_active"]
    list_filter = ["agency", "role", "is_active"]
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("Agency and role", {"fields": ("agency", "role")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        ("Agency and role", {"fields": ("email", "agency", "role")}),
    )
