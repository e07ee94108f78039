"""Without Chromium the browser tests skip with a reason on a developer's machine and fail in CI."""

import pytest
from _pytest.outcomes import Failed, Skipped

from marketplace.tests.browser import conftest


def test_it_skips_without_chromium_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(Skipped, match="chromium is missing"):
        conftest._unavailable("/usr/bin/chromium is missing")


def test_it_fails_without_chromium_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(Failed, match="browser tests cannot run in CI"):
        conftest._unavailable("/usr/bin/chromium is missing")


def test_it_saves_screenshots_where_ci_collects_artifacts(monkeypatch, tmp_path):
    monkeypatch.setenv("TEST_ARTIFACTS_DIR", str(tmp_path))
    assert conftest.screenshots_dir() == tmp_path / "screenshots"
    assert (tmp_path / "screenshots").is_dir()
