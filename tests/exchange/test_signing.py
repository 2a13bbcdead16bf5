"""Ed25519 signatures over the canonical JSON of a message."""

from exchange import signing


def test_a_signed_message_verifies_with_the_public_key_and_not_once_changed():
    private, public = signing.key_generate()
    key = signing.private_key_of(private)
    message = {"id": "1", "type": "exchange.ping", "body": {"note": "李娜"}}
    message["signature"] = signing.sign(message, key=key)
    assert signing.verify(message, public)
    assert not signing.verify({**message, "body": {"note": "李纳"}}, public)
    _other_private, other_public = signing.key_generate()
    assert not signing.verify(message, other_public)


def test_the_canonical_form_ignores_key_order_and_the_signature():
    assert signing.canonical({"b": 1, "a": "学", "signature": "x"}) == '{"a":"学","b":1}'.encode()


def test_a_garbled_signature_or_key_does_not_verify():
    _private, public = signing.key_generate()
    assert not signing.verify({"id": "1", "signature": "not base64!"}, public)
    assert not signing.verify({"id": "1", "signature": ""}, "short")
    assert not signing.public_key_valid("short")
    assert signing.public_key_valid(public)


def test_keygen_command_writes_the_private_key_and_prints_the_public_key(tmp_path, capsys):
    from django.core.management import call_command

    path = tmp_path / "exchange.key"
    call_command("exchange_keygen", str(path))
    public = capsys.readouterr().out.strip()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert signing.public_key_text(signing.private_key_of(path.read_text())) == public


def test_peer_command_saves_a_peer_and_refuses_a_bad_key(db):
    import pytest
    from django.core.management import CommandError, call_command

    from exchange.models import Peer

    _private, public = signing.key_generate()
    call_command("exchange_peer", name="广西", provinces="45", url="https://xueji.gx.example", public_key=public)
    assert Peer.objects.get().provinces == ["45"]
    with pytest.raises(CommandError):
        call_command("exchange_peer", name="x", provinces="45", url="https://x", public_key="bad")
