"""Looks for secrets in artefacts: plain, URL-quoted, or base64-encoded (standard or URL-safe,
at any alignment inside a longer base64 text). Findings name the secret and the form, never
the value, so a report does not leak what it found."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

# Shorter values are words that occur anywhere; the suite's secrets are all longer.
MIN_LENGTH = 12


@dataclass(frozen=True)
class Finding:
    where: str
    secret: str  # the secret's name
    form: str

    def __str__(self) -> str:
        return f"{self.where}: {self.secret} ({self.form})"


def forms(secret: str) -> dict[str, bytes]:
    """The byte strings that give ``secret`` away."""
    raw = secret.encode()
    found = {"plain": raw, "url-quoted": quote(secret, safe="").encode()}
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        # The characters that also carry bits of the neighbouring bytes are left out.
        core = encoded[-(-4 * shift // 3) : (8 * (shift + len(raw))) // 6]
        found[f"base64+{shift}"] = core
        found[f"base64url+{shift}"] = core.translate(bytes.maketrans(b"+/", b"-_"))
    distinct: dict[str, bytes] = {}
    for form, needle in found.items():
        if needle not in distinct.values():
            distinct[form] = needle
    return distinct


def scan_bytes(where: str, data: bytes, secrets: Mapping[str, str]) -> list[Finding]:
    return [
        Finding(where, name, form)
        for name, value in secrets.items()
        for form, needle in forms(value).items()
        if needle in data
    ]


def scan_text(where: str, text: str, secrets: Mapping[str, str]) -> list[Finding]:
    return scan_bytes(where, text.encode(), secrets)


def is_source_copy(directory: Path) -> bool:
    """A copy of the project (its fixtures' own source text) or a virtualenv installed from it."""
    return (directory / "pyproject.toml").exists() or (directory / "pyvenv.cfg").exists()


def files_under(root: Path) -> Iterator[Path]:
    for current, dirs, files in os.walk(root):
        here = Path(current)
        dirs[:] = [d for d in dirs if not is_source_copy(here / d)]
        for name in files:
            path = here / name
            if path.is_file() and not path.is_symlink():
                yield path


def scan_tree(root: Path, secrets: Mapping[str, str]) -> list[Finding]:
    findings = []
    for path in files_under(root):
        try:
            data = path.read_bytes()
        except OSError:  # removed meanwhile (a server's temporary file)
            continue
        findings += scan_bytes(str(path.relative_to(root)), data, secrets)
    return findings
