"""Assemble the weights that ship inside the package (`scorebridge.shipped`) from a trained translator and its
codecs: the translator in fp16 (stored only; it computes in fp32), the codecs in fp32 (fp16 storage changes
about 0.3% of their codes), and card.json with the training facts. Refuses a set over the size limit.

    python scripts/ship_weights.py --model RUN/step-N --codecs runs/codecs --card card.json
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from safetensors.torch import load_file, save_file

from scorebridge.codecs import checkpoint_dir
from scorebridge.fileio import atomic_dir
from scorebridge.shipped import weights_root

LIMIT_BYTES = 60_000_000


def _copy_checkpoint(src: Path, dst: Path, half: bool) -> None:
    dst.mkdir(parents=True)
    shutil.copyfile(src / "config.json", dst / "config.json")
    weights = load_file(str(src / "model.safetensors"))
    if half:
        weights = {k: v.half() if v.is_floating_point() else v for k, v in weights.items()}
    save_file({k: v.contiguous() for k, v in weights.items()}, str(dst / "model.safetensors"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True, help="translator checkpoint folder")
    ap.add_argument("--codecs", type=Path, required=True, help="folder with image/ and audio/ codecs")
    ap.add_argument("--card", type=Path, required=True, help="JSON: training facts and evaluation table")
    ap.add_argument("--out", type=Path, default=weights_root())
    a = ap.parse_args()
    with atomic_dir(a.out) as tmp:
        _copy_checkpoint(a.model, tmp / "model", half=True)
        for kind in ("image", "audio"):
            _copy_checkpoint(checkpoint_dir(a.codecs / kind), tmp / "codecs" / kind, half=False)
        shutil.copyfile(a.card, tmp / "card.json")
        total = sum(f.stat().st_size for f in tmp.rglob("*") if f.is_file())
        if total > LIMIT_BYTES:
            raise SystemExit(f"{total / 1e6:.1f} MB is over the {LIMIT_BYTES / 1e6:.0f} MB the repository allows")
    # the shipped set must load as `load_model()` will load it
    from scorebridge.api import load_model

    model = load_model(a.out / "model")
    params = sum(p.numel() for p in model.translator.parameters())
    codecs = sorted(d.name for d in (a.out / "codecs").iterdir())
    print(f"{a.out}: {total / 1e6:.1f} MB; translator {params / 1e6:.1f} M parameters; codecs {json.dumps(codecs)}")


if __name__ == "__main__":
    main()
