from __future__ import annotations

import requests


def http_ok(url: str, timeout: float = 1.0, **kwargs) -> bool:
    try:
        return requests.get(url, timeout=timeout, **kwargs).status_code < 500
    except requests.RequestException:
        return False
