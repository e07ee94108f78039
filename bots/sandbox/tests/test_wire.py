"""The host reads nothing from the child without bounds: forged lines raise SandboxProtocolError and nothing else.

Three levels: the reader itself (bots.sandbox.wire), a fake child that writes forged lines through the real channel
(no bubblewrap needed), and a real uploaded bot that forges its answer from inside the sandbox.
"""
import json
import sys
import textwrap

import pytest

from bots.sandbox import SandboxProtocolError, wire
from bots.sandbox.channel import Channel
from bots.sandbox.command import ChildCommand
from bots.sdk import ConfigError

from .conftest import TEST_LIMITS

DEEP = 100_000


def ok_answer(result, seq=1):
    return json.dumps({"seq": seq, "ok": True, "result": result, "cpu_s": 0.1}).encode()


FORGED_ANSWERS = {
    "nested 100,000 levels deep": b'{"seq":1,"ok":true,"result":' + b"[" * DEEP + b"]" * DEEP + b"}",
    "nested objects 100,000 levels deep": b'{"seq":1,"ok":true,"result":' + b'{"a":' * DEEP + b"1" + b"}" * DEEP + b"}",
    "a huge exponent": b'{"seq":1,"ok":true,"result":{},"cpu_s":1e999999}',
    "NaN": b'{"seq":1,"ok":true,"result":{"x":NaN},"cpu_s":0.1}',
    "Infinity": b'{"seq":1,"ok":true,"result":{"x":-Infinity},"cpu_s":0.1}',
    "an integer of 5,000 digits": b'{"seq":1,"ok":true,"result":{},"cpu_s":' + b"9" * 5000 + b"}",
    "a seq of 5,000 digits": b'{"seq":' + b"1" * 5000 + b',"ok":true,"result":{}}',
    "a fake error kind": b'{"seq":1,"ok":false,"error":{"kind":"root","message":"hi"},"cpu_s":0.1}',
    "an error that is a list": b'{"seq":1,"ok":false,"error":["config"],"cpu_s":0.1}',
    "an error message that is an object": b'{"seq":1,"ok":false,"error":{"kind":"bot","message":{"a":1}}}',
    "config errors that are a string": b'{"seq":1,"ok":false,"error":{"kind":"config","message":"x","errors":"x"}}',
    "config errors with extra keys": (
        b'{"seq":1,"ok":false,"error":{"kind":"config","message":"x","errors":[{"field":"a","message":"b","c":1}]}}'
    ),
    "an extra key": b'{"seq":1,"ok":true,"result":{},"cpu_s":0.1,"admin":true}',
    "a list instead of an object": b'[1,true,{}]',
    "a bool for seq": b'{"seq":true,"ok":true,"result":{}}',
    "a string for ok": b'{"seq":1,"ok":"yes","result":{}}',
    "ok without a result": b'{"seq":1,"ok":true}',
    "a negative cpu_s": b'{"seq":1,"ok":true,"result":{},"cpu_s":-5}',
    "invalid UTF-8": b'{"seq":1,"ok":true,"result":"\xff\xfe"}',
    "two values": b'{"seq":1,"ok":true,"result":{}} {"seq":1}',
}


def read(line: bytes, op: str = "backtest") -> dict:
    return wire.envelope(wire.parse_line(line, max_bytes=wire.max_line_bytes(op, 16 * 1024 * 1024)), seq=1, op=op)


@pytest.mark.parametrize("line", FORGED_ANSWERS.values(), ids=FORGED_ANSWERS.keys())
def test_it_refuses_a_forged_answer_with_a_protocol_error_only(line):
    with pytest.raises(SandboxProtocolError):
        read(line)


def test_it_reads_an_honest_answer():
    answer = read(b'{"seq":1,"ok":true,"result":{"results":[{"id":1,"state":{"n":[1,2.5]}}]},"cpu_s":0.25}')

    assert answer == {"seq": 1, "ok": True, "result": {"results": [{"id": 1, "state": {"n": [1, 2.5]}}]},
                      "cpu_s": 0.25}


@pytest.mark.parametrize(("op", "kind"), [
    ("decide", "config"), ("decide", "insufficient_candles"), ("load", "config"), ("ping", "bot"),
])
def test_an_error_kind_the_op_never_fails_with_is_forged(op, kind):
    line = json.dumps({"seq": 1, "ok": False, "error": {"kind": kind, "message": "x"}}).encode()

    with pytest.raises(SandboxProtocolError, match=f"which {op} never fails with"):
        wire.envelope(wire.parse_line(line, max_bytes=4096), seq=1, op=op)


def test_it_reads_an_honest_error():
    answer = read(
        b'{"seq":1,"ok":false,"error":{"kind":"config","message":"bad","traceback":"",'
        b'"errors":[{"field":"fast","message":"too big"}]},"cpu_s":0.25}'
    )

    assert answer["error"] == {"kind": "config", "message": "bad", "traceback": "",
                               "errors": [{"field": "fast", "message": "too big"}]}


def test_brackets_inside_strings_do_not_count_as_depth():
    line = json.dumps({"seq": 1, "ok": True, "result": {"text": "[[[{{{" * 1000 + '\\"]]'}}).encode()

    assert wire.nesting_depth(line) == 2
    assert read(line)["result"]["text"].startswith("[[[{{{")


def test_the_depth_limit_is_exact():
    at_limit = b"[" * wire.MAX_DEPTH + b"]" * wire.MAX_DEPTH
    over = b"[" + at_limit + b"]"

    assert wire.parse_line(at_limit, max_bytes=1000) is not None
    with pytest.raises(SandboxProtocolError, match="nested 33 levels deep; at most 32"):
        wire.parse_line(over, max_bytes=1000)


def test_each_op_has_its_own_line_limit():
    line = ok_answer({"pad": "x" * 10_000})

    assert read(line, op="decide")["result"]["pad"] == "x" * 10_000
    with pytest.raises(SandboxProtocolError, match="at most 4096 here"):
        read(line, op="ping")


@pytest.mark.parametrize("line", [
    b'{"seq":1,"progress":[' + b"[" * DEEP + b"]" * DEEP + b"]}",
    b'{"seq":1,"progress":[1,1e999999]}',
    b'{"seq":1,"progress":[5,2]}',
    b'{"seq":1,"progress":[1,2],"ok":true}',
    b'{"seq":2,"progress":[1,2]}',
    b'{"seq":1,"progress":[true,2]}',
    b'{"seq":1,"progress":[1,2],"pad":"' + b"x" * 300 + b'"}',
])
def test_a_forged_progress_line_is_no_progress_line(line):
    assert wire.progress(line, seq=1) is None


def test_an_honest_progress_line_is_read():
    assert wire.progress(b'{"seq":1,"progress":[3,100]}', seq=1) == (3, 100)


LOAD = {"slug": "s", "name": "n", "description": "", "startup_candles": 30, "config_schema": {"type": "object"},
        "vectorized": False, "bot_class": "bot:B"}


@pytest.mark.parametrize("change", [
    {"startup_candles": 10**12},
    {"startup_candles": -1},
    {"startup_candles": True},
    {"startup_candles": 3.5},
    {"vectorized": 1},
    {"slug": ["s"]},
    {"name": "n" * 1000},
    {"config_schema": []},
    {"config_schema": {"pad": "x" * 70_000}},
    {"config_schema": json.loads("{\"a\":" * 20 + "1" + "}" * 20)},
    {"extra": 1},
])
def test_it_refuses_bad_load_metadata(change):
    with pytest.raises(SandboxProtocolError):
        wire.load_metadata(LOAD | change)


def test_it_refuses_a_decide_answer_of_another_shape():
    for result in ({"results": {}}, {"results": [1]}, [], {"results": [], "extra": 1}):
        with pytest.raises(SandboxProtocolError):
            wire.decide_results(result, 2)


@pytest.mark.parametrize("entry", [
    [1],
    {"decision": {}, "state": {}},
    {"id": 1, "decision": {}, "state": []},
    {"id": 1, "decision": {}, "state": {}, "extra": 1},
    {"id": 1, "error": ["boom"]},
    {"id": 1, "error": "boom", "traceback": 5},
    {"id": 1, "error": "boom", "config_errors": "x"},
    {"id": 1, "error": "boom", "extra": 1},
])
def test_it_refuses_a_bad_decide_entry(entry):
    with pytest.raises(SandboxProtocolError):
        wire.decide_entry(entry)


# -- the real channel, talking to a fake child that forges its answers ------------------------------------------

FAKE_CHILD = """
import json, os, sys
request = json.loads(sys.stdin.readline())
with open(sys.argv[1], "rb") as source:
    forged = source.read().replace(b"SEQ", str(request["seq"]).encode())
os.write(1, forged + b"\\n")
sys.stdin.readline()
"""


def fake_channel(tmp_path, forged: bytes) -> Channel:
    (tmp_path / "forged").write_bytes(forged)
    command = ChildCommand(
        argv=[sys.executable, "-I", "-c", textwrap.dedent(FAKE_CHILD), str(tmp_path / "forged")],
        env={"PATH": "/usr/bin:/bin"}, cwd=str(tmp_path), sandboxed=False, uid=None,
    )
    return Channel(command, TEST_LIMITS)


@pytest.mark.parametrize("name", [name for name in FORGED_ANSWERS if name != "two values"])
def test_a_fake_child_forging_its_answer_only_causes_a_protocol_error(tmp_path, name):
    forged = FORGED_ANSWERS[name].replace(b'"seq":1,', b'"seq":SEQ,', 1)
    channel = fake_channel(tmp_path, forged)

    with pytest.raises(SandboxProtocolError):
        channel.request("decide", {}, timeout_s=5, cpu_seconds=1)

    assert not channel.alive()  # a child that forged a line is never asked again


def test_a_config_error_without_field_errors_is_still_a_config_error(tmp_path):
    channel = fake_channel(tmp_path, b'{"seq":SEQ,"ok":false,"error":{"kind":"config","message":"nope"}}')

    with pytest.raises(ConfigError) as error:
        channel.request("backtest", {}, timeout_s=5, cpu_seconds=1)

    assert error.value.errors == [{"field": "", "message": "nope"}]
    channel.kill()
