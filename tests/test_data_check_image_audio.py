"""`data check` on image-audio samples (score-video pages: systems and audio, nothing symbolic)."""

from __future__ import annotations

import numpy as np

from scorebridge.data.check_all import check_sample
from scorebridge.data.schema import Sample


def _sample(heights: list[int] | None, image_rows: int, loud: bool) -> Sample:
    rate = 8000
    audio = (np.sin(np.arange(rate) / 5) * 0.3 if loud else np.zeros(rate)).astype(np.float32)
    meta = {"system_heights": heights} if heights is not None else {}
    return Sample(id="video/v/system-0000", source="video", piece="v", split="train", kind="system", start_ms=0,
                  end_ms=1000, timeline="performance", sample_rate=rate,
                  image=np.full((image_rows, 64), 255, np.uint8), audio=audio, meta=meta)


def test_a_good_page_passes_and_bad_ones_say_why():
    assert check_sample(_sample([40, 60], 100, True)) == ("system/image-audio", ())
    category, reasons = check_sample(_sample([40, 50], 100, True))
    assert category == "system/image-audio" and "do not add up" in reasons[0]
    assert "silent audio" in check_sample(_sample([100], 100, False))[1]
    assert "missing" in check_sample(_sample(None, 100, True))[1][0]
