"""Git tags from real repositories made with `git init`; credentials never reach a tag."""

from __future__ import annotations

from collections.abc import Callable

import pytest

TOKEN = "ghp_s3cr3tT0ken"


def test_branch_commit_clean_and_remote_without_credentials(make_repo, git_cmd, run_tags: Callable[..., dict[str, str]]) -> None:
    repo = make_repo(branch="feature/x", remotes={
        "upstream": "https://other.example.com/acme/fork.git",
        "origin": f"https://deploy-bot:{TOKEN}@git.example.com/acme/models.git?access_token={TOKEN}",
    })
    tags = run_tags(everything=True)
    assert tags["context.git.branch"] == "feature/x"
    assert tags["context.git.commit"] == git_cmd(repo, "rev-parse", "HEAD")
    assert tags["context.git.dirty"] == "false"
    assert tags["context.git.remote_url"].startswith("https://git.example.com/acme/models.git")
    # Nowhere on the run: not in our tags, not in any other tag the server stored.
    assert not any(TOKEN in v or "deploy-bot" in v for v in tags.values())


def test_user_only_and_scp_like_remotes(make_repo, run_tags) -> None:
    make_repo(remotes={"origin": f"https://{TOKEN}@github.com/acme/models.git"})
    assert run_tags()["context.git.remote_url"] == "https://github.com/acme/models.git"


def test_scp_like_remote_is_kept(make_repo, run_tags) -> None:
    make_repo(remotes={"fork": "git@github.com:acme/models.git"})
    assert run_tags()["context.git.remote_url"] == "git@github.com:acme/models.git"


def test_dirty_flag_follows_tracked_changes(make_repo, run_tags) -> None:
    repo = make_repo()
    (repo / "untracked.txt").write_text("not part of the repository\n")
    assert run_tags()["context.git.dirty"] == "false"  # untracked files do not count
    (repo / "train.py").write_text("print('changed')\n")
    tags = run_tags()
    assert tags["context.git.dirty"] == "true"
    assert "context.git.remote_url" not in tags  # no remote configured


def test_fresh_repository_without_commits(tmp_path, monkeypatch: pytest.MonkeyPatch, git_cmd, run_tags) -> None:
    git_cmd(tmp_path, "init", "-q", "-b", "main")
    monkeypatch.chdir(tmp_path)
    tags = run_tags()
    assert tags["context.git.branch"] == "main"
    assert "context.git.commit" not in tags


def test_git_dir_setting_and_subdirectory(make_repo, tmp_path_factory, monkeypatch: pytest.MonkeyPatch, run_tags) -> None:
    repo = make_repo(branch="exp")
    (repo / "sub").mkdir()
    monkeypatch.chdir(repo / "sub")
    assert run_tags()["context.git.branch"] == "exp"
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(elsewhere.parent))
    monkeypatch.setenv("MLFLOW_CONTEXT_GIT_DIR", str(repo))
    assert run_tags()["context.git.branch"] == "exp"


def test_no_repository_and_no_git_binary(outside_git, make_repo, monkeypatch: pytest.MonkeyPatch, run_tags) -> None:
    assert not any(k.startswith("context.git.") for k in run_tags())
    make_repo()
    monkeypatch.setenv("PATH", "/nonexistent")  # git is not installed
    tags = run_tags()
    assert not any(k.startswith("context.git.") for k in tags)
    assert tags["context.host.os"]  # the other probes still ran


def test_linked_worktree_reads_the_main_repository_config(make_repo, git_cmd, tmp_path, monkeypatch: pytest.MonkeyPatch, run_tags) -> None:
    repo = make_repo(branch="main", remotes={"origin": f"https://ci:{TOKEN}@git.example.com/acme/wt.git"})
    tree = tmp_path / "tree"
    git_cmd(repo, "worktree", "add", "-q", "-b", "hotfix", str(tree))
    monkeypatch.chdir(tree)
    tags = run_tags()
    assert tags["context.git.branch"] == "hotfix"
    assert tags["context.git.remote_url"] == "https://git.example.com/acme/wt.git"


def test_config_file_forms(make_repo, run_tags) -> None:
    repo = make_repo()
    with open(repo / ".git" / "config", "a") as f:
        f.write('[Remote "backup"]\n\turl = "https://bak:pw@backup.example.com/r.git"  ; comment\n'
                '[remote "origin"] url = https://git.example.com/r.git # trailing comment\n')
    assert run_tags()["context.git.remote_url"] == "https://git.example.com/r.git"
