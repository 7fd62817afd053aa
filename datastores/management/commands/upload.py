import argparse
from typing import IO, Any

from datastores.access import Actor, Need
from datastores.management.transfer import TransferResult, upload_directory
from datastores.management.transfer_command import TransferCommand
from datastores.models import Datastore


class Command(TransferCommand):
    verb = "upload"
    need = Need.CHANGE
    help = (
        "Upload a local folder to a datastore, keeping relative paths, like the SDK's "
        "datastore.upload(src_dir, target_path, overwrite, show_progress). Existing files are skipped "
        "unless --overwrite. Uses the workspace's default datastore unless --datastore is given."
    )

    def add_transfer_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("src_dir", metavar="SRC_DIR", help="The local folder to upload.")
        parser.add_argument(
            "--target-path", default=None, help="The folder in the container or share (default: the root)."
        )

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
        return upload_directory(
            datastore,
            options["src_dir"],
            target_path=options["target_path"],
            overwrite=overwrite,
            progress=progress,
            progress_stream=progress_stream,
            actor=actor,
        )
