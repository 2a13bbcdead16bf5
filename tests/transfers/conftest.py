from tests.transfers.chain import open_season  # noqa: F401  (fixture)

import pytest


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """The shared world creates ~25 users; PBKDF2 makes that seconds per test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
