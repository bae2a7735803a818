"""python -m mlflow_testenv.oss_server --port 9000 --data DIR --key-id ID --key-secret SECRET --bucket NAME"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from mlflow_testenv.oss_server.handler import Config, OssServer


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="oss_server", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--key-id", default=os.environ.get("OSS_SERVER_KEY_ID", "testkeyid"))
    p.add_argument("--key-secret", default=os.environ.get("OSS_SERVER_KEY_SECRET", "testkeysecret"))
    p.add_argument("--region", default="cn-hangzhou")
    p.add_argument("--domain", default="oss.test", help="virtual-hosted requests use <bucket>.<domain>")
    p.add_argument("--bucket", action="append", default=[], help="create this bucket at start-up")
    p.add_argument("--throttle-mibps", type=float, default=0.0,
                   help="cap each connection's body throughput (models a WAN link; benchmarks only)")
    p.add_argument("--verbose", action="store_true")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if a.verbose else logging.INFO)
    server = OssServer((a.host, a.port), Config(a.data, a.key_id, a.key_secret, a.region, a.domain, a.bucket, a.throttle_mibps))
    logging.getLogger("oss_server").info("OSS test server on http://%s:%d (data in %s)", a.host, a.port, a.data)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
