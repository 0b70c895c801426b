"""The studio's HTTP API and page (FastAPI): upload -> job -> status -> files. OpenAPI at ``/openapi.json``.

Requests only do cheap checks and store the upload; reading the file and translating it run in a worker process
(``jobs``, ``workers``) under a memory cap and a time limit. In front of every route ``guard`` checks the Host
header, the origin of state-changing requests and counts request bodies. Statuses: 400 bad form or Host, 403
cross-origin, 404 unknown job or file, 413 too large, 415 unknown type, 422 a target that cannot be served (a
model route without a model), 503 queue full (answered before the upload is read). A malformed file, or one
past a limit, makes a failed job whose error says why.
"""

from __future__ import annotations

import logging
import shutil
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect

from scorebridge.errors import InputError, ScorebridgeError
from scorebridge.modality import Modality
from scorebridge.studio.guard import GuardMiddleware, allowed_names
from scorebridge.studio.jobs import Job, JobQueue, QueueFull, QueueLimits
from scorebridge.studio.roots import JobRoot
from scorebridge.studio.uploads import HEAD_BYTES, UploadLimits, display_name, sniff
from scorebridge.studio.work import (
    JobSpec,
    check_spec,
    default_targets,
    model_targets,
    run_studio_job,
    targets_for,
)
from scorebridge.studio.workers import JobFunction, ModelSource, ProcessWorker
from scorebridge.translate import INPUTS

log = logging.getLogger(__name__)

MEDIA_TYPES = {".svg": "image/svg+xml", ".json": "application/json", ".wav": "audio/wav", ".png": "image/png",
               ".mid": "audio/midi", ".musicxml": "application/vnd.recordare.musicxml+xml",
               ".lmx": "text/plain; charset=utf-8"}
# font-src data:: Verovio's SVG embeds its music font (Leipzig) as a data: URL, used for the note of a tempo mark
CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; "
       "font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
FORM_SLACK = 64 * 1024  # multipart headers and the targets field around the file
WARM_MODULES = ("scorebridge.studio.work", "scorebridge.convert", "scorebridge.render", "scorebridge.midi",
                "music21", "numpy", "soundfile", "PIL.Image")  # what every route imports: ~1 s, ~90 MB
UNKNOWN_TYPE = ("unknown file type: send a page (PNG, JPEG, TIFF, PDF), a recording (WAV, FLAC, OGG, MP3), a MIDI "
                "file or a score (MusicXML, MXL, kern, ABC, MEI, LMX)")
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file", "targets"], "properties": {
        "file": {"type": "string", "format": "binary"},
        "targets": {"type": "string", "description": "comma-separated: image, notation, midi, audio"},
        "via": {"type": "string", "enum": ["direct", "notation"], "default": "direct"}}}}}}}


@dataclass(frozen=True)
class StudioConfig:
    uploads: UploadLimits = field(default_factory=UploadLimits)
    queue: QueueLimits = field(default_factory=QueueLimits)
    workdir: Path | None = None  # job folders go under a fresh temporary folder inside it (default: system temp)
    hosts: tuple[str, ...] = ()  # Host names answered beyond the loopback ones (the bound address, --allow-host)


def create_app(config: StudioConfig = StudioConfig(), model: ModelSource | None = None, options: Any = None,
               job: JobFunction | None = None) -> FastAPI:
    """The studio app; its worker processes are started (and their models loaded) before it returns.
    ``model``: where the workers load the model from (None: notation routes only); ``options``: its
    DecodingOptions; ``job``: a module-level function that replaces the work done per job (tests)."""
    if model is not None:  # a missing folder is told at once, before workers start loading torch
        for folder, what in ((model.weights, "model"), (model.codecs, "codecs")):
            if folder is not None and not Path(folder).is_dir():
                raise InputError(folder, f"no such {what} folder")
    root = JobRoot(config.workdir)
    warm = () if job is not None else WARM_MODULES
    workers = [ProcessWorker(job or run_studio_job, model, options, config.queue.worker_limits, f"studio-worker-{i}",
                             root.path / f".tmp-{i}", warm) for i in range(config.queue.workers)]
    try:
        jobs = JobQueue(root.path, workers, config.queue)  # type: ignore[arg-type]
    except BaseException:
        root.close()
        raise
    have_model = model is not None

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        jobs.close()
        root.close()

    app = FastAPI(title="scorebridge studio", version="1", lifespan=lifespan,
                  description="Translate a score image/PDF, a recording, a MIDI file or a score between "
                  "modalities; follow the engraved score while it plays.")
    app.state.jobs = jobs
    app.state.root = root
    app.add_middleware(GuardMiddleware, names=allowed_names(config.hosts),  # type: ignore[arg-type]
                       max_body=config.uploads.max_bytes + FORM_SLACK,
                       headers=(("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff")))

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
                             "need_model": [t.value for t in model_targets(m)],
                             "default": [t.value for t in default_targets(m)]} for m in Modality}
        return {"model": have_model, "sources": sources, "suffixes": sorted(INPUTS),
                "inputs": {suffix: m.value for suffix, m in sorted(INPUTS.items())},
                "max_upload_bytes": config.uploads.max_bytes, "queue": jobs.stats(),
                "limits": {"job_seconds": config.queue.job_seconds, "job_memory_mb": config.queue.job_memory_mb}}

    @app.post("/api/jobs", status_code=202, summary="Upload a file and queue its translation",
              openapi_extra=UPLOAD_BODY, responses={400: {}, 403: {}, 413: {}, 415: {}, 422: {}, 503: {}})
    async def create_job(request: Request) -> dict[str, Any]:
        if jobs.full():  # before the upload is read
            raise _busy(f"{config.queue.max_queued} jobs are waiting already; try again in a moment")
        try:
            form = await request.form(max_files=1, max_fields=4, max_part_size=FORM_SLACK)
        except ClientDisconnect:
            raise HTTPException(400, "the upload was interrupted") from None
        try:
            return await _accept(form)
        finally:
            await form.close()

    async def _accept(form: Any) -> dict[str, Any]:
        file, targets, via = form.get("file"), form.get("targets"), form.get("via", "direct")
        if not isinstance(file, UploadFile) or not isinstance(targets, str) or not isinstance(via, str):
            raise HTTPException(422, "send a multipart form with a file field and a targets field")
        wanted = _targets(targets)
        head = await file.read(HEAD_BYTES)
        if not head:
            raise HTTPException(400, "the file is empty")
        suffix = await run_in_threadpool(sniff, head)  # up to 1 MB of prolog: off the event loop
        if suffix is None:
            raise HTTPException(415, UNKNOWN_TYPE)
        if (file.size or 0) > config.uploads.max_bytes:
            raise HTTPException(413, f"the upload is larger than {config.uploads.max_bytes:,} bytes")
        spec = JobSpec(Path(f"input{suffix}"), INPUTS[suffix], wanted, display_name(file.filename), via,
                       config.uploads)
        try:
            check_spec(spec, have_model)  # before anything is stored or parsed
        except ScorebridgeError as exc:
            raise HTTPException(400 if "via" in str(exc) else 422, str(exc)) from None
        job = jobs.new_job()
        try:
            await run_in_threadpool(_store, file, head, job.folder / spec.input.name)
            job.spec = JobSpec(job.folder / spec.input.name, spec.source, spec.targets, spec.name, spec.via,
                               spec.limits)
            jobs.submit(job)
        except QueueFull as exc:
            raise _busy(str(exc)) from None
        except BaseException:
            shutil.rmtree(job.folder, ignore_errors=True)
            raise
        return _status(job)

    @app.get("/api/jobs/{job_id}", summary="A job's state, progress and outputs", responses={404: {}})
    def job_status(job_id: str) -> dict[str, Any]:
        return _status(_job(jobs, job_id))

    @app.get("/api/jobs/{job_id}/files/{name}", summary="One output of a finished job", responses={404: {}})
    def job_file(job_id: str, name: str, download: bool = False) -> FileResponse:
        job = _job(jobs, job_id)
        view = job.view()
        if view.result is None or name not in view.result.files:  # names come from the job, never the URL
            raise HTTPException(404, "no such file")
        media = MEDIA_TYPES.get(Path(name).suffix, "application/octet-stream")
        return FileResponse(job.folder / "out" / name, media_type=media, filename=name if download else None,
                            content_disposition_type="attachment" if download else "inline")

    @app.delete("/api/jobs/{job_id}", status_code=204, summary="Cancel a job (a running one is stopped) and "
                "delete its files", responses={404: {}})
    def delete_job(job_id: str) -> Response:
        jobs.discard(_job(jobs, job_id))
        return Response(status_code=204)

    return app


def _busy(reason: str) -> HTTPException:
    return HTTPException(503, f"the studio is busy: {reason}", headers={"Retry-After": "5"})


def _static(name: str) -> bytes:
    return (resources.files("scorebridge.studio") / "static" / name).read_bytes()


def _targets(text: str) -> tuple[Modality, ...]:
    names = [t.strip().lower() for t in text.split(",") if t.strip()]
    valid = {m.value for m in Modality}
    bad = [n for n in names if n not in valid]
    if bad or not names:
        raise HTTPException(400, f"targets must be a comma-separated list of {', '.join(sorted(valid))}")
    return tuple(dict.fromkeys(Modality(n) for n in names))


def _store(file: UploadFile, head: bytes, path: Path) -> None:
    """Copy the (already size-checked) upload to ``path``: the name the server chose, never the uploaded one."""
    with open(path, "wb") as f:
        f.write(head)
        shutil.copyfileobj(file.file, f, 1 << 20)


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
                            "seconds": None if view.seconds is None else round(view.seconds, 1),
                            "source": spec.source.value, "targets": [t.value for t in spec.targets]}
    if view.result is not None:
        result = asdict(view.result)
        data["files"] = [{"name": n, "url": base + n, "download": f"{base}{n}?download=true"} for n in result["files"]]
        data["pages"] = [base + p for p in result["pages"]]
        for key in ("measures", "audio", "notes"):
            data[key] = base + result[key] if result[key] else None
        data["problems"] = list(result["problems"])
        data["warnings"] = list(result["warnings"])
        data["input_audio"] = base + result["input_audio"] if result["input_audio"] else None
    return data
