"""Where configuration comes from: the environment first, then the App's arguments.

The deploy step sets the same variables in the Lambda environment, so the code that reads
them here is the code that runs in production:

- ``STRATO_PROVIDER`` = ``local`` | ``aws`` (``aws`` automatically inside Lambda).
- ``STRATO_<KIND>_<NAME>_PROVIDER`` overrides one resource (e.g. ``STRATO_KV_SESSIONS_PROVIDER=redis``).
- ``STRATO_<KIND>_<NAME>`` is the physical name (``STRATO_TABLE_JOBS=jobs-prod-1a2b``).
- ``STRATO_DATA_DIR`` is where local providers keep their files (default ``./.strato``).
- ``STRATO_DURABILITY`` = ``process`` (default: survives a killed process) | ``power`` (fsync per commit).
- ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` point boto3 at any endpoint (boto3 reads them).
- ``STRATO_AUTO_CREATE`` = 1 creates missing AWS resources on first use (default: on when an
  endpoint override is set, i.e. against moto or LocalStack; off against real AWS).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from .errors import ConfigurationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

#: written into every data directory strato dev uses: `--reset` deletes only such a folder, `package` skips it
DATA_MARKER = ".strato-data"
PROVIDERS = ("local", "aws", "redis", "postgres")
# string checks, not regular expressions: compiling one costs a Lambda cold start 0.1-0.2 ms
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_ALNUM = _LETTERS | frozenset("0123456789")
_NAME_CHARS = _ALNUM | frozenset("_-")


def env_token(name: str) -> str:
    """The environment-variable spelling of a resource name: ``job-events`` -> ``JOB_EVENTS``."""
    return "".join(c if c in _ALNUM else "_" for c in name).upper()


def valid_name(name: object) -> bool:
    """1-63 ASCII letters, digits, '-' or '_', starting with a letter."""
    return isinstance(name, str) and 0 < len(name) <= 63 and name[0] in _LETTERS and _NAME_CHARS.issuperset(name)


def check_name(kind: str, name: str) -> str:
    if not valid_name(name):
        raise ConfigurationError(
            f"{kind} name {name!r} is not valid: use 1-63 letters, digits, '-' or '_', starting with a letter"
        )
    return name


def region() -> str:
    """The AWS region: ``AWS_REGION`` (Lambda sets it), then ``AWS_DEFAULT_REGION``, else us-east-1."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def in_lambda() -> bool:
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


class Config:
    """Resolved settings of one App. Build it with :meth:`from_env`."""

    def __init__(
        self,
        app_name: str,
        provider: str = "local",
        data_dir: str | os.PathLike[str] = ".strato",
        stage: str = "dev",
        durability: str = "process",
        auto_create: bool = False,
    ) -> None:
        self.app_name = app_name
        self.provider = provider
        self.data_dir = data_dir
        self.stage = stage
        self.durability = durability
        self.auto_create = auto_create

    @property
    def data_dir(self) -> Path:
        """Where local providers keep their files. A Path made on first use: ``pathlib`` costs a Lambda
        cold start a few milliseconds, and on AWS nothing asks."""
        if not isinstance(self._data_dir, str):
            return self._data_dir
        from pathlib import Path

        self._data_dir: str | Path = Path(self._data_dir)
        return self._data_dir

    @data_dir.setter
    def data_dir(self, value: str | os.PathLike[str]) -> None:
        self._data_dir = os.fspath(value)

    @classmethod
    def from_env(
        cls,
        app_name: str,
        *,
        provider: str | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        stage: str | None = None,
    ) -> Config:
        env = os.environ
        chosen = provider or env.get("STRATO_PROVIDER") or ("aws" if in_lambda() else "local")
        if chosen not in ("local", "aws"):
            raise ConfigurationError(f"STRATO_PROVIDER must be 'local' or 'aws', not {chosen!r}")
        durability = env.get("STRATO_DURABILITY", "process")
        if durability not in ("process", "power"):
            raise ConfigurationError(f"STRATO_DURABILITY must be 'process' or 'power', not {durability!r}")
        has_endpoint = any(k.startswith("AWS_ENDPOINT_URL") for k in env)
        auto = env.get("STRATO_AUTO_CREATE")
        return cls(
            app_name=app_name,
            provider=chosen,
            data_dir=data_dir or env.get("STRATO_DATA_DIR") or ".strato",
            stage=stage or env.get("STRATO_STAGE", "dev"),
            durability=durability,
            auto_create=(auto == "1") if auto is not None else has_endpoint,
        )

    def provider_for(
        self, kind: str, name: str, explicit: str | None = None, allowed: Sequence[str] = PROVIDERS
    ) -> str:
        """The provider of one resource: explicit argument, then its env override, then the app's."""
        chosen = explicit or os.environ.get(f"STRATO_{kind.upper()}_{env_token(name)}_PROVIDER") or self.provider
        if chosen not in allowed:
            raise ConfigurationError(
                f"{kind} {name!r}: provider {chosen!r} is not available; choose one of {', '.join(allowed)}"
            )
        return chosen

    def physical_name(self, kind: str, name: str) -> str:
        """The AWS name of a resource: set by the template's env vars, else ``<app>-<stage>-<name>``."""
        return os.environ.get(f"STRATO_{kind.upper()}_{env_token(name)}") or f"{self.app_name}-{self.stage}-{name}"
