"""Namespace-free XML bodies, as OSS sends and expects them."""

from __future__ import annotations

import time
from typing import Any
from xml.etree import ElementTree as ET

from mlflow_testenv.oss_server.errors import OssError, malformed_xml


def iso8601(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))  # OSS always sends .000Z


def http_date(ts: float) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(ts))


def render(root: str, *children: tuple[str, Any]) -> bytes:
    """render("A", ("B", "x"), ("C", [("D", "1")])) -> <A><B>x</B><C><D>1</D></C></A>"""
    node = ET.Element(root)
    _fill(node, children)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(node, encoding="utf-8", xml_declaration=False)


def _fill(node: ET.Element, children: Any) -> None:
    for tag, value in children:
        child = ET.SubElement(node, tag)
        if isinstance(value, list):
            _fill(child, value)
        elif value is not None:
            child.text = str(value)


def error_body(err: OssError, request_id: str, host: str) -> bytes:
    return render("Error", ("Code", err.code), ("Message", err.message), ("RequestId", request_id),
                  ("HostId", host), *err.extra.items(), ("EC", "0000-00000000"))


def parse(body: bytes) -> ET.Element:
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise malformed_xml("DTDs and entities are not accepted.")
    try:
        root = ET.fromstring(body)  # noqa: S314  (DTDs refused above; a loopback test server)
    except ET.ParseError:
        raise malformed_xml() from None
    if root.tag.startswith("{"):
        raise malformed_xml("XML namespaces are not accepted by OSS.")
    return root
