"""The header value and the request fingerprint, without a database."""

from __future__ import annotations

import pytest

from landmarket.core.errors import BadRequest
from landmarket.idempotency.keys import fingerprint, lock_id, parse_key


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("abc", "abc"),
        ("  abc  ", "abc"),
        ('"abc"', "abc"),  # RFC 8941 sf-string, as the draft writes it
        ('"a \\"b\\" \\\\c"', 'a "b" \\c'),
        ("a b", "a b"),
        ("x" * 255, "x" * 255),
    ],
)
def test_accepted_keys(raw: str, key: str) -> None:
    assert parse_key(raw) == key


@pytest.mark.parametrize("raw", ["", "   ", '""', "x" * 256, "schlüssel", "a\tb", "a\x7fb"])
def test_rejected_keys(raw: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_key(raw)
    assert caught.value.errors is not None
    assert [e.pointer for e in caught.value.errors] == ["/header/idempotency-key"]


def test_fingerprint_covers_what_makes_a_request_different() -> None:
    base = fingerprint("POST", "/v1/plot-imports", "mode=partial&prune=true", {}, b"{}")
    assert base == fingerprint("post", "/v1/plot-imports", "prune=true&mode=partial", {}, b"{}")
    different = [
        fingerprint("PUT", "/v1/plot-imports", "mode=partial&prune=true", {}, b"{}"),
        fingerprint("POST", "/v1/requirements", "mode=partial&prune=true", {}, b"{}"),
        fingerprint("POST", "/v1/plot-imports", "mode=partial", {}, b"{}"),
        fingerprint("POST", "/v1/plot-imports", "mode=partial&prune=true", {}, b"{ }"),
        fingerprint(
            "POST",
            "/v1/plot-imports",
            "mode=partial&prune=true",
            {"content-crs": "<http://www.opengis.net/def/crs/EPSG/0/25832>"},
            b"{}",
        ),
    ]
    assert base not in different and len(set(different)) == len(different)


def test_lock_ids_are_signed_64_bit_and_scoped() -> None:
    ids = {lock_id(org, key) for org in ("org-a", "org-b") for key in ("k1", "k2")}
    assert len(ids) == 4
    assert all(-(2**63) <= i < 2**63 for i in ids)
