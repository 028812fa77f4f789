"""Small helpers about credentials shared by the integration tests."""

from __future__ import annotations


def wrong_password(password: str) -> str:
    """The password with its last character changed: always different from it (a password ending in "x" made
    ``password[:-1] + "x"`` the right one, and a test fail once in 62 runs)."""
    return password[:-1] + ("y" if password.endswith("x") else "x")
