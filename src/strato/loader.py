"""Finds the App a command line names: ``module:attr``, ``path/to/app.py`` or ``path/to/app.py:attr``."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from .app import App
from .core.errors import ConfigurationError


def load_app(spec: str, *, fresh: bool = False) -> App:
    """The App ``spec`` names. ``fresh`` first forgets the modules imported from the app's directory, so
    its module-level resources and state are made anew (the test kit loads one App per test)."""
    target, _, attr = spec.partition(":") if not (len(spec) > 1 and spec[1] == ":") else (spec, "", "")
    if target.endswith(".py") or "/" in target or Path(target).is_file():
        path = Path(target).resolve()
        if not path.is_file():
            raise ConfigurationError(f"no such file: {target}")
        if str(path.parent) not in sys.path:
            sys.path.insert(0, str(path.parent))
        if fresh:
            forget_modules_under(path.parent)
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
        if fresh:
            _forget_module_tree(target)
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as exc:
            raise ConfigurationError(f"cannot import {target!r}: {exc}") from exc
        except SyntaxError as exc:
            raise ConfigurationError(f"{exc.filename or target}:{exc.lineno}: {exc.msg}") from None
    return _find(module, attr, spec)


def forget_modules_under(directory: Path) -> list[str]:
    """Drop from ``sys.modules`` every module whose file is under ``directory`` (not test modules or
    conftest files, which pytest owns), so the next import runs their code again; returns their names."""
    root = str(directory.resolve()) + os.sep
    gone = []
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not file or not file.startswith(root):
            continue
        stem = Path(file).stem
        if stem.startswith("test_") or stem.endswith("_test") or stem == "conftest":
            continue
        del sys.modules[name]
        gone.append(name)
    return gone


def _forget_module_tree(target: str) -> None:
    """Forget the modules of the package (or the directory of the module) ``target`` names."""
    try:
        found = importlib.util.find_spec(target)
    except (ImportError, ValueError):
        return
    if found is not None and found.origin and found.origin not in ("built-in", "frozen"):
        forget_modules_under(Path(found.origin).parent)


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
