"""The pure parts of the REST transport: wire encoding and error reading."""

import base64

import pytest

from engine.ari.exceptions import AriNotFoundError, AriRequestError
from engine.ari.rest import basic_auth_header, encode_params, error_message


def test_encode_params_drops_none_and_spells_bools():
    params = {"app": "outdial", "beep": False, "timeout": 30, "callerId": None}

    assert encode_params(params) == {"app": "outdial", "beep": "false", "timeout": "30"}


def test_encode_params_whole_float_has_no_decimal_point():
    assert encode_params({"timeout": 30.0, "ratio": 0.5}) == {
        "timeout": "30",
        "ratio": "0.5",
    }


def test_error_message_reads_message_key():
    assert error_message(b'{"message":"Channel not found"}', "Not Found") == (
        "Channel not found"
    )


def test_error_message_reads_error_key():
    assert error_message(b'{"error":"Allocation failed"}', "Internal Server Error") == (
        "Allocation failed"
    )


def test_error_message_html_body_is_kept_as_text():
    body = b"<html><p>HTTP request is missing param: [app]</p></html>"

    assert "missing param" in error_message(body, "Bad Request")


def test_error_message_empty_body_uses_reason():
    assert error_message(b"", "Conflict") == "Conflict"


def test_basic_auth_header_encodes_credentials():
    header = basic_auth_header("engine", "engine-secret")

    assert base64.b64decode(header.removeprefix("Basic ")) == b"engine:engine-secret"


def test_basic_auth_header_colon_in_username_rejected():
    with pytest.raises(ValueError, match="must not contain"):
        basic_auth_header("a:b", "x")


def test_not_found_error_is_a_request_error_with_status():
    error = AriNotFoundError(404, "Channel not found", method="GET", path="/channels/x")

    assert isinstance(error, AriRequestError)
    assert (error.status, error.message) == (404, "Channel not found")
    assert str(error) == "GET /channels/x failed with 404: Channel not found"
