"""ML bots: a scikit-learn model (joblib) and an ONNX model, uploaded with their code, load and decide inside the
sandbox and pass validation; a malicious pickle is only ever unpickled there, where it can do no harm.

The models are trained in the test on the fly (a logistic regression on three returns); the model files are
uploaded exactly as a developer's would be.
"""

import builtins
import io
import json
import pickle
import socket
import threading
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from bots.models import Bot, BotVersion
from bots.sandbox import SandboxedBot
from bots.sdk import Candles
from bots.services import bot_create
from bots.validation import LLM_REFUSAL

CANDLES = Path(settings.BASE_DIR) / "data" / "candles" / "binance" / "BTC_USDT-1h.csv"
SCHEMA = {
    "type": "object",
    "properties": {"threshold": {"type": "number", "minimum": 0.5, "maximum": 1, "default": 0.55}},
    "additionalProperties": False,
}

FEATURES = '''
def features(close):
    """The last three returns in percent, one row per candle (rows 0-2 padded with zeros: the warm-up)."""
    returns = np.zeros_like(close)
    returns[1:] = close[1:] / close[:-1] - 1
    previous = np.zeros_like(close)
    previous[1:] = returns[:-1]
    two_back = np.zeros_like(close)
    two_back[2:] = returns[:-2]
    return np.column_stack([returns, previous, two_back]) * 100
'''

SKLEARN_BOT = (
    """
import joblib
import numpy as np

from bots.sdk import Signals, VectorBot, actions_from
from bots.sdk.model import model_path

_MODEL = None
"""
    + FEATURES
    + """

class ReturnsClassifier(VectorBot):
    slug = "returns-classifier"
    name = "Returns classifier"
    description = "A logistic regression on the last three returns."
    config_schema = SCHEMA_LITERAL
    startup_candles = 3

    def populate(self, candles):
        global _MODEL
        if _MODEL is None:  # once per sandbox process: the process stays warm between calls
            _MODEL = joblib.load(model_path())
        p_up = _MODEL.predict_proba(features(candles.close))[:, 1]
        threshold = self.config["threshold"]
        return Signals(actions_from(p_up > threshold, p_up < 1 - threshold), {"p_up": p_up})
"""
).replace("SCHEMA_LITERAL", repr(SCHEMA))

ONNX_BOT = (
    """
import numpy as np
import onnxruntime

from bots.sdk import Signals, VectorBot, actions_from
from bots.sdk.model import model_path

_SESSION = None
"""
    + FEATURES
    + """

class OnnxReturnsClassifier(VectorBot):
    slug = "onnx-returns-classifier"
    name = "ONNX returns classifier"
    description = "The same regression, exported to ONNX."
    config_schema = SCHEMA_LITERAL
    startup_candles = 3

    def populate(self, candles):
        global _SESSION
        if _SESSION is None:
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = options.inter_op_num_threads = 1  # threads count against max_processes
            _SESSION = onnxruntime.InferenceSession(str(model_path()), options, providers=["CPUExecutionProvider"])
        inputs = {_SESSION.get_inputs()[0].name: features(candles.close).astype(np.float32)}
        _labels, probabilities = _SESSION.run(None, inputs)
        p_up = probabilities[:, 1].astype(np.float64)
        threshold = self.config["threshold"]
        return Signals(actions_from(p_up > threshold, p_up < 1 - threshold), {"p_up": p_up})
"""
).replace("SCHEMA_LITERAL", repr(SCHEMA))

# Loads its model at import, as a careless bot would; whatever the pickle did is reported in the load error.
PICKLE_BOT = """
import builtins
import json
import pickle

from bots.sdk import Bot, Decision
from bots.sdk.model import model_path

with open(model_path(), "rb") as stored:
    pickle.load(stored)
raise RuntimeError("PROBE " + json.dumps(getattr(builtins, "PICKLE_PROBE", None)))


class Never(Bot):
    slug = "never"
    name = "Never"
    config_schema = {"type": "object", "properties": {}}

    def decide(self, candles):
        return Decision.hold()
"""


@pytest.fixture(autouse=True)
def memory_storage(settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}


@pytest.fixture(scope="module")
def trained():
    """A logistic regression predicting the next candle's direction from the last three returns."""
    from sklearn.linear_model import LogisticRegression

    close = Candles.from_csv(CANDLES).close[:1500]
    returns = np.zeros_like(close)
    returns[1:] = close[1:] / close[:-1] - 1
    x = np.column_stack([returns, np.roll(returns, 1), np.roll(returns, 2)])[3:-1] * 100
    y = (returns[4:] > 0).astype(int)
    return LogisticRegression().fit(x, y)


@pytest.fixture(scope="module")
def joblib_model(trained) -> bytes:
    import joblib

    buffer = io.BytesIO()
    joblib.dump(trained, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def onnx_model(trained) -> bytes:
    from skl2onnx import to_onnx

    sample = np.zeros((1, 3), dtype=np.float32)
    return to_onnx(trained, sample, options={id(trained): {"zipmap": False}}).SerializeToString()


def upload(dev, capture, *, source: str, model_name: str, model: bytes, bot_type=Bot.Type.ML) -> BotVersion:
    with capture(execute=True):  # validation runs eagerly once the upload commits
        bot = bot_create(
            developer=dev,
            name="Model bot",
            description="Decides with a trained model.",
            category=None,
            bot_type=bot_type,
            price_per_month=Decimal("0"),
            trial_days=0,
            code_file=SimpleUploadedFile("bot.py", source.encode()),
            model_file=SimpleUploadedFile(model_name, model),
            config_schema=SCHEMA,
            default_config={},
        )
    return BotVersion.objects.get(bot=bot)


@pytest.fixture
def host_never_unpickles(monkeypatch):
    """Fail the test if this process (the web or worker process) unpickles anything while the fixture is active."""
    import joblib

    def refuse(*args, **kwargs):
        raise AssertionError("the host process tried to unpickle an uploaded model")

    for module, name in ((pickle, "load"), (pickle, "loads"), (joblib, "load")):
        monkeypatch.setattr(module, name, refuse)


@pytest.mark.parametrize(
    ("source", "model_name", "model_fixture"),
    [(SKLEARN_BOT, "model.joblib", "joblib_model"), (ONNX_BOT, "model.onnx", "onnx_model")],
    ids=["scikit-learn", "onnx"],
)
def test_it_validates_an_ml_bot_with_its_model_in_the_sandbox(
    dev,
    django_capture_on_commit_callbacks,
    needs_sandbox,
    host_never_unpickles,
    request,
    source,
    model_name,
    model_fixture,
):
    model = request.getfixturevalue(model_fixture)
    version = upload(dev, django_capture_on_commit_callbacks, source=source, model_name=model_name, model=model)
    report = version.validation_report
    assert version.validation_status == BotVersion.ValidationStatus.PASSED, report
    load = next(check for check in report["checks"] if check["name"] == "load")
    assert "in the sandbox" in load["message"]
    assert [run["market"] for run in report["backtests"]] == ["BTC/USDT", "ETH/USDT"]
    assert all(run["trades"] > 0 for run in report["backtests"])  # the model really decided


def test_both_model_formats_decide_alike_in_the_sandbox(
    tmp_path, needs_sandbox, host_never_unpickles, joblib_model, onnx_model
):
    candles = Candles.from_csv(CANDLES)[-300:]
    decisions = {}
    for name, source, model_name, model in (
        ("sklearn", SKLEARN_BOT, "model.joblib", joblib_model),
        ("onnx", ONNX_BOT, "model.onnx", onnx_model),
    ):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "bot.py").write_text(source)
        (tmp_path / model_name).write_bytes(model)
        with SandboxedBot(folder, model_path=tmp_path / model_name) as bot:
            assert bot.load().vectorized and bot.sandboxed
            [outcome] = bot.decide([{"id": 1, "config": {"threshold": 0.5}, "state": {}}], candles)
            assert outcome.ok, outcome.traceback
            decisions[name] = outcome.decision
    assert decisions["sklearn"].action == decisions["onnx"].action
    sk_p, onnx_p = decisions["sklearn"].indicators["p_up"], decisions["onnx"].indicators["p_up"]
    assert abs(sk_p - onnx_p) < 1e-4  # float32 in ONNX, float64 in scikit-learn


class Evil:
    """Unpickling this runs CODE: it reads an environment variable, writes a file, opens a socket."""

    code = ""

    def __reduce__(self):
        return (exec, (self.code,))


def malicious_pickle(*, port: int, host_file: str) -> bytes:
    Evil.code = f"""
import builtins, os, socket
probe = {{"env": os.environ.get("PICKLE_CANARY"), "home": os.environ.get("HOME")}}
try:
    with open({host_file!r}, "w") as out:
        out.write("pwned")
    probe["write"] = "written"
except OSError as error:
    probe["write"] = type(error).__name__ + ": " + str(error)
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
    probe["socket"] = "connected"
except OSError as error:
    probe["socket"] = type(error).__name__ + ": " + str(error)
builtins.PICKLE_PROBE = probe
"""
    return pickle.dumps(Evil())


def test_a_malicious_pickle_runs_only_in_the_sandbox_and_harms_nothing(
    dev, django_capture_on_commit_callbacks, needs_sandbox, monkeypatch
):
    monkeypatch.setenv("PICKLE_CANARY", "host-secret-canary")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    connections = []

    def accept():
        while not stop.is_set():
            try:
                connections.append(listener.accept())
            except OSError:
                continue

    stop = threading.Event()
    watcher = threading.Thread(target=accept, daemon=True)
    watcher.start()
    # The sandbox sees the virtualenv read-only at /sandbox/venv: this is where a write would land on the host.
    host_file = Path(settings.BASE_DIR) / ".venv" / "pwned-by-pickle"
    payload = malicious_pickle(port=listener.getsockname()[1], host_file="/sandbox/venv/pwned-by-pickle")
    try:
        with monkeypatch.context() as patched:
            # The host (this process: web and, eagerly, worker) must never unpickle the upload.
            import joblib

            def refuse(*args, **kwargs):
                raise AssertionError("the host process tried to unpickle an uploaded model")

            for module, name in ((pickle, "load"), (pickle, "loads"), (joblib, "load")):
                patched.setattr(module, name, refuse)
            version = upload(
                dev, django_capture_on_commit_callbacks, source=PICKLE_BOT, model_name="model.pkl", model=payload
            )
    finally:
        stop.set()
        watcher.join(2)
        listener.close()

    assert not hasattr(builtins, "PICKLE_PROBE"), "the pickle ran in the host process"
    assert version.validation_status == BotVersion.ValidationStatus.FAILED
    load = next(check for check in version.validation_report["checks"] if check["name"] == "load")
    message = next(line for line in load["traceback"].splitlines() if line.startswith("RuntimeError: PROBE "))
    probe = json.loads(message.removeprefix("RuntimeError: PROBE "))
    assert probe["env"] is None  # the sandbox has no environment of the host
    assert probe["home"] == "/tmp"  # noqa: S108 - the sandbox's private tmpfs, as the child's HOME
    assert probe["write"].startswith("OSError") and "Read-only file system" in probe["write"]
    # No network: an empty network namespace, whose loopback is not the host's (refused or unreachable).
    assert probe["socket"] != "connected" and "Error" in probe["socket"]
    assert connections == []
    assert not host_file.exists()


def test_it_refuses_an_llm_bot_with_a_clear_message(dev, django_capture_on_commit_callbacks, joblib_model):
    version = upload(
        dev,
        django_capture_on_commit_callbacks,
        source=SKLEARN_BOT,
        model_name="model.joblib",
        model=joblib_model,
        bot_type=Bot.Type.LLM,
    )
    assert version.validation_status == BotVersion.ValidationStatus.FAILED
    bot_type = next(check for check in version.validation_report["checks"] if check["name"] == "bot_type")
    assert bot_type == {"name": "bot_type", "passed": False, "message": LLM_REFUSAL, "traceback": ""}
    assert "platform does not offer a model service" in LLM_REFUSAL
    # The code never ran: no sandbox check follows the refusal.
    assert [check["name"] for check in version.validation_report["checks"]] == ["config", "bot_type"]
