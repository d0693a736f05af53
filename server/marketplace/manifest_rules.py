"""Rules for manifest.json and requirements.json (after the Zendesk Apps Support gem's checks).

Each ``check_*`` function adds findings to a :class:`~server.marketplace.findings.Report`; none
raises on bad input, since every value here comes from an untrusted package.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from server.marketplace.files import AppPackage
from server.marketplace.findings import Report

MANIFEST = "manifest.json"
REQUIREMENTS = "requirements.json"
REQUIRED_KEYS = ("author", "defaultLocale", "location", "frameworkVersion")
FRAMEWORK_VERSIONS = ("2.0",)
LOCALE = re.compile(r"^[a-z]{2,3}(-\w{2,3})?$")
BOOLEAN_KEYS = ("private", "singleInstall", "signedUrls", "requirementsOnly", "marketingOnly")
STRING_KEYS = ("name", "defaultLocale", "version", "frameworkVersion", "remoteInstallationURL",
               "termsConditionsURL")
EXPERIMENTS = ("hashParams", "newCssCompiler")
SUPPORT_LOCATIONS = ("top_bar", "nav_bar", "ticket_sidebar", "new_ticket_sidebar", "user_sidebar",
                     "organization_sidebar", "background", "modal", "ticket_editor", "system_top_bar")
HOSTS = ("support", "chat", "sell")
PARAMETER_TYPES = ("text", "checkbox", "url", "number", "multiline", "hidden", "oauth")
SECURE_SCOPES = ("header", "body", "url", "jwt_secret_key", "jwt_claim", "basic_auth_username",
                 "basic_auth_password")
SECRET_LIKE_NAME = re.compile(r"token|key|pwd|password", re.IGNORECASE)
OAUTH_KEYS = ("client_id", "client_secret", "authorize_uri", "access_token_uri")
HOSTNAME = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")
EXAMPLE_DOMAINS = re.compile(r"(^|\.)(example\.(com|org|net)|[^.]+\.(test|example|invalid|localhost))$")
REQUIREMENT_TYPES = ("automations", "channel_integrations", "custom_objects", "custom_objects_v2",
                     "macros", "organization_fields", "targets", "ticket_fields", "triggers",
                     "user_fields", "views", "webhooks", "custom_statuses")
WEBHOOK_KEYS = ("name", "status", "endpoint", "http_method", "request_format")
MAX_REQUIREMENTS = 5000


def _http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def check_manifest_keys(m: dict[str, Any], report: Report) -> None:
    """Required keys, value types, author, framework version, experiments."""
    missing = [k for k in REQUIRED_KEYS if k not in m]
    if m.get("requirementsOnly") is True or m.get("marketingOnly") is True:
        missing = [k for k in missing if k in ("author", "defaultLocale")]
    if missing:
        report.error("manifest.required_key", MANIFEST, f"missing required key(s): {', '.join(missing)}")
    for key in BOOLEAN_KEYS:
        if key in m and not isinstance(m[key], bool):
            report.error("manifest.type", MANIFEST, f"{key} must be true or false")
    for key in STRING_KEYS:
        if key in m and not isinstance(m[key], str):
            report.error("manifest.type", MANIFEST, f"{key} must be a string")
    if "domainWhitelist" in m and not (isinstance(m["domainWhitelist"], list)
                                       and all(isinstance(d, str) for d in m["domainWhitelist"])):
        report.error("manifest.type", MANIFEST, "domainWhitelist must be an array of strings")
    if "parameters" in m and not isinstance(m["parameters"], list):
        report.error("manifest.type", MANIFEST, "parameters must be an array")
    author = m.get("author")
    if "author" in m:
        if not isinstance(author, dict) or not all(isinstance(author.get(k), str) and author.get(k)
                                                   for k in ("name", "email", "url")):
            report.error("manifest.author", MANIFEST, "author must be an object with string name, email and url")
        elif not _http_url(author["url"]):
            report.error("manifest.author", MANIFEST, "author.url must be an http(s) URL with a host")
        elif not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", author["email"]):
            report.error("manifest.author", MANIFEST, "author.email must be an email address (the support address)")
        elif EXAMPLE_DOMAINS.search((urlsplit(author["url"]).hostname or "").lower()) or \
                EXAMPLE_DOMAINS.search(author["email"].rsplit("@", 1)[-1].lower()):
            report.warn("manifest.author", MANIFEST, "author url or email uses a reserved example domain: "
                        "the marketplace shows them to customers as the support contact")
    version = m.get("frameworkVersion")
    if "frameworkVersion" in m and version not in FRAMEWORK_VERSIONS:
        report.error("manifest.framework_version", MANIFEST,
                     f"frameworkVersion must be one of {', '.join(FRAMEWORK_VERSIONS)}")
    experiments = m.get("experiments", {})
    if not isinstance(experiments, dict):
        report.error("manifest.type", MANIFEST, "experiments must be an object")
    else:
        for name, enabled in experiments.items():
            if enabled and name not in EXPERIMENTS:
                report.error("manifest.experiments", MANIFEST,
                             f"experiment {name!r} is not allowed in the marketplace "
                             f"(allowed: {', '.join(EXPERIMENTS)})")


def check_default_locale(m: dict[str, Any], pkg: AppPackage, report: Report) -> None:
    locale = m.get("defaultLocale")
    if not isinstance(locale, str):
        return
    if not LOCALE.fullmatch(locale):
        report.error("manifest.default_locale", MANIFEST, f"defaultLocale {locale!r} is not a locale like en or pt-br")
    elif not pkg.has(f"translations/{locale}.json"):
        report.error("manifest.default_locale", MANIFEST, f"translations/{locale}.json is missing")


def _location_entries(m: dict[str, Any], report: Report) -> list[tuple[str, str, Any]]:
    location = m.get("location")
    if location is None:
        return []
    if not isinstance(location, dict):
        report.error("manifest.location", MANIFEST, "location must be an object of hosts")
        return []
    entries = []
    for host, places in location.items():
        if host not in HOSTS:
            report.error("manifest.location", MANIFEST, f"unknown host {host!r} in location")
            continue
        if not isinstance(places, dict):
            report.error("manifest.location", MANIFEST, f"location.{host} must be an object")
            continue
        for name, value in places.items():
            if host == "support" and name not in SUPPORT_LOCATIONS:
                report.error("manifest.location", MANIFEST, f"{name!r} is not a Support location")
                continue
            entries.append((host, name, value))
    if not entries and "location" in m:
        report.error("manifest.location", MANIFEST, "location names no app location")
    return entries


def _location_url_ok(url: str, pkg: AppPackage) -> bool:
    if "{{setting." in url:
        return True
    parts = urlsplit(url)
    if parts.scheme:
        return parts.scheme == "https" or (parts.hostname == "localhost")
    return parts.path.startswith("assets/") and pkg.has(parts.path)


def check_locations(m: dict[str, Any], pkg: AppPackage, report: Report) -> list[str]:
    """Location hosts, names and URLs; returns the Support location names used."""
    secure = {p.get("name") for p in _parameters(m) if p.get("secure") is True}
    names = []
    for host, name, value in _location_entries(m, report):
        names.append(name)
        url = value if isinstance(value, str) else value.get("url") if isinstance(value, dict) else None
        if not isinstance(value, (str, dict)):
            report.error("manifest.location", MANIFEST, f"location {host}.{name} must be a URL or an object")
            continue
        if isinstance(value, dict) and "flexible" in value and not isinstance(value["flexible"], bool):
            report.error("manifest.type", MANIFEST, f"location {host}.{name}.flexible must be true or false")
        if url is None:
            continue
        if not isinstance(url, str) or not _location_url_ok(url, pkg):
            report.error("manifest.location_url", MANIFEST,
                         f"location {host}.{name} url {url!r} must be https, localhost, or assets/... "
                         "naming a file in the package")
        elif any(f"{{{{setting.{s}}}}}" in url for s in secure):
            report.error("secure.location_url", MANIFEST,
                         f"location {host}.{name} url puts a secure setting in the iframe address")
    return names


def _parameters(m: dict[str, Any]) -> list[dict[str, Any]]:
    params = m.get("parameters", [])
    return [p for p in params if isinstance(p, dict)] if isinstance(params, list) else []


def check_parameters(m: dict[str, Any], report: Report) -> None:
    """Parameter names, types, flags and secure-setting scopes."""
    raw = m.get("parameters", [])
    if not isinstance(raw, list):
        return
    if len(_parameters(m)) != len(raw):
        report.error("manifest.parameters", MANIFEST, "every parameter must be an object")
    names: list[str] = []
    for p in _parameters(m):
        name = p.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_]{1,64}", name):
            report.error("manifest.parameters", MANIFEST, f"parameter name {name!r} must be 1-64 letters, digits or _")
            continue
        where = f"parameter {name!r}"
        if name == "name":
            report.error("manifest.parameters", MANIFEST, "a parameter may not be called 'name'")
        if name in names:
            report.error("manifest.parameters", MANIFEST, f"{where} is declared twice")
        names.append(name)
        ptype = p.get("type", "text")
        if ptype not in PARAMETER_TYPES:
            report.error("manifest.parameter_type", MANIFEST,
                         f"{where} has type {ptype!r} (allowed: {', '.join(PARAMETER_TYPES)})")
        for flag in ("required", "secure"):
            if flag in p and not isinstance(p[flag], bool):
                report.error("manifest.type", MANIFEST, f"{where}.{flag} must be true or false")
        if ptype == "hidden" and p.get("required") is True:
            report.error("manifest.parameters", MANIFEST, f"{where} is hidden, so it may not be required")
        if ptype == "oauth" and p.get("secure") is True:
            report.error("manifest.oauth", MANIFEST, f"{where} is an oauth parameter, which may not be secure")
        _check_secure_parameter(p, where, ptype, report)
    if sum(1 for p in _parameters(m) if p.get("type") == "oauth") > 1:
        report.error("manifest.oauth", MANIFEST, "at most one oauth parameter is allowed")


def _check_secure_parameter(p: dict[str, Any], where: str, ptype: Any, report: Report) -> None:
    scopes = p.get("scopes")
    if p.get("secure") is True:
        if not isinstance(scopes, list) or not scopes:
            report.error("secure.scopes", MANIFEST,
                         f"{where} is secure, so it needs a non-empty scopes array ({', '.join(SECURE_SCOPES)})")
        elif any(s not in SECURE_SCOPES for s in scopes):
            report.error("secure.scopes", MANIFEST, f"{where} has unknown scopes (allowed: {', '.join(SECURE_SCOPES)})")
        if "default" in p:
            report.error("secure.default", MANIFEST, f"{where} is secure, so it may not ship a default value")
    elif "scopes" in p:
        report.error("secure.scopes", MANIFEST, f"{where} has scopes, which need secure: true")
    if ptype == "hidden" and "default" in p and SECRET_LIKE_NAME.search(str(p.get("name"))):
        report.error("secure.default", MANIFEST, f"{where} ships a default value for a secret")
    if ptype == "text" and p.get("secure") is not True and SECRET_LIKE_NAME.search(str(p.get("name"))):
        report.error("secure.insecure_token", MANIFEST,
                     f"{where} is named like a secret (token, key, pwd, password) but is not secure")


def check_domain_whitelist(m: dict[str, Any], report: Report) -> None:
    """Secure settings may only go to the hosts in domainWhitelist, and that list must be exact."""
    domains = m.get("domainWhitelist")
    has_secure = any(p.get("secure") is True for p in _parameters(m))
    if not isinstance(domains, list):  # a wrong type is reported by manifest.type
        if domains is None and has_secure:
            report.error("secure.domain_whitelist", MANIFEST,
                         "secure parameters need domainWhitelist naming the backend's host(s), "
                         "or Zendesk may send their values anywhere")
        return
    if has_secure and not domains:
        report.error("secure.domain_whitelist", MANIFEST, "domainWhitelist is empty but there are secure parameters")
    for domain in domains:
        if not isinstance(domain, str):
            continue
        host = domain.lower()
        if not HOSTNAME.fullmatch(host) or host.startswith("*.") and host.count(".") < 2:
            report.error("secure.domain_whitelist", MANIFEST,
                         f"domainWhitelist entry {domain!r} must be a bare host name (no scheme, port or path; "
                         "a wildcard only as *.name.tld)")
        elif EXAMPLE_DOMAINS.search(host):
            report.warn("secure.domain_whitelist", MANIFEST,
                        f"domainWhitelist entry {domain!r} is a reserved example name: package with "
                        "--allow-domain <your backend's host> before you submit or install")


def check_oauth(m: dict[str, Any], report: Report) -> None:
    """The manifest's oauth block is for an external service; Zendesk's own client stays server-side."""
    oauth = m.get("oauth")
    if oauth is None:
        return
    if not isinstance(oauth, dict):
        report.error("manifest.oauth", MANIFEST, "oauth must be an object")
        return
    missing = [k for k in OAUTH_KEYS if not isinstance(oauth.get(k), str) or not oauth.get(k)]
    if missing:
        report.error("manifest.oauth", MANIFEST, f"oauth is missing {', '.join(missing)}")
    if not any(p.get("type") == "oauth" for p in _parameters(m)):
        report.error("manifest.oauth", MANIFEST, "oauth needs a parameter of type oauth")
    if str(oauth.get("client_id", "")).startswith("zdg-"):
        report.error("manifest.oauth", MANIFEST,
                     "oauth names a global Zendesk OAuth client (zdg-...): its secret belongs on the "
                     "backend, never in the app package")


def check_requirements(pkg: AppPackage, report: Report) -> None:
    """requirements.json: known resource types, webhook keys, titles, the 5000 limit."""
    from server.marketplace.findings import load_json

    if not pkg.has(REQUIREMENTS):
        return
    try:
        reqs = load_json(pkg.files[REQUIREMENTS])
    except ValueError as e:
        report.error("requirements.json", REQUIREMENTS, f"not valid JSON ({type(e).__name__}: {e})"[:300])
        return
    if not isinstance(reqs, dict):
        report.error("requirements.json", REQUIREMENTS, "must be a JSON object")
        return
    count = 0
    for kind, items in reqs.items():
        if kind not in REQUIREMENT_TYPES:
            report.error("requirements.type", REQUIREMENTS, f"unknown requirement type {kind!r}")
            continue
        if not isinstance(items, dict):
            report.error("requirements.json", REQUIREMENTS, f"{kind} must be an object of identifiers")
            continue
        count += len(items)
        for ident, body in items.items():
            if not isinstance(body, dict):
                report.error("requirements.json", REQUIREMENTS, f"{kind}.{ident} must be an object")
            elif kind == "webhooks":
                missing = [k for k in WEBHOOK_KEYS if k not in body]
                if missing:
                    report.error("requirements.webhook", REQUIREMENTS,
                                 f"webhook {ident!r} is missing {', '.join(missing)}")
            elif kind not in ("channel_integrations", "custom_objects", "custom_objects_v2") and "title" not in body:
                report.error("requirements.title", REQUIREMENTS, f"{kind}.{ident} needs a title")
    if count > MAX_REQUIREMENTS:
        report.error("requirements.count", REQUIREMENTS, f"{count} requirements (at most {MAX_REQUIREMENTS})")
