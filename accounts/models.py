"""Who a user is at an OpenID provider (Microsoft Entra ID): the link a sign-in follows to its user."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ExternalIdentity(models.Model):
    """A provider's subject, linked to one studio user.

    A sign-in finds its user by issuer and subject only, never by email or username: those
    can be chosen or changed at the provider, and matching on them would let one account
    take over another (a local one included)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identities")
    issuer = models.CharField(max_length=500)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="one_user_per_provider_subject")]
        verbose_name = "external identity"
        verbose_name_plural = "external identities"

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
