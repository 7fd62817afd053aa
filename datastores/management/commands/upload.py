from django.core.management.base import BaseCommand, CommandError

from datastores.storage import StorageError
from datastores.transfer import TransferError, TransferResult, TransferStopped, datastore_for_transfer, upload_directory


class Command(BaseCommand):
    help = (
        "Upload a local folder to a datastore, keeping relative paths, like the SDK's "
        "datastore.upload(src_dir, target_path, overwrite, show_progress). Existing files are skipped "
        "unless --overwrite. Uses the workspace's default datastore unless --datastore is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("src_dir", metavar="SRC_DIR", help="The local folder to upload.")
        parser.add_argument("--target-path", default=None, help="The folder in the container or share (default: the root).")
        parser.add_argument("--overwrite", action="store_true", help="Replace files that already exist.")
        parser.add_argument("--no-progress", action="store_true", help="Do not show the progress bar.")
        parser.add_argument("--workspace", help="The workspace (may be omitted when there is only one).")
        parser.add_argument("--datastore", help="The datastore (default: the workspace's default datastore).")

    def handle(self, *args, src_dir, target_path, overwrite, no_progress, workspace, datastore, **options):
        try:
            chosen = datastore_for_transfer(workspace_name=workspace, datastore_name=datastore)
            result = upload_directory(
                chosen,
                src_dir,
                target_path=target_path,
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
            raise CommandError(f"{stopped.message} The upload stopped there.") from None
        except StorageError as error:
            raise CommandError(error.message) from None
        self.report(result)
        if result.failed:
            raise CommandError(f"{len(result.failed)} file(s) were not uploaded; see the warnings above.")

    def report(self, result: TransferResult) -> None:
        for failure in result.failed:
            self.stderr.write(self.style.WARNING(f"Not uploaded: {failure.name}: {failure.reason}"))
        self.stdout.write(result.summary("Uploaded"))
