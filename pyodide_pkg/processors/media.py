"""What image and audio inputs share: the bytes behind a URL (a data: URL, or one fetched through the platform)."""

from __future__ import annotations

import base64
from urllib.parse import unquote_to_bytes

from .. import platform
from ..errors import DownloadError, RequestError


async def url_bytes(url: str, kind: str) -> bytes:
    """The bytes of an `kind` ("image", "audio") named by URL; a bad URL or answer is the caller's RequestError."""
    if url.startswith("data:"):
        header, _, payload = url.partition(",")
        if not header.startswith(f"data:{kind}/"):
            raise RequestError(f"a data: URL {kind} must be of type {kind}/*, got {header[5:] or 'nothing'}")
        return base64.b64decode(payload) if header.endswith(";base64") else unquote_to_bytes(payload)
    try:
        response = await platform.fetch(url)
    except DownloadError as error:
        raise RequestError(f"could not fetch the {kind}: {error}") from None
    if not response.ok:
        raise RequestError(f"could not fetch the {kind} {url}: HTTP {response.status}")
    return response.body
