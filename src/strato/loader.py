"""Finds the App a command line names: ``module:attr``, ``path/to/app.py`` or ``path/to/app.py:attr``."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from .app import App
from .core.errors import ConfigurationError


def load_app(spec: str) -> App:
    target, _, attr = spec.partition(":") if not (len(spec) > 1 and spec[1] == ":") else (spec, "", "")
    if target.endswith(".py") or "/" in target or Path(target).is_file():
        path = Path(target).resolve()
        if not path.is_file():
            raise ConfigurationError(f"no such file: {target}")
        sys.path.insert(0, str(path.parent))
        name = f"strato_app_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:  # e.g. a file without the .py suffix
            raise ConfigurationError(f"cannot load {target} as a Python module (name it *.py)")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        try:
            module_spec.loader.exec_module(module)
        except SyntaxError as exc:  # one line a person can act on, not the import machinery's traceback
            raise ConfigurationError(f"{exc.filename or target}:{exc.lineno}: {exc.msg}") from None
    else:
        if "" not in sys.path and str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as exc:
            raise ConfigurationError(f"cannot import {target!r}: {exc}") from exc
        except SyntaxError as exc:
            raise ConfigurationError(f"{exc.filename or target}:{exc.lineno}: {exc.msg}") from None
    return _find(module, attr, spec)


def _find(module: Any, attr: str, spec: str) -> App:
    if attr:
        found = getattr(module, attr, None)
        if not isinstance(found, App):
            raise ConfigurationError(f"{spec}: {attr!r} is not a strato.App")
        return found
    apps = [v for v in vars(module).values() if isinstance(v, App)]
    if len(apps) != 1:
        raise ConfigurationError(f"{spec}: found {len(apps)} strato.App objects; name one as module:attr")
    return apps[0]
