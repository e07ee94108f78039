"""``bots.sdk.testing`` is ``core.sdk.testing`` itself (one module, one state), under the path uploaded bots import."""
import sys

from core.sdk import testing

sys.modules[__name__] = testing
