"""The framework floor for ingest: a bare Django view that inserts the same entry
row as the API, with one ORM call and nothing else (no auth, no audit, no
validation, no queue). It lives here, never in the app."""

import json

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from chronology.models import Entry


@csrf_exempt
def entry_insert(request):
    data = json.loads(request.body)
    entry = Entry.objects.create(
        event_date=data["event_date"],
        kind=data["kind"],
        severity=data.get("severity"),
        summary=data["summary"],
        agency_id=data["agency_id"],
        author_id=data["author_id"],
    )
    return JsonResponse({"id": str(entry.public_id)}, status=201)
