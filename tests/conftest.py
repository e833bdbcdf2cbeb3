"""Shared fixtures: a clean environment per test (no quick mode, no mirror, temp data root)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """Each test starts in full mode with its own data root and progress file, no mirror."""
    monkeypatch.delenv("D2L_QUICK", raising=False)
    monkeypatch.delenv("D2L_DATA_URL", raising=False)
    monkeypatch.setenv("D2L_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("D2L_PROGRESS_FILE", str(tmp_path / "progress" / "progress.json"))
    yield
