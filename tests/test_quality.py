"""Held-out figures that travel with the weights, the notes they give, the engine auto picks from them, warnings
in a musician's words, and the thread/device defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scorebridge.errors import InputError
from scorebridge.modality import Modality
from scorebridge.quality import Figure, Quality, quality_note, read_quality
from scorebridge.routes import choose_engine
from scorebridge.wording import plain

M = Modality


def test_the_shipped_weights_carry_the_model_cards_figures():
    quality = read_quality(None)
    assert quality.shipped
    omr = quality.headline("image->notation")
    assert omr is not None and omr.metric == "SER %" and omr.value == pytest.approx(362.60) and not omr.usable
    assert quality.headline("audio->midi").value == pytest.approx(0.18)
    note = quality_note(quality, M.IMAGE, M.NOTATION)
    assert note.startswith("the built-in model cannot read scores reliably yet (held-out symbol error 363 %")
    assert "check the result against the page" in note
    assert "cannot transcribe recordings" in quality_note(quality, M.AUDIO, M.NOTATION)  # the model's MIDI, quantized


def test_weights_without_figures_are_called_unmeasured(tmp_path):
    quality = read_quality(tmp_path)
    assert not quality.shipped and quality.figures == ()
    assert quality_note(quality, M.AUDIO, M.MIDI).startswith("this model has not been measured on how well it can "
                                                            "transcribe recordings")


def test_a_malformed_quality_file_is_a_one_line_error_naming_it(tmp_path):
    (tmp_path / "quality.json").write_text(json.dumps({"figures": [{"direction": "image->notation",
                                                                    "metric": "BLEU", "value": 3}]}))
    with pytest.raises(InputError, match=r"quality\.json: figure 0: unknown metric 'BLEU'"):
        read_quality(tmp_path)
    (tmp_path / "quality.json").write_text("{not json")
    with pytest.raises(InputError, match="unreadable quality file"):
        read_quality(tmp_path)


def test_usable_figures_give_a_plain_statement():
    quality = Quality((Figure("image->notation", "SER %", 12.0, "test pages"),))
    assert quality_note(quality, M.IMAGE, M.NOTATION) == ("this model can read scores (held-out symbol error 12 %, "
                                                          "usable below 30 %)")


def _fig(direction, value, engine="model"):
    return Figure(direction, "onset F1 %", value, "held-out", engine)


@pytest.mark.parametrize(("figures", "engine"), [
    ((), "fluidsynth"),  # unmeasured model: the deterministic engine
    ((_fig("midi->audio", 40.0),), "fluidsynth"),  # below usable
    ((_fig("midi->audio", 90.0), _fig("midi->audio", 78.0, "fluidsynth")), "model"),  # measured better
    ((_fig("midi->audio", 75.0), _fig("midi->audio", 78.0, "fluidsynth")), "fluidsynth"),  # usable but worse
    ((_fig("midi->audio", 90.0),), "model"),  # usable, nothing to compare with
])
def test_auto_picks_the_better_measured_engine(figures, engine):
    choice = choose_engine(M.MIDI, M.AUDIO, "auto", Quality(figures))
    assert choice.key == engine
    if engine == "fluidsynth":
        assert "rather than the model" in choice.reason and "--engine model" in choice.reason


def test_auto_has_one_engine_where_there_is_one_and_a_named_engine_must_fit():
    assert choose_engine(M.IMAGE, M.NOTATION).key == "model"
    assert choose_engine(M.NOTATION, M.IMAGE).key == "verovio"
    assert choose_engine(M.NOTATION, M.AUDIO, "fluidsynth").engine == "Verovio and FluidSynth (no model)"
    assert choose_engine(M.MIDI, M.AUDIO, "model").engine == "model"
    with pytest.raises(InputError, match=r"--engine verovio cannot translate image to notation \(engines for it: "
                                         r"model\)"):
        choose_engine(M.IMAGE, M.NOTATION, "verovio", where=Path("page.png"))
    with pytest.raises(InputError, match="--engine model cannot translate notation to image"):
        choose_engine(M.NOTATION, M.IMAGE, "model")


@pytest.mark.parametrize(("message", "words"), [
    ("notation target rows [0] stopped at the 999-step limit before their end token",
     "the model did not finish 1 passage of notation and was cut off at its length limit (999 symbols): the end "
     "of it may be missing or wrong"),
    ("midi target rows [0, 2] stopped at the 8-step limit before their end token", "did not finish 2 passages of MIDI"),
    ("stitch: repaired 2 irregularities in 1 windows",
     "joining the 1 sections of the recording, 2 notes at the joins were tidied (overlapping or unfinished notes)"),
    ("'6in5' is not an LMX token (position 121)", "the model wrote '6in5', which is not a musical symbol (symbol 121)"),
    ("the page's LMX does not form MusicXML (_Unlinearizable: '6in5' is not an LMX token (position 121))",
     "the notes read from the page do not form a valid score: the model wrote '6in5', which is not a musical symbol"),
    ("window 3: no LMX tokens were generated", "section 4: the model wrote no notes"),
    ("something else entirely", "something else entirely"),
])
def test_internal_messages_in_a_musicians_words(message, words):
    assert words in plain(message)


def test_threads_default_to_at_least_one_and_are_set_in_one_place(monkeypatch):
    import torch

    from scorebridge import runtime

    monkeypatch.setattr(runtime, "physical_cores", lambda: 8)
    assert runtime.default_threads() == 4 and runtime.default_threads(workers=2) == 2
    assert runtime.default_threads(workers=16) == 1
    monkeypatch.setattr(runtime, "physical_cores", lambda: 2)
    assert runtime.default_threads() == 1
    monkeypatch.setattr(runtime, "physical_cores", lambda: 1)
    assert runtime.default_threads() == 1
    before = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # restored by monkeypatch
    try:
        assert runtime.set_threads(2) == 2 and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError):
        runtime.set_threads(0)
    assert runtime.resolve_device("cpu") == "cpu"
    assert runtime.resolve_device("auto") in ("cpu", "cuda")


def test_written_figures_read_back(tmp_path):
    from scorebridge.quality import write_quality

    figures = (Figure("audio->midi", "onset F1 %", 81.5, "5 ASAP test pieces"),
               Figure("midi->audio", "onset F1 %", 77.9, "8 systems", engine="fluidsynth"))
    write_quality(tmp_path, figures, "test")
    assert read_quality(tmp_path).figures == figures
    assert quality_note(read_quality(tmp_path), M.AUDIO, M.MIDI).startswith("this model can transcribe recordings")
