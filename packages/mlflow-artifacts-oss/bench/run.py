"""Benchmark: moving one large file with mlflow-artifacts-oss, side by side in one run with the old
plugin's single-request path (plain oss2 `put_object_from_file` / `get_object_to_file`, what
`aliyunstoreplugin` does) and with MLflow's own S3ArtifactRepository on moto.

Starts its own servers (tools/testenv: `oss` = the project's OSS test server, `s3` = moto), all on
loopback. Each transfer runs in a fresh subprocess so its peak RSS is its own.
Two OSS servers: plain loopback (CPU-bound), and one capping each connection at CAP_MIBPS
(`--throttle-mibps`, a simulated WAN link, where parallel connections are what makes large
uploads fast). Quick mode: 256 MiB. `--full`: 1 GiB (the issue's size). Targets: parallel multipart upload at
least 2x the single-request path; peak RSS of the plugin's process under 200 MB.

    python packages/mlflow-artifacts-oss/bench/run.py [--full] [--rounds N] --out bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PACKAGE = "mlflow-artifacts-oss"
MiB = 1024 * 1024
CAP_MIBPS = 32  # default per-connection cap of the "simulated WAN" server (not tuned to the target)


# ---- worker side: one transfer, in its own process
def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _worker(spec: dict) -> dict:
    kind, path, key = spec["kind"], spec["file"], spec["key"]
    os.environ.update(spec.get("env", {}))
    if kind == "floor":  # the RSS of a process that only imports mlflow: what no plugin can go below
        import mlflow  # noqa: F401

        return {"seconds": 0.0, "peak_rss_mb": _rss_mb(), "base_rss_mb": _rss_mb(), "cpu_s": 0.0}
    if kind.startswith("plugin"):
        from mlflow_artifacts_oss.repository import OssArtifactRepository

        repo = OssArtifactRepository(spec["uri"])
        base = _rss_mb()
        cpu, t = _cpu_seconds(), time.perf_counter()
        if kind == "plugin-up":
            repo.log_artifact(path)
        else:
            repo.download_artifacts(os.path.basename(path), spec["dst"])
    elif kind.startswith("single"):
        import mlflow  # noqa: F401  same import footprint as the plugin
        import oss2

        bucket = oss2.Bucket(oss2.Auth(spec["env"]["MLFLOW_OSS_KEY_ID"], spec["env"]["MLFLOW_OSS_KEY_SECRET"]),
                             spec["env"]["MLFLOW_OSS_ENDPOINT_URL"], spec["bucket"])
        base = _rss_mb()
        cpu, t = _cpu_seconds(), time.perf_counter()
        if kind == "single-up":
            bucket.put_object_from_file(key, path)
        else:
            bucket.get_object_to_file(key, os.path.join(spec["dst"], os.path.basename(path)))
    else:
        from mlflow.store.artifact.s3_artifact_repo import S3ArtifactRepository

        repo = S3ArtifactRepository(spec["uri"])
        base = _rss_mb()
        cpu, t = _cpu_seconds(), time.perf_counter()
        if kind == "s3-up":
            repo.log_artifact(path)
        else:
            repo.download_artifacts(os.path.basename(path), spec["dst"])
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "peak_rss_mb": _rss_mb(), "base_rss_mb": base, "cpu_s": _cpu_seconds() - cpu}


def _group_cpu_seconds(pgid: int) -> float:
    """CPU seconds used so far by every process of a process group (a test server and its workers)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def _direct_reclaim_pages() -> int:
    """Pages the kernel reclaimed in allocating processes so far (/proc/vmstat pgscan_direct): when
    memory runs short, every page a transfer writes costs the writer a reclaim, which can double a
    server's CPU per GiB. Logged with each transfer so such runs can be told apart."""
    try:
        for line in Path("/proc/vmstat").read_text().splitlines():
            if line.startswith("pgscan_direct "):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _run_worker(spec: dict) -> dict:
    python = spec.pop("python", None) or sys.executable
    out = subprocess.run([python, __file__, "--worker", json.dumps(spec)], capture_output=True, text=True,
                         timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(f"{spec['kind']} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- driver side
def _skinny_python() -> Path:
    from importlib.metadata import version

    from mlflow_testenv.minimal_venv import minimal_python

    root = Path(__file__).resolve().parents[3]
    return minimal_python("bench-artifacts-oss-skinny", [f"mlflow-skinny=={version('mlflow-skinny')}",
                                                         f"oss2=={version('oss2')}"],
                          [root / "shared", root / "packages" / PACKAGE])


def _server_root(where: str, size: int) -> Path | None:
    """A tmpfs directory for the servers' data ("memory"), or None for their default data dir ("disk").

    On this shared VM, writing a 1 GiB object to disk costs the server 1-3 s of throttled `write()`
    calls, varying from one transfer to the next with other jobs' writeback; that noise, not the client
    path, then decides the ratio. Real OSS stores on its own machines; the test server's disk is not
    what the plugin is measured against.
    """
    if where == "disk":
        return None
    shm = Path("/dev/shm")
    if not shm.is_dir() or shutil.disk_usage(shm).free < 6 * size:
        print("no tmpfs with room at /dev/shm: the servers keep their data on disk", file=sys.stderr)
        return None
    return Path(tempfile.mkdtemp(prefix="oss-bench-", dir=shm))


def _server_dir(root: Path | None, name: str) -> Path | None:
    return None if root is None else root / name


def _empty_bucket(env: dict[str, str], bucket_name: str) -> None:
    import oss2

    bucket = oss2.Bucket(oss2.Auth(env["MLFLOW_OSS_KEY_ID"], env["MLFLOW_OSS_KEY_SECRET"]),
                         env["MLFLOW_OSS_ENDPOINT_URL"], bucket_name)
    keys = [o.key for o in oss2.ObjectIterator(bucket)]
    for i in range(0, len(keys), 1000):
        bucket.batch_delete_objects(keys[i:i + 1000])


def _make_file(path: Path, size: int) -> None:
    block = os.urandom(4 * MiB)
    with open(path, "wb") as f:
        for _ in range(size // len(block)):
            f.write(block)
        f.write(os.urandom(size % len(block)))


def markdown_table(rows: list[dict]) -> str:
    out = ["| benchmark | subject | value | anchor | anchor value | ratio | target |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = "" if r["ratio"] is None else f"{r['ratio']}x"
        anchor_value = "" if r["anchor_value"] is None else f"{r['anchor_value']} {r['unit']}"
        out.append(f"| {r['benchmark']} | {r['subject']} | {r['value']} {r['unit']} | {r['anchor']} | "
                   f"{anchor_value} | {ratio} | {r['target']} |")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--full", action="store_true")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--out", default="bench.json")
    p.add_argument("--cap-mibps", type=float, default=CAP_MIBPS, help="per-connection cap of the WAN-like server")
    p.add_argument("--worker")
    p.add_argument("--table", help="print the Markdown table of a results file and exit")
    p.add_argument("--no-skinny", action="store_true", help="skip the transfers from an mlflow-skinny venv")
    p.add_argument("--server-data", choices=("memory", "disk"), default="memory",
                   help="where the OSS test servers keep objects: memory (tmpfs, /dev/shm) keeps this VM's disk "
                        "writeback out of the figures; disk is the servers' default data dir")
    a = p.parse_args()
    if a.worker:
        print(json.dumps(_worker(json.loads(a.worker))))
        return
    if a.table:
        print(markdown_table(json.loads(Path(a.table).read_text())))
        return

    from mlflow_testenv import start_service

    cap = a.cap_mibps
    skinny = None if a.no_skinny else _skinny_python()

    size = 1024 * MiB if a.full else 256 * MiB
    load_before = os.getloadavg()[0]  # other work on a shared machine skews every number
    label = f"{size // MiB} MiB"
    server_root = _server_root(a.server_data, size)
    oss = start_service("oss", parent_pid=os.getpid(), record=False, workdir=_server_dir(server_root, "oss"))
    capped = start_service("oss", ["--throttle-mibps", str(cap)], parent_pid=os.getpid(), record=False,
                           workdir=_server_dir(server_root, "oss-capped"))
    s3 = start_service("s3", parent_pid=os.getpid(), record=False)
    work = Path(tempfile.mkdtemp(prefix="oss-bench-"))
    try:
        import boto3

        s3env = {"MLFLOW_S3_ENDPOINT_URL": s3.exports["MLFLOW_TESTENV_S3_URL"],
                 "AWS_ACCESS_KEY_ID": s3.exports["MLFLOW_TESTENV_S3_ACCESS_KEY_ID"],
                 "AWS_SECRET_ACCESS_KEY": s3.exports["MLFLOW_TESTENV_S3_SECRET_ACCESS_KEY"],
                 "AWS_DEFAULT_REGION": s3.exports["MLFLOW_TESTENV_S3_REGION"]}
        boto3.client("s3", endpoint_url=s3env["MLFLOW_S3_ENDPOINT_URL"],
                     aws_access_key_id=s3env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=s3env["AWS_SECRET_ACCESS_KEY"],
                     region_name=s3env["AWS_DEFAULT_REGION"]).create_bucket(Bucket="bench")
        bucket = oss.exports["MLFLOW_TESTENV_OSS_BUCKET"]

        def env_of(server) -> dict[str, str]:
            return {"MLFLOW_OSS_ENDPOINT_URL": server.exports["MLFLOW_TESTENV_OSS_ENDPOINT"],
                    "MLFLOW_OSS_KEY_ID": server.exports["MLFLOW_TESTENV_OSS_KEY_ID"],
                    "MLFLOW_OSS_KEY_SECRET": server.exports["MLFLOW_TESTENV_OSS_KEY_SECRET"],
                    "MLFLOW_OSS_CHECKPOINT_DIR": str(work / "ckpt")}
        src = work / "model.bin"
        _make_file(src, size)
        results: dict[str, list[dict]] = {}

        def measure(kind: str, prefix: str, env: dict, uri: str = "", tag: str = "", server=None,
                    python: str | None = None) -> None:
            dst = work / f"dl-{uuid.uuid4().hex[:6]}"
            dst.mkdir()
            spec = {"kind": kind, "file": str(src), "key": f"{prefix}/model.bin", "bucket": bucket,
                    "uri": uri, "dst": str(dst), "env": env, "python": python}
            os.sync()  # the previous transfer's dirty pages are not written back on this one's time
            server_cpu = _group_cpu_seconds(server.pid) if server is not None else 0.0
            reclaim = _direct_reclaim_pages()
            r = _run_worker(spec)
            r["server_cpu_s"] = _group_cpu_seconds(server.pid) - server_cpu if server is not None else None
            r["reclaim_pages"] = _direct_reclaim_pages() - reclaim
            results.setdefault(kind + tag, []).append(r)
            print(f"{kind + tag:18s} {r['seconds']:7.2f} s  {size / MiB / max(r['seconds'], 1e-9):7.1f} MiB/s  "
                  f"client CPU {r['cpu_s']:.2f} s, server CPU {r['server_cpu_s'] or 0:.2f} s  "
                  f"peak RSS {r['peak_rss_mb']:.0f} MB (after imports {r['base_rss_mb']:.0f} MB)  "
                  f"pages reclaimed by allocating processes {r['reclaim_pages']}", file=sys.stderr)
            for f in dst.iterdir():
                f.unlink()
            dst.rmdir()

        for _ in range(a.rounds):
            run = uuid.uuid4().hex[:8]
            for server, tag in ((oss, ""), (capped, "-capped")):
                env = env_of(server)
                measure("single-up", f"single-{run}", env, tag=tag, server=server)
                measure("single-down", f"single-{run}", env, tag=tag, server=server)
                measure("plugin-up", f"plugin-{run}", env, f"oss://{bucket}/plugin-{run}", tag=tag, server=server)
                measure("plugin-down", f"plugin-{run}", env, f"oss://{bucket}/plugin-{run}", tag=tag, server=server)
            measure("s3-up", f"s3-{run}", s3env, f"s3://bench/s3-{run}", server=s3)
            measure("s3-down", f"s3-{run}", s3env, f"s3://bench/s3-{run}", server=s3)
            if not a.no_skinny:  # the plugin from a venv with only mlflow-skinny, oss2 and this package
                env, uri = env_of(oss), f"oss://{bucket}/skinny-{run}"
                measure("plugin-up", f"skinny-{run}", env, uri, tag="-skinny", server=oss, python=str(skinny))
                measure("plugin-down", f"skinny-{run}", env, uri, tag="-skinny", server=oss, python=str(skinny))
            for server in (oss, capped):  # each round starts from empty buckets (and tmpfs stays small)
                _empty_bucket(env_of(server), bucket)
        measure("floor", "floor", {})
    finally:
        oss.stop()
        capped.stop()
        s3.stop()
        if server_root is not None:
            shutil.rmtree(server_root, ignore_errors=True)
        for f in sorted(work.rglob("*"), reverse=True):
            f.rmdir() if f.is_dir() else f.unlink()
        work.rmdir()

    load_after = os.getloadavg()[0]

    def speed(kind: str) -> float:
        return round(statistics.median(size / MiB / r["seconds"] for r in results[kind]), 1)

    def rss(kind: str) -> float:
        return round(max(r["peak_rss_mb"] for r in results[kind]), 1)

    def cpu(kind: str) -> str:
        """Median client and server CPU seconds per GiB moved: what bounds each path."""
        per_gib = 1024 * MiB / size
        client = statistics.median(r["cpu_s"] for r in results[kind]) * per_gib
        server = statistics.median(r["server_cpu_s"] for r in results[kind]) * per_gib
        return f"CPU per GiB: client {client:.2f} s, server {server:.2f} s"

    data = "tmpfs" if server_root is not None else "disk"
    engine = (f"OSS test server (mlflow_testenv.oss_server, data on {data}) + moto on loopback; "
              f"Python {platform.python_version()}, "
              f"{os.cpu_count()} CPUs, load average {load_before:.1f} at start, {load_after:.1f} at end")
    threads = os.environ.get("MLFLOW_OSS_THREADS", "8")
    rows = []

    def row(benchmark: str, subject: str, anchor: str, value: float, unit: str, anchor_value: float | None,
            target: str, notes: str = "", ratio: float | None = None, with_ratio: bool = True) -> None:
        if ratio is None and anchor_value and with_ratio:
            ratio = round(value / anchor_value, 2)
        rows.append({"package": PACKAGE, "benchmark": benchmark, "subject": subject, "anchor": anchor,
                     "value": value, "unit": unit, "anchor_value": anchor_value, "ratio": ratio,
                     "target": target, "engine": engine, "notes": notes})

    plugin = f"mlflow-artifacts-oss (multipart, {threads} threads, 16 MiB parts)"
    ranged = f"mlflow-artifacts-oss (ranged, {threads} threads)"
    single = "oss2 single request (old plugin path)"

    def cpu_note(kind: str) -> str:
        return f"{kind}: {cpu(kind)}; single-{kind.split('-', 1)[1]}: {cpu(kind.replace('plugin', 'single'))}"

    row(f"upload {label}", plugin, single, speed("plugin-up"), "MiB/s", speed("single-up"), ">= 2x",
        f"median of {a.rounds}; unthrottled loopback, both paths CPU-bound on the same cores; {cpu_note('plugin-up')}")
    row(f"download {label}", ranged, single, speed("plugin-down"), "MiB/s", speed("single-down"), "",
        f"median of {a.rounds}; {cpu_note('plugin-down')}")
    capped_note = (f"simulated WAN: the OSS test server caps each connection at {cap:g} MiB/s "
                   f"(--throttle-mibps), as one TCP connection to a remote OSS cannot fill the link")
    row(f"upload {label}, {cap:g} MiB/s per connection", plugin, single, speed("plugin-up-capped"), "MiB/s",
        speed("single-up-capped"), ">= 2x", capped_note)
    row(f"download {label}, {cap:g} MiB/s per connection", ranged, single, speed("plugin-down-capped"), "MiB/s",
        speed("single-down-capped"), "", capped_note)
    row(f"upload {label}", "MLflow S3ArtifactRepository on moto", plugin, speed("s3-up"), "MiB/s",
        speed("plugin-up"), "", f"moto keeps objects in memory; {cpu('s3-up')}")
    row(f"download {label}", "MLflow S3ArtifactRepository on moto", "mlflow-artifacts-oss", speed("s3-down"),
        "MiB/s", speed("plugin-down"), "", cpu("s3-down"))
    floor = rss("floor")
    for kind, what in (("plugin-up", "upload"), ("plugin-down", "download")):
        base = max(r["base_rss_mb"] for r in results[kind])
        anchor = kind.replace("plugin", "single")
        row(f"peak RSS, {what} {label}", "mlflow-artifacts-oss", single, rss(kind), "MB", rss(anchor), "< 200 MB",
            f"as measured (ru_maxrss of the whole process); after the plugin's imports: {base:.0f} MB; "
            f"a process that only imports mlflow: {floor:.0f} MB")
        row(f"peak RSS above `import mlflow`, {what} {label}", "mlflow-artifacts-oss", single,
            round(rss(kind) - floor, 1), "MB", round(rss(anchor) - floor, 1), "< 200 MB",
            f"peak RSS minus the {floor:.0f} MB floor of a process that only imports mlflow", with_ratio=False)
    if "plugin-up-skinny" in results:
        for kind, what in (("plugin-up-skinny", "upload"), ("plugin-down-skinny", "download")):
            base = max(r["base_rss_mb"] for r in results[kind])
            row(f"peak RSS, {what} {label}, client with mlflow-skinny", "mlflow-artifacts-oss",
                "the same with the full mlflow", rss(kind), "MB", rss(kind.replace("-skinny", "")), "< 200 MB",
                f"venv with only mlflow-skinny, oss2, the shared wheel and this package (what the package depends "
                f"on); {base:.0f} MB after imports; {speed(kind)} MiB/s", with_ratio=False)
    Path(a.out).write_text(json.dumps(rows, indent=1))
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
