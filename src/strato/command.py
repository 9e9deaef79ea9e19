"""The ``strato`` command's entry point: a missing optional dependency gets a one-line hint naming the
extra to install, not an ImportError traceback."""

from __future__ import annotations

import sys

#: importable name -> the extra that installs it
EXTRAS = {
    "click": "dev",
    "rich": "dev",
    "uvicorn": "dev",
    "starlette": "dev",
    "boto3": "aws",
    "botocore": "aws",
    "redis": "redis",
    "psycopg": "postgres",
    "psycopg_pool": "postgres",
    "jwt": "auth",
    "pyotp": "auth",
    "cryptography": "dev",
    "watchfiles": "dev",
    "pydantic": "models",
}


def hint(exc: ModuleNotFoundError) -> str | None:
    """The line to print for a missing module strato knows the extra of, else None."""
    name = (exc.name or "").split(".")[0]
    extra = EXTRAS.get(name)
    return f"strato: this needs {name}, which is not installed: pip install 'strato[{extra}]'" if extra else None


def main() -> None:
    try:
        from .cli import main as cli

        cli()
    except ModuleNotFoundError as exc:
        line = hint(exc)
        if line is None:
            raise
        sys.exit(line)
