"""Fixtures of the distributed tests: a migrated database with the gallery case's references
(tests/crawling's ``registered``) and Redis keys of the test's own."""

from __future__ import annotations

import uuid

import pytest
import redis


@pytest.fixture
def workers_env(registered, redis_url):
    """The workers' environment and sites directory, and the Redis key prefix of the test."""
    env, sites_dir = registered
    prefix = f"rwtest-{uuid.uuid4().hex[:12]}"
    env = {
        **env,
        "REPOSTWATCH_REDIS_URL": redis_url,
        "REPOSTWATCH_DISTRIBUTED_PREFIX": prefix,
        "REPOSTWATCH_HASH_WORKERS": "1",
    }
    yield env, sites_dir, prefix
    with redis.Redis.from_url(redis_url) as client:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)


@pytest.fixture
def client(redis_url):
    """A client of the real Redis, and a key prefix of the test's own."""
    with redis.Redis.from_url(redis_url) as client:
        prefix = f"rwtest-{uuid.uuid4().hex[:12]}"
        yield client, prefix
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
