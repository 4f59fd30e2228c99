"""Model hub addressing: which hubs are acceptable, how file URLs are built and parsed back.

The rules are as strict as Firefox's ModelHub so a page cannot be talked into fetching from a
lookalike host or walking out of a model's folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import HubError

# Hubs every engine may use; settings can name more through ALLOW prefixes.
BUILTIN_HUBS = ("https://model-hub.mozilla.org", "https://huggingface.co")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
PLACEHOLDERS = ("model", "revision")

_ORG = re.compile(r"^(?!\d+$)[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$")
_NAME = re.compile(r"^(?!\.)[A-Za-z0-9_.-]+$")
_REVISION = re.compile(r"^(?!\.)[A-Za-z0-9.-]+$")
_PATH_SEGMENT = re.compile(r"^(?!\.)[A-Za-z0-9_.-]+$")
_TEMPLATE_SEGMENT = re.compile(r"^(?:\{(\w+)\}|[A-Za-z0-9_-]+)$")


def check_model_id(model: str) -> None:
    if not isinstance(model, str) or model.count("/") != 1:
        raise HubError(f"invalid model id {model!r}: expected 'organization/name'")
    org, name = model.split("/")
    if not _ORG.match(org):
        raise HubError(
            f"invalid organization {org!r} in model id {model!r}: letters, digits and single inner "
            "hyphens only, not only digits"
        )
    if not _NAME.match(name):
        raise HubError(f"invalid model name {name!r} in model id {model!r}: letters, digits, '-', '_', '.' only")


def check_revision(revision: str) -> None:
    if not isinstance(revision, str) or not _REVISION.match(revision):
        raise HubError(f"invalid revision {revision!r}: letters, digits, '-' and '.' only")


def check_file_path(path: str) -> None:
    if not isinstance(path, str) or not path:
        raise HubError(f"invalid file path {path!r}: empty")
    if "?" in path or "#" in path:
        raise HubError(f"invalid file path {path!r}: no query or fragment allowed")
    if path.startswith("/"):
        raise HubError(f"invalid file path {path!r}: must be relative")
    for segment in path.split("/"):
        if segment == "":
            raise HubError(f"invalid file path {path!r}: empty path segment")
        if segment == "..":
            raise HubError(f"invalid file path {path!r}: '..' is not allowed")
        if segment.startswith("."):
            raise HubError(f"invalid file path {path!r}: segment {segment!r} starts with a dot")
        if not _PATH_SEGMENT.match(segment):
            raise HubError(f"invalid file path {path!r}: segment {segment!r} has characters other than letters, digits, '-', '_', '.'")


def check_template(template: str) -> list[str]:
    """Split a URL template into segments, refusing anything but placeholders and plain names."""
    if not isinstance(template, str) or not template:
        raise HubError(f"invalid URL template {template!r}: empty")
    segments = template.split("/")
    seen = []
    for segment in segments:
        match = _TEMPLATE_SEGMENT.match(segment)
        if not match:
            raise HubError(f"invalid URL template {template!r}: segment {segment!r} is neither a placeholder nor a plain name")
        if match.group(1):
            if match.group(1) not in PLACEHOLDERS:
                raise HubError(f"invalid URL template {template!r}: unknown placeholder {{{match.group(1)}}}")
            seen.append(match.group(1))
    if sorted(seen) != sorted(PLACEHOLDERS):
        raise HubError(f"invalid URL template {template!r}: needs {{model}} and {{revision}} exactly once each")
    return segments


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def is_loopback(url: str) -> bool:
    try:
        return (urlsplit(url).hostname or "").lower() in LOCAL_HOSTS
    except ValueError:
        return False


def check_hub_root(url: str, named_hubs: tuple[str, ...] = ()) -> str:
    """Accept only localhost and named hubs, compared by exact scheme and host."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except (ValueError, TypeError, AttributeError):
        raise HubError(f"invalid model hub root URL {url!r}: not a URL") from None
    if parts.scheme not in ("http", "https"):
        raise HubError(f"model hub root URL {url!r} is not allowed: scheme {parts.scheme!r} is not http or https")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise HubError(f"model hub root URL {url!r} is not allowed: it carries user info")
    if parts.query or parts.fragment:
        raise HubError(f"model hub root URL {url!r} is not allowed: no query or fragment")
    host = (parts.hostname or "").lower()
    if host in LOCAL_HOSTS:
        return url.rstrip("/")
    prefix = f"{parts.scheme}://{host}"
    allowed = {h.lower().rstrip("/") for h in (*BUILTIN_HUBS, *named_hubs)}
    if prefix in allowed or origin(url) in allowed:
        return url.rstrip("/")
    raise HubError(f"model hub root URL {url!r} is not allowed: host {host!r} is not localhost or a hub named in settings")


@dataclass(frozen=True)
class FileRef:
    model: str
    revision: str
    file: str


class ModelHub:
    """Builds file URLs under one hub root and template; validation happens before any request."""

    def __init__(self, root_url: str, template: str, named_hubs: tuple[str, ...] = ()) -> None:
        self.root_url = check_hub_root(root_url, named_hubs)
        self.template = template
        self.segments = check_template(template)

    @classmethod
    def allowed_by(cls, root_url: str, template: str, allow_deny: list[dict]) -> "ModelHub":
        """The hub at root_url, accepted if it is loopback or an origin the allow/deny list's ALLOW records name."""
        named = tuple(origin(r["urlPrefix"]) for r in allow_deny if r.get("filter") == "ALLOW" and r.get("urlPrefix"))
        return cls(root_url, template, named)

    def file_url(self, model: str, revision: str, file: str) -> str:
        check_model_id(model)
        check_revision(revision)
        check_file_path(file)
        path = self.template.replace("{model}", model).replace("{revision}", revision)
        return f"{self.root_url}/{path}/{file}"

    def parse_url(self, url: str) -> FileRef:
        if not url.startswith(self.root_url + "/"):
            raise HubError(f"URL {url!r} is not under the hub root {self.root_url!r}")
        parts = urlsplit(url)
        if parts.query or parts.fragment:
            raise HubError(f"URL {url!r} has a query or fragment")
        rest = url[len(self.root_url) + 1 :].split("/")
        values: dict[str, str] = {}
        i = 0
        for segment in self.segments:
            if i >= len(rest):
                raise HubError(f"URL {url!r} is too short for template {self.template!r}")
            if segment == "{model}":
                if i + 1 >= len(rest):
                    raise HubError(f"URL {url!r} is too short for template {self.template!r}")
                values["model"] = f"{rest[i]}/{rest[i + 1]}"
                i += 2
            elif segment == "{revision}":
                values["revision"] = rest[i]
                i += 1
            else:
                if rest[i] != segment:
                    raise HubError(f"URL {url!r} does not follow template {self.template!r}: expected {segment!r}, got {rest[i]!r}")
                i += 1
        file = "/".join(rest[i:])
        check_model_id(values["model"])
        check_revision(values["revision"])
        check_file_path(file)
        return FileRef(values["model"], values["revision"], file)


def is_allowed(url: str, allow_deny: list[dict]) -> bool:
    """Allowed by an ALLOW prefix and not denied by any DENY prefix."""
    allowed = any(r.get("filter") == "ALLOW" and url.startswith(r.get("urlPrefix", "\0")) for r in allow_deny)
    denied = any(r.get("filter") == "DENY" and url.startswith(r.get("urlPrefix", "\0")) for r in allow_deny)
    return allowed and not denied


def check_allowed(url: str, allow_deny: list[dict]) -> None:
    if not is_allowed(url, allow_deny):
        raise HubError(f"model file URL {url!r} is not allowed by ml-model-allow-deny-list")
