"""The suite's own fixtures: which databases a test runs on (tests/conftest.py)."""

from __future__ import annotations

import pytest


def _runs_of(request: pytest.FixtureRequest) -> list[str]:
    """The database of every run of the calling test, as its module collects (whatever -m
    or -k leave out of this session)."""
    return [
        item.callspec.params["database_url"]
        for item in request.node.parent.collect()
        if getattr(item, "originalname", None) == request.node.originalname
    ]


def test_a_test_on_database_url_runs_on_both_databases(request, database_url):
    assert sorted(_runs_of(request)) == ["postgresql", "sqlite"]


@pytest.mark.any_database
def test_an_any_database_test_runs_once_on_postgresql(request, engine):
    assert _runs_of(request) == ["postgresql"]
    assert engine.dialect.name == "postgresql"


@pytest.mark.any_database
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_backend_chosen_by_the_test_is_kept(request, database_url):
    assert _runs_of(request) == ["sqlite"]
