"""What the validator reports: one finding per broken rule and file."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One broken rule.

    Parameters
    ----------
    rule
        Stable rule id, e.g. ``manifest.framework_version`` (listed in docs/marketplace.md).
    path
        The package file the finding is about (``manifest.json``, ``assets/logo.png``, ...).
    message
        What is wrong and what is expected, written for the app's developer.
    severity
        ``error`` blocks packaging; ``warning`` is advice, as in the marketplace's own checks.
    """

    rule: str
    path: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.severity.upper():7} {self.path}: {self.message} [{self.rule}]"


@dataclass
class Report:
    """Every finding for one package.

    Examples
    --------
    >>> report = Report()
    >>> report.error("manifest.json_syntax", "manifest.json", "not JSON")
    >>> report.ok, report.rules()
    (False, {'manifest.json_syntax'})
    """

    findings: list[Finding] = field(default_factory=list)

    def error(self, rule: str, path: str, message: str) -> None:
        self.findings.append(Finding(rule, path, message, "error"))

    def warn(self, rule: str, path: str, message: str) -> None:
        self.findings.append(Finding(rule, path, message, "warning"))

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def rules(self, severity: Severity = "error") -> set[str]:
        """Ids of the rules broken at ``severity``."""
        return {f.rule for f in self.findings if f.severity == severity}


class DuplicateKeyError(ValueError):
    """A JSON object names the same key twice (the marketplace refuses such manifests)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise DuplicateKeyError(key)
        seen[key] = value
    return seen


def load_json(data: bytes) -> Any:
    """Parse UTF-8 JSON, refusing duplicate keys; raises ValueError (or DuplicateKeyError)."""
    return json.loads(data.decode("utf-8-sig"), object_pairs_hook=_no_duplicates)
