"""Hostile load on the studio: N clients on loopback for S seconds, sending a mix of valid jobs and the slow or
hostile inputs of issue 15, against a real `scorebridge serve` (its own process, its worker processes).

Usage: PYTHONPATH=src .venv/bin/python bench/bench_studio_hostile.py [--clients 10] [--seconds 60] [--workers 1]
       [--job-seconds 20] [--job-memory-mb 768] [--model]   (--model: the shipped weights; default --no-model)

The mix, round robin per client: valid scores (MusicXML -> MIDI, kern -> MIDI, MusicXML behind a 5 KB comment);
the 44-byte MIDI (division 1, tempo 0xFFFFFF, one note of 9,999,999 ticks) -> notation; 10,000 MIDI notes ->
notation; a score at 4 bpm -> audio; a .mxl whose MusicXML inflates to 1 GB; a 64 MB chunked upload without
Content-Length; a cross-origin POST; a request for a foreign Host. After the load one more valid job is sent
and must finish. Prints requests/s, 503s, other errors, the longest job against its limit, the peak RSS of the
server and its workers (and their helpers), and whether the job root is empty and the workers gone after stop.
"""

from __future__ import annotations

import argparse
import collections
import io
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "src" / "scorebridge" / "data" / "examples" / "minuet-in-g.musicxml"
KERN = "**kern\n*clefG2\n*M4/4\n=1\n4c\n4d\n4e\n4f\n=2\n2g\n2a\n==\n*-\n"
PATIENCE = 3.0  # seconds a client follows its job before sending the next request (it checks it again at the end)
HOSTILE_MIDI = bytes.fromhex("4d546864000000060000000100014d54726b00000016" "00ff5103ffffff" "00903c40"
                             "84e2ac7f803c40" "00ff2f00")


@dataclass(frozen=True)
class Payload:
    name: str
    kind: str  # "job" (202/503 expected), or the status a refusal must get
    filename: str = ""
    data: bytes = b""
    targets: str = "midi"
    hostile: bool = False


def payloads() -> list[Payload]:
    from scorebridge.midi import Note, write_midi

    xml = EXAMPLE.read_text(encoding="utf-8")
    at = xml.index("<score-partwise")
    commented = xml[:at] + "<!-- " + "a long comment " * 350 + "-->\n" + xml[at:]
    slow = xml.replace('<sound tempo="108" />', '<sound tempo="4" />')  # 16 measures of 3/4: 12 minutes
    assert slow != xml
    with tempfile.TemporaryDirectory() as tmp:
        dense = Path(tmp) / "dense.mid"
        write_midi([Note(i * 5, i * 5 + 400, 36 + i % 48, 80) for i in range(10_000)], dense)
        dense_bytes = dense.read_bytes()
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("META-INF/container.xml", '<container><rootfiles><rootfile full-path="s.musicxml"/></rootfiles>'
                                             "</container>")
        with z.open("s.musicxml", "w", force_zip64=True) as member:  # written in blocks: 1 GB never held
            member.write(b"<score-partwise>")
            for _ in range(1024):
                member.write(b" " * (1024 * 1024))
            member.write(b"</score-partwise>")
    return [
        Payload("valid musicxml -> midi", "job", "minuet.musicxml", xml.encode()),
        Payload("44-byte MIDI -> notation", "job", "hostile.mid", HOSTILE_MIDI, "notation", True),
        Payload("valid kern -> midi", "job", "tune.krn", KERN.encode()),
        Payload("10,000-note MIDI -> notation", "job", "dense.mid", dense_bytes, "notation", True),
        Payload("musicxml after 5 KB comment", "job", "commented.musicxml", commented.encode()),
        Payload("score at 4 bpm -> audio", "job", "slow.musicxml", slow.encode(), "audio", True),
        Payload(".mxl inflating to 1 GB", "job", "bomb.mxl", bomb.getvalue(), "midi", True),
        Payload("64 MB chunked upload", "413", hostile=True),
        Payload("cross-origin POST", "403", "minuet.musicxml", xml.encode(), hostile=True),
        Payload("foreign Host (rebinding)", "400", hostile=True),
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                todo += [int(k) for k in Path(f"/proc/{p}/task/{task}/children").read_text().split()]
        except OSError:
            pass
    return pids


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: collections.Counter = collections.Counter()
        self.per: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.longest: dict[str, float] = collections.defaultdict(float)
        self.errors: list[str] = []
        self.pending: list[tuple[str, str]] = []  # (payload, job id) still running when its client moved on
        self.requests = 0

    def note(self, payload: str, key: str) -> None:
        with self.lock:
            self.per[payload][key] += 1

    def request(self, n: int = 1) -> None:
        with self.lock:
            self.requests += n


def chunked(port: int, total: int = 64 * 1024 * 1024) -> int:
    boundary = "bench"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"targets\"\r\n\r\nmidi\r\n--{boundary}\r\n"
            f"Content-Disposition: form-data; name=\"file\"; filename=\"big.png\"\r\n\r\n").encode()
    block = b"\x89PNG\r\n\x1a\n" + b"\x00" * (64 * 1024 - 8)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall((f"POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTransfer-Encoding: chunked\r\n"
                      f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n").encode())
        try:
            for part in [head, *[block] * (total // len(block))]:
                sock.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        except OSError:
            pass
        reply = b""
        try:
            while b"\r\n" not in reply and (data := sock.recv(4096)):
                reply += data
        except OSError:
            pass
    return int(reply.split()[1]) if reply.startswith(b"HTTP/1.1 ") else 0  # 0: reset before the answer was read


def client(index: int, port: int, mix: list[Payload], stop: float, job_limit: float, stats: Stats) -> None:
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, timeout=60) as http:
        i = index
        while time.monotonic() < stop:
            p = mix[i % len(mix)]
            i += 1
            try:
                if p.kind == "413":
                    status = chunked(port)
                elif p.kind == "400":
                    status = http.get("/api/info", headers={"Host": f"rebind.example:{port}"}).status_code
                else:
                    headers = {"Origin": "http://evil.example"} if p.kind == "403" else {}
                    r = http.post("/api/jobs", files={"file": (p.filename, p.data)}, data={"targets": p.targets},
                                  headers=headers)
                    status = r.status_code
                stats.request()
                stats.note(p.name, str(status))
                if p.kind != "job":
                    # a full queue answers 503 before reading; a refused upload may reach the client as a reset
                    if str(status) not in (p.kind, "503") and not (p.kind == "413" and status == 0):
                        stats.errors.append(f"{p.name}: HTTP {status}, expected {p.kind}")
                    continue
                if status == 503:
                    time.sleep(0.5)  # as the page would, before trying again
                    continue
                if status != 202:
                    stats.errors.append(f"{p.name}: HTTP {status} {r.text[:120]}")
                    continue
                job = poll(http, r.json()["id"], time.monotonic() + PATIENCE, stats)
                if job["state"] == "still running":  # looked at again after the load
                    with stats.lock:
                        stats.pending.append((p.name, r.json()["id"]))
                else:
                    record(stats, p.name, job)
            except httpx.HTTPError as exc:
                stats.errors.append(f"{p.name}: {type(exc).__name__}")


def record(stats: Stats, name: str, job: dict) -> None:
    stats.note(name, f"job {job.get('state', 'lost')}")
    with stats.lock:
        stats.longest[name] = max(stats.longest[name], job.get("seconds") or 0.0)
    if job.get("state") == "failed":
        stats.note(name, f"error: {job['error'][:70]}")


def poll(http: httpx.Client, job_id: str, until: float, stats: Stats) -> dict:
    job: dict = {}
    while time.monotonic() < until:
        s = http.get(f"/api/jobs/{job_id}")
        stats.request()
        if s.status_code != 200:
            return {"state": f"HTTP {s.status_code}"}
        job = s.json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.25)
    return {**job, "state": "still running"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--max-queued", type=int, default=8)
    ap.add_argument("--job-seconds", type=float, default=20)
    ap.add_argument("--job-memory-mb", type=int, default=768)
    ap.add_argument("--model", action="store_true", help="load the shipped weights (default: --no-model)")
    args = ap.parse_args()
    mix = payloads()
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="bench-studio-"))
    cmd = [sys.executable, "-m", "scorebridge", "serve", "--port", str(port), "--workdir", str(workdir),
           "--workers", str(args.workers), "--max-queued", str(args.max_queued), "--job-seconds",
           str(args.job_seconds), "--job-memory-mb", str(args.job_memory_mb), "-q"]
    if not args.model:
        cmd.append("--no-model")
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    stats = Stats()
    peak, seen = [0], set()
    done = threading.Event()

    def monitor() -> None:
        while not done.wait(0.2):
            pids = tree(server.pid)
            seen.update(pids[1:])
            peak[0] = max(peak[0], sum(rss_kib(p) for p in pids))

    try:
        for _ in range(600):
            try:
                httpx.get(base + "/api/info", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        idle = sum(rss_kib(p) for p in tree(server.pid))
        threading.Thread(target=monitor, daemon=True).start()
        start = time.monotonic()
        stop = start + args.seconds
        threads = [threading.Thread(target=client, args=(i, port, mix, stop, args.job_seconds, stats))
                   for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - start
        with httpx.Client(base_url=base, timeout=60) as http:
            for name, job_id in stats.pending:  # every job accepted during the load, to its end
                record(stats, name, poll(http, job_id, time.monotonic() + args.job_seconds * (args.max_queued + 2),
                                         stats))
        with httpx.Client(base_url=base, timeout=60) as http:  # a valid job after all the hostile ones
            t0 = time.monotonic()
            r = http.post("/api/jobs", files={"file": ("minuet.musicxml", EXAMPLE.read_bytes())},
                          data={"targets": "midi"})
            while r.status_code == 503 and time.monotonic() - t0 < 120:
                time.sleep(0.5)
                r = http.post("/api/jobs", files={"file": ("minuet.musicxml", EXAMPLE.read_bytes())},
                              data={"targets": "midi"})
            last = poll(http, r.json()["id"], time.monotonic() + 300, stats) if r.status_code == 202 else {}
            last_wall = time.monotonic() - t0
        alive = server.poll() is None
    finally:
        done.set()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
    time.sleep(1.5)
    left = sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*"))
    workers_left = [p for p in seen if Path(f"/proc/{p}").exists()]
    workdir.rmdir() if not left else None

    counts = collections.Counter()
    for per in stats.per.values():
        counts.update({k: v for k, v in per.items() if not k.startswith(("job ", "error: "))})
    longest = max(stats.longest.values(), default=0.0)
    print(f"studio hostile load: {args.clients} clients, {elapsed:.1f} s, workers={args.workers}, "
          f"max_queued={args.max_queued}, job limits {args.job_seconds:.0f} s / {args.job_memory_mb} MB, "
          f"{'shipped model' if args.model else 'no model'}")
    print("| requests | requests/s | 202 | 503 | refused as expected (400/403/413/reset) | other errors | "
          "longest job | RSS idle | RSS peak (server+workers) | valid job after | job root empty | workers left |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    expected = counts["400"] + counts["403"] + counts["413"] + counts["0"]
    print(f"| {stats.requests} | {stats.requests / elapsed:.1f} | {counts['202']} | {counts['503']} | {expected} | "
          f"{len(stats.errors)} | {longest:.1f} s (limit {args.job_seconds:.0f} s) | {idle / 1024:.0f} MiB | "
          f"{peak[0] / 1024:.0f} MiB | {last.get('state', 'not accepted')} in {last_wall:.1f} s | "
          f"{'yes' if not left else 'NO: ' + ', '.join(left[:5])} | {len(workers_left)} |")
    print()
    print("| payload | sent | 202 | 503 | done | failed | longest job | a failure's message |")
    print("|---|---|---|---|---|---|---|---|")
    for p in mix:
        per = stats.per[p.name]
        message = next((k[7:] for k in per if k.startswith("error: ")), "")
        sent = sum(v for k, v in per.items() if not k.startswith(("job ", "error: ")))
        refused = "" if p.kind == "job" else f" ({per[p.kind]} got {p.kind}" + (
            f", {per['0']} reset before the 413 was read)" if p.kind == "413" else ")")
        print(f"| {p.name} | {sent}{refused} | {per['202']} | {per['503']} | {per['job done']} | "
              f"{per['job failed']} | {stats.longest.get(p.name, 0.0):.1f} s | {message} |")
    if stats.errors:
        print("other errors:", collections.Counter(stats.errors).most_common(8))
    ok = (alive and not stats.errors and not left and not workers_left and last.get("state") == "done"
          and longest <= args.job_seconds + 5 and peak[0] < 1.5 * 1024 * 1024)
    print("server alive at the end:", alive, "| done-when met:", ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
