from django.core.management.base import BaseCommand, CommandError

from datastores.storage import StorageError
from datastores.transfer import TransferError, TransferResult, TransferStopped, datastore_for_transfer, download_prefix


class Command(BaseCommand):
    help = (
        "Download a datastore's files into a local folder, like the SDK's "
        "datastore.download(target_path, prefix, overwrite, show_progress): each file keeps its full "
        "path below TARGET_DIR. Existing local files are kept unless --overwrite. Uses the workspace's "
        "default datastore unless --datastore is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("target_dir", metavar="TARGET_DIR", help="The local folder to download into.")
        parser.add_argument("--prefix", default=None, help="The folder in the container or share (default: everything).")
        parser.add_argument("--overwrite", action="store_true", help="Replace local files that already exist.")
        parser.add_argument("--no-progress", action="store_true", help="Do not show the progress bar.")
        parser.add_argument("--workspace", help="The workspace (may be omitted when there is only one).")
        parser.add_argument("--datastore", help="The datastore (default: the workspace's default datastore).")

    def handle(self, *args, target_dir, prefix, overwrite, no_progress, workspace, datastore, **options):
        try:
            chosen = datastore_for_transfer(workspace_name=workspace, datastore_name=datastore)
            result = download_prefix(
                chosen,
                target_dir,
                prefix=prefix,
                overwrite=overwrite,
                progress=not no_progress,
                progress_stream=self.stderr._out,  # tqdm redraws with \r; OutputWrapper would add newlines
            )
        except TransferError as error:
            raise CommandError(error.message) from None
        except TransferStopped as stopped:
            done = stopped.result
            if done.transferred or done.skipped or done.failed:
                self.report(done)
            raise CommandError(f"{stopped.message} The download stopped there.") from None
        except StorageError as error:
            raise CommandError(error.message) from None
        self.report(result)
        if result.failed:
            raise CommandError(f"{len(result.failed)} file(s) were not downloaded; see the warnings above.")

    def report(self, result: TransferResult) -> None:
        for failure in result.failed:
            self.stderr.write(self.style.WARNING(f"Not downloaded: {failure.name}: {failure.reason}"))
        self.stdout.write(result.summary("Downloaded"))
