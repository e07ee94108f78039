"""The import contract (pyproject.toml, `[tool.importlinter]`; docs/architecture.md) holds, and it would catch the
imports it forbids: each case adds one import to the real graph and names the contract that must break."""

import os
from pathlib import Path

import pytest
from importlinter import configuration
from importlinter.application import use_cases
from importlinter.application.app_config import settings as linter_settings

ROOT = Path(__file__).resolve().parents[2]


class _GraphWithImport:
    """The project's real import graph, plus the imports a case adds."""

    def __init__(self, builder, extra: list[tuple[str, str]]) -> None:
        self.builder, self.extra = builder, extra

    def build(self, **options):
        graph = self.builder.build(**options)
        for importer, imported in self.extra:
            graph.add_import(importer=importer, imported=imported, line_number=1, line_contents=f"import {imported}")
        return graph


@pytest.fixture(scope="module")
def contracts():
    """{contract name: kept?} for the graph with `extra` imports added."""
    configuration.configure()
    real_builder = linter_settings.GRAPH_BUILDER
    previous = os.getcwd()
    os.chdir(ROOT)

    def check(extra: list[tuple[str, str]] = ()) -> dict[str, bool]:
        linter_settings.configure(GRAPH_BUILDER=_GraphWithImport(real_builder, list(extra)))
        options = use_cases.read_user_options(config_filename="pyproject.toml")
        use_cases._register_built_in_contract_types()
        report = use_cases.create_report(options, cache_dir=None)
        return {contract.name: check.kept for contract, check in report.get_contracts_and_checks()}

    try:
        yield check
    finally:
        linter_settings.configure(GRAPH_BUILDER=real_builder)
        os.chdir(previous)


LAYERS = "Layers: each package imports only the packages below it"
CORE = "The core is Django-free: no Django, DRF, Celery or database driver"
SANDBOX = "The sandbox host is Django-free and uses nothing of the apps"
FAKES = "The fake exchanges are for tests only"
CYCLES = "No import cycles between modules of one package"


@pytest.fixture(scope="module")
def as_it_is(contracts):
    return contracts()


def test_the_code_keeps_every_contract(as_it_is):
    assert set(as_it_is) == {LAYERS, CORE, SANDBOX, FAKES, CYCLES}
    assert all(as_it_is.values()), as_it_is


@pytest.mark.parametrize(
    "importer, imported, broken",
    [
        ("accounts.models", "bots.models", LAYERS),  # a lower app reaching up
        ("common.api.exceptions", "subscriptions.exceptions", LAYERS),  # the shared layer knowing an app
        ("trading.tasks", "marketplace.demo", LAYERS),  # anything importing the project package
        ("core.timeframes", "django.utils.timezone", CORE),
        ("core.sdk.decision", "bots.models", CORE),
        ("bots.sandbox.process", "django.conf", SANDBOX),
        ("trading.engine.live", "testsupport.fake_exchange", FAKES),
        ("trading.scheduler", "trading.tasks", CYCLES),  # the tasks module already imports the scheduler
    ],
)
def test_a_forbidden_import_breaks_its_contract(contracts, as_it_is, importer, imported, broken):
    results = contracts([(importer, imported)])

    assert as_it_is[broken] is True and results[broken] is False
