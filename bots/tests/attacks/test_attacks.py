"""Issue 10's attack suite: every hostile bot of hostile.py goes through upload → validation → approval → the
engine beside an honest bot, and each run must be contained.

What every attack must leave true (test_it_contains_the_attack), besides its own check in hostile.py:
- the batch survived: run_batch returned a report for every subscription (a dead batch shows no one why);
- the honest bot, in the same worker's sandbox pool, decided exactly as in the control run;
- no host secret (the canaries planted by the arena: an environment variable, a file in the project folder, the
  settings' SECRET_KEY, /etc/shadow, a key in the worker's keyring) appears in any stored row or log record;
- nothing the bot started is left below the worker once its sandbox is evicted; the worker got no signal, nobody
  connected to the worker's listener, and the worker's memory did not grow;
- a sleeper bot (most of them) passed validation, so the attack really reached the live engine.
"""

import pytest

from .hostile import ATTACKS

HOST_MEMORY_GROWTH_MB = 150
# Each attack's rows live in its test's own transaction (rolled back after it); the honest bot and the users live
# in the module's (see Arena.start).
pytestmark = pytest.mark.django_db


def assert_contained(arena, outcome) -> None:
    attack = outcome.attack
    assert outcome.batch_error is None, f"the batch died: {outcome.batch_error!r}"
    if attack.reaches_engine:
        for version in outcome.versions:
            assert version.validation_status == "PASSED", (
                f"the sleeper did not pass validation, so the attack never reached the engine: "
                f"{version.validation_report}"
            )
    # The honest bot, next in the same pool, decided as it does alone.
    assert outcome.honest.last_error == "", outcome.honest.last_error
    assert arena.honest_decision(outcome) == arena.expected_honest
    # No host secret reached anything stored or logged.
    logged = "\n".join(outcome.log_records)
    for name, canary in arena.canaries.items():
        assert canary not in outcome.stored, f"the {name} canary is stored"
        assert canary not in logged, f"the {name} canary is logged"
    # Nothing left running below the worker, no signal, no connection, no memory taken from the host.
    assert outcome.leftover == set(), f"processes left below the worker: {outcome.leftover}"
    assert arena.signals_received == [], "the worker received a signal from a bot"
    with pytest.raises(BlockingIOError):
        arena.listener.accept()
    growth = outcome.rss_after_mb - outcome.rss_before_mb
    assert growth < HOST_MEMORY_GROWTH_MB, f"the worker grew by {growth:.0f} MB"


@pytest.mark.parametrize("attack", ATTACKS, ids=[attack.name for attack in ATTACKS])
def test_it_contains_the_attack(arena, attack):
    outcome = arena.run(attack)

    print(outcome.summary())  # shown with -rP: what each attack achieved, for the report
    assert outcome.batch_error is None, f"the batch died: {outcome.batch_error!r}"
    attack.check(outcome)
    assert_contained(arena, outcome)


def test_the_suite_covers_every_class_of_the_issue():
    classes = {attack.klass.split(":")[0] for attack in ATTACKS}
    assert len(ATTACKS) >= 40
    assert {
        "classic",
        "memory beyond the limit",
        "processes outliving a call",
        "kernel",
        "trust",
        "forged statistics",
        "look-ahead",
    } <= classes
