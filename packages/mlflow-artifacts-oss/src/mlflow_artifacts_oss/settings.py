"""Environment settings. The first three are the old `aliyunstoreplugin`'s, unchanged."""

from __future__ import annotations

from mlflow_plugins_shared.settings import (
    Setting,
    as_bytes,
    as_choice,
    as_float,
    as_int,
    as_secret,
    as_str,
)

ENDPOINT = Setting("MLFLOW_OSS_ENDPOINT_URL", as_str, required=True,
                   doc="OSS endpoint, e.g. `https://oss-cn-hangzhou.aliyuncs.com`.")
KEY_ID = Setting("MLFLOW_OSS_KEY_ID", as_str, doc="AccessKey ID (or STS AccessKeyId).")
KEY_SECRET = Setting("MLFLOW_OSS_KEY_SECRET", as_secret, secret=True, doc="AccessKey secret (or STS AccessKeySecret).")
SECURITY_TOKEN = Setting("MLFLOW_OSS_SECURITY_TOKEN", as_secret, secret=True,
                         doc="STS security token; set it together with the STS key ID and secret.")
ECS_RAM_ROLE = Setting("MLFLOW_OSS_ECS_RAM_ROLE", as_str,
                       doc="ECS RAM role name: credentials come from the ECS metadata service instead of keys.")
ECS_METADATA_URL = Setting("MLFLOW_OSS_ECS_METADATA_URL", as_str,
                           default="http://100.100.100.200/latest/meta-data/ram/security-credentials/",
                           doc="ECS metadata URL the role name is appended to.")
REGION = Setting("MLFLOW_OSS_REGION", as_str, doc="Region, e.g. `cn-hangzhou`; required for signature V4.")
SIGNATURE_VERSION = Setting("MLFLOW_OSS_SIGNATURE_VERSION", as_choice(["v1", "v4"]),
                            doc="`v1` or `v4`; default `v4` when `MLFLOW_OSS_REGION` is set, else `v1`.")
MULTIPART_THRESHOLD = Setting("MLFLOW_OSS_MULTIPART_THRESHOLD", as_bytes(minimum=1), default=64 * 1024**2,
                              doc="Files at least this big upload in parallel parts (resumable).")
PART_SIZE = Setting("MLFLOW_OSS_PART_SIZE", as_bytes(minimum=100 * 1024, maximum=5 * 1024**3), default=16 * 1024**2,
                    doc="Part size for multipart upload and ranged download (OSS minimum 100 KiB).")
DOWNLOAD_THRESHOLD = Setting("MLFLOW_OSS_DOWNLOAD_THRESHOLD", as_bytes(minimum=1), default=64 * 1024**2,
                             doc="Files at least this big download in parallel ranges.")
THREADS = Setting("MLFLOW_OSS_THREADS", as_int(minimum=1, maximum=64), default=8,
                  doc="Parallel part uploads/range downloads per file.")
CHECKPOINT_DIR = Setting("MLFLOW_OSS_CHECKPOINT_DIR", as_str,
                         doc="Where resumable multipart uploads keep their checkpoints (default `~/.cache/mlflow-artifacts-oss`).")
RETRIES = Setting("MLFLOW_OSS_RETRIES", as_int(minimum=1, maximum=20), default=5,
                  doc="Attempts for a request failing with a transient fault (network, 5xx, 429).")
TIMEOUT = Setting("MLFLOW_OSS_TIMEOUT", as_float(minimum=0.1), default=60.0,
                  doc="Connect/read timeout of one request, in seconds.")

ALL = [ENDPOINT, KEY_ID, KEY_SECRET, SECURITY_TOKEN, ECS_RAM_ROLE, ECS_METADATA_URL, REGION, SIGNATURE_VERSION,
       MULTIPART_THRESHOLD, PART_SIZE, DOWNLOAD_THRESHOLD, THREADS, CHECKPOINT_DIR, RETRIES, TIMEOUT]
