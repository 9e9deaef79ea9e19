"""The test kit as a user gets it: a project of its own with no conftest, where `pip install strato` alone
registers the plugin (the pytest11 entry point), the ini option names the app, and strato_providers runs
a test on local and on aws (a moto server the plugin starts on a free loopback port). The project is
the one docs/testing.md shows, block for block."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.conftest import ROOT

PAGE = ROOT / "docs" / "testing.md"


def page_blocks() -> tuple[str, str]:
    """The app and the tests docs/testing.md shows under "Testing your app": the first two python blocks."""
    text = PAGE.read_text().split("## Testing your app", 1)[1]
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:3]]
    return blocks[0], blocks[1]


def run_pytest(project) -> subprocess.CompletedProcess:
    """pytest in ``project``, as its owner would run it: none of this suite's settings or services."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STRATO_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(project)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_a_user_project_gets_the_fixtures_from_the_entry_point(tmp_path):
    app, tests = page_blocks()
    (tmp_path / "app.py").write_text(app)
    (tmp_path / "test_shop.py").write_text(tests)
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [tool.pytest.ini_options]
            strato_app = "app.py"
            """
        )
    )
    done = run_pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout


def readme_blocks() -> tuple[str, str]:
    """The README's tour (the app) and its testing section (the test module)."""
    text = (ROOT / "README.md").read_text()
    tour = text.split("## A tour", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    tests = text.split("## Testing", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    return tour, tests


def test_the_readme_testing_section_runs_against_the_tour(tmp_path):
    app, tests = readme_blocks()
    (tmp_path / "app.py").write_text(app)
    (tmp_path / "test_app.py").write_text(tests)
    (tmp_path / "pytest.ini").write_text("[pytest]\nstrato_app = app.py\n")
    done = run_pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
