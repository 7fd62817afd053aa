from datastores.management.transfer_command import TransferCommand
from datastores.management.transfer import upload_directory


class Command(TransferCommand):
    verb = "upload"
    help = (
        "Upload a local folder to a datastore, keeping relative paths, like the SDK's "
        "datastore.upload(src_dir, target_path, overwrite, show_progress). Existing files are skipped "
        "unless --overwrite. Uses the workspace's default datastore unless --datastore is given."
    )

    def add_transfer_arguments(self, parser):
        parser.add_argument("src_dir", metavar="SRC_DIR", help="The local folder to upload.")
        parser.add_argument("--target-path", default=None, help="The folder in the container or share (default: the root).")

    def transfer(self, datastore, *, src_dir, target_path, overwrite, progress, progress_stream, **options):
        return upload_directory(
            datastore, src_dir, target_path=target_path, overwrite=overwrite, progress=progress, progress_stream=progress_stream
        )
