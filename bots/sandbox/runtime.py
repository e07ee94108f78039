"""The files a sandboxed bot process sees: the runtime folder (the SDK) and the bot's staged code.

The runtime folder holds copies of the project's own files, nothing generated: the Django-free SDK
(``core/__init__.py``, ``core/sdk``), the public path uploaded bots import it by (``bots/__init__.py``, which is
empty, and ``bots/sdk``, which re-exports ``core.sdk``) and the child entry module (``bots/sandbox/child.py``,
copied as ``sandbox_child.py`` so that starting it loads none of the host's sandbox package). The backtest engine,
the fill model and the statistics are not there: backtests are simulated on the host (``bots.sandbox.streaming``).

Staging copies the bot's code folder (and its optional model file) into a private folder the sandbox
binds read-only at ``/bot``. The copy is a snapshot with permissions the unprivileged sandbox user can
read; symbolic links are copied as links (never followed), so a link in an upload cannot pull a host
file into the sandbox.
"""
from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import threading
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# (source, destination inside the runtime folder); folders copy their top-level *.py files only (no tests).
# No backtest engine, fill model or statistics: the child only answers decisions, the host computes every number.
RUNTIME_SOURCES = (
    ("core/__init__.py", "core/__init__.py"),
    ("core/sdk", "core/sdk"),
    ("bots/__init__.py", "bots/__init__.py"),
    ("bots/sdk", "bots/sdk"),
    ("bots/sandbox/child.py", "sandbox_child.py"),
)
# The module the sandbox starts (bots.sandbox.command's bootstrap imports it from the runtime folder).
CHILD_MODULE = "sandbox_child"

_runtime_lock = threading.Lock()
_runtime_dir: Path | None = None


def _source_files() -> list[tuple[Path, str]]:
    files = []
    for source, destination in RUNTIME_SOURCES:
        path = PROJECT_ROOT / source
        if path.is_dir():
            files += [(file, f"{destination}/{file.name}") for file in sorted(path.glob("*.py"))]
        else:
            files.append((path, destination))
    return files


def _make_readable(root: Path) -> None:
    """Folders 0755 and files 0644: the sandbox runs as an unprivileged user that owns none of them."""
    root.chmod(0o755)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            path = Path(folder, name)
            if not path.is_symlink():
                path.chmod(0o755)
        for name in files:
            path = Path(folder, name)
            if not path.is_symlink():  # chmod would follow the link
                path.chmod(0o644)


def _remove(folder: Path, owner_pid: int) -> None:
    # A forked copy of the host (a prefork worker) runs atexit too: only the creator removes the folder.
    if os.getpid() == owner_pid:
        shutil.rmtree(folder, ignore_errors=True)


def runtime_dir() -> Path:
    """The runtime folder of this host process (built on first use, removed at exit). Thread-safe.

    It is rebuilt when a source file changed (a developer editing the SDK under ``runserver``).
    """
    global _runtime_dir
    files = _source_files()
    digest = hashlib.sha256()
    for path, destination in files:
        digest.update(destination.encode() + b"\0" + path.read_bytes() + b"\0")
    with _runtime_lock:
        if _runtime_dir is not None and (_runtime_dir / "VERSION").is_file() and (
            (_runtime_dir / "VERSION").read_text() == digest.hexdigest()
        ):
            return _runtime_dir
        folder = Path(tempfile.mkdtemp(prefix="bot-sandbox-runtime-"))
        for path, destination in files:
            target = folder / destination
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        (folder / "VERSION").write_text(digest.hexdigest())
        _make_readable(folder)
        # An older folder may still be bound by running processes: leave it until exit.
        atexit.register(_remove, folder, os.getpid())
        _runtime_dir = folder
        return folder


def stage_code(code_path: Path, model_path: Path | None) -> tuple[Path, str | None]:
    """Copy the bot's code (a folder, or one ``.py`` file) and model into a new private staging folder.

    Returns ``(staging folder, default entrypoint)``: the staging folder holds ``bot/`` (bound at ``/bot``);
    the entrypoint is the module name when a single file other than ``bot.py`` was given, else None.
    The caller removes the staging folder (``shutil.rmtree``) when done.
    Raises ``FileNotFoundError`` for a missing path and ``ValueError`` when the model would overwrite code.
    """
    code_path = Path(code_path)
    if not code_path.exists():
        raise FileNotFoundError(f"bot code not found: {code_path}")
    if model_path is not None and not Path(model_path).is_file():
        raise FileNotFoundError(f"model file not found: {model_path}")
    staging = Path(tempfile.mkdtemp(prefix="bot-sandbox-code-"))
    try:
        bot_dir = staging / "bot"
        entrypoint = None
        if code_path.is_dir():
            # symlinks=True: copy links as links. Following them could copy a host file into the sandbox.
            shutil.copytree(code_path, bot_dir, symlinks=True)
        else:
            bot_dir.mkdir()
            shutil.copyfile(code_path, bot_dir / code_path.name)
            if code_path.name != "bot.py":
                entrypoint = code_path.stem
        if model_path is not None:
            folder = bot_dir / "model"
            target = folder / Path(model_path).name
            # A link named model/ in the upload would make us write the model wherever it points, on the host.
            if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
                raise ValueError("the bot's code has a 'model' entry that is not a folder")
            if target.exists() or target.is_symlink():
                raise ValueError(f"the bot's code already has a file at model/{target.name}")
            folder.mkdir(exist_ok=True)
            shutil.copyfile(model_path, target)
        _make_readable(staging)
        return staging, entrypoint
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
