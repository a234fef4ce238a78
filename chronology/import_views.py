"""Browser pages for importing a file: upload → preview → confirm → progress → summary.

Views only: the checks, writes and audit are in chronology.imports (over
chronology.interchange, the same code the API and the command use)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from . import imports, interchange
from .forms import ImportUploadForm
from .models import ImportJobStatus


def _importer_only(request) -> None:
    if not imports.user_may_import(request.user):
        raise PermissionDenied("Only managers and safeguarding leads import files.")


@login_required
@never_cache
def import_start(request):
    _importer_only(request)
    posted = request.method == "POST"
    form = ImportUploadForm(request.POST, request.FILES) if posted else ImportUploadForm()
    if posted and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            # Before reading: a huge file is refused without being held in memory.
            interchange.size_check(upload.size)
        except interchange.InterchangeError as exc:
            form.add_error("file", " ".join(exc.messages))
        else:
            job = imports.import_job_create(
                actor=request.user, raw=upload.read(), file_name=upload.name
            )
            return redirect("import_detail", public_id=job.public_id)
    return render(
        request,
        "chronology/import_start.html",
        {"form": form, "jobs": imports.import_jobs_for_user(user=request.user)},
        status=400 if form.errors else 200,
    )


@login_required
@never_cache
def import_detail(request, public_id):
    _importer_only(request)
    job = imports.import_job_get_for_user(user=request.user, public_id=public_id)
    done, total = imports.import_job_progress(job)
    context = {
        "job": job,
        "done": done,
        "total": total,
        "percent": int(100 * done / total) if total else 0,
        "working": job.status in (ImportJobStatus.QUEUED, ImportJobStatus.RUNNING),
    }
    if request.headers.get("HX-Request") or request.GET.get("fragment"):
        return render(request, "chronology/_import_progress.html", context)
    return render(request, "chronology/import_detail.html", context)


@login_required
@require_POST
def import_confirm(request, public_id):
    _importer_only(request)
    job = imports.import_job_get_for_user(user=request.user, public_id=public_id)
    imports.import_job_confirm(actor=request.user, job=job)
    return redirect("import_detail", public_id=job.public_id)
