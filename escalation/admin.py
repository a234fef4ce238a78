from django import forms
from django.contrib import admin

from .models import Alert, Holiday, Rule, RuleSet


class RuleSetForm(forms.ModelForm):
    """Carries the revision the admin loaded, so that a draft (or its rules) edited
    by someone else in the meantime is refused instead of silently overwritten."""

    loaded_revision = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = RuleSet
        fields = [
            "note",
            "level_2_after_working_hours",
            "level_3_after_working_hours",
            "partnership",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["loaded_revision"].initial = self.instance.revision

    def clean(self):
        cleaned = super().clean()
        loaded = cleaned.get("loaded_revision")
        if self.instance.pk and loaded is not None:
            current = RuleSet.objects.values_list("revision", flat=True).get(pk=self.instance.pk)
            if current != loaded:
                raise forms.ValidationError(
                    "Someone else changed this draft while you were editing it. Reload the "
                    "page to see their changes, then make yours again."
                )
        return cleaned


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
    form = RuleSetForm

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change:
            # One revision for the draft and its rules, saved together.
            RuleSet.objects.filter(pk=form.instance.pk).update(revision=form.instance.revision + 1)

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
