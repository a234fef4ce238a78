from django.contrib import admin

from .models import Alert, Holiday, Rule, RuleSet


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["day", "name"]
    date_hierarchy = "day"


class RuleInline(admin.TabularInline):
    model = Rule
    extra = 0
    fields = ["code", "type", "params", "notify_roles", "notify_agency_kinds", "is_enabled"]

    def has_change_permission(self, request, obj=None):
        # Only drafts change; an active or retired version is the record.
        return obj is None or obj.status == "draft"

    has_add_permission = has_change_permission
    has_delete_permission = has_change_permission


@admin.register(RuleSet)
class RuleSetAdmin(admin.ModelAdmin):
    """Drafts are edited here; activation goes through escalation.services so that
    it retires the old version and is audited."""

    list_display = ["version", "status", "level_2_after_working_hours", "activated_at"]
    inlines = [RuleInline]
    readonly_fields = ["status", "activated_at", "created_by"]

    def has_change_permission(self, request, obj=None):
        return obj is None or obj.status == "draft"

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Read-only: alerts hold children's data, and change only through services."""

    list_display = ["rule_code", "status", "ladder_level", "raised_on"]
    list_filter = ["status", "ladder_level", "rule_code"]

    def get_queryset(self, request):
        # Administrators configure the system; they do not read children's records.
        return super().get_queryset(request).none()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
