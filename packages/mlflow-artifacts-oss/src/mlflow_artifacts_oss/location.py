"""`oss://bucket/prefix` artifact URIs and the object keys under them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlflow_plugins_shared.errors import invalid_parameter
from mlflow_plugins_shared.uris import join_artifact_path, parse_uri, validate_artifact_path

# OSS bucket naming rules: 3-63 chars, lower-case letters, digits and hyphens, no leading/trailing hyphen.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class OssLocation:
    bucket: str
    prefix: str  # no leading/trailing slash; '' for the bucket root

    @classmethod
    def parse(cls, uri: str) -> OssLocation:
        parsed = parse_uri(uri, schemes=("oss",), what="OSS artifact URI")
        bucket = parsed.host or ""
        if parsed.username or parsed.password or parsed.port:
            raise invalid_parameter(f"OSS artifact URI {uri.split('@')[-1]!r} must be oss://<bucket>/<path>; "
                                    "put credentials in MLFLOW_OSS_KEY_ID/MLFLOW_OSS_KEY_SECRET, not in the URI")
        if not _BUCKET.match(bucket):
            raise invalid_parameter(
                f"Invalid OSS bucket name {bucket!r} in {uri!r}: use 3-63 lower-case letters, digits and "
                "hyphens, starting and ending with a letter or digit")
        prefix = validate_artifact_path(parsed.path.lstrip("/"))
        return cls(bucket, prefix)

    def key(self, *relative: str | None) -> str:
        """The object key for a relative artifact path (validated: no '..', not absolute)."""
        parts = [validate_artifact_path(r) for r in relative if r]
        return join_artifact_path(self.prefix, *parts)

    def dir_prefix(self, relative: str | None = None) -> str:
        key = self.key(relative)
        return key + "/" if key else ""

    def relative(self, key: str) -> str:
        base = self.dir_prefix()
        return key[len(base):] if key.startswith(base) else key

    def uri(self, key: str = "") -> str:
        return f"oss://{self.bucket}/{key}"
