"""The upload benchmark: a generated file streamed through the production server (gunicorn,
production settings) into the filesystem store, from a client on the same machine. `make
bench-upload`, or:

    python -m bench.upload [--size 1GiB] [--chunk-size 1MiB] [--workers 1]

It prints the upload's throughput; the hashing bound, i.e. `md5sum` and `sha512sum` of the same
file run side by side as two processes (the work every upload must do, at its fastest on this
machine); their ratio (target ≥ 0.7); and the peak RSS (VmHWM) of the gunicorn processes (target
< 100 MB whatever the size). The database is a throwaway SQLite file unless DATABASE_URL is set;
the file, the store and the database live in a temporary directory removed afterwards.
"""

import argparse
import http.client
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .server import Client, Server, manage, production_env

MB = 1_000_000
UNITS = {"": 1, "k": 1024, "kib": 1024, "m": 1024**2, "mib": 1024**2, "g": 1024**3, "gib": 1024**3}
TARGET_RATIO = 0.7
TARGET_RSS_MB = 100

# Creates the benchmark's project and user (a member, with unlimited image quotas); prints the
# project's id. Run with `manage.py shell -c`, in the server's settings.
SETUP = """
from django.contrib.auth import get_user_model
from dashboard.models import Project, Role, RoleAssignment
from images.models import ProjectQuota
project = Project.objects.create(name={name!r})
user = get_user_model().objects.create_user(username={name!r}, password={password!r})
RoleAssignment.objects.create(user=user, project=project, role=Role.MEMBER)
ProjectQuota.objects.create(project=project, image_count_total=-1, image_size_total=-1, image_count_uploading=-1)
print(project.pk)
"""
TEARDOWN = """
from django.contrib.auth import get_user_model
from dashboard.models import Project
from images.models import Image
Image.objects.filter(owner__name={name!r}).delete()
Project.objects.filter(name={name!r}).delete()
get_user_model().objects.filter(username={name!r}).delete()
"""


def size_of(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in UNITS:
        raise argparse.ArgumentTypeError(f"a size such as 1GiB, 256MiB or 1048576, not {text!r}")
    return int(match.group(1)) * UNITS[match.group(2).lower()]


def generate(path: Path, size: int) -> None:
    """Random bytes (incompressible, no shortcut for any layer), written 16 MiB at a time."""
    block = 16 * 1024**2
    with path.open("wb") as f:
        left = size
        while left > 0:
            f.write(os.urandom(min(block, left)))
            left -= block


def hashing_bound(path: Path) -> tuple[float, float, dict[str, str]]:
    """Wall and CPU seconds of md5sum and sha512sum over the file, run side by side; their digests."""
    before = os.times()
    started = time.perf_counter()
    runs = {
        tool: subprocess.Popen([tool, str(path)], stdout=subprocess.PIPE, text=True)
        for tool in ("md5sum", "sha512sum")
    }
    digests = {tool: run.communicate()[0].split()[0] for tool, run in runs.items()}
    seconds, after = time.perf_counter() - started, os.times()
    cpu = after.children_user + after.children_system - before.children_user - before.children_system
    return seconds, cpu, digests


def processes_of(master: int) -> list[int]:
    """The gunicorn master and its workers (children, from /proc)."""
    pids = [master]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid …: comm may hold spaces, so split after its closing paren.
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(entry.name))
    return pids


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    if found is None:
        raise SystemExit(f"no VmHWM in /proc/{pid}/status")
    return int(found.group(1))


def upload(server: Server, token: str, path: Path, size: int) -> tuple[float, float, float, dict]:
    """Create an image through the Image API and PUT the file, streamed from disk: wall seconds,
    the server's and this client's CPU seconds, the image."""
    api = Client(server.base, headers={"X-Auth-Token": token})
    created = api.post_json(
        "/image/v2/images", {"name": "bench-upload", "disk_format": "raw", "container_format": "bare"}
    )
    if created.status != 201:
        raise SystemExit(f"create: {created.status} {created.body[:300]!r}")
    image = json.loads(created.body)
    conn = http.client.HTTPConnection(*server.base, timeout=600)
    conn.putrequest("PUT", f"/image/v2/images/{image['id']}/file", skip_accept_encoding=True)
    for name, value in {
        "X-Auth-Token": token,
        "Content-Type": "application/octet-stream",
        "Content-Length": str(size),
    }.items():
        conn.putheader(name, value)
    workers = processes_of(server.pid)
    server_cpu = sum(cpu_seconds(pid) for pid in workers)
    client_cpu = time.process_time()
    with path.open("rb") as body:
        started = time.perf_counter()
        conn.endheaders()
        # The body straight from the page cache to the socket (sendfile), as curl -T or a proxy
        # would stream it: the client takes as little of the machine as it can.
        conn.sock.sendfile(body)
        response = conn.getresponse()
        response.read()
        seconds = time.perf_counter() - started
    server_cpu = sum(cpu_seconds(pid) for pid in workers) - server_cpu
    client_cpu = time.process_time() - client_cpu
    conn.close()
    if response.status != 204:
        raise SystemExit(f"upload: {response.status} {response.reason}")
    shown = api.get(f"/image/v2/images/{image['id']}")
    return seconds, server_cpu, client_cpu, json.loads(shown.body)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.upload", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=size_of, default=1024**3, help="file size (default 1GiB)")
    parser.add_argument(
        "--chunk-size",
        type=size_of,
        default=None,
        help="IMAGE_UPLOAD_CHUNK_SIZE for the server (default: the setting's)",
    )
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers (default 1)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="upload and hashing-bound pairs, measured back to back (default 3; the median counts)",
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-upload-") as scratch_dir:
        scratch = Path(scratch_dir)
        database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{scratch / 'bench.sqlite3'}"
        os.environ["IMAGE_STORE"] = "filesystem"
        os.environ["IMAGE_STORE_DIR"] = str(scratch / "store")
        if args.chunk_size:
            os.environ["IMAGE_UPLOAD_CHUNK_SIZE"] = str(args.chunk_size)
        data = scratch / "image.raw"
        print(f"Generating {args.size / MB:,.0f} MB of random data…", file=sys.stderr)
        generate(data, args.size)

        name, password = f"bench-upload-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
        server = Server(database_url, workers=args.workers)
        rounds = []
        try:
            server.start()
            env = production_env(database_url)
            project_id = manage("shell", "-c", SETUP.format(name=name, password=password), env=env).split()[
                -1
            ]
            token = Client(server.base).api_token(name, password, project_id)
            if token is None:
                raise SystemExit("this server has no Identity API to upload through")
            for _ in range(args.rounds):
                seconds, server_cpu, client_cpu, image = upload(server, token, data, args.size)
                bound_seconds, bound_cpu, digests = hashing_bound(data)
                if (image["checksum"], image["os_hash_value"]) != (digests["md5sum"], digests["sha512sum"]):
                    raise SystemExit(
                        f"checksums differ: server {image['checksum']}, md5sum {digests['md5sum']}"
                    )
                Client(server.base, headers={"X-Auth-Token": token}).request(
                    "DELETE", f"/image/v2/images/{image['id']}"
                )
                rounds.append((seconds, server_cpu, client_cpu, bound_seconds, bound_cpu))
            rss = {pid: peak_rss_kib(pid) for pid in processes_of(server.pid)}
        finally:
            if server.process and server.process.poll() is None:
                manage("shell", "-c", TEARDOWN.format(name=name), env=production_env(database_url))
            server.stop()

    master = server.pid
    workers_peak = max(kib for pid, kib in rss.items() if pid != master) / 1024
    chunk = os.environ.get("IMAGE_UPLOAD_CHUNK_SIZE") or "the setting's default"
    load, cores = os.getloadavg()[0], os.cpu_count()
    print(
        f"Upload of {args.size / MB:,.0f} MB through gunicorn ({args.workers} worker(s), chunk {chunk}) to the "
        f"filesystem store, database {database_url.split(':', 1)[0]}; {cores} CPUs, load average {load:.1f} at the end"
    )
    print("  round  upload MB/s (s, CPU server+client)   hashing bound MB/s (s, CPU)   ratio")
    ratios = []
    for i, (seconds, server_cpu, client_cpu, bound_seconds, bound_cpu) in enumerate(rounds, 1):
        throughput, bound = args.size / seconds / MB, args.size / bound_seconds / MB
        ratios.append(throughput / bound)
        print(
            f"  {i:5d}  {throughput:11.0f} ({seconds:5.2f} s, {server_cpu:4.2f}+{client_cpu:4.2f} s)"
            f"      {bound:11.0f} ({bound_seconds:5.2f} s, {bound_cpu:4.2f} s)   {ratios[-1]:5.2f}"
        )
    middle = sorted(range(len(rounds)), key=lambda i: ratios[i])[len(rounds) // 2]
    seconds, _, _, bound_seconds, _ = rounds[middle]
    ratio = ratios[middle]
    print(f"  upload throughput     {args.size / seconds / MB:8.0f} MB/s   (the median round)")
    print(
        f"  hashing bound         {args.size / bound_seconds / MB:8.0f} MB/s   (md5sum ‖ sha512sum, same round)"
    )
    print(
        f"  ratio                 {ratio:8.2f}        (target ≥ {TARGET_RATIO})"
        f"  {'ok' if ratio >= TARGET_RATIO else 'BELOW TARGET'}"
    )
    print(
        f"  peak RSS, worker      {workers_peak:8.1f} MB      (VmHWM; target < {TARGET_RSS_MB} MB)"
        f"  {'ok' if workers_peak < TARGET_RSS_MB else 'ABOVE TARGET'}"
    )
    print(f"  peak RSS, master      {rss[master] / 1024:8.1f} MB")
    print("  checksums             the server's md5 and sha512 = md5sum's and sha512sum's, every round")


if __name__ == "__main__":
    main()
