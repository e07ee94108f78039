"""Schemathesis against the live API: `make api-fuzz` (CI runs it on MariaDB and Redis after the test suite).

1. Builds a fresh database (DATABASE_URL, or a SQLite file under var/) with the demo data and one persona per
   kind of caller: a trader, a developer, staff, a partner marketplace and a registration's bot key.
2. Starts the site with `manage.py runserver` on a free local port (test settings: fixed Fernet keys, throttles
   high enough not to get in the way; Celery tasks go to the broker, no worker consumes them).
3. Runs `schemathesis run` over /api/schema/ once per persona and once anonymously. The checks: no 5xx, every
   status code and every response body declared by the schema, the declared content type. Reports (JUnit) go to
   TEST_ARTIFACTS_DIR.

Exits non-zero if any run found a failure. Options: --max-examples N (default 10), --seed N.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _environment() -> dict[str, str]:
    environment = dict(os.environ)
    environment["DJANGO_SETTINGS_MODULE"] = "marketplace.settings.test"
    environment.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'api_fuzz.sqlite3'}")
    # The fuzzer would otherwise run every enqueued task (validation in the sandbox, key checks against
    # exchanges) inside its requests; the broker keeps them, as in production with no worker yet.
    environment["CELERY_TASK_ALWAYS_EAGER"] = "false"
    # Throttling is declared (429) and tested in marketplace/tests/test_api_auth.py; here it would only stop the
    # fuzzer from reaching the endpoints.
    environment["API_THROTTLE_ANON"] = "100000/minute"
    environment["API_THROTTLE_USER"] = "100000/minute"
    return environment


def _database_reset(environment: dict[str, str], log_path: Path) -> None:
    url = environment["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--no-input", "-v0"], cwd=ROOT, env=environment, check=True)
    subprocess.run([*manage, "flush", "--no-input", "-v0"], cwd=ROOT, env=environment, check=True)
    with log_path.open("w") as log:
        subprocess.run([*manage, "load_demo"], cwd=ROOT, env=environment, check=True, stdout=log, stderr=log)


def _personas(environment: dict[str, str]) -> dict[str, list[str]]:
    """{persona: [schemathesis header options]}, made by scripts/api_fuzz_personas.py in the fuzz database."""
    output = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "api_fuzz_personas.py")],
        cwd=ROOT,
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    personas: dict[str, list[str]] = {"anonymous": []}
    for line in output.splitlines():
        name, _, header = line.partition(" ")
        if header:
            personas[name] = ["-H", header]
    return personas


def _server_wait(url: str, process: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the server did not answer {url} within {timeout_s} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20261125)
    arguments = parser.parse_args()

    environment = _environment()
    artifacts = Path(environment.get("TEST_ARTIFACTS_DIR", ROOT / "test-artifacts")) / "schemathesis"
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    _database_reset(environment, artifacts / "load_demo.log")
    personas = _personas(environment)

    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    server_log = (artifacts / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=environment,
        stdout=server_log,
        stderr=subprocess.STDOUT,
    )
    failed = []
    try:
        _server_wait(f"{base_url}/api/schema/", server)
        for name, headers in personas.items():
            print(f"\n== schemathesis as {name} ==", flush=True)
            run = subprocess.run(
                [
                    str(Path(sys.executable).parent / "schemathesis"),
                    "run",
                    f"{base_url}/api/schema/",
                    *headers,
                    "--checks",
                    CHECKS,
                    "--max-examples",
                    str(arguments.max_examples),
                    "--seed",
                    str(arguments.seed),
                    "--workers",
                    "1",
                    "--generation-database",
                    "none",
                    "--suppress-health-check",
                    "all",
                    "--request-timeout",
                    "30",
                    "--report",
                    "junit",
                    "--report-junit-path",
                    str(artifacts / f"{name}.xml"),
                    "--no-color",
                ],
                cwd=ROOT,
                env=environment,
            )
            if run.returncode != 0:
                failed.append(name)
    finally:
        server.terminate()
        server.wait(timeout=30)
        server_log.close()
    if failed:
        print(f"\nschemathesis found failures as: {', '.join(failed)} (reports and server log: {artifacts})")
        return 1
    print(f"\nschemathesis: no failures for {', '.join(personas)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
