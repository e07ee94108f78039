"""``bots.sdk.model`` is ``core.sdk.model`` itself (one module, one state), under the path uploaded bots import."""
import sys

from core.sdk import model

sys.modules[__name__] = model
