"""What a failed token command may show of its output in an error: a bounded excerpt of its stderr
with every word that could be a credential masked. Its stdout is never shown.

A credential helper that fails often says why on stderr (`permission denied`, `token expired`), and
sometimes echoes the very token it refused (`Error: token hvs.CAESIJ... expired`). The shapes
`mlflow_plugins_shared.redact.redact_text` knows (JWTs, `Bearer xxx`, `password=...`) are masked
first; then any word that looks like a token (long, or mixing letters and digits), the word after
`Bearer`/`Basic`, the value after `token:`/`secret=`-like labels (or after `token ` unless it is a
plain lower-case word), and any word the command printed on stdout.
"""

from __future__ import annotations

import re

from mlflow_plugins_shared.redact import MASK, redact_text

EXCERPT_CHARS = 200
_READ_TAIL = 4096  # bytes of stderr looked at: the end is where tools print the error
_STDOUT_WORD_MIN = 6
# `Bearer x`, `Basic x`: the next word is a credential whatever its length.
_SCHEME_VALUE = re.compile(r"(?i)\b(bearer|basic)(\s+)(?!\*\*\*)(\S+)")
# `token: x`, `secret=x`, `password = x`: the value after a label is a credential whatever its shape;
# `token hvs.CAESIJ...` too, unless the next word is plain lower-case prose (`token expired`).
_LABEL_VALUE = re.compile(
    r"(?i)\b([\w.-]*(?:token|secret|password|passwd|credential|api[_-]?key|access[_-]?key)s?)(\s*[:=]\s*|\s+)"
    r"(?!\*\*\*)([^\s,;]+)")
_PROSE = re.compile(r"[a-z]+[.,;:!?)]*")
_EDGE = "\"'()[]{}<>,;:!?"


def _could_be_credential(word: str) -> bool:
    core = word.strip(_EDGE).rstrip(".")
    if MASK in core or "jwt***" in core:
        return False
    if len(core) >= 24:
        return True
    has_digit = any(c.isdigit() for c in core)
    has_alpha = any(c.isalpha() for c in core)
    return len(core) >= 10 and has_digit and has_alpha


def _mask_label_value(m: re.Match[str]) -> str:
    label, sep, value = m.group(1), m.group(2), m.group(3)
    if not sep.strip() and _PROSE.fullmatch(value):
        return m.group(0)
    return f"{label}{sep}{MASK}"


def _mask_word(word: str) -> str:
    if not _could_be_credential(word):
        return word
    lead = len(word) - len(word.lstrip(_EDGE))
    trail = len(word) - len(word.rstrip(_EDGE))
    return word[:lead] + MASK + (word[len(word) - trail:] if trail else "")


def redacted_excerpt(stderr: bytes, stdout: str) -> str:
    """The end of `stderr` on one line, at most EXCERPT_CHARS characters, credentials masked."""
    text = stderr[-_READ_TAIL:].decode("utf-8", "replace")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    one_line = " | ".join(line for line in lines if line)
    if not one_line:
        return ""
    printed = [w for w in stdout.split() if len(w) >= _STDOUT_WORD_MIN]
    out = redact_text(one_line, [stdout.strip(), *printed])
    out = _SCHEME_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", out)
    out = _LABEL_VALUE.sub(_mask_label_value, out)
    out = " ".join(_mask_word(w) for w in out.split(" "))
    if len(out) > EXCERPT_CHARS:
        tail = out[-EXCERPT_CHARS:]
        cut = tail.find(" ")
        out = "..." + (tail[cut:] if 0 <= cut < EXCERPT_CHARS // 2 else tail)
    return out
