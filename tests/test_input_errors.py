"""Bad input that used to escape as a TypeError or AttributeError (found by mypy): each now gets the
typed error a caller can act on."""

from __future__ import annotations

import datetime as dt

import pytest

import strato
from strato.core.errors import ConfigurationError, ValidationError


def test_an_sns_message_signed_with_a_non_rsa_certificate_is_refused():
    """SNS signs with RSA only; an EC certificate must be a SignatureError (a 403 for a webhook), not a crash."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from strato.topic.envelope import SignatureError, verify

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.example")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    message = {
        "Type": "Notification",
        "MessageId": "m1",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
        "Message": "hi",
        "Timestamp": "2026-11-30T00:00:00.000Z",
        "SignatureVersion": "2",
        "Signature": "AAAA",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
    }
    with pytest.raises(SignatureError, match="not an RSA key"):
        verify(message, certificate=cert.public_bytes(serialization.Encoding.PEM))


def test_a_canceled_transaction_on_a_table_without_ttl_is_transaction_canceled(make_app):
    """A TransactionConflict on an unguarded update of a table without TTL: no 'purge expired' request
    (it sent a None attribute name before), the retry, then TransactionCanceled with the reasons."""
    from botocore.stub import Stubber

    app = make_app("aws")
    docs = app.table("docs", key="id")
    client = docs.backend.client  # creates the table on moto
    reasons = {"CancellationReasons": [{"Code": "TransactionConflict", "Message": "conflict"}]}
    with Stubber(client) as stub:
        for _ in range(2):  # the first attempt and its one retry
            stub.add_client_error(
                "transact_write_items", service_error_code="TransactionCanceledException", modeled_fields=reasons
            )
        with pytest.raises(strato.TransactionCanceled) as caught, app.transaction() as tx:
            tx.update(docs, "a", set={"n": 1})
        stub.assert_no_pending_responses()
    assert caught.value.reasons == ["TransactionConflict"]


def test_an_app_path_that_is_not_a_python_file_is_a_configuration_error(tmp_path):
    from strato.loader import load_app

    path = tmp_path / "app"
    path.write_text("import strato\napp = strato.App('x')\n")
    with pytest.raises(ConfigurationError):
        load_app(str(path))


@pytest.mark.parametrize("kind", ["String", "Number", "String.Array", "Binary"])
def test_a_message_attribute_without_its_value_is_a_validation_error(kind):
    from strato.queue.message import decode_attributes

    with pytest.raises(ValidationError, match="'a'"):
        decode_attributes({"a": {"DataType": kind}})
