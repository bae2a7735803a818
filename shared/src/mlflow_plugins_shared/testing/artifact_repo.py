"""A conformance kit for artifact repositories.

Subclass `ArtifactRepositoryConformance` in a package's tests and provide a `repo` fixture that
returns a fresh, empty repository for each test. Every test replays the same operations on
MLflow's `LocalArtifactRepository` and compares what the two return.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from mlflow.exceptions import MlflowException
from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository


def _listing(repo: Any, path: str | None = None) -> list[tuple[str, bool, int | None]]:
    return sorted((f.path, f.is_dir, None if f.is_dir else f.file_size) for f in repo.list_artifacts(path))


def _tree(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def make_local_repo(tmp_path: Path) -> LocalArtifactRepository:
    return LocalArtifactRepository(str(tmp_path / "local-reference"))


def make_src_dir(tmp_path: Path) -> Path:
    d = tmp_path / "src"
    _write(d / "a.txt", b"hello")
    _write(d / "empty.bin", b"")
    _write(d / "sub" / "b.bin", os.urandom(70_001))
    _write(d / "sub" / "deeper" / "c.json", b'{"x": 1}')
    _write(d / "ünïcødé name.txt", "ünïcødé".encode())
    return d


@pytest.fixture
def local_repo(tmp_path: Path) -> LocalArtifactRepository:
    return make_local_repo(tmp_path)


@pytest.fixture
def src_dir(tmp_path: Path) -> Path:
    return make_src_dir(tmp_path)


def _dl(tmp_path: Path) -> str:
    """A fresh, existing download directory (MLflow's base class refuses missing ones)."""
    d = tmp_path / "dl"
    d.mkdir(exist_ok=True)
    return str(d)


class ArtifactRepositoryConformance:
    """Tests every artifact repository plugin must pass. Provide a `repo` fixture.

    The kit's own fixtures come with the class: subclasses need not import them.
    """

    @pytest.fixture
    def local_repo(self, tmp_path: Path) -> LocalArtifactRepository:
        return make_local_repo(tmp_path)

    @pytest.fixture
    def src_dir(self, tmp_path: Path) -> Path:
        return make_src_dir(tmp_path)

    @pytest.fixture
    def repo(self) -> Any:  # pragma: no cover - subclasses override
        raise NotImplementedError

    def both(self, repo: Any, local_repo: Any, fn: Any) -> None:
        fn(repo)
        fn(local_repo)

    def test_log_artifact_root_and_subdir(self, repo, local_repo, src_dir):
        def ops(r):
            r.log_artifact(str(src_dir / "a.txt"))
            r.log_artifact(str(src_dir / "sub" / "b.bin"), "x/y")
        self.both(repo, local_repo, ops)
        assert _listing(repo) == _listing(local_repo)
        assert _listing(repo, "x") == _listing(local_repo, "x")
        assert _listing(repo, "x/y") == _listing(local_repo, "x/y")

    def test_log_artifacts_directory_and_listing(self, repo, local_repo, src_dir):
        self.both(repo, local_repo, lambda r: r.log_artifacts(str(src_dir), "run"))
        for path in (None, "run", "run/sub", "run/sub/deeper", "run/a.txt", "nope"):
            assert _listing(repo, path) == _listing(local_repo, path), path

    def test_download_single_file(self, repo, src_dir, tmp_path):
        repo.log_artifacts(str(src_dir))
        out = repo.download_artifacts("sub/b.bin", _dl(tmp_path))
        assert Path(out).read_bytes() == (src_dir / "sub" / "b.bin").read_bytes()

    def test_download_directory_roundtrip(self, repo, src_dir, tmp_path):
        repo.log_artifacts(str(src_dir), "model")
        out = repo.download_artifacts("model", _dl(tmp_path))
        assert _tree(Path(out)) == _tree(src_dir)

    def test_download_everything(self, repo, src_dir, tmp_path):
        repo.log_artifacts(str(src_dir))
        out = repo.download_artifacts("", _dl(tmp_path))
        assert _tree(Path(out)) == _tree(src_dir)

    def test_overwrite_replaces_content(self, repo, tmp_path):
        f = _write(tmp_path / "f.txt", b"first version, longer")
        repo.log_artifact(str(f), "d")
        _write(f, b"second")
        repo.log_artifact(str(f), "d")
        assert _listing(repo, "d") == [("d/f.txt", False, 6)]
        out = repo.download_artifacts("d/f.txt", _dl(tmp_path))
        assert Path(out).read_bytes() == b"second"

    def test_delete_file_and_directory(self, repo, src_dir):
        repo.log_artifacts(str(src_dir))
        repo.delete_artifacts("a.txt")
        assert "a.txt" not in [p for p, _, _ in _listing(repo)]
        repo.delete_artifacts("sub")
        assert _listing(repo, "sub") == []
        assert "sub" not in [p for p, _, _ in _listing(repo)]
        assert "empty.bin" in [p for p, _, _ in _listing(repo)]

    def test_delete_everything(self, repo, src_dir):
        repo.log_artifacts(str(src_dir))
        repo.delete_artifacts()
        assert _listing(repo) == []

    def test_missing_file_download_is_an_error(self, repo, tmp_path):
        with pytest.raises((MlflowException, OSError)):
            repo.download_artifacts("does/not/exist.txt", _dl(tmp_path))

    @pytest.mark.parametrize("bad", ["../escape", "a/../../b", "/abs/path", "a\x00b"])
    def test_bad_artifact_paths_are_rejected(self, repo, tmp_path, bad):
        f = _write(tmp_path / "f.txt", b"x")
        with pytest.raises(MlflowException) as e:
            repo.log_artifact(str(f), bad)
        assert "\x00" not in str(e.value.message)
        assert _listing(repo) == []
