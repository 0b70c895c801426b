"""Bounded load test of the studio on loopback: N concurrent clients for S seconds against a real server.

Usage: .venv/bin/python bench/bench_studio.py [--clients 20] [--seconds 30] [--targets midi] [--workers 1]
Starts `create_app` under uvicorn in a child process (its own RSS), then each client loops: upload the bundled
minuet, poll the job until it ends, fetch one output, and read /api/info. Prints requests/s, jobs done, queue
refusals (503, expected beyond the bound), any other error, and the peak RSS of the server and its worker processes
(jobs run in workers since issue 15; polled every 0.2 s).
"""

from __future__ import annotations

import argparse
import collections
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from bench_studio_hostile import rss_kib, tree

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "src" / "scorebridge" / "data" / "examples" / "minuet-in-g.musicxml"
SERVER = """
import sys, uvicorn
from scorebridge.studio import QueueLimits, StudioConfig, create_app
app = create_app(StudioConfig(queue=QueueLimits(workers=int(sys.argv[2]), max_queued=int(sys.argv[3]))))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client(base: str, targets: str, stop: float, counts: collections.Counter, lock: threading.Lock) -> None:
    data = EXAMPLE.read_bytes()

    def note(key: str) -> None:
        with lock:
            counts[key] += 1

    with httpx.Client(base_url=base, timeout=60) as http:
        while time.monotonic() < stop:
            try:
                r = http.post("/api/jobs", files={"file": ("minuet.musicxml", data)}, data={"targets": targets})
                note(f"POST {r.status_code}")
                if r.status_code == 202:
                    job_id = r.json()["id"]
                    while time.monotonic() < stop + 30:
                        s = http.get(f"/api/jobs/{job_id}")
                        note(f"GET {s.status_code}")
                        if s.status_code != 200 or s.json()["state"] in ("done", "failed"):
                            break
                        time.sleep(0.2)
                    job = s.json() if s.status_code == 200 else {}
                    note(f"job {job.get('state', 'lost')}")
                    if job.get("files"):
                        note(f"GET {http.get(job['files'][0]['url']).status_code}")
                else:
                    time.sleep(0.2)  # a refused client waits a little, as the page would
                note(f"GET {http.get('/api/info').status_code}")
            except httpx.HTTPError as exc:
                note(f"exception {type(exc).__name__}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--targets", default="midi")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--max-queued", type=int, default=8)
    args = ap.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(args.workers), str(args.max_queued)])
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(base + "/api/info", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        idle = sum(rss_kib(p) for p in tree(server.pid))
        peak = [idle]
        done = threading.Event()

        def monitor() -> None:
            while not done.wait(0.2):
                peak[0] = max(peak[0], sum(rss_kib(p) for p in tree(server.pid)))

        threading.Thread(target=monitor, daemon=True).start()
        counts: collections.Counter = collections.Counter()
        lock = threading.Lock()
        start = time.monotonic()
        stop = start + args.seconds
        threads = [threading.Thread(target=client, args=(base, args.targets, stop, counts, lock))
                   for _ in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - start
        done.set()
        alive = server.poll() is None
    finally:
        server.terminate()
        server.wait(10)
    requests = sum(v for k, v in counts.items() if not k.startswith("job "))
    refused = counts["POST 503"]
    errors = {k: v for k, v in counts.items() if not k.startswith("job ") and not k.endswith((" 200", " 202"))
              and k != "POST 503"}
    print(f"studio load test: {args.clients} clients, {elapsed:.1f} s, targets={args.targets}, "
          f"workers={args.workers}, max_queued={args.max_queued}")
    print("| requests | requests/s | jobs done | jobs failed | refused (503) | other errors | RSS idle | RSS peak "
          "(server+workers) |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {requests} | {requests / elapsed:.1f} | {counts['job done']} | {counts['job failed']} | {refused} | "
          f"{sum(errors.values())} | {idle / 1024:.0f} MiB | {peak[0] / 1024:.0f} MiB |")
    if errors:
        print("other errors:", dict(errors))
    print("server alive at the end:", alive)
    return 0 if alive and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
