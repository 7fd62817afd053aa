"""A background job as people see it on a workspace's Jobs page: what it does, who started it,
how far it got and how it ended.

The task backend (django-tasks-db) only runs a task; the Job is what survives its worker. A job
that is picked up again after its worker died gets a new `attempt` and a new task, and resumes
from its items (`JobItem`): the files done stay done.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from datastores.models import Datastore, Workspace


class JobKind(models.TextChoices):
    COPY = "copy", "Copy between datastores"
    HEALTH = "health", "Test every datastore"
    DELETE = "delete", "Delete a folder"
    ZIP = "zip", "Download as zip"


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)


class Job(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=16, choices=JobKind.choices)
    # None: started by the studio itself (the health-check schedule).
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    # What a copy reads and writes (the target may be in another workspace).
    source = models.ForeignKey(Datastore, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source_path = models.CharField(max_length=1024, blank=True)
    source_is_folder = models.BooleanField(default=False)
    target = models.ForeignKey(Datastore, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    target_path = models.CharField(max_length=1024, blank=True)
    overwrite = models.BooleanField(default=False)
    # Progress. items_total is None until the job has listed what it works on.
    items_total = models.PositiveIntegerField(null=True, blank=True)
    items_done = models.PositiveIntegerField(default=0)
    items_skipped = models.PositiveIntegerField(default=0)
    bytes_total = models.PositiveBigIntegerField(default=0)
    bytes_done = models.PositiveBigIntegerField(default=0)
    # Bytes that passed through the worker (0 for a server-side copy).
    bytes_streamed = models.PositiveBigIntegerField(default=0)
    message = models.TextField(blank=True)  # how it went, or why it failed, in plain words
    cancel_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Each pick-up (the first run, and each after a worker died) is an attempt with its own task.
    attempt = models.PositiveIntegerField(default=1)
    task_result_id = models.CharField(max_length=64, blank=True)
    # What a job leaves for download (a zip): its name in the default storage, set only once it is
    # whole; the name it downloads as; when it is deleted. Expired: the file is gone, the row stays.
    result_name = models.CharField(max_length=255, blank=True)
    result_filename = models.CharField(max_length=255, blank=True)
    result_size = models.PositiveBigIntegerField(null=True, blank=True)
    result_expires_at = models.DateTimeField(null=True, blank=True)
    result_expired = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "heartbeat_at"], name="job_state_heartbeat")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def result_ready(self) -> bool:
        """Its zip is whole and not past its time (the housekeeping deletes it soon after)."""
        return (
            self.state == JobState.DONE
            and bool(self.result_name)
            and not self.result_expired
            and (self.result_expires_at is None or self.result_expires_at > timezone.now())
        )

    @property
    def percent(self) -> int:
        """How far it got, by bytes where there are bytes, else by items."""
        if self.bytes_total:
            return min(100, self.bytes_done * 100 // self.bytes_total)
        if self.items_total:
            return min(100, (self.items_done + self.items_skipped) * 100 // self.items_total)
        return 0


class ItemState(models.TextChoices):
    PENDING = "pending", "Pending"
    WORKING = "working", "Working"  # begun: after a worker died, the target says whether it finished
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"


class JobItem(models.Model):
    """One file of a copy (or one datastore of a health check), so that a job picked up again
    knows what is done."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="items")
    path = models.CharField(max_length=1024)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=ItemState.choices, default=ItemState.PENDING)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["job", "path"], name="job_item_path_unique")]

    def __str__(self) -> str:
        return self.path
