"""What the child is given: the runtime folder, the staged code and the command line."""
import os
import shutil
import sys

import pytest

from bots.sandbox.command import SANDBOX_BOT, SANDBOX_LIB, find_bwrap, sandbox_command
from bots.sandbox.runtime import runtime_dir, stage_code

from .conftest import ROOT, TEST_LIMITS


def test_the_runtime_holds_the_sdk_without_the_engine_or_the_django_apps():
    runtime = runtime_dir()

    # No engine, fill model or statistics inside: the host computes every number from the decisions.
    assert sorted(path.name for path in runtime.iterdir()) == ["VERSION", "bots", "core", "sandbox_child.py"]
    assert sorted(path.name for path in (runtime / "core").iterdir()) == ["__init__.py", "sdk"]
    assert sorted(path.name for path in (runtime / "bots").iterdir()) == ["__init__.py", "sdk"]
    assert not (runtime / "core" / "sdk" / "tests").exists()
    # Nothing generated: every file is the project's own, byte for byte (the SDK and its public path alike).
    for copy in runtime.rglob("*.py"):
        relative = copy.relative_to(runtime).as_posix()
        source = ROOT / ("bots/sandbox/child.py" if relative == "sandbox_child.py" else relative)
        assert copy.read_bytes() == source.read_bytes(), relative
    assert (runtime / "bots" / "sdk" / "model.py").is_file()
    assert oct(runtime.stat().st_mode & 0o777) == "0o755"


@pytest.fixture
def stage():
    """stage_code(), with the staging folders removed after the test."""
    folders = []

    def run(code, model):
        staging, entrypoint = stage_code(code, model)
        folders.append(staging)
        return staging, entrypoint

    yield run
    for folder in folders:
        shutil.rmtree(folder)


def test_staging_copies_links_as_links(tmp_path, stage):
    code = tmp_path / "code"
    code.mkdir()
    (code / "bot.py").write_text("pass\n")
    os.symlink(ROOT / "marketplace" / "settings" / "base.py", code / "settings.py")

    staging, entrypoint = stage(code, None)

    staged = staging / "bot" / "settings.py"
    assert staged.is_symlink()  # inside the sandbox it points at nothing
    assert entrypoint is None
    assert oct((staging / "bot" / "bot.py").stat().st_mode & 0o777) == "0o644"


def test_staging_refuses_a_model_folder_that_is_a_link(tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "bot.py").write_text("pass\n")
    os.symlink(tmp_path, code / "model")
    model = tmp_path / "weights.bin"
    model.write_bytes(b"\0")

    with pytest.raises(ValueError, match="'model' entry that is not a folder"):
        stage_code(code, model)


def test_a_single_file_becomes_its_own_entrypoint(tmp_path, stage):
    source = tmp_path / "trend_bot.py"
    source.write_text("pass\n")

    staging, entrypoint = stage(source, None)

    assert entrypoint == "trend_bot"
    assert (staging / "bot" / "trend_bot.py").is_file()


def test_the_command_line_binds_nothing_of_the_project_but_its_interpreter(tmp_path):
    command = sandbox_command(find_bwrap() or "/usr/bin/bwrap", runtime_dir(), tmp_path, TEST_LIMITS)
    argv = command.argv

    binds = [(argv[i + 1], argv[i + 2]) for i, arg in enumerate(argv) if arg in ("--ro-bind", "--bind")]
    assert "--bind" not in argv  # nothing writable but the tmpfs
    assert (str(tmp_path), SANDBOX_BOT) in binds
    assert (str(runtime_dir()), SANDBOX_LIB) in binds
    for source, destination in binds:
        assert not destination.startswith(str(ROOT))
        inside_project = source == str(ROOT) or source.startswith(f"{ROOT}/")
        assert not inside_project or source == sys.prefix, source  # the virtualenv, bound at /sandbox/venv
    assert "--unshare-net" in argv or "--unshare-all" in argv
    assert {"--die-with-parent", "--new-session", "--clearenv"} <= set(argv)
    assert f"--nproc={TEST_LIMITS.max_processes}" in argv
