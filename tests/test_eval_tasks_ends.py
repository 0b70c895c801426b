"""The evaluation counts why each decoding ended and scores cut outputs as produced (a loop's repeats are
errors, never hidden): run_omr over a stand-in model with known outputs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scorebridge.data.schema import Sample
from scorebridge.eval.runs import describe_ends, run_omr
from scorebridge.tokens.layout import LengthLimits

TRUTH = ("measure", "clef:G2", "staff:1", "C4", "voice:1", "quarter", "D4", "quarter")


@dataclass(frozen=True)
class Result:
    lmx: tuple[str, ...]
    end: str


class StandIn:
    """A model whose translation of sample i is ``outputs[i]``."""

    limits = LengthLimits()

    def __init__(self, outputs: list[Result]) -> None:
        self.outputs = iter(outputs)

    def translate(self, source, to, source_modality, options):
        return next(self.outputs)


def _samples(n: int) -> list[Sample]:
    return [Sample(id=f"x/p/system-{i:04d}", source="x", piece="p", split="test", kind="system", start_ms=None,
                   end_ms=None, image=np.full((20, 30), 255, np.uint8), lmx=TRUTH) for i in range(n)]


def test_end_reasons_are_counted_and_a_cut_loop_keeps_its_errors():
    loop = TRUTH[:3] + ("rest", "eighth") * 5  # cut as a loop after five copies of the cycle
    outputs = [Result(TRUTH, "eos"), Result(loop, "loop"), Result(TRUTH + ("C4",) * 3, "source_length")]
    outcome = run_omr(StandIn(outputs), _samples(3), options=None)
    scores = outcome.scores
    assert scores.ends == {"eos": 1, "loop": 1, "source_length": 1, "max_steps": 0}
    assert [s.end for s in scores.samples] == ["eos", "loop", "source_length"]
    # exact: 0 edits; the loop: 5 substitutions for the truth's tail and 5 insertions; 3 insertions
    assert [s.edits for s in scores.samples] == [0, 10, 3]
    assert scores.edits == 13 and scores.ser == 13 / (3 * len(TRUTH))
    assert outcome.notes == ["decoding: ended with EOS 1/3; cut as loop 1/3; at the source-length bound 1/3; "
                             "at the step limit 0/3"]


def test_describe_ends_names_every_reason():
    line = describe_ends({"eos": 3, "loop": 12, "source_length": 0, "max_steps": 5})
    assert line == ("decoding: ended with EOS 3/20; cut as loop 12/20; at the source-length bound 0/20; "
                    "at the step limit 5/20")
