"""What the upload and download commands share: who acts, choosing the datastore, the
common options, error handling and the closing report."""

from __future__ import annotations

import argparse
from typing import IO, Any, cast

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from datastores.access import Actor, Need
from datastores.management.transfer import TransferError, TransferResult, TransferStopped, datastore_for_transfer
from datastores.models import Datastore
from datastores.storage import StorageError


def command_actor(username: str | None) -> Actor:
    """`--user NAME` acts with that person's roles; without it, the command acts as the
    server's administrator (whoever runs manage.py can read the database anyway)."""
    if not username:
        return Actor()
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"There is no active user {username!r}.")
    return Actor(user=user)


class TransferCommand(BaseCommand):
    verb = ""  # "upload" or "download"
    need = Need.VIEW

    def add_transfer_arguments(self, parser: argparse.ArgumentParser) -> None:
        """The command's own positional argument and folder option."""
        raise NotImplementedError

    def transfer(
        self,
        datastore: Datastore,
        *,
        actor: Actor,
        overwrite: bool,
        progress: bool,
        progress_stream: IO[str],
        **options: Any,
    ) -> TransferResult:
        raise NotImplementedError

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        self.add_transfer_arguments(parser)
        parser.add_argument("--overwrite", action="store_true", help="Replace files that already exist.")
        parser.add_argument("--no-progress", action="store_true", help="Do not show the progress bar.")
        parser.add_argument("--workspace", help="The workspace (may be omitted when there is only one).")
        parser.add_argument("--datastore", help="The datastore (default: the workspace's default datastore).")
        parser.add_argument(
            "--user", help="Act as this user, with their role in the workspace (default: as the administrator)."
        )

    def handle(
        self,
        *args: Any,
        overwrite: bool,
        no_progress: bool,
        workspace: str | None,
        datastore: str | None,
        user: str | None,
        **options: Any,
    ) -> None:
        actor = command_actor(user)
        try:
            chosen = datastore_for_transfer(
                actor=actor, workspace_name=workspace, datastore_name=datastore, need=self.need
            )
            result = self.transfer(
                chosen,
                actor=actor,
                overwrite=overwrite,
                progress=not no_progress,
                # tqdm redraws with \r; OutputWrapper would add newlines. Its stream is a text stream.
                progress_stream=cast(IO[str], self.stderr._out),
                **options,
            )
        except TransferError as error:
            raise CommandError(error.message) from None
        except TransferStopped as stopped:
            done = stopped.result
            if done.transferred or done.skipped or done.failed:
                self.report(done)
            raise CommandError(f"{stopped.message} The {self.verb} stopped there.") from None
        except StorageError as error:
            raise CommandError(error.message) from None
        self.report(result)
        if result.failed:
            raise CommandError(f"{len(result.failed)} file(s) were not {self.verb}ed; see the warnings above.")

    def report(self, result: TransferResult) -> None:
        for failure in result.failed:
            self.stderr.write(self.style.WARNING(f"Not {self.verb}ed: {failure.name}: {failure.reason}"))
        self.stdout.write(result.summary(f"{self.verb.capitalize()}ed"))
