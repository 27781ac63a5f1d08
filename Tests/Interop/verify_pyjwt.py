#!/usr/bin/env python3
"""Verifies a Tally host certificate and a protocol-2 ticket with PyJWT, using only the vendor's JWK file and the
certificate's cnf.jwk: proof that a vendor can check Tally's tokens in another language.

usage: verify_pyjwt.py VENDOR_JWK CERTIFICATE TICKET CMID
prints one JSON object; exits 0 when everything verifies, 2 with {"error": "InvalidSignatureError"} when the
ticket's signature does not verify under the certified host key, non-zero for anything else.
"""
import json
import sys

import jwt
from jwt import PyJWK


def main():
    vendor_jwk, cert_file, ticket_file, cmid = sys.argv[1:5]
    with open(vendor_jwk) as f:
        root = PyJWK(json.load(f), algorithm="EdDSA")
    certificate = open(cert_file).read().strip()
    ticket = open(ticket_file).read().strip()

    cert_header = jwt.get_unverified_header(certificate)
    assert cert_header["typ"] == "tally-host+jwt", cert_header
    assert cert_header["alg"] == "EdDSA", cert_header
    assert cert_header["kid"] == root.key_id, (cert_header, root.key_id)
    claims = jwt.decode(certificate, root.key, algorithms=["EdDSA"], options={"verify_aud": False})

    host = PyJWK(claims["cnf"]["jwk"], algorithm="EdDSA")
    ticket_header = jwt.get_unverified_header(ticket)
    assert ticket_header["typ"] == "tally-ticket+jwt", ticket_header
    # Protocol 2: the certificate travels beside the ticket, never in its header.
    assert "hct" not in ticket_header, "a protocol-2 ticket carries no certificate in its header"
    try:
        ticket_claims = jwt.decode(ticket, host.key, algorithms=["EdDSA"])
    except jwt.InvalidSignatureError as error:
        # Only the signature: the claims below are not even read.
        print(json.dumps({"error": type(error).__name__, "detail": str(error)}))
        raise SystemExit(2)
    assert ticket_claims["sub"] == cmid, ticket_claims
    assert ticket_claims["iss"] == claims["sub"], (ticket_claims, claims)
    assert ticket_claims["exp"] <= claims["exp"]
    assert ticket_claims["ver"] == 2 and ticket_claims["res"] == "0x00000000" and "nce" in ticket_claims, ticket_claims

    # A token signed by the host must not verify against the vendor root.
    try:
        jwt.decode(ticket, root.key, algorithms=["EdDSA"])
        raise SystemExit("a ticket verified against the vendor root")
    except jwt.InvalidSignatureError:
        pass

    print(json.dumps({"certificate": claims["sub"], "ticket": ticket_claims["sub"], "sku": ticket_claims["sku"]}))


if __name__ == "__main__":
    main()
