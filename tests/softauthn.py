"""A small software authenticator: real ES256 keys and real WebAuthn structures, for HTTP-level tests.

The browser tests use Chromium's virtual authenticator; this lets the unit tests run the same ceremonies
against the server on both databases, and forge the things an attacker would.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import bytes_to_base64url, encode_cbor

UP, UV, AT = 0x01, 0x04, 0x40


def _b64(data: bytes) -> str:
    return bytes_to_base64url(data)


@dataclass
class SoftAuthenticator:
    origin: str = "http://localhost:8000"
    rp_id: str = "localhost"
    user_verified: bool = True
    credentials: dict[bytes, tuple[ec.EllipticCurvePrivateKey, bytes, int]] = field(default_factory=dict)

    def _client_data(self, kind: str, challenge: str, origin: str | None = None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}).encode()

    def _flags(self, extra: int = 0) -> int:
        return UP | (UV if self.user_verified else 0) | extra

    def create(self, options: dict, *, origin: str | None = None) -> dict:
        """navigator.credentials.create(): a new resident ES256 credential, 'none' attestation."""
        key = ec.generate_private_key(ec.SECP256R1())
        numbers = key.public_key().public_numbers()
        cose = encode_cbor({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})
        cred_id = os.urandom(32)
        user_handle = options["user"]["id"]
        self.credentials[cred_id] = (key, user_handle.encode(), 0)
        auth_data = (hashlib.sha256(options["rp"]["id"].encode()).digest() + bytes([self._flags(AT)])
                     + struct.pack(">I", 0) + bytes(16) + struct.pack(">H", len(cred_id)) + cred_id + cose)
        attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {"id": _b64(cred_id), "rawId": _b64(cred_id), "type": "public-key", "clientExtensionResults": {},
                "response": {"clientDataJSON": _b64(self._client_data("webauthn.create", options["challenge"], origin)),
                             "attestationObject": _b64(attestation), "transports": ["internal"]}}

    def get(self, options: dict, *, cred_id: bytes | None = None, sign_with: ec.EllipticCurvePrivateKey | None = None,
            origin: str | None = None) -> dict:
        """navigator.credentials.get(): an assertion from one of our credentials (optionally forged)."""
        cred_id = cred_id or next(iter(self.credentials))
        key, user_handle, count = self.credentials[cred_id]
        count += 1
        self.credentials[cred_id] = (key, user_handle, count)
        auth_data = hashlib.sha256(options["rpId"].encode()).digest() + bytes([self._flags()]) + struct.pack(">I", count)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = (sign_with or key).sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {"id": _b64(cred_id), "rawId": _b64(cred_id), "type": "public-key", "clientExtensionResults": {},
                "response": {"clientDataJSON": _b64(client_data), "authenticatorData": _b64(auth_data),
                             "signature": _b64(signature), "userHandle": user_handle.decode()}}
