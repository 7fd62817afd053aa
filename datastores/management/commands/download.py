from datastores.management.transfer_command import TransferCommand
from datastores.management.transfer import download_prefix


class Command(TransferCommand):
    verb = "download"
    help = (
        "Download a datastore's files into a local folder, like the SDK's "
        "datastore.download(target_path, prefix, overwrite, show_progress): each file keeps its full "
        "path below TARGET_DIR. Existing local files are kept unless --overwrite. Uses the workspace's "
        "default datastore unless --datastore is given."
    )

    def add_transfer_arguments(self, parser):
        parser.add_argument("target_dir", metavar="TARGET_DIR", help="The local folder to download into.")
        parser.add_argument("--prefix", default=None, help="The folder in the container or share (default: everything).")

    def transfer(self, datastore, *, target_dir, prefix, overwrite, progress, progress_stream, **options):
        return download_prefix(
            datastore, target_dir, prefix=prefix, overwrite=overwrite, progress=progress, progress_stream=progress_stream
        )
