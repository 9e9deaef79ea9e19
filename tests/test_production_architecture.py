"""arm64 unless a dependency forbids it: pip resolves the requirements for manylinux aarch64 (a local wheel
house here, no network), and the package's shared objects are checked by their ELF headers."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from strato.core.errors import ConfigurationError
from strato.deploy.architecture import check_installed, decide, scan


def wheel(house: Path, name: str, tag: str) -> None:
    """A minimal valid wheel: one module and its dist-info."""
    dist = f"{name}-1.0.dist-info"
    pure = "true" if tag.endswith("none-any") else "false"
    files = {
        f"{name}/__init__.py": "",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        f"{dist}/WHEEL": f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: {pure}\nTag: {tag}\n",
    }
    files[f"{dist}/RECORD"] = "".join(f"{n},,\n" for n in files) + f"{dist}/RECORD,,\n"
    with zipfile.ZipFile(house / f"{name}-1.0-{tag}.whl", "w") as z:
        for path, text in files.items():
            z.writestr(path, text)


@pytest.fixture
def house(tmp_path):
    folder = tmp_path / "wheels"
    folder.mkdir()
    wheel(folder, "purething", "py3-none-any")
    wheel(folder, "nativeonly", "cp312-cp312-manylinux2014_x86_64")
    wheel(folder, "bothways", "cp312-cp312-manylinux2014_x86_64")
    wheel(folder, "bothways", "cp312-cp312-manylinux2014_aarch64")
    return folder


def test_no_dependencies_means_arm64():
    decision = decide([])
    assert decision.architecture == "arm64" and decision.portable


def test_pure_and_dual_wheels_resolve_for_arm64(house):
    decision = decide(["--no-index", f"--find-links={house}", "purething", "bothways"])
    assert decision.architecture == "arm64" and "aarch64" in decision.reason


def test_a_wheel_built_for_x86_64_only_makes_the_package_x86_64(house):
    decision = decide(["--no-index", f"--find-links={house}", "purething", "nativeonly"])
    assert decision.architecture == "x86_64" and not decision.portable
    assert decision.reason == "nativeonly has no manylinux aarch64 wheel for CPython 3.12"


def test_a_dependency_with_no_lambda_wheel_at_all_is_refused(house):
    with pytest.raises(ConfigurationError, match=r"cannot tell whether|no Lambda wheel"):
        decide(["--no-index", f"--find-links={house}", "missingthing"])


def elf(path: Path, machine: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9) + (3).to_bytes(2, "little") + machine.to_bytes(2, "little")
    path.write_bytes(header + bytes(44))


def test_native_code_for_the_other_architecture_is_refused(tmp_path):
    elf(tmp_path / "fast" / "_speedups.cpython-312-x86_64-linux-gnu.so", 62)
    elf(tmp_path / "other" / "_core.cpython-312-aarch64-linux-gnu.so", 183)
    (tmp_path / "plain.so.txt").write_text("not a library")
    assert scan(tmp_path) == {
        "x86_64": ["fast/_speedups.cpython-312-x86_64-linux-gnu.so"],
        "arm64": ["other/_core.cpython-312-aarch64-linux-gnu.so"],
    }
    with pytest.raises(ConfigurationError, match="the arm64 package holds x86_64 native code"):
        check_installed(tmp_path, "arm64")


def test_an_explicit_architecture_other_than_the_package_s_needs_a_portable_package(make_app, monkeypatch):
    from strato import function
    from strato.deploy import architecture
    from strato.deploy.synth import synth

    app = make_app("local")
    app.queue("jobs").consumer()(function(architecture="x86_64")(lambda m: None))
    assert synth(app)["Resources"]["QueueJobsFunction"]["Properties"]["Architectures"] == ["x86_64"]  # pure: fine
    monkeypatch.setattr(
        architecture, "for_app", lambda app: architecture.Decision("arm64", "numpy-like has arm64 wheels", False)
    )
    with pytest.raises(ConfigurationError, match=r"function 'queue-jobs': architecture 'x86_64'.* native code"):
        synth(app)


def test_a_forced_architecture_stands_when_pip_cannot_check(make_app, monkeypatch, tmp_path):
    from strato.deploy import architecture

    app = make_app("local")
    app.functions(architecture="x86_64")
    monkeypatch.setattr(architecture, "requirement_lines", lambda app: (["--no-index", "unreachable"], tmp_path))
    decision = architecture.for_app(app)
    assert decision.architecture == "x86_64" and "could not check" in decision.reason
    with pytest.raises(ConfigurationError, match=r"no Lambda wheel|cannot tell"):
        architecture.for_app(make_app("local"))  # nothing forced: pip's failure is the answer
