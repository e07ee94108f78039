"""The content hash of a bot version's code: what addresses it on disk and proves a copy is the uploaded one.

A version's digest (``BotVersion.code_sha256``) is the SHA-256 of the files the sandbox receives, as they lie in a
materialized folder (``bots.uploads.upload_materialize``): every file of the code under ``code/`` (a ``.py`` upload
is ``code/bot.py``; a zip is its members, extracted) and the model file, if any, at the top. It is computed once at
upload from the uploaded bytes (``upload_digest``) and again from a folder before the folder is used
(``folder_digest``): equal digests mean the same file names with the same bytes, nothing more and nothing less.

The digest is ``sha256`` of the JSON list ``[[path, sha256 hex of the file's bytes], ...]`` sorted by path, so that
no choice of file names can make two different sets of files encode alike. Pure Python, no Django (migrations use it).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import zipfile
from pathlib import Path, PurePosixPath


class DigestMismatch(Exception):
    """A folder is not a faithful copy of a version's code: a file that is no regular file, or another digest."""


def _digest(files: dict[str, str]) -> str:
    listing = json.dumps(sorted(files.items()), separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(listing.encode()).hexdigest()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def code_files(code_name: str, code_bytes: bytes) -> dict[str, str]:
    """``{"code/<path>": sha256}`` of an uploaded code file, named as it is stored (``code.py`` or ``code.zip``), as
    ``upload_materialize`` lays it out (a zip's directories leave no entry; a name given twice keeps its last)."""
    if not code_name.endswith(".zip"):
        return {"code/bot.py": _sha256(code_bytes)}
    files = {}
    with zipfile.ZipFile(io.BytesIO(code_bytes)) as archive:
        for member in archive.infolist():
            if member.is_dir():
                continue
            path = PurePosixPath(member.filename.replace("\\", "/")).as_posix()
            files[f"code/{path}"] = _sha256(archive.read(member))
    return files


def upload_digest(*, code_name: str, code_bytes: bytes, model_name: str | None = None,
                  model_sha256: str | None = None) -> str:
    """The digest of a version from its stored code (name and bytes) and model (its stored file name and the
    SHA-256 of its bytes; a model may be too large to hold in memory, so it is hashed in chunks by the caller)."""
    files = code_files(code_name, code_bytes)
    if model_name:
        files[PurePosixPath(model_name).name] = model_sha256 or ""
    return _digest(files)


def file_sha256(stream) -> str:
    """SHA-256 of a binary stream, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1024 * 1024), b""):
        digest.update(chunk)
    return digest.hexdigest()


def folder_digest(folder: Path) -> str:
    """The digest of a materialized folder. Raises ``DigestMismatch`` when it holds anything but regular files and
    folders (a symbolic link, a device, a fifo): nothing of the kind is ever materialized."""
    files = {}
    for root, dirs, names in os.walk(folder):
        for name in [*dirs, *names]:
            path = Path(root) / name
            mode = path.lstat().st_mode
            if stat.S_ISDIR(mode):
                continue
            relative = path.relative_to(folder).as_posix()
            if not stat.S_ISREG(mode):
                raise DigestMismatch(f"{relative} is not a regular file")
            with path.open("rb") as stream:
                files[relative] = file_sha256(stream)
    return _digest(files)
