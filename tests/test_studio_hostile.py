"""The studio against jobs that go wrong and requests that should be refused (issue 15): jobs run in worker
processes with a time limit and a memory cap, DELETE cancels a running job, uploads are counted as they arrive,
cross-origin and foreign-Host requests are refused, errors carry no server paths, stale job roots are swept."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from _studio_fakes import by_name
from scorebridge.studio import QueueLimits, StudioConfig, UploadLimits, create_app
from scorebridge.studio.roots import LOCK, PREFIX, JobRoot

EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "scorebridge" / "data" / "examples" / "minuet-in-g.musicxml"
BASE = "http://127.0.0.1:8000"
# 44 bytes: division 1, tempo 0xFFFFFF, one note of 9,999,999 ticks (about 5 years long)
HOSTILE_MIDI = bytes.fromhex("4d546864000000060000000100014d54726b00000016" "00ff5103ffffff" "00903c40"
                             "84e2ac7f803c40" "00ff2f00")


def post(client: TestClient, data: bytes, name: str, targets: str = "midi", **kwargs):
    return client.post("/api/jobs", files={"file": (name, data)}, data={"targets": targets}, **kwargs)


def wait(client: TestClient, job_id: str, timeout: float = 120) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def wait_running(client: TestClient, job_id: str) -> None:
    end = time.monotonic() + 30
    while client.get(f"/api/jobs/{job_id}").json()["state"] != "running":
        assert time.monotonic() < end
        time.sleep(0.02)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """A studio whose jobs behave as their upload's name says (tests/_studio_fakes.py)."""
    config = StudioConfig(queue=QueueLimits(job_seconds=3, job_memory_mb=150, max_queued=4),
                          workdir=tmp_path_factory.mktemp("fake-studio"))
    app = create_app(config, job=by_name)
    with TestClient(app, base_url=BASE) as client:
        yield client, app


def run(client, name: str) -> dict:
    r = post(client, EXAMPLE.read_bytes(), name)
    assert r.status_code == 202, r.text
    return wait(client, r.json()["id"])


@pytest.mark.parametrize(("name", "words"), [
    ("sleep.musicxml", "time limit (3 s)"),
    ("hog.musicxml", "memory limit (150 MB)"),
    ("huge.musicxml", "memory limit (150 MB)"),
    ("crash.musicxml", "stopped unexpectedly"),
])
def test_a_job_that_goes_wrong_is_stopped_reported_and_cleaned_and_the_next_runs(fake, name, words):
    client, app = fake
    r = post(client, EXAMPLE.read_bytes(), name)
    job = wait(client, r.json()["id"])
    assert job["state"] == "failed" and words in job["error"], job
    assert "\n" not in job["error"]
    if name.startswith("sleep"):
        assert job["seconds"] >= 3  # it ran until its limit
    assert not (app.state.root.path / job["id"]).exists()  # its folder (and partial outputs) went with it
    after = run(client, "fine.musicxml")
    assert after["state"] == "done", after


def test_delete_cancels_a_running_job_and_kills_its_process(fake):
    client, app = fake
    job_id = post(client, EXAMPLE.read_bytes(), "sleep.musicxml").json()["id"]
    wait_running(client, job_id)
    queued = post(client, EXAMPLE.read_bytes(), "sleep.musicxml").json()["id"]  # waits behind it
    pid = app.state.jobs._workers[0].pid
    assert client.delete(f"/api/jobs/{queued}").status_code == 204
    assert client.delete(f"/api/jobs/{job_id}").status_code == 204
    assert client.get(f"/api/jobs/{job_id}").status_code == 404
    end = time.monotonic() + 10
    while _alive(pid) or (app.state.root.path / job_id).exists():
        assert time.monotonic() < end, "the cancelled job's process or folder is still there"
        time.sleep(0.05)
    assert not (app.state.root.path / queued).exists()
    assert run(client, "fine.musicxml")["state"] == "done"  # a fresh worker took over


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def test_errors_never_show_server_paths(fake):
    client, app = fake
    job = run(client, "leak.musicxml")
    assert job["state"] == "failed"
    assert str(app.state.root.path) not in job["error"] and "/etc/" not in job["error"], job["error"]
    assert "input.musicxml" in job["error"] and "secret.conf" in job["error"]
    done = run(client, "fine.musicxml")
    assert all(str(app.state.root.path) not in p and "/" not in p for p in done["problems"]), done["problems"]


@pytest.mark.parametrize(("headers", "status"), [
    ({"Origin": "http://evil.example"}, 403),
    ({"Origin": "null"}, 403),
    ({"Origin": "http://127.0.0.1:9999"}, 403),
    ({"Referer": "http://evil.example/page.html"}, 403),
    ({"Sec-Fetch-Site": "cross-site"}, 403),
    ({"Origin": BASE}, 202),
    ({"Referer": BASE + "/"}, 202),
    ({}, 202),  # not from a browser page (curl, scripts)
])
def test_state_changing_requests_must_come_from_the_studio_page(fake, headers, status):
    client, _ = fake
    r = post(client, EXAMPLE.read_bytes(), "fine.musicxml", headers=headers)
    assert r.status_code == status, r.text
    if status == 202:
        job_id = r.json()["id"]
        wait(client, job_id)
        assert client.delete(f"/api/jobs/{job_id}", headers={"Origin": "http://evil.example"}).status_code == 403
        assert client.get(f"/api/jobs/{job_id}").status_code == 200
    else:
        assert "cross-origin" in r.json()["detail"]


@pytest.mark.parametrize(("host", "status"), [
    ("evil.example:8000", 400), ("127.0.0.1.nip.io:8000", 400), ("127.0.0.1:8001", 400), ("", 400),
    ("127.0.0.1:8000", 200), ("localhost:8000", 200), ("[::1]:8000", 200), ("LOCALHOST:8000", 200),
])
def test_only_loopback_host_names_are_answered(fake, host, status):
    client, _ = fake
    r = client.get("/api/info", headers={"Host": host})
    assert r.status_code == status, r.text
    if status == 400:
        assert r.headers["content-security-policy"]


def test_a_score_after_a_long_comment_is_recognised(fake):
    client, _ = fake
    text = EXAMPLE.read_text(encoding="utf-8")
    at = text.index("<score-partwise")
    padded = text[:at] + "<!-- " + "a long comment, " * 400 + " -->\n" + text[at:]
    assert len(padded) - len(text) > 5000
    r = post(client, padded.encode(), "fine.musicxml")
    assert r.status_code == 202 and r.json()["source"] == "notation", r.text


def test_queue_full_and_needs_model_are_answered_before_any_parsing(tmp_path, monkeypatch):
    import scorebridge.studio.uploads as uploads
    import scorebridge.studio.work as work

    def never(*args, **kwargs):
        raise AssertionError("the request thread parsed the upload")

    monkeypatch.setattr(uploads, "validate", never)
    monkeypatch.setattr(work, "validate", never)
    app = create_app(StudioConfig(queue=QueueLimits(max_queued=1), workdir=tmp_path), job=by_name)
    with TestClient(app, base_url=BASE) as client:
        first = post(client, EXAMPLE.read_bytes(), "gate.musicxml").json()["id"]
        wait_running(client, first)
        assert post(client, EXAMPLE.read_bytes(), "gate.musicxml").status_code == 202
        busy = post(client, HOSTILE_MIDI, "song.mid", "notation")
        assert busy.status_code == 503 and busy.headers["retry-after"], busy.text
        (tmp_path / "gate").touch()
        assert wait(client, first)["state"] == "done"
        # image -> notation is a model route (MIDI -> audio is FluidSynth's under --engine auto); magic bytes only
        refused = post(client, b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "page.png", "notation")
        assert refused.status_code == 422 and "--weights" in refused.json()["detail"]


def test_stale_job_roots_of_killed_servers_are_swept_at_start(tmp_path):
    live = JobRoot(tmp_path)  # a running server's root (its lock held)
    dead = tmp_path / f"{PREFIX}dead"
    (dead / "job").mkdir(parents=True)
    (dead / LOCK).touch()  # nobody holds its lock: its server is gone
    (dead / "job" / "input.wav").write_bytes(b"x" * 1000)
    old = tmp_path / f"{PREFIX}old"  # an older version's root, without a lock file
    old.mkdir()
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    other = tmp_path / "mine"
    other.mkdir()
    try:
        app = create_app(StudioConfig(workdir=tmp_path), job=by_name)
        with TestClient(app, base_url=BASE):
            assert not dead.exists() and not old.exists()
            assert live.path.is_dir() and other.is_dir()
            assert app.state.root.swept == 2
        assert not app.state.root.path.exists()  # a clean stop leaves nothing behind
    finally:
        live.close()


def test_the_hostile_midi_is_stopped_while_the_server_stays_small_and_responsive(tmp_path):
    """The issue's 44-byte MIDI sent for notation grew the server by ~25 MB/s; now its worker is capped."""
    config = StudioConfig(queue=QueueLimits(job_seconds=30, job_memory_mb=350), workdir=tmp_path)
    app = create_app(config)
    with TestClient(app, base_url=BASE) as client:
        before = rss_mib()
        hostile = post(client, HOSTILE_MIDI, "hostile.mid", "notation")
        assert hostile.status_code == 202, hostile.text
        valid = post(client, EXAMPLE.read_bytes(), "minuet.musicxml", "midi")
        assert valid.status_code == 202
        # the MIDI limits (scorebridge.limits) refuse it within milliseconds now; a worker cap is the backstop
        end = time.monotonic() + 30
        while client.get(f"/api/jobs/{hostile.json()['id']}").json()["state"] not in ("running", "failed"):
            assert time.monotonic() < end
            time.sleep(0.02)
        assert client.get("/api/info").status_code == 200  # the server answers while the job runs
        job = wait(client, hostile.json()["id"], timeout=90)
        assert job["state"] == "failed" and job["error"] and str(tmp_path) not in job["error"], job
        assert rss_mib() - before < 100
        after = wait(client, valid.json()["id"], timeout=90)
        assert after["state"] == "done" and "score.mid" in {f["name"] for f in after["files"]}, after
    assert not any(tmp_path.iterdir())


def test_a_chunked_upload_over_the_limit_is_refused_without_reading_it_all(tmp_path):
    limit = 256 * 1024
    config = StudioConfig(UploadLimits(max_bytes=limit), workdir=tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(config, job=by_name), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    end = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < end and thread.is_alive()
        time.sleep(0.05)
    try:
        status, sent = _chunked_post(port, total=256 * 1024 * 1024)
        assert status == 413
        assert sent < 32 * 1024 * 1024  # stopped long before the 256 MB were sent (socket buffers aside)
        roots = [p for p in tmp_path.iterdir()]
        assert len(roots) == 1 and not [p for p in roots[0].rglob("*") if p.is_file() and p.name != LOCK]
    finally:
        server.should_exit = True
        thread.join(10)


def _chunked_post(port: int, total: int) -> tuple[int, int]:
    """POST ``total`` bytes as Transfer-Encoding: chunked (no Content-Length); (status, bytes sent)."""
    boundary = "b0undary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"targets\"\r\n\r\nmidi\r\n--{boundary}\r\n"
            f"Content-Disposition: form-data; name=\"file\"; filename=\"big.png\"\r\n\r\n").encode()
    chunk = b"\x89PNG\r\n\x1a\n" + b"\x00" * (64 * 1024 - 8)
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall((f"POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTransfer-Encoding: chunked\r\n"
                      f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n").encode())
        try:
            for part in [head, *[chunk] * (total // len(chunk))]:
                sock.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                sent += len(part)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(30)
        reply = b""
        try:
            while b"\r\n" not in reply and (data := sock.recv(4096)):
                reply += data
        except ConnectionResetError:
            pass
    assert reply.startswith(b"HTTP/1.1 "), reply[:100]
    return int(reply.split()[1]), sent


def test_a_model_or_worker_that_does_not_load_is_one_error_at_start_and_leaves_nothing(tmp_path):
    from scorebridge.errors import ScorebridgeError
    from scorebridge.studio.work import run_studio_job
    from scorebridge.studio.workers import ModelSource, ProcessWorker

    with pytest.raises(ScorebridgeError, match="no such model folder"):
        create_app(StudioConfig(workdir=tmp_path), ModelSource(str(tmp_path / "no-such-model")))
    assert not any(tmp_path.iterdir())
    worker = ProcessWorker(run_studio_job, warm=("scorebridge.no_such_module",))  # fails in the child
    with pytest.raises(ScorebridgeError, match="did not start.*no_such_module"):
        worker.start()
    assert worker.pid is None
