"""The studio's HTTP API through FastAPI's TestClient: every input modality, model routes, bad uploads, queue.
(Jobs that go wrong, limits and the studio's posture: test_studio_hostile.py.)"""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from PIL import Image

from _model_fixtures import AUDIO_RATE, NOTES, write_tiny_run
from _studio_fakes import by_name
from scorebridge.midi import write_midi
from scorebridge.studio import QueueLimits, StudioConfig, UploadLimits, create_app
from scorebridge.studio.workers import ModelSource
from scorebridge.tokens.layout import LengthLimits
from scorebridge.tokens.vocabulary import Vocabulary, VocabularyConfig

EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "scorebridge" / "data" / "examples" / "minuet-in-g.musicxml"
KERN = "**kern\n*clefG2\n*M4/4\n=1\n4c\n4d\n4e\n4f\n=2\n2g\n2a\n==\n*-\n"
LIMIT = 4 * 1024 * 1024
BASE = "http://127.0.0.1:8000"  # the Host the studio answers to


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("studio-files")
    write_midi(NOTES, root / "song.mid")
    t = np.arange(int(1.5 * AUDIO_RATE)) / AUDIO_RATE
    sf.write(root / "clip.wav", (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), AUDIO_RATE)
    return root


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    config = StudioConfig(UploadLimits(max_bytes=LIMIT), QueueLimits(max_queued=4),
                          tmp_path_factory.mktemp("studio-work"))
    with TestClient(create_app(config), base_url=BASE) as c:
        yield c


@pytest.fixture(scope="module")
def model_client(tmp_path_factory):
    from scorebridge.decoding import DecodingOptions

    limits = LengthLimits(image=1000, notation=50, midi=1000, audio=1000, image_columns=150)
    vocab = Vocabulary(VocabularyConfig(image_codebook_size=64, audio_codebook_size=64, max_image_height=16))
    weights = write_tiny_run(tmp_path_factory.mktemp("run"), limits, vocab) / "model"
    app = create_app(StudioConfig(workdir=tmp_path_factory.mktemp("model-work")), ModelSource(str(weights)),
                     DecodingOptions(max_steps=8))  # the worker process loads the model once
    with TestClient(app, base_url=BASE) as c:
        yield c


def post(client: TestClient, data: bytes, name: str, targets: str):
    return client.post("/api/jobs", files={"file": (name, data)}, data={"targets": targets})


def wait(client: TestClient, job_id: str, timeout: float = 60) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def run(client: TestClient, data: bytes, name: str, targets: str) -> dict:
    r = post(client, data, name, targets)
    assert r.status_code == 202, r.text
    return wait(client, r.json()["id"])


def names(job: dict) -> set[str]:
    return {f["name"] for f in job["files"]}


def test_a_score_becomes_every_other_modality_with_a_followable_score(client):
    job = run(client, EXAMPLE.read_bytes(), "../../etc/minuet.musicxml", "notation,midi,audio,image")
    assert job["state"] == "done", job
    assert job["name"] == "minuet.musicxml" and job["source"] == "notation"
    assert {"score.musicxml", "score.lmx", "score.mid", "score.wav", "score.png", "page-1.svg", "measures.json",
            "notes.json"} <= names(job)
    svg = client.get(job["pages"][0]).text
    measures = client.get(job["measures"]).json()
    assert measures["timing"] == "engraver" and len(measures["measures"]) == 16
    assert all(f'id="{m["id"]}"' in svg for m in measures["measures"])
    starts = [m["start_ms"] for m in measures["measures"]]
    assert starts == sorted(starts) and starts[0] == 0
    audio, rate = sf.read(io.BytesIO(client.get(job["audio"]).content))
    assert abs(len(audio) / rate - measures["measures"][-1]["end_ms"] / 1000) < 3  # the audio the timemap plays
    assert client.get(job["notes"]).json()["notes"]
    assert client.get(f"{job['audio']}").headers["content-type"] == "audio/wav"
    download = client.get(next(f["download"] for f in job["files"] if f["name"] == "score.lmx"))
    assert "attachment" in download.headers["content-disposition"] and download.text.startswith("measure")
    assert Image.open(io.BytesIO(client.get(job["files"][0]["url"].replace("measures.json", "score.png")).content))


def test_kern_and_lmx_scores_are_read(client):
    job = run(client, KERN.encode(), "tune.krn", "midi")
    assert job["state"] == "done" and {"score.mid", "score.musicxml", "page-1.svg"} <= names(job), job
    lmx = client.get(f"/api/jobs/{job['id']}/files/score.lmx").text
    job = run(client, lmx.encode(), "tune.lmx", "image")
    assert job["state"] == "done" and "score.png" in names(job), job


def test_a_midi_file_becomes_a_score_and_a_piano_roll(client, files):
    job = run(client, (files / "song.mid").read_bytes(), "song.mid", "notation,image")
    assert job["state"] == "done", job
    assert {"score.musicxml", "score.png", "notes.json"} <= names(job) and job["pages"] and job["audio"] is None
    roll = client.get(job["notes"]).json()
    assert [n[2] for n in roll["notes"]] == [n.pitch for n in NOTES]
    preview = client.get(job["input_audio"])  # the upload itself, played by FluidSynth, to hear beside the score
    assert preview.headers["content-type"] == "audio/wav" and sf.read(io.BytesIO(preview.content))[0].any()
    assert job["warnings"] == []  # no model route: nothing to caution about


@pytest.mark.parametrize(("name", "targets", "words"), [
    ("song.mid", "midi", "already a MIDI file"), ("song.mid", "notation,midi", "already a MIDI file"),
    ("clip.wav", "audio", "already a recording"),
])
def test_a_target_equal_to_the_source_is_refused_in_words(client, files, name, targets, words):
    r = post(client, (files / name).read_bytes(), name, targets)
    assert r.status_code == 422 and words in r.json()["detail"], r.text
    assert "route" not in r.json()["detail"]


def test_info_offers_targets_per_input_type(client):
    info = client.get("/api/info").json()
    inputs = info["inputs"]
    assert inputs[".mid"] == "midi" and inputs[".png"] == "image" and inputs[".krn"] == "notation"
    sources = info["sources"]
    assert "midi" not in sources["midi"]["targets"] and "audio" not in sources["audio"]["targets"]
    assert "image" not in sources["image"]["targets"] and "notation" in sources["notation"]["targets"]
    assert sources["midi"]["default"] == ["notation", "image", "audio"]  # the routes without a model
    assert sources["notation"]["default"] == ["midi", "image", "audio"]
    assert sources["image"]["default"] == ["notation"] and sources["audio"]["default"] == ["midi"]
    for source in sources.values():
        assert set(source["default"]) <= set(source["targets"])


@pytest.mark.parametrize(("name", "targets"), [("clip.wav", "image"), ("clip.wav", "midi"), ("page.png", "notation")])
def test_model_routes_without_weights_are_refused_with_a_message(client, files, name, targets):
    data = (files / name).read_bytes() if name != "page.png" else _png()
    r = post(client, data, name, targets)
    assert r.status_code == 422 and "--weights" in r.json()["detail"], r.text


def test_model_routes_with_weights(model_client, files):
    job = run(model_client, (files / "clip.wav").read_bytes(), "clip.wav", "midi")
    assert job["state"] == "done" and "score.mid" in names(job), job
    job = run(model_client, (files / "song.mid").read_bytes(), "song.mid", "audio")
    assert job["state"] == "done" and job["audio"], job
    page = run(model_client, EXAMPLE.read_bytes(), "m.musicxml", "image")
    assert page["state"] == "done" and "score.png" in names(page), page["problems"]
    png = model_client.get(f"/api/jobs/{page['id']}/files/score.png").content
    job = run(model_client, png, "page.png", "midi,audio")
    # a random model may make nothing usable; the job then fails with a message, the server lives on
    assert job["state"] == "done" or job["error"], job
    assert model_client.get("/api/info").json()["model"] is True


def _png(size=(300, 200)) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full(size[::-1], 255, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize(("maker", "status", "words"), [
    (lambda f: b"", 400, "empty"),
    (lambda f: b"hello, this is not music", 415, "unknown file type"),
    (lambda f: b"\x00\x01binary junk" * 10, 415, "unknown file type"),
    (lambda f: b"\x89PNG\r\n\x1a\n" + b"\x00" * (LIMIT + 10), 413, "larger"),
])
def test_bad_uploads_get_a_4xx_and_a_message(client, files, maker, status, words):
    r = post(client, maker(files), "upload.bin", "midi")
    assert r.status_code == status, r.text
    assert words.lower() in r.json()["detail"].lower()
    assert client.get("/api/info").status_code == 200  # still serving


@pytest.mark.parametrize(("maker", "targets", "words"), [
    (lambda f: _png()[:60], "midi", "png"),
    (lambda f: (f / "song.mid").read_bytes()[:30], "notation", ""),
    (lambda f: (f / "clip.wav").read_bytes()[:5000], "midi", "truncated"),
    (lambda f: EXAMPLE.read_bytes()[:3000], "midi", "musicxml"),
    (lambda f: b"PK\x03\x04 not a zip", "midi", "mxl"),
    (lambda f: b"%PDF-1.4 garbage", "midi", "pdf"),
])
def test_malformed_files_make_a_failed_job_with_a_message(client, model_client, files, maker, targets, words):
    """Parsing happens in the worker, not on the request thread: a malformed file is a failed job that says why."""
    c = client if targets == "notation" or maker(files)[:2] == b"PK" else model_client
    r = post(c, maker(files), "upload.bin", targets)
    assert r.status_code == 202, r.text
    job = wait(c, r.json()["id"])
    assert job["state"] == "failed" and words.lower() in job["error"].lower(), job
    assert str(c.app.state.root.path) not in job["error"], job["error"]  # no server path


def test_bad_forms_unknown_jobs_and_files(client):
    assert post(client, EXAMPLE.read_bytes(), "m.musicxml", "video").status_code == 400
    assert post(client, EXAMPLE.read_bytes(), "m.musicxml", "").status_code in (400, 422)
    assert client.post("/api/jobs", data={"targets": "midi"}).status_code == 422  # no file field
    assert client.get("/api/jobs/nope").status_code == 404
    job = run(client, EXAMPLE.read_bytes(), "m.musicxml", "midi")
    base = f"/api/jobs/{job['id']}/files/"
    for name in ("input.musicxml", "..%2Finput.musicxml", "%2Fetc%2Fpasswd", "missing.wav"):
        assert client.get(base + name).status_code == 404
    assert client.get("/openapi.json").json()["paths"]["/api/jobs"]["post"]
    assert client.delete(f"/api/jobs/{job['id']}").status_code == 204
    assert client.get(f"/api/jobs/{job['id']}").status_code == 404


def test_the_page_and_its_assets_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and 'id="score"' in page.text and "script-src" not in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static/studio.js").status_code == 200
    assert client.get("/static/../app.py").status_code == 404


def test_a_full_queue_answers_503_and_expired_jobs_are_deleted(tmp_path):
    config = StudioConfig(queue=QueueLimits(workers=1, max_queued=1), workdir=tmp_path)
    app = create_app(config, job=by_name)  # "gate.*" uploads wait until tmp_path/gate exists
    with TestClient(app, base_url=BASE) as c:
        first = post(c, EXAMPLE.read_bytes(), "gate.musicxml", "midi")
        assert first.status_code == 202
        while c.get(f"/api/jobs/{first.json()['id']}").json()["state"] != "running":
            time.sleep(0.02)
        assert post(c, EXAMPLE.read_bytes(), "m.musicxml", "midi").status_code == 202  # waits
        full = post(c, EXAMPLE.read_bytes(), "m.musicxml", "midi")
        assert full.status_code == 503 and "busy" in full.json()["detail"] and full.headers["retry-after"]
        (tmp_path / "gate").touch()
        job = wait(c, first.json()["id"])
        assert job["state"] == "done"
        folder = app.state.jobs.get(job["id"]).folder
        assert folder.is_dir()
        assert app.state.jobs.sweep(now=time.monotonic() + 10 * 3600) >= 1
        assert not folder.exists() and c.get(f"/api/jobs/{job['id']}").status_code == 404
    assert [p.name for p in tmp_path.iterdir()] == ["gate"]  # closing the app removes its work folder
