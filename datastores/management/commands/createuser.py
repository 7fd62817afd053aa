import argparse
import getpass
import secrets
import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Create a studio user (not an administrator). An owner then adds them to a workspace by "
        "username or email. The password is read from a prompt, from standard input with "
        "--password-stdin, or generated and printed once with --generate-password."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        password = parser.add_mutually_exclusive_group()
        password.add_argument("--password-stdin", action="store_true", help="Read the password from standard input.")
        password.add_argument("--generate-password", action="store_true", help="Generate a password and print it once.")

    def handle(
        self, *args: Any, username: str, email: str, password_stdin: bool, generate_password: bool, **options: Any
    ) -> None:
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            raise CommandError(f"A user {username!r} exists already.")
        if generate_password:
            password = secrets.token_urlsafe(16)
        elif password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass(f"Password for {username}: ")
        user = User(username=username, email=email)
        try:
            validate_password(password, user)
        except ValidationError as weak:
            raise CommandError(" ".join(weak.messages)) from None
        user.set_password(password)
        user.full_clean()
        user.save()
        shown = f" with the password {password}" if generate_password else ""
        self.stdout.write(
            self.style.SUCCESS(f"Created user {username}{shown}. An owner can now add them to a workspace.")
        )
