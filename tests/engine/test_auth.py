"""Bearer tokens, short-lived ``ek_`` keys, and credentials kept out of logs."""

from __future__ import annotations

import logging

import pytest

from rtnb.engine.auth import Auth, bearer, redacting_logger


def test_without_a_token_everything_is_allowed():
    auth = Auth()
    assert not auth.required
    assert auth.check(None, allow_ephemeral=False)


def test_the_token_and_only_the_token():
    auth = Auth("s3cret")
    assert auth.required
    assert auth.check("s3cret", allow_ephemeral=False)
    for wrong in (None, "", "s3cre", "s3cret!", "ek_nothing"):
        assert not auth.check(wrong, allow_ephemeral=True)


def test_ephemeral_keys_work_only_where_allowed_and_until_they_expire(monkeypatch):
    auth = Auth("s3cret")
    now = [1000.0]
    monkeypatch.setattr("rtnb.engine.auth.time.time", lambda: now[0])
    key, expires = auth.issue(60)
    assert key.startswith("ek_") and expires == 1060
    assert auth.check(key, allow_ephemeral=True)
    assert not auth.check(key, allow_ephemeral=False)  # e.g. minting more keys
    now[0] = 1061.0
    assert not auth.check(key, allow_ephemeral=True)


@pytest.mark.parametrize(("asked", "lifetime"), [(1, 10), (600, 600), (10**6, 7200)])
def test_key_lifetimes_are_clamped(monkeypatch, asked, lifetime):
    monkeypatch.setattr("rtnb.engine.auth.time.time", lambda: 0.0)
    assert Auth("t").issue(asked)[1] == lifetime


def test_the_token_never_shows_in_a_repr():
    assert "s3cret" not in repr(Auth("s3cret"))


@pytest.mark.parametrize(("header", "credential"), [
    ("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("Basic abc", None), ("Bearer ", None),
    (None, None), ("", None)])
def test_bearer(header, credential):
    assert bearer(header) == credential


def test_handshake_headers_are_logged_without_credentials(caplog):
    log = redacting_logger("rtnb.test.handshake")
    with caplog.at_level(logging.DEBUG, logger="rtnb.test.handshake"):
        log.debug("> %s: %s", "Authorization", "Bearer s3cret")
        log.debug("> %s: %s", "Sec-WebSocket-Protocol",
                  "realtime, openai-insecure-api-key.s3cret")
        log.debug("> %s: %s", "Host", "127.0.0.1")
    text = caplog.text
    assert "s3cret" not in text
    assert "Authorization: [redacted]" in text and "Host: 127.0.0.1" in text
    assert "openai-insecure-api-key.[redacted]" in text
