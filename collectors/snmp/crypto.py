"""The `cryptography` adapter: the HMAC and AES-CFB128 that SNMPv3's user-based security model needs (`usm.py`).

The one module that imports `cryptography`. Keys come in as bytes and are never kept, logged or put in an error;
a wrong key is not an error here (the MAC just does not match, the plaintext is just garbage).
"""

from __future__ import annotations

from hmac import compare_digest

from cryptography.hazmat.decrepit.ciphers.modes import CFB  # RFC 3826's mode (moved there in cryptography 43)
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "md5": hashes.MD5, "sha1": hashes.SHA1, "sha224": hashes.SHA224, "sha256": hashes.SHA256,
    "sha384": hashes.SHA384, "sha512": hashes.SHA512,
}


def mac(hash_name: str, key: bytes, data: bytes, size: int) -> bytes:
    """HMAC-`hash_name` of `data`, truncated to `size` octets (RFC 3414 section 6/7, RFC 7860)."""
    signer = hmac.HMAC(key, _HASHES[hash_name]())
    signer.update(data)
    return signer.finalize()[:size]


def mac_matches(hash_name: str, key: bytes, data: bytes, expected: bytes) -> bool:
    """Whether `expected` is the truncated HMAC of `data` (compared in constant time)."""
    if not expected:
        return False
    return compare_digest(mac(hash_name, key, data, len(expected)), expected)


def aes_cfb_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(key), CFB(iv)).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def aes_cfb_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), CFB(iv)).decryptor()
    return decryptor.update(data) + decryptor.finalize()
