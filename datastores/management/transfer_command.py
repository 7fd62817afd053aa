"""What the upload and download commands share: choosing the datastore, the common
options, error handling and the closing report."""

from django.core.management.base import BaseCommand, CommandError

from datastores.storage import StorageError
from datastores.management.transfer import TransferError, TransferResult, TransferStopped, datastore_for_transfer


class TransferCommand(BaseCommand):
    verb = ""  # "upload" or "download"

    def add_transfer_arguments(self, parser) -> None:
        """The command's own positional argument and folder option."""
        raise NotImplementedError

    def transfer(self, datastore, *, overwrite: bool, progress: bool, progress_stream, **options) -> TransferResult:
        raise NotImplementedError

    def add_arguments(self, parser):
        self.add_transfer_arguments(parser)
        parser.add_argument("--overwrite", action="store_true", help="Replace files that already exist.")
        parser.add_argument("--no-progress", action="store_true", help="Do not show the progress bar.")
        parser.add_argument("--workspace", help="The workspace (may be omitted when there is only one).")
        parser.add_argument("--datastore", help="The datastore (default: the workspace's default datastore).")

    def handle(self, *args, overwrite, no_progress, workspace, datastore, **options):
        try:
            chosen = datastore_for_transfer(workspace_name=workspace, datastore_name=datastore)
            result = self.transfer(
                chosen,
                overwrite=overwrite,
                progress=not no_progress,
                progress_stream=self.stderr._out,  # tqdm redraws with \r; OutputWrapper would add newlines
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
