"""/admin/ login: a limited number of attempts per username and per address."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db

LOCKED = "Too many login attempts for this username or from this address: try again in"
WRONG = "Please enter the correct username and password for a staff account."


@pytest.fixture
def admin_user(settings: Any) -> User:
    settings.ADMIN_LOGIN_ATTEMPTS = 3
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
    return User.objects.create_superuser("root", "root@example.com", "right-password")


@pytest.fixture
def password_checks(monkeypatch: Any) -> list[str]:
    """Usernames whose password was actually checked."""
    checked: list[str] = []
    original = ModelBackend.authenticate

    def counting(self: Any, request: Any, username: Any = None, password: Any = None, **kwargs: Any) -> Any:
        checked.append(username)
        return original(self, request, username=username, password=password, **kwargs)

    monkeypatch.setattr(ModelBackend, "authenticate", counting)
    return checked


def _login(http: Client, username: str, password: str, address: str = "198.51.100.1") -> str:
    response = http.post(
        "/admin/login/?next=/admin/", {"username": username, "password": password}, REMOTE_ADDR=address
    )
    return response.content.decode() if response.status_code == 200 else f"redirect {response.status_code}"


def test_a_username_is_locked_after_the_attempt_limit_even_with_the_right_password(
    admin_user: User, password_checks: list[str]
) -> None:
    http = Client()
    for n in range(3):
        assert WRONG in _login(http, "root", f"guess-{n}", address=f"198.51.100.{n}")
    page = _login(http, "root", "right-password", address="198.51.100.99")
    assert LOCKED in page
    assert "_auth_user_id" not in http.session
    assert password_checks == ["root"] * 3  # the locked attempt costs no password check


def test_an_address_is_locked_after_the_attempt_limit_whatever_the_username(
    admin_user: User, password_checks: list[str]
) -> None:
    http = Client()
    for name in ("alice", "bob", "carol"):
        assert WRONG in _login(http, name, "guess")
    assert LOCKED in _login(http, "root", "right-password")
    assert "_auth_user_id" not in http.session
    # Another address may still log in with the right password.
    assert _login(Client(), "root", "right-password", address="203.0.113.5") == "redirect 302"


def test_a_right_password_within_the_limit_logs_in(admin_user: User) -> None:
    http = Client()
    assert WRONG in _login(http, "root", "guess")
    assert _login(http, "root", "right-password") == "redirect 302"
    assert http.session["_auth_user_id"] == str(admin_user.pk)
