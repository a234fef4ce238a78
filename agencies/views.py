"""A user's own API tokens: list, create (the key is shown once) and revoke."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from . import selectors, services


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label="What is the token for?",
        help_text="For example, the school's information system. Only you see this.",
        max_length=100,
    )


def _list_page(request, form, *, status=200):
    return render(
        request,
        "agencies/api_tokens.html",
        {
            "form": form,
            "tokens": selectors.api_tokens_for_user(user=request.user),
            "ttl_days": settings.API_TOKEN_TTL_DAYS,
            "needs_second_factor": services.api_token_needs_second_factor(user=request.user)
            and not request.user.is_verified(),
        },
        status=status,
    )


@login_required
def api_tokens(request):
    """GET lists the user's tokens; POST makes one and shows its key on this response
    only. The key is neither stored nor put in the session, so no later page (nor
    the back button: every response is no-store) can show it again."""
    if request.method != "POST":
        return _list_page(request, ApiTokenForm())
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _list_page(request, form, status=400)
    try:
        token, key = services.api_token_create(
            user=request.user,
            name=form.cleaned_data["name"],
            second_factor_verified=request.user.is_verified(),
        )
    except PermissionDenied as error:
        form.add_error(None, str(error))
        return _list_page(request, form, status=403)
    except ValidationError as error:
        form.add_error(None, error)
        return _list_page(request, form, status=400)
    return render(request, "agencies/api_token_created.html", {"token": token, "key": key})


@require_POST
@login_required
def api_token_revoke(request, public_id):
    token = selectors.api_token_get_for_user(user=request.user, public_id=public_id)
    services.api_token_revoke(actor=request.user, token=token)
    messages.success(request, f"The token “{token.name}” is revoked. It no longer works.")
    return redirect("account_api_tokens")
