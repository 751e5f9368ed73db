"""The users file: hashed passwords, roles, and the checks on what goes in."""

from __future__ import annotations

import stat

import pytest

from vigil.detection.errors import DataError
from vigil.stores.users import UserStore


@pytest.fixture
def users(tmp_path) -> UserStore:
    return UserStore(tmp_path / "users.json")


def test_a_user_signs_in_with_their_password_only_and_it_is_never_stored_plainly(users):
    users.add("ada", "correct horse battery", "admin")

    assert users.verify("ada", "correct horse battery").role == "admin"
    assert users.verify("ada", "Correct horse battery") is None
    assert users.verify("nobody", "correct horse battery") is None
    kept = users.path.read_text()
    assert "correct horse battery" not in kept
    assert "scrypt" in kept
    assert stat.S_IMODE(users.path.stat().st_mode) == 0o600


def test_roles_include_the_ones_below_them(users):
    viewer = users.add("vera", "viewer password", "viewer")
    admin = users.add("ada", "admin password!", "admin")

    assert viewer.may("viewer")
    assert not viewer.may("analyst")
    assert admin.may("analyst")
    assert admin.may("admin")
    assert [u.name for u in users.users()] == ["ada", "vera"]


def test_adding_a_known_user_again_changes_their_password_and_role(users):
    users.add("anna", "first password", "viewer")
    users.add("anna", "second password", "analyst")

    assert users.verify("anna", "first password") is None
    assert users.verify("anna", "second password").role == "analyst"
    assert len(users.users()) == 1


@pytest.mark.parametrize(
    ("name", "password", "role", "message"),
    [
        ("has space", "long enough pw", "viewer", "no spaces"),
        ("", "long enough pw", "viewer", "1 to 64"),
        ("ok", "short", "viewer", "at least 10 characters"),
        ("ok", "long enough pw", "root", "one of viewer, analyst, admin"),
    ],
)
def test_bad_names_passwords_and_roles_are_refused_with_the_reason(
    users, name, password, role, message
):
    with pytest.raises(DataError, match=message):
        users.add(name, password, role)
    assert users.users() == []


def test_removing_a_user_and_an_unreadable_file_say_what_happened(users):
    users.add("temp", "temporary password", "viewer")
    users.remove("temp")
    assert users.get("temp") is None
    with pytest.raises(DataError, match="no user called 'temp'"):
        users.remove("temp")

    users.path.write_text("{not json")
    with pytest.raises(DataError, match="cannot be read"):
        users.users()


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/live?series=cpu", "/live?series=cpu"),
        (None, "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("live", "/"),
    ],
)
def test_after_signing_in_only_paths_of_this_site_are_followed(target, safe):
    from vigil.web.auth import safe_next

    assert safe_next(target) == safe


@pytest.mark.parametrize("typed", [" ada", "ada\t", "ADA", "Ada ", "\uff41\uff44\uff41"])
def test_a_name_is_the_same_name_however_it_is_typed(users, typed):
    users.add("ada", "admin password!", "admin")

    assert users.verify(typed, "admin password!").name == "ada"
    assert users.get(typed).name == "ada"


def test_a_look_alike_name_updates_the_user_instead_of_adding_another(users):
    users.add("ada", "admin password!", "admin")
    users.add(" ADA\t", "another password", "viewer")

    assert [(user.name, user.role) for user in users.users()] == [("ada", "viewer")]
    assert users.verify("ada", "another password") is not None


def test_a_new_password_and_ending_sessions_move_the_generation_on(users):
    assert users.add("anna", "first password", "analyst").generation == 0
    assert users.add("anna", "second password", "analyst").generation == 1
    users.end_sessions("ANNA")
    assert users.get("anna").generation == 2
