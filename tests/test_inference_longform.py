"""inference.longform and translate_long on a tiny random model folder with tiny codecs (as in
test_api_model). Random weights give random output: these tests check windows, shapes, stitching, prefixes
and alignment, never quality."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from _image_codec_fixtures import staff_image
from _model_fixtures import write_tiny_run
from scorebridge.api import (
    LongAudio,
    LongImage,
    PageTranslation,
    ScoreBridgeModel,
    Transcription,
    load_model,
    translate_long,
)
from scorebridge.codecs.audio import AUDIO_PRESETS
from scorebridge.decoding import DecodingOptions, TargetGeneration
from scorebridge.errors import InputError, ScorebridgeError
from scorebridge.inference.longform import (
    LongformOptions,
    midi_to_audio,
    read_aloud,
    read_systems,
    transcribe,
    via_notation,
)
from scorebridge.inference.stitch import audio_chunks, cascade_alignment, notation_to_audio
from scorebridge.inference.windows import AlignmentSpan, CutRule, join_system_lmx, measure_ranges
from scorebridge.midi import Note, read_midi
from scorebridge.notation import lmx_to_musicxml

RATE = AUDIO_PRESETS["tiny"].sample_rate
HOP = AUDIO_PRESETS["tiny"].hop_length
# 1 s windows: 50 tiny-codec frames, within the tiny limits (60 audio steps)
LONG = LongformOptions(window_ms=1000, midi_overlap_ms=200, progress=False)
FAST = DecodingOptions(max_steps=8)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> ScoreBridgeModel:
    return load_model(write_tiny_run(tmp_path_factory.mktemp("run")) / "model")


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def systems(n: int = 3) -> list[np.ndarray]:
    return [staff_image(height=40, width=100, seed=s) for s in range(n)]


class Spy:
    """Records every window a model decodes, batched or not (the source, the prefix given, the output made)."""

    def __init__(self, model: ScoreBridgeModel, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple] = []
        original = model.generate

        def spy(sources, target, options=FAST, **kw):
            outs = original(sources, target, options, **kw)
            self.calls += [(steps, kw.get("prefix"), out) for steps, out in zip(sources, outs, strict=True)]
            return outs

        monkeypatch.setattr(model, "generate", spy)


def test_audio_chunks_stream_a_file_in_windows(tmp_path: Path) -> None:
    audio = tone(2.5)
    sf.write(tmp_path / "a.wav", audio, RATE)
    rate, count, chunks = audio_chunks(tmp_path / "a.wav", None, 1000)
    assert (rate, count) == (RATE, 3)
    parts = list(chunks)
    assert [len(p) for p in parts] == [RATE, RATE, RATE // 2]
    np.testing.assert_allclose(np.concatenate(parts), audio, atol=1e-4)  # 16-bit WAV
    rate, count, chunks = audio_chunks(audio, RATE, 1000)
    assert [len(p) for p in chunks] == [RATE, RATE, RATE // 2]
    with pytest.raises(InputError, match="no samples"):
        audio_chunks(np.zeros(0, np.float32), RATE, 1000)


def test_transcribe_in_windows(model: ScoreBridgeModel, tmp_path: Path) -> None:
    audio = tone(3.5)
    result = transcribe(model, audio, RATE, options=FAST, longform=LONG)
    assert isinstance(result, Transcription) and result.windows == 4
    assert all(isinstance(n, Note) and 0 <= n.onset <= n.offset <= 4000 for n in result.notes)
    sf.write(tmp_path / "long.wav", audio, RATE, subtype="FLOAT")
    from_file = translate_long(model, tmp_path / "long.wav", to="midi", options=FAST, longform=LONG)
    assert from_file.notes == result.notes and from_file.windows == 4
    result.save(tmp_path / "out.mid")
    if result.notes:
        assert len(read_midi(tmp_path / "out.mid")) == len(result.notes)
    assert any("after the end" in p for p in result.problems)  # random shifts reach past the 1 s windows
    with pytest.raises(ValueError, match="shorter window_ms"):
        transcribe(model, audio, RATE, options=FAST, longform=LongformOptions(progress=False))


def test_transcribe_shifts_each_window(model: ScoreBridgeModel, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every window's tokens are decoded at its own start tick: one note per window at 0.5 s of the window
    comes out at k s + 0.5 s."""
    from scorebridge.midi import MidiTokenizer
    from scorebridge.tokens.layout import encode_midi

    tokenizer = MidiTokenizer(model.vocab.config.midi)
    one_note = encode_midi(tokenizer.encode_window([Note(500, 700, 60, 80)], 0, 100), model.vocab)
    monkeypatch.setattr(model, "generate", lambda sources, target, options: [
        TargetGeneration(one_note, None, "eos") for _ in sources])
    result = transcribe(model, tone(3.6), RATE, longform=LONG)
    # the last window is 0.6 s long: its note is cut at the end of the recording
    assert [(n.onset, n.offset) for n in result.notes] == [(500, 700), (1500, 1700), (2500, 2700), (3500, 3600)]
    assert transcribe(model, tone(3.2), RATE, longform=LONG).notes == result.notes[:3]  # 3.5 s is past the end


def test_midi_to_audio_with_prefixes(model: ScoreBridgeModel, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    spy = Spy(model, monkeypatch)
    notes = [Note(0, 900, 60, 80), Note(700, 1500, 64, 90), Note(1900, 2500, 67, 70)]
    result = midi_to_audio(model, notes, options=DecodingOptions(max_steps=59), longform=LONG)
    assert isinstance(result, LongAudio) and result.windows == 3 and len(spy.calls) == 3
    assert result.sample_rate == RATE and result.audio.dtype == np.float32
    keep, overlap = 40, 10  # window starts 0.8 s apart = 40 frames; 0.2 s overlap = 10 frames
    outputs = [call[2].steps for call in spy.calls]
    expected = sum(min(len(s), keep) for s in outputs[:-1]) + len(outputs[-1])
    assert len(result.audio) == expected * HOP
    assert spy.calls[1][1] is not None  # this seed's first window is long enough to hand on a prefix
    for (_, prefix, out), (_, _, before) in zip(spy.calls[1:], spy.calls, strict=False):
        given = before.steps.tokens[keep: keep + overlap]
        if len(given):
            assert prefix is not None and np.array_equal(prefix.tokens, given)
            assert np.array_equal(out.steps.tokens[: len(given)], given)  # the output starts with it
        else:
            assert prefix is None
    result.save(tmp_path / "out.wav")
    assert len(sf.read(tmp_path / "out.wav")[0]) == len(result.audio)
    with pytest.raises(InputError, match="no notes"):
        midi_to_audio(model, [], longform=LONG)


def test_read_aloud_cuts_prefixes_and_alignment(model: ScoreBridgeModel, monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    spy = Spy(model, monkeypatch)
    options = DecodingOptions(max_steps=40)
    # random attention spreads evenly over the source: a low threshold makes the cuts happen
    longform = dataclasses.replace(LONG, cut=CutRule(threshold=0.3, run=2, back=1))
    result = read_aloud(model, systems(3), options=options, longform=longform, measures=[(0, 2), (2, 4), (4, 5)])
    assert result.windows == 3 and len(spy.calls) == 3
    spans = result.alignment
    assert [s.system for s in spans] == [0, 1, 2] and spans[0].start == 0 and spans[-1].end == len(result.audio)
    assert all(a.end == b.start for a, b in zip(spans, spans[1:], strict=False))
    assert spans[1].measures == (2, 4)
    assert len(result.audio) % HOP == 0
    sources = [call[0] for call in spy.calls]
    assert (sources[0].tokens[:, 0] == model.vocab.sep).sum() == 1  # a pair
    assert (sources[2].tokens[:, 0] == model.vocab.sep).sum() == 0  # the last system alone
    assert any(call[1] is not None for call in spy.calls)  # this seed cuts before the end at least once
    for k in range(2):  # the prefix of window k+1 is the first fifth of what window k cut off
        codes = spy.calls[k][2].steps.tokens
        kept = (spans[k].end - spans[k].start) // HOP
        rest = codes[kept: kept + (len(codes) - kept) // 5]
        prefix = spy.calls[k + 1][1]
        assert (prefix is None and len(rest) == 0) or np.array_equal(prefix.tokens, rest)
        assert spy.calls[k][2].attention.shape == (len(codes), len(sources[k]))
    data = json.loads(result.save_alignment(tmp_path / "align.json").read_text())
    assert data["samples"] == len(result.audio) and [s["system"] for s in data["systems"]] == [0, 1, 2]
    assert data["systems"][0]["measures"] == [0, 2]


def test_read_systems_page(model: ScoreBridgeModel, tmp_path: Path) -> None:
    page = translate_long(model, systems(2), to="notation", options=DecodingOptions(max_steps=12), longform=LONG)
    assert isinstance(page, PageTranslation) and len(page.systems) == 2
    assert list(page.lmx) == join_system_lmx([s.lmx for s in page.systems])
    assert len(page.measures) == 2
    page.save(tmp_path / "page.lmx")
    assert (tmp_path / "page.lmx").read_text().split() == list(page.lmx)
    if page.xml is None:
        assert page.problems
        with pytest.raises(ScorebridgeError):
            page.save(tmp_path / "page.musicxml")
    midi = read_systems(model, systems(2), "midi", options=FAST, longform=LONG)
    assert list(midi.notes) == sorted(midi.notes)
    with pytest.raises(ValueError):
        read_systems(model, systems(1), "audio")


def test_cascade_pieces(example_score: Path) -> None:
    from scorebridge.notation import load_musicxml, select_part
    from scorebridge.notation.slicing import lmx_for_measures

    part = select_part(load_musicxml(example_score))
    per_system = [lmx_for_measures(part, 0, 2), lmx_for_measures(part, 2, 4)]
    xml = lmx_to_musicxml(join_system_lmx(per_system))
    audio, starts = notation_to_audio(xml, sample_rate=RATE)
    assert audio.ndim == 1 and len(audio) > RATE and len(starts) == 4
    assert starts[0] == 0 and all(a < b for a, b in zip(starts, starts[1:], strict=False))
    spans = cascade_alignment(measure_ranges(per_system), starts, len(audio))
    assert spans == (AlignmentSpan(0, (0, 2), 0, starts[2]), AlignmentSpan(1, (2, 4), starts[2], len(audio)))
    assert cascade_alignment([(0, 2), (2, 2)], starts, len(audio)) == ()  # a system without measures


def test_via_notation_on_random_output(model: ScoreBridgeModel, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scorebridge.inference.longform.lmx_to_musicxml", lambda lmx: (_ for _ in ()).throw(
        ValueError("bad LMX")))
    with pytest.raises(ScorebridgeError, match="does not form"):
        via_notation(model, systems(1), options=FAST, longform=LONG)


def test_translate_long_dispatch(model: ScoreBridgeModel, tmp_path: Path) -> None:
    Image.fromarray(systems(1)[0]).save(tmp_path / "s.png")
    audio = translate_long(model, [tmp_path / "s.png"], to="audio", options=FAST, longform=LONG)
    assert isinstance(audio, LongAudio) and len(audio.alignment) == 1
    assert audio.alignment[0].end == len(audio.audio)
    one = translate_long(model, systems(1)[0], to="midi", options=FAST, longform=LONG)
    assert isinstance(one, PageTranslation) and len(one.systems) == 1
    pair = translate_long(model, (tone(1.5), RATE), to="midi", options=FAST, longform=LONG)
    assert isinstance(pair, Transcription) and pair.windows == 2
    image = translate_long(model, (tone(1.5), RATE), to="image", options=FAST, longform=LONG)
    assert isinstance(image, LongImage) and image.windows == 2
    assert image.image.shape == ((sum(s.shape[0] for s in image.systems), max(s.shape[1] for s in image.systems))
                                 if image.systems else (0, 0))
    with pytest.raises(ValueError, match="no long-form path"):
        translate_long(model, "measure clef:G2", to="midi")
    with pytest.raises(ValueError, match="cascade"):
        translate_long(model, [Note(0, 100, 60)], to="audio", via="notation")


def test_the_one_window_model_never_imports_long_form_code() -> None:
    """The calls go one way, longform -> model -> decoding: no module below long-form imports it."""
    import ast

    import scorebridge

    root = Path(scorebridge.__file__).parent
    below = [root / "inference" / f"{name}.py" for name in ("model", "results", "sources", "signal", "codecs",
                                                            "windows", "stitch")]
    below += [*(root / "decoding").glob("*.py"), *(root / "model").glob("*.py"), *(root / "tokens").glob("*.py")]
    for path in below:
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert "longform" not in name and not name.startswith(("scorebridge.api", "scorebridge.translate")), \
                    f"{path.name} imports {name}"
