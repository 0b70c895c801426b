"""`scorebridge demo`, all of it: the deterministic renders of the bundled score (`render_demo`), then the shipped
model in every direction on bundled held-out inputs (`run_model_demo`; ``data/examples/held-out.json`` says where
each comes from), and the model card's evaluation table (`card_table`). `run_demo` runs the three in order. The
renders go through `scorebridge.convert` and each translation through `scorebridge.translate`, the same code as
`scorebridge render` and `scorebridge translate`."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from scorebridge.convert import RenderRequest, Written, lmx_file_to_musicxml, render
from scorebridge.fileio import write_text
from scorebridge.modality import Modality

if TYPE_CHECKING:
    from scorebridge import DecodingOptions, ScoreBridgeModel

log = logging.getLogger(__name__)

LMX_MEASURES = 4  # LMX -> image gets one system's worth of the bundled score, as the model was trained on


@dataclass(frozen=True)
class DemoStep:
    kind: str
    source: str  # file name in data/examples
    output: str
    detail: str


STEPS = (
    # LMX first: the MusicXML is rebuilt from it below, and a weak model's LMX may not form MusicXML at all
    DemoStep("image -> MusicXML", "page.png", "page.lmx", "optical music recognition of a held-out page"),
    DemoStep("audio -> MIDI", "recording.flac", "recording.mid", "transcription of a held-out performance"),
    DemoStep("image -> audio", "page.png", "page.wav", "the page read aloud"),
    DemoStep("MIDI -> audio", "excerpt.mid", "excerpt.wav", "synthesis of a held-out MIDI excerpt"),
    DemoStep("audio -> image", "recording.flac", "recording.png", "a score image of the performance"),
)


def examples_dir() -> Path:
    return Path(str(resources.files("scorebridge") / "data" / "examples"))


def example_score() -> Path:
    """The bundled example score (Minuet in G, after Petzold; public domain)."""
    return examples_dir() / "minuet-in-g.musicxml"


def run_demo(out_dir: str | os.PathLike[str], score: str | os.PathLike[str] | None = None,
             weights: str | None = None, device: str = "cpu", with_model: bool = True,
             progress: bool = True) -> list[Written]:
    """The whole demo into ``out_dir``: the renders of ``score`` (default: the bundled one), then (``with_model``)
    the model's translations and the model card's table as figures.md."""
    written = render_demo(out_dir, score=score, progress=progress)
    if with_model:
        written += run_model_demo(out_dir, lmx_file=Path(out_dir) / "score.lmx", weights=weights, device=device,
                                  progress=progress)
        written.append(Written("figures", write_figures(out_dir), "the model card's table"))
    return written


def render_demo(out_dir: str | os.PathLike[str], score: str | os.PathLike[str] | None = None,
                progress: bool = True) -> list[Written]:
    """Render one score (the bundled example by default) to every modality the deterministic renders offer."""
    score = Path(score) if score is not None else example_score()
    out_dir = Path(out_dir)
    request = RenderRequest(progress=progress, with_lmx=True, force=True)  # rewrites its own files by name
    written: list[Written] = []
    steps = [("systems", out_dir / "systems"), ("pages", out_dir / "pages"), ("lmx", out_dir / "score.lmx"),
             ("midi", out_dir / "score.mid"), ("audio", out_dir / "score.wav")]
    for target, out in tqdm(steps, desc="demo", unit="step", disable=None if progress else True, leave=False):
        written += render(score, target, out, request)
    # the same path as `scorebridge lmx --to-musicxml`
    roundtrip = lmx_file_to_musicxml(out_dir / "score.lmx", out_dir / "score-from-lmx.musicxml")
    written.append(Written("musicxml", roundtrip.path, "MusicXML rebuilt from the LMX"))
    return written


def first_measures(tokens: list[str], measures: int) -> list[str]:
    """The LMX tokens of the first ``measures`` measures (each begins with a ``measure`` token)."""
    starts = [i for i, t in enumerate(tokens) if t == "measure"]
    return tokens if len(starts) <= measures else tokens[:starts[measures]]


def run_model_demo(out_dir: str | os.PathLike[str], lmx_file: Path | None = None, weights: str | None = None,
                   device: str = "cpu", progress: bool = True, options: DecodingOptions | None = None,
                   ) -> list[Written]:
    """Translate the bundled held-out inputs with the shipped weights (or ``weights``) into ``out_dir``;
    ``options``: DecodingOptions (None: the defaults, greedy)."""
    from scorebridge.api import load_model
    from scorebridge.errors import ScorebridgeError
    from scorebridge.routes import serves
    from scorebridge.translate import TranslateRequest, input_modality, output_modality, translate_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = load_model(weights, device=device)
    written: list[Written] = []
    for step in STEPS:
        t0 = time.perf_counter()
        # engine="model": the demo shows the model in every direction it was trained in (auto would give MIDI ->
        # audio to FluidSynth); in the others auto takes the cascade or the library, and the result names it
        source, target = input_modality(Path(step.source)), output_modality(Path(step.output), None)
        engine = "model" if serves(source, target, "model", model.tasks) else "auto"
        request = TranslateRequest(examples_dir() / step.source, out / step.output, engine=engine)
        try:
            result = translate_file(request, model, options=options, progress=progress)
        except ScorebridgeError as exc:  # e.g. a cascade whose recognised LMX forms no score: the demo goes on
            log.warning("%s: %s", step.kind, exc)
            problem = getattr(exc, "problem", None) or str(exc)
            written.append(Written(step.kind, request.output, f"{step.detail}: not made ({problem})"))
            continue
        seconds = time.perf_counter() - t0
        written.append(Written(step.kind, result.output, f"{step.detail} ({result.engine}, {seconds:.1f} s)"))
        if result.output.suffix == ".lmx":
            written.append(_musicxml_of(result.output))
    if lmx_file is not None and (not model.tasks or (Modality.NOTATION, Modality.IMAGE) in model.tasks):
        written.append(_lmx_to_image(model, lmx_file, out / "score-from-lmx.png", options))
    elif lmx_file is not None:  # the deterministic engraving of the same score is among render_demo's outputs
        log.info("LMX -> image left out: the model was not trained in notation -> image")
    return written


def _musicxml_of(lmx: Path) -> Written:
    from scorebridge.errors import ScorebridgeError

    try:
        return lmx_file_to_musicxml(lmx, lmx.with_suffix(".musicxml"))
    except ScorebridgeError as exc:
        return Written("musicxml", lmx, f"the recognised LMX does not form MusicXML ({exc})")


def _lmx_to_image(model: ScoreBridgeModel, lmx_file: Path, target: Path, options: DecodingOptions | None,
                  ) -> Written:
    from scorebridge.notation.api import read_lmx_file

    t0 = time.perf_counter()
    tokens = first_measures(read_lmx_file(lmx_file), LMX_MEASURES)
    kwargs = {"options": options} if options is not None else {}
    model.translate(tokens, to=Modality.IMAGE, source_modality=Modality.NOTATION, **kwargs).save(target)
    return Written("LMX -> image", target, f"the bundled score's first {LMX_MEASURES} measures engraved by the "
                   f"model ({time.perf_counter() - t0:.1f} s)")


def card_table() -> str:
    """The shipped weights' evaluation table (Markdown), as MODEL_CARD.md holds it."""
    from scorebridge.shipped import shipped_card

    card = shipped_card()
    lines = card.get("table", [])
    if not lines:
        return "(no evaluation table recorded with these weights)\n"
    head = f"Shipped weights: {card.get('summary', '')}\n\n" if card.get("summary") else ""
    return head + "\n".join(lines) + "\n"


def write_figures(out_dir: str | os.PathLike[str]) -> Path:
    path = Path(out_dir) / "figures.md"
    write_text(path, card_table())
    return path
