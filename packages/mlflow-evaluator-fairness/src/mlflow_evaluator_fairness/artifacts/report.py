"""The one-page HTML report: headline metrics, charts (embedded), group table, exclusions."""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import pandas as pd

from mlflow_evaluator_fairness.compute import FairnessResult
from mlflow_evaluator_fairness.config import FairnessConfig

_STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
table{border-collapse:collapse;font-size:12px;margin:8px 0}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}
th{background:#f2f2f2} td.l,th.l{text-align:left}
tr.excluded td{color:#999}
.note{background:#fff6d6;border:1px solid #e6c860;padding:8px;margin:8px 0}
img{max-width:100%;border:1px solid #eee;margin:4px 0}
"""


def _fmt(v: object) -> str:
    if v is None or v is pd.NA:
        return ""
    if isinstance(v, float):
        return "NaN" if math.isnan(v) else f"{v:.6g}"
    return html.escape(str(v))


def _img(path: Path | None, alt: str) -> str:
    if path is None:
        return ""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def write_report(result: FairnessResult, config: FairnessConfig, prefix: str, charts: dict[str, Path | None], path: Path) -> Path:
    e = html.escape
    features = ", ".join(config.sensitive_features)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Fairness report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Fairness report</h1>",
        f"<p>Model type: <b>{e(result.kind)}</b>. Sensitive features: <b>{e(features)}</b>."
        + (f" Positive label: <b>{e(str(result.pos_label))}</b>." if result.pos_label is not None else "")
        + f" Worst-case differences are taken over the {result.diff_grouping.n_groups} groups of "
        f"<b>{e(' & '.join(result.diff_grouping.features))}</b> with at least "
        f"<b>min_group_size = {config.min_group_size}</b> rows.</p>",
    ]
    if result.excluded:
        parts.append(
            f"<div class='note'><b>{len(result.excluded)} group(s) smaller than min_group_size = "
            f"{config.min_group_size} are reported below but excluded from the worst-case "
            f"differences:</b> {e(', '.join(result.excluded))}</div>"
        )
    else:
        parts.append(f"<p>No group is smaller than min_group_size = {config.min_group_size}; all groups enter the differences.</p>")
    parts.append("<h2>Overall</h2><table><tr><th class='l'>metric key</th><th>value</th></tr>")
    for k, v in result.overall.items():
        parts.append(f"<tr><td class='l'>{e(prefix + k)}</td><td>{_fmt(v)}</td></tr>")
    parts.append("</table>")
    parts.append("<h2>Charts</h2>")
    parts.append(_img(charts.get("group_bars"), "per-group rates"))
    parts.append(_img(charts.get("reliability"), "reliability diagram"))
    parts.append("<h2>Per group</h2><p>Metric keys are <code>" + e(prefix)
                 + "&lt;key&gt;/&lt;metric&gt;</code> (MLflow does not accept <code>=</code> or "
                 "<code>&amp;</code> in keys, so a feature and its value are separated by "
                 "<code>/</code>).</p>")
    table = result.table
    cols = [c for c in table.columns if c not in config.sensitive_features]
    parts.append("<table><tr>" + "".join(f"<th class='l'>{e(c)}</th>" if c in ("grouping", "group", "key") else f"<th>{e(c)}</th>" for c in cols) + "</tr>")
    for row in table[cols].itertuples(index=False):  # one row per group, not per data row
        rec = dict(zip(cols, row, strict=True))
        cls = " class='excluded'" if rec.get("in_differences") is False else ""
        cells = "".join(
            f"<td class='l'>{_fmt(rec[c])}</td>" if c in ("grouping", "group", "key") else f"<td>{_fmt(rec[c])}</td>"
            for c in cols
        )
        parts.append(f"<tr{cls}>{cells}</tr>")
    parts.append("</table></body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
