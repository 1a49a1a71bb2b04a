"""How a blob's metadata and index tags are written: metadata values travel as HTTP headers (ASCII, one line),
index tag values keep to the characters the service takes, and tags are mirrored into the metadata
(``tag_<name>``) so they survive on accounts and emulators that refuse index tags.
"""

from __future__ import annotations

from typing import Any

TAG_META_PREFIX = "tag_"
# index tag values: up to 256 characters of [A-Za-z0-9 +-./:=_]
_TAG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 +-./:=_")


def metadata_with_tags(metadata: dict[str, str] | None, tags: dict[str, str] | None) -> dict[str, str]:
    """The blob's metadata: ``metadata`` as header-safe values, plus each tag as ``tag_<name>``."""
    merged = {k: _meta_value(v) for k, v in (metadata or {}).items()}
    for k, v in (tags or {}).items():
        merged[TAG_META_PREFIX + _meta_key(k)] = _meta_value(v)
    return merged


def tags_in_metadata(metadata: dict[str, str]) -> dict[str, str]:
    """The tags mirrored in a blob's metadata."""
    return {k[len(TAG_META_PREFIX) :]: v for k, v in metadata.items() if k.startswith(TAG_META_PREFIX)}


def index_tags(tags: dict[str, str] | None) -> dict[str, str]:
    """``tags`` with values the index-tag service takes."""
    return {k: "".join(c if c in _TAG_CHARS else "_" for c in str(v))[:256] for k, v in (tags or {}).items()}


def _meta_key(key: str) -> str:
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in key)
    return cleaned if cleaned and not cleaned[0].isdigit() else "_" + cleaned


def _meta_value(value: Any) -> str:
    # Metadata values travel as HTTP headers: ASCII only, no newlines.
    text = str(value).replace("\r", " ").replace("\n", " ")
    return text.encode("ascii", "replace").decode("ascii")
