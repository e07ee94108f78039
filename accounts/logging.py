"""Keep secrets out of log lines.

`remember_secret()` is called with every decrypted credential value; `RedactSecretsFilter` (installed on every
handler by settings.LOGGING) replaces any remembered value, and anything shaped like `secret=...`/`signature=...`,
with `[REDACTED]` in the formatted message, its arguments and the exception text.
"""

import logging
import re
import threading
from collections import OrderedDict

REDACTED = "[REDACTED]"
_MIN_SECRET_LEN = 6
_MAX_REMEMBERED = 4096

_lock = threading.Lock()
_remembered: "OrderedDict[str, None]" = OrderedDict()

_KEY_VALUE = re.compile(
    r"(?i)\b(api[_-]?key|apikey|secret|api[_-]?secret|passphrase|password|signature|x-mbx-apikey)"
    r"([\"']?\s*[:=]\s*[\"']?)([^\s\"'&,}]+)"
)


def remember_secret(value: str) -> None:
    """Register a clear secret so log lines that contain it are redacted (bounded, most recent kept)."""
    if not value or len(value) < _MIN_SECRET_LEN:
        return
    with _lock:
        _remembered[value] = None
        _remembered.move_to_end(value)
        while len(_remembered) > _MAX_REMEMBERED:
            _remembered.popitem(last=False)


def redact(text: str) -> str:
    """`text` with every remembered secret and every `secret=value` pair masked."""
    with _lock:
        secrets = list(_remembered)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _KEY_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = redact(message), None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
