"""Admin CLI for the analytics app: users of the (sign-up-less) pool, and applications.

    python -m examples.analytics.admin create-user EMAIL --password P [--group admins]
    python -m examples.analytics.admin delete-user EMAIL
    python -m examples.analytics.admin create-application ID

Locally it works on the data directory (``--data`` or STRATO_DATA_DIR, default ./.strato); with
STRATO_PROVIDER=aws on the deployed pool and table (AdminCreateUser, then the new-password challenge
answered with P, so the user is CONFIRMED with P as the password, as Cognito has no other way)."""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
from pathlib import Path
from typing import Any

APP = str(Path(__file__).resolve().parent / "app.py")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def load(data: str | None) -> Any:
    from strato.loader import load_app

    if data:
        os.environ["STRATO_DATA_DIR"] = data
    os.environ["ANALYTICS_ADMIN"] = "1"  # this process may make the pool's admin calls (the app's functions not)
    return load_app(APP, fresh=True)


def create_user(app: Any, email: str, password: str, groups: list[str]) -> None:
    from strato import AuthError
    from strato.auth import Challenge

    users = app.resources[("user_pool", "analysts")]
    email = email.lower()
    if not EMAIL.fullmatch(email):  # the pool's user names are email addresses
        raise AuthError(f"{email!r} is not an email address", "InvalidParameterException")
    users.policy.check(password)  # InvalidPasswordException naming every rule, before anything is created
    temporary = f"Tmp-{secrets.token_urlsafe(12)}9!a"
    users.admin_create_user(email, temporary_password=temporary, attributes={"email": email, "email_verified": "true"})
    challenge = users.sign_in(email, temporary)
    if isinstance(challenge, Challenge) and challenge.name == "NEW_PASSWORD_REQUIRED":
        users.respond(challenge, new_password=password)
    for group in groups:
        try:
            users.create_group(group)
        except AuthError as exc:
            if exc.code != "GroupExistsException":
                raise
        users.add_to_group(email, group)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.analytics.admin", description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="the local data directory (default STRATO_DATA_DIR or ./.strato)")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-user", help="a confirmed user with this password")
    create.add_argument("email")
    create.add_argument("--password", required=True)
    create.add_argument("--group", action="append", default=[], help="a group to add the user to (repeatable)")
    delete = commands.add_parser("delete-user")
    delete.add_argument("email")
    application = commands.add_parser("create-application", help="register an application; prints its API key")
    application.add_argument("application_id")
    args = parser.parse_args(argv)

    import strato
    from strato import AuthError, ConditionFailed

    app = load(args.data)
    try:
        if args.command == "create-user":
            create_user(app, args.email, args.password, args.group)
            print(f"created {args.email.lower()}" + (f" in {', '.join(args.group)}" if args.group else ""))
        elif args.command == "delete-user":
            app.resources[("user_pool", "analysts")].admin_delete_user(args.email.lower())
            print(f"deleted {args.email.lower()}")
        else:
            from validation import Invalid, check_app_id, key_hash  # beside app.py, on the path it set

            try:
                app_id = check_app_id(args.application_id)
            except Invalid as bad:
                print(f"error: {bad}", file=sys.stderr)
                return 2
            key = f"ak_{secrets.token_urlsafe(32)}"
            item = {
                "applicationId": app_id,
                "kind": "application",
                "apiKeyHash": key_hash(key),
                "createdAt": strato.now(),
            }
            app.resources[("table", "applications")].put({**item, "createdBy": "admin-cli"}, if_absent=True)
            print(key)
    except AuthError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    except ConditionFailed:
        print(f"error: application {args.application_id!r} exists", file=sys.stderr)
        return 1
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
