"""Where a bot finds its model file (an ML bot's trained weights, uploaded next to its code).

Inside the sandbox the platform binds the model read-only at ``/bot/model/<file name>``; the bot loads it
there itself (``joblib.load(model_path())``, ``onnxruntime.InferenceSession(str(model_path()))`` ...), so
unpickling an uploaded model only ever happens inside the sandbox. To try a bot locally, point
``BOT_MODEL_DIR`` at the folder holding the file.

    from bots.sdk.model import model_path

    class MyModelBot(VectorBot):
        def __init__(self, config, state=None):
            super().__init__(config, state)
            self.model = load_once(model_path())   # cache it: __init__ runs once per subscription and call
"""
from __future__ import annotations

import os
from pathlib import Path

SANDBOX_MODEL_DIR = "/bot/model"

# The sandbox runtime sets this to the folder it bound; None means "BOT_MODEL_DIR, else /bot/model".
model_dir_override: str | None = None


def model_dir() -> Path:
    """The folder the bot's model file is in (it may not exist: not every bot has a model)."""
    return Path(model_dir_override or os.environ.get("BOT_MODEL_DIR") or SANDBOX_MODEL_DIR)


def model_path(name: str | None = None) -> Path:
    """The path of the model file ``name``, or of the only file in ``model_dir()`` when ``name`` is None.

    Raises ``FileNotFoundError`` when there is no such file (or, without a name, not exactly one file).
    """
    folder = model_dir()
    if name is not None:
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(f"no model file '{name}' in {folder}")
        return path
    files = sorted(path for path in folder.iterdir() if path.is_file()) if folder.is_dir() else []
    if len(files) != 1:
        raise FileNotFoundError(f"expected exactly one model file in {folder}, found {len(files)}")
    return files[0]
