from django.contrib import admin

from .models import Alert, Holiday, Rule, RuleSet
from .rule_params import rule_params_text


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["day", "name"]
    date_hierarchy = "day"


class RuleInline(admin.TabularInline):
    """Read-only: rules are changed on the rules pages (escalation.views.rule_edit),
    one typed field a parameter, through escalation.services, never as raw JSON."""

    model = Rule
    extra = 0
    fields = ["code", "type", "settings", "is_enabled"]
    readonly_fields = fields

    @admin.display(description="Settings")
    def settings(self, rule: Rule) -> str:
        return "; ".join(f"{label}: {value}" for label, value in rule_params_text(rule))

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RuleSet)
class RuleSetAdmin(admin.ModelAdmin):
    """Read-only: versions are drafted, changed, back-tested and activated on the
    rules pages, so that every change is checked, audited and makes an earlier
    back-test stale (escalation.services)."""

    list_display = ["version", "status", "level_2_after_working_hours", "activated_at"]
    inlines = [RuleInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

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
