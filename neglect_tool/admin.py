from django.contrib import admin

from .models import Domain, ScoringConfig


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "position", "is_active"]
    list_editable = ["position", "is_active"]


@admin.register(ScoringConfig)
class ScoringConfigAdmin(admin.ModelAdmin):
    """Read-only here: versions change through neglect_tool.services, so that a
    change is always a new draft and every activation is audited."""

    list_display = ["version", "status", "half_life_days", "targeted_from", "activated_at"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
