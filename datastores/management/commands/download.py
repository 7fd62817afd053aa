import argparse
from typing import IO, Any

from datastores.access import Actor, Need
from datastores.management.transfer import TransferResult, download_prefix
from datastores.management.transfer_command import TransferCommand
from datastores.models import Datastore


class Command(TransferCommand):
    verb = "download"
    need = Need.VIEW
    help = (
        "Download a datastore's files into a local folder, like the SDK's "
        "datastore.download(target_path, prefix, overwrite, show_progress): each file keeps its full "
        "path below TARGET_DIR. Existing local files are kept unless --overwrite. Uses the workspace's "
        "default datastore unless --datastore is given."
    )

    def add_transfer_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("target_dir", metavar="TARGET_DIR", help="The local folder to download into.")
        parser.add_argument(
            "--prefix", default=None, help="The folder in the container or share (default: everything)."
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
        return download_prefix(
            datastore,
            options["target_dir"],
            prefix=options["prefix"],
            overwrite=overwrite,
            progress=progress,
            progress_stream=progress_stream,
            actor=actor,
        )
