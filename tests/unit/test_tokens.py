"""API tokens made by admins: shown once, kept as digests, refused once revoked."""

from __future__ import annotations

import pytest

from detection.errors import DataError
from vigil.tokens import USE_GRANULARITY, TokenStore


@pytest.fixture
def store(tmp_path) -> TokenStore:
    return TokenStore(tmp_path / "tokens.sqlite")


def test_a_made_token_is_accepted_and_never_stored_itself(store):
    record, token = store.create("collector on web-1", "ada", now=1000.0)

    assert store.check(token, now=1001.0).name == "collector on web-1"
    assert token.startswith("vgl_")
    assert len(token) > 40
    assert record.hint == token[:8]
    assert token.encode() not in store.path.read_bytes()
    assert store.check(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert store.check("test-token") is None


def test_a_revoked_token_is_refused_and_stays_listed(store):
    _, kept_token = store.create("kept", "ada")
    gone, gone_token = store.create("gone", "ada")

    store.revoke(gone.id, now=2000.0)
    store.revoke(gone.id, now=3000.0)  # again: nothing changes

    assert store.check(gone_token) is None
    assert store.check(kept_token) is not None
    listed = {t.name: t for t in store.tokens()}
    assert listed["gone"].revoked == 2000.0
    assert listed["kept"].active
    with pytest.raises(DataError, match="no API token 99"):
        store.revoke(99)


def test_last_use_is_noted_once_a_minute_not_on_every_request(store):
    _, token = store.create("busy client", "ada")
    store.check(token, now=10_000.0)
    store.check(token, now=10_000.0 + USE_GRANULARITY - 1)
    assert store.tokens()[0].last_used == 10_000.0
    store.check(token, now=10_000.0 + USE_GRANULARITY)
    assert store.tokens()[0].last_used == 10_000.0 + USE_GRANULARITY


@pytest.mark.parametrize("name", ["", "   ", "x" * 81, "<script>"])
def test_a_token_needs_a_plain_name(store, name):
    with pytest.raises(DataError, match="Name a token"):
        store.create(name, "ada")
    assert store.tokens() == []
