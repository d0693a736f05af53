"""Symmetric encryption of stored secrets under keys derived from ``SECRET_KEY``.

Each kind of secret has its own label, so two kinds never share a key: a token stored as one kind
cannot be decrypted as another.

>>> box = labelled_fernet("k", "groundswell/example/v1")
>>> box.decrypt(box.encrypt(b"x"))
b'x'
>>> from cryptography.fernet import InvalidToken
>>> try:
...     labelled_fernet("k", "groundswell/other/v1").decrypt(box.encrypt(b"x"))
... except InvalidToken:
...     print("other label: refused")
other label: refused
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet


def labelled_fernet(secret_key: str, label: str) -> Fernet:
    """A Fernet box whose key is SHA-256 of ``label``, a NUL byte and ``secret_key``."""
    digest = hashlib.sha256(label.encode("utf-8") + b"\x00" + secret_key.encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(digest))
