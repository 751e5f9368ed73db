"""API tokens made by admins: shown once, kept as digests, refused once revoked."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from vigil.detection.errors import DataError
from vigil.stores.tokens import USE_GRANULARITY, TokenStore


@pytest.fixture
def store(database) -> TokenStore:
    return TokenStore(database)


def test_a_made_token_is_accepted_and_never_stored_itself(store):
    record, token = store.create("collector on web-1", "ada", now=1000.0)

    assert store.check(token, now=1001.0).name == "collector on web-1"
    assert token.startswith("vgl_")
    assert len(token) > 40
    assert record.hint == token[:8]
    with store.database.read() as connection:
        kept = repr(connection.execute(text("SELECT * FROM api_tokens")).all())
    assert token not in kept
    assert token[8:20] not in kept
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


def test_a_token_gets_the_scopes_asked_for_and_unknown_ones_are_refused(store):
    record, token = store.create("collector", "ada", scopes="read, ingest")
    assert record.scopes == ("ingest", "read")
    assert store.check(token).scopes == ("ingest", "read")
    assert store.create("reader", "ada", scopes=["read"])[0].scopes == ("read",)
    assert store.create("default", "ada")[0].scopes == ("ingest", "read")

    with pytest.raises(DataError, match="'delete' is not a scope; scopes are ingest, read, admin"):
        store.create("wrong", "ada", scopes="ingest,delete")
    with pytest.raises(DataError, match="at least one scope"):
        store.create("none", "ada", scopes=[])


def test_tokens_made_before_scopes_keep_every_scope(database_url):
    from vigil.storage.database import Database
    from vigil.storage.migrations import upgrade

    database = Database(database_url)
    upgrade(database, "0009")
    with database.write() as connection:
        connection.execute(
            text(
                "INSERT INTO api_tokens (name, digest, hint, made_by, created) "
                "VALUES ('old collector', 'abc', 'vgl_abcd', 'ada', 1.0)"
            )
        )
    upgrade(database)

    (old,) = TokenStore(database).tokens()
    assert old.scopes == ("ingest", "read", "admin")


def test_vigil_tokens_add_takes_scopes_and_lists_them(tmp_path):
    from tests.unit.test_cli import vigil

    made = vigil("tokens", "add", "nightly loader", "--scope", "ingest", data_dir=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "Made token 1 for nightly loader (ingest); it is not shown again:" in made.stdout
    listed = vigil("tokens", "list", data_dir=tmp_path).stdout
    assert "\tactive\tingest\tnightly loader" in listed

    wrong = vigil("tokens", "add", "x", "--scope", "everything", data_dir=tmp_path)
    assert wrong.returncode == 2
    assert "vigil: error: 'everything' is not a scope; scopes are ingest, read, admin." in (
        wrong.stderr
    )
