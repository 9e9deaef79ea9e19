"""cfn-lint over a synthesised template, as every synth test checks it: no error-level finding (E...);
warnings (exit 4) and informational findings (exit 8) pass."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any


def assert_lint_clean(template: dict[str, Any], folder: Path, name: str = "template.json") -> None:
    path = Path(folder) / name
    path.write_text(json.dumps(template, default=str))
    done = subprocess.run(["cfn-lint", str(path)], capture_output=True, text=True, timeout=300)
    errors = [line for line in done.stdout.splitlines() if line[:1] == "E"]
    assert done.returncode in (0, 4, 8) and not errors, done.stdout
