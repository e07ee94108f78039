"""Checking and storing a developer's uploaded bot code and model file.

The code is one `.py` file (stored as `code.py`) or a `.zip` package with `bot.py` at its root (stored as
`code.zip`). A zip is inspected with `zipfile` from its central directory, before anything is extracted or
stored: no absolute paths, no `..`, no symbolic links, bounded file count, total size and compression ratio (a
zip bomb claims a small archive and expands to gigabytes). Every check runs before the first byte is written,
so a refused upload stores nothing.

Files go through Django's storage API (`default_storage`), so S3 works when it is configured, under
`bots/<bot id>/<version>/code.py|code.zip` and `bots/<bot id>/<version>/model.<ext>`.
"""

import re
import stat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from bots.code_digest import DigestMismatch, file_sha256, folder_digest, upload_digest
from bots.exceptions import CodeIntegrityError, UploadRejected

CODE_MAX_BYTES = 1 * 1024 * 1024
MODEL_MAX_BYTES = 50 * 1024 * 1024
ZIP_MAX_FILES = 200
# What the package may expand to, and by how much it may compress: a code package is text, which compresses
# about 3–10×; a ratio in the hundreds is a bomb.
ZIP_MAX_UNCOMPRESSED_BYTES = 10 * 1024 * 1024
ZIP_MAX_RATIO = 100
MODEL_EXTENSIONS = frozenset({"onnx", "pkl", "joblib", "pt", "pth", "h5", "keras", "json", "bin", "npz", "npy", "txt"})
# Part of a storage path: letters, digits, dots, dashes, underscores; not starting with a dot.
VERSION_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,49}$")


@dataclass(frozen=True)
class StoredUpload:
    code_path: str
    model_path: str | None
    # The content hash of what was stored (bots.code_digest): BotVersion.code_sha256.
    code_sha256: str = ""


def _size(file: UploadedFile) -> int:
    if file.size is not None:
        return file.size
    file.seek(0, 2)
    size = file.tell()
    file.seek(0)
    return size


def _mb(size_bytes: int) -> str:
    return f"{size_bytes / (1024 * 1024):g} MB"


def version_check(version: str) -> str:
    """The version label, stripped. Raises UploadRejected unless it is a safe path part like "1.2.0"."""
    version = (version or "").strip()
    if not VERSION_PATTERN.match(version) or ".." in version:
        raise UploadRejected(
            "A version is 1–50 letters, digits, dots, dashes or underscores, like 1.2.0.", field="version"
        )
    return version


def zip_check(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Check a code package from its central directory (nothing is decompressed). Returns its members.

    Raises UploadRejected naming the first problem: an absolute path, a `..` part, a symbolic link, too many
    files, too much uncompressed data, a suspicious compression ratio, or no `bot.py` at the root.
    """
    members = archive.infolist()
    if len(members) > ZIP_MAX_FILES:
        raise UploadRejected(f"The package has {len(members)} entries; at most {ZIP_MAX_FILES} are allowed.")
    total_size = total_compressed = 0
    names = set()
    for member in members:
        name = member.filename
        # Windows separators and drive letters count too: the archive may come from any system.
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
            raise UploadRejected(f"The package holds an absolute path ({name}); use paths relative to its root.")
        if ".." in parts:
            raise UploadRejected(f"The package holds a path that leaves its folder ({name}).")
        # The Unix mode sits in the high 16 bits of external_attr; a link would point the sandbox's copy anywhere.
        if stat.S_ISLNK(member.external_attr >> 16):
            raise UploadRejected(f"The package holds a symbolic link ({name}); links are not allowed.")
        total_size += member.file_size
        total_compressed += member.compress_size
        if member.compress_size and member.file_size / member.compress_size > ZIP_MAX_RATIO:
            raise UploadRejected(f"{name} compresses more than {ZIP_MAX_RATIO}× — this looks like a zip bomb.")
        names.add("/".join(parts))
    if total_size > ZIP_MAX_UNCOMPRESSED_BYTES:
        raise UploadRejected(
            f"The package expands to {_mb(total_size)}; at most {_mb(ZIP_MAX_UNCOMPRESSED_BYTES)} is allowed."
        )
    if total_compressed and total_size / total_compressed > ZIP_MAX_RATIO:
        raise UploadRejected(f"The package compresses more than {ZIP_MAX_RATIO}× — this looks like a zip bomb.")
    if "bot.py" not in names:
        raise UploadRejected("The package needs a bot.py at its root that defines the bot class.")
    return members


def code_check(code_file: UploadedFile) -> str:
    """Check an uploaded code file; returns its kind, "py" or "zip". Raises UploadRejected (field "code_file")."""
    if code_file is None:
        raise UploadRejected("Upload the bot's code: a .py file or a .zip package.")
    extension = Path(code_file.name or "").suffix.lower()
    if extension not in (".py", ".zip"):
        raise UploadRejected("The code must be a .py file or a .zip package.")
    size = _size(code_file)
    if size == 0:
        raise UploadRejected("The code file is empty.")
    if size > CODE_MAX_BYTES:
        raise UploadRejected(f"The code file is {_mb(size)}; at most {_mb(CODE_MAX_BYTES)} is allowed.")
    code_file.seek(0)
    try:
        if extension == ".py":
            try:
                code_file.read().decode("utf-8")
            except UnicodeDecodeError:
                raise UploadRejected("The .py file is not UTF-8 text.") from None
            return "py"
        try:
            with zipfile.ZipFile(code_file) as archive:
                zip_check(archive)
        except zipfile.BadZipFile:
            raise UploadRejected("The .zip file is not a valid zip archive.") from None
        return "zip"
    finally:
        code_file.seek(0)


def model_check(model_file: UploadedFile) -> str:
    """Check an uploaded model file; returns its extension (no dot). Raises UploadRejected (field "model_file")."""
    extension = Path(model_file.name or "").suffix.lower().lstrip(".")
    if extension not in MODEL_EXTENSIONS:
        raise UploadRejected(f"A model file ends in one of: {', '.join(sorted(MODEL_EXTENSIONS))}.", field="model_file")
    size = _size(model_file)
    if size == 0:
        raise UploadRejected("The model file is empty.", field="model_file")
    if size > MODEL_MAX_BYTES:
        raise UploadRejected(
            f"The model file is {_mb(size)}; at most {_mb(MODEL_MAX_BYTES)} is allowed.", field="model_file"
        )
    return extension


def upload_store(
    *, bot_id: int, version: str, code_file: UploadedFile, model_file: UploadedFile | None = None
) -> StoredUpload:
    """Check both files, then store them; returns the storage names. Raises UploadRejected with nothing stored.

    A name already taken (a retried request) gets a suffix from the storage: the returned names are the real ones.
    """
    version = version_check(version)
    code_kind = code_check(code_file)
    model_extension = model_check(model_file) if model_file is not None else None
    folder = f"bots/{bot_id}/{version}"
    code_path = default_storage.save(f"{folder}/code.{code_kind}", code_file)
    model_path = None
    if model_file is not None:
        model_file.seek(0)
        try:
            model_path = default_storage.save(f"{folder}/model.{model_extension}", model_file)
        except BaseException:
            default_storage.delete(code_path)
            raise
    # Hashed from the uploaded bytes under the names the storage chose: what the sandbox will get.
    code_file.seek(0)
    model_sha256 = None
    if model_file is not None:
        model_file.seek(0)
        model_sha256 = file_sha256(model_file)
    digest = upload_digest(
        code_name=code_path, code_bytes=code_file.read(), model_name=model_path, model_sha256=model_sha256
    )
    return StoredUpload(code_path=code_path, model_path=model_path, code_sha256=digest)


def stored_digest(*, code_path: str, model_path: str | None) -> str:
    """The content hash (bots.code_digest) of a version's files as they are in storage."""
    with default_storage.open(code_path, "rb") as stored:
        code_bytes = stored.read()
    model_sha256 = None
    if model_path:
        with default_storage.open(model_path, "rb") as stored:
            model_sha256 = file_sha256(stored)
    return upload_digest(code_name=code_path, code_bytes=code_bytes, model_name=model_path, model_sha256=model_sha256)


def upload_delete(stored: StoredUpload) -> None:
    """Remove stored files again (the database write that should have named them failed)."""
    for name in (stored.code_path, stored.model_path):
        if name:
            default_storage.delete(name)


@contextmanager
def uploads_atomic() -> Iterator[list[StoredUpload]]:
    """A durable `transaction.atomic()` block that deletes the files stored in it when it does not commit.

    Storage is not transactional: files saved inside the block would outlive a rollback of the rows that name them.
    Yields a list; append every `StoredUpload` to it right after storing. If the block raises before its commit, the
    transaction rolls back and those files are deleted, then the error propagates.

    The block is durable (Django raises RuntimeError when it is nested in another atomic block): only the outermost
    block decides whether rows are committed, and nesting would let an outer rollback orphan the files after this
    block had already succeeded. Django's TestCase (pytest's `db` fixture) lifts that check for its own wrapper.
    """
    stored: list[StoredUpload] = []
    committed = False

    def mark_committed() -> None:
        nonlocal committed
        committed = True

    try:
        with transaction.atomic(durable=True):
            # Registered first, so it runs before the block's other on_commit callbacks: if one of those raises
            # (a broker that is down), the rows are committed and the files they name must stay.
            transaction.on_commit(mark_committed)
            yield stored
    except BaseException:
        if not committed:
            for upload in stored:
                upload_delete(upload)
        raise


def upload_materialize(
    *, code_path: str, model_path: str | None, folder: Path, expected_sha256: str | None = None
) -> tuple[Path, Path | None]:
    """Copy a stored version into `folder` (empty) for the sandbox: returns (code folder with bot.py, model file or
    None).

    A zip is checked again (storage is not trusted more than the upload) and extracted member by member. With
    `expected_sha256` (the version's `code_sha256`), the copy is hashed (bots.code_digest) and CodeIntegrityError is
    raised when it is not the code uploaded under that hash.
    """
    code_dir = folder / "code"
    code_dir.mkdir(parents=True)
    with default_storage.open(code_path, "rb") as stored:
        if code_path.endswith(".zip"):
            with zipfile.ZipFile(stored) as archive:
                for member in zip_check(archive):
                    target = code_dir / member.filename.replace("\\", "/")
                    if member.is_dir():
                        target.mkdir(parents=True, exist_ok=True)
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.read(member))
        else:
            (code_dir / "bot.py").write_bytes(stored.read())
    model = None
    if model_path:
        model = folder / Path(model_path).name
        with default_storage.open(model_path, "rb") as stored:
            model.write_bytes(stored.read())
    if expected_sha256:
        folder_verify(folder, expected_sha256)
    return code_dir, model


def folder_verify(folder: Path, expected_sha256: str) -> None:
    """Raise CodeIntegrityError unless `folder` holds exactly the files of the code hashed `expected_sha256`."""
    try:
        actual = folder_digest(folder)
    except DigestMismatch as error:
        raise CodeIntegrityError(f"its copy of the code is damaged ({error})") from None
    except OSError:
        raise CodeIntegrityError("its copy of the code cannot be read") from None
    if actual != expected_sha256:
        raise CodeIntegrityError("its code is not the code uploaded for this version (the content hash differs)")
