"""The studio's HTTP API and page (FastAPI): upload -> job -> status -> files. OpenAPI at ``/openapi.json``.

Requests only check and store the upload; translation runs in the ``JobQueue``. Statuses: 400 bad form,
404 unknown job or file, 411 no Content-Length, 413 too large, 415 unknown type, 422 malformed file or a
target that cannot be served (a model route without ``--weights``), 503 queue full.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response

from scorebridge.errors import ScorebridgeError
from scorebridge.modality import Modality
from scorebridge.studio.jobs import Job, JobQueue, QueueFull, QueueLimits, Runner
from scorebridge.studio.uploads import HEAD_BYTES, UploadError, UploadLimits, display_name, sniff, validate
from scorebridge.studio.work import JobSpec, check_spec, model_targets, run_job, targets_for
from scorebridge.translate import INPUTS

log = logging.getLogger(__name__)

MEDIA_TYPES = {".svg": "image/svg+xml", ".json": "application/json", ".wav": "audio/wav", ".png": "image/png",
               ".mid": "audio/midi", ".musicxml": "application/vnd.recordare.musicxml+xml",
               ".lmx": "text/plain; charset=utf-8"}
CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
FORM_SLACK = 64 * 1024  # multipart headers and the targets field around the file


@dataclass(frozen=True)
class StudioConfig:
    uploads: UploadLimits = field(default_factory=UploadLimits)
    queue: QueueLimits = field(default_factory=QueueLimits)
    workdir: Path | None = None  # job folders go under a fresh temporary folder inside it (default: system temp)


def create_app(config: StudioConfig = StudioConfig(), model: Any = None, options: Any = None,
               runner: Runner | None = None) -> FastAPI:
    """The studio app. ``model``: a loaded ScoreBridgeModel for the model routes (None: notation routes only);
    ``options``: its DecodingOptions; ``runner``: replaces the translation work (tests)."""
    root = Path(tempfile.mkdtemp(prefix="scorebridge-studio-", dir=config.workdir))
    jobs = JobQueue(root, runner or _runner(model, options), config.queue)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        jobs.close()
        shutil.rmtree(root, ignore_errors=True)

    app = FastAPI(title="scorebridge studio", version="1", lifespan=lifespan,
                  description="Translate a score image/PDF, a recording, a MIDI file or a score between "
                  "modalities; follow the engraved score while it plays.")
    app.state.jobs = jobs

    @app.middleware("http")
    async def limits_and_headers(request: Request, call_next):
        if request.method == "POST":
            length = request.headers.get("content-length")
            if length is None or not length.isdigit():
                return JSONResponse({"detail": "send a Content-Length header"}, status_code=411)
            if int(length) > config.uploads.max_bytes + FORM_SLACK:
                return _too_large(config.uploads)
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        return Response(_static("index.html"), media_type="text/html; charset=utf-8")

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in ("studio.js", "studio.css"):
            raise HTTPException(404, "no such file")
        kind = "text/javascript" if name.endswith(".js") else "text/css"
        return Response(_static(name), media_type=f"{kind}; charset=utf-8")

    @app.get("/api/info", summary="What this server can do")
    def info() -> dict[str, Any]:
        sources = {m.value: {"targets": [t.value for t in targets_for(m)],
                             "need_model": [t.value for t in model_targets(m)]} for m in Modality}
        return {"model": model is not None, "sources": sources, "suffixes": sorted(INPUTS),
                "max_upload_bytes": config.uploads.max_bytes, "queue": jobs.stats()}

    @app.post("/api/jobs", status_code=202, summary="Upload a file and queue its translation",
              responses={400: {}, 411: {}, 413: {}, 415: {}, 422: {}, 503: {}})
    def create_job(file: Annotated[UploadFile, File()],
                   targets: Annotated[str, Form(description="comma-separated: image, notation, midi, audio")],
                   via: Annotated[str, Form()] = "direct") -> dict[str, Any]:
        wanted = _targets(targets)
        if via not in ("direct", "notation"):
            raise HTTPException(400, "via must be 'direct' or 'notation'")
        job = jobs.new_job()
        try:
            suffix = _store(file, job.folder, config.uploads)
            spec = JobSpec(job.folder / f"input{suffix}", INPUTS[suffix], wanted, display_name(file.filename), via)
            check_spec(spec, job.folder / "out", model is not None)
            job.spec = spec
            jobs.submit(job)
        except UploadError as exc:
            jobs.discard(job)
            raise HTTPException(exc.status, str(exc)) from None
        except ScorebridgeError as exc:
            jobs.discard(job)
            raise HTTPException(422, getattr(exc, "problem", None) or str(exc)) from None
        except QueueFull as exc:
            raise HTTPException(503, f"the studio is busy: {exc}", headers={"Retry-After": "5"}) from None
        except BaseException:
            jobs.discard(job)
            raise
        return _status(job)

    @app.get("/api/jobs/{job_id}", summary="A job's state, progress and outputs", responses={404: {}})
    def job_status(job_id: str) -> dict[str, Any]:
        return _status(_job(jobs, job_id))

    @app.get("/api/jobs/{job_id}/files/{name}", summary="One output of a finished job", responses={404: {}})
    def job_file(job_id: str, name: str, download: bool = False) -> FileResponse:
        view = _job(jobs, job_id).view()
        if view.result is None or name not in view.result.files:  # names come from the job, never the URL
            raise HTTPException(404, "no such file")
        path = _job(jobs, job_id).folder / "out" / name
        media = MEDIA_TYPES.get(Path(name).suffix, "application/octet-stream")
        return FileResponse(path, media_type=media, filename=name if download else None,
                            content_disposition_type="attachment" if download else "inline")

    @app.delete("/api/jobs/{job_id}", status_code=204, summary="Delete a finished job and its files")
    def delete_job(job_id: str) -> Response:
        job = _job(jobs, job_id)
        if job.view().state not in ("done", "failed"):
            raise HTTPException(409, "the job has not finished")
        jobs.discard(job)
        return Response(status_code=204)

    return app


def _runner(model: Any, options: Any) -> Runner:
    def run(job: Job) -> Any:
        return run_job(job.spec, job.folder / "out", model, options, job.progress)

    return run


def _static(name: str) -> bytes:
    return (resources.files("scorebridge.studio") / "static" / name).read_bytes()


def _too_large(limits: UploadLimits) -> JSONResponse:
    return JSONResponse({"detail": f"the upload is larger than {limits.max_bytes:,} bytes"}, status_code=413)


def _targets(text: str) -> tuple[Modality, ...]:
    names = [t.strip().lower() for t in text.split(",") if t.strip()]
    valid = {m.value for m in Modality}
    bad = [n for n in names if n not in valid]
    if bad or not names:
        raise HTTPException(400, f"targets must be a comma-separated list of {', '.join(sorted(valid))}")
    return tuple(dict.fromkeys(Modality(n) for n in names))


def _store(file: UploadFile, folder: Path, limits: UploadLimits) -> str:
    """Copy the upload into ``folder`` as ``input<suffix>`` (suffix from its content), within the size limit."""
    head = file.file.read(HEAD_BYTES)
    if not head:
        raise UploadError(400, "the file is empty")
    suffix = sniff(head)
    if suffix is None:
        raise UploadError(415, "unknown file type: send a page (PNG, JPEG, TIFF, PDF), a recording (WAV, FLAC, "
                               "OGG, MP3), a MIDI file or a score (MusicXML, MXL, kern, ABC, MEI, LMX)")
    path = folder / f"input{suffix}"
    size = len(head)
    with open(path, "wb") as f:
        f.write(head)
        while chunk := file.file.read(1 << 20):
            size += len(chunk)
            if size > limits.max_bytes:
                raise UploadError(413, f"the upload is larger than {limits.max_bytes:,} bytes")
            f.write(chunk)
    validate(path, suffix, limits)
    return suffix


def _job(jobs: JobQueue, job_id: str) -> Job:
    job = jobs.get(job_id)
    if job is None:
        raise HTTPException(404, "no such job (finished jobs are deleted after a while)")
    return job


def _status(job: Job) -> dict[str, Any]:
    view = job.view()
    spec: JobSpec = job.spec
    base = f"/api/jobs/{view.id}/files/"
    data: dict[str, Any] = {"id": view.id, "state": view.state, "step": view.step, "steps": view.steps,
                            "message": view.message, "error": view.error, "name": spec.name,
                            "source": spec.source.value, "targets": [t.value for t in spec.targets]}
    if view.result is not None:
        result = asdict(view.result)
        data["files"] = [{"name": n, "url": base + n, "download": f"{base}{n}?download=true"} for n in result["files"]]
        data["pages"] = [base + p for p in result["pages"]]
        for key in ("measures", "audio", "notes"):
            data[key] = base + result[key] if result[key] else None
        data["problems"] = list(result["problems"])
    return data
