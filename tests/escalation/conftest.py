"""Fixtures shared by the escalation tests."""

import base64
import json
import uuid

import pytest
import redis
from django.conf import settings

from safeguarding.celery import app as celery_app


class TestQueue:
    """A Celery queue of the test's own in the real Redis: what the app publishes
    during the test lands here, and nothing else does."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, name: str, client: redis.Redis):
        self.name = name
        self.client = client

    def __len__(self) -> int:
        return self.client.llen(self.name)

    def clear(self) -> None:
        self.client.delete(self.name)

    def messages(self) -> list[tuple[str, list]]:
        """(task name, args) of each waiting message, oldest first."""
        found = []
        # kombu's Redis transport pushes on the left and pops on the right.
        for raw in reversed(self.client.lrange(self.name, 0, -1)):
            message = json.loads(raw)
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            found.append((message["headers"]["task"], args))
        return found


@pytest.fixture
def queue():
    assert settings.REDIS_URL, "Set REDIS_URL: the worker tests run on the real Redis"
    client = redis.Redis.from_url(settings.REDIS_URL)
    name = f"test-workers-{uuid.uuid4().hex[:12]}"
    # The app read its settings at import, so the queue is set on the app itself;
    # its router reads task_default_queue at each publish.
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = name
    try:
        yield TestQueue(name, client)
    finally:
        celery_app.conf.task_default_queue = previous
        try:
            client.delete(name)
        finally:
            client.close()
