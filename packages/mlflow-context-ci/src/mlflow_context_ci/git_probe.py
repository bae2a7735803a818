"""Git: branch, commit, dirty flag and remote URL (credentials stripped) of the working directory's repository."""

from __future__ import annotations

from mlflow_context_ci import tag_keys
from mlflow_context_ci.commands import run_together
from mlflow_context_ci.git_config_file import read_remote_urls
from mlflow_plugins_shared.redact import redact_uri
from mlflow_plugins_shared.uris import strip_credentials

STATUS = ("git", "status", "--porcelain=v2", "--branch", "--untracked-files=no", "--no-ahead-behind")


def safe_remote_url(url: str) -> str:
    """No user:password@ and no secret query parameters; scp-like `git@host:org/repo` stays as it is."""
    return redact_uri(strip_credentials(url)) if "://" in url else url


def parse_status(text: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    dirty = False
    for line in text.splitlines():
        if line.startswith("# branch.oid "):
            oid = line.split(" ", 2)[2]
            if oid != "(initial)":
                tags[tag_keys.GIT_COMMIT] = oid
        elif line.startswith("# branch.head "):
            head = line.split(" ", 2)[2]
            if head != "(detached)":
                tags[tag_keys.GIT_BRANCH] = head
        elif line and not line.startswith("#"):
            dirty = True
    tags[tag_keys.GIT_DIRTY] = "true" if dirty else "false"
    return tags


def pick_remote(remotes: dict[str, str]) -> str | None:
    chosen = remotes.get("origin") or next(iter(remotes.values()), None)
    return safe_remote_url(chosen) if chosen else None


def git_tags(directory: str, timeout: float) -> dict[str, str]:
    out = run_together({"status": STATUS}, timeout=timeout, cwd=directory)
    if "status" not in out:  # not a repository, git missing, or too slow
        return {}
    tags = parse_status(out["status"])
    remote = pick_remote(read_remote_urls(directory))
    if remote:
        tags[tag_keys.GIT_REMOTE_URL] = remote
    return tags
