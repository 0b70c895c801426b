"""scorebridge: translate music between score images, notation (MusicXML/LMX), MIDI and audio."""

from scorebridge.errors import InputError, ScorebridgeError
from scorebridge.modality import Modality, Task

__version__ = "0.1.0"


def __getattr__(name: str):  # load_model and DecodingOptions pull in torch: import them only when asked for
    if name in ("load_model", "ScoreBridgeModel", "Translation"):
        from scorebridge import api

        return getattr(api, name)
    if name == "DecodingOptions":
        from scorebridge.decoding import DecodingOptions

        return DecodingOptions
    raise AttributeError(f"module 'scorebridge' has no attribute {name!r}")


__all__ = ["DecodingOptions", "InputError", "Modality", "ScoreBridgeModel", "ScorebridgeError", "Task", "Translation",
           "__version__", "load_model"]
