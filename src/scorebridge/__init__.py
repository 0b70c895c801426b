"""scorebridge: translate music between score images, notation (MusicXML/LMX), MIDI and audio."""

from scorebridge.errors import InputError, ScorebridgeError
from scorebridge.modality import Modality, Task

__version__ = "0.1.0"

# the model and the decoding options pull in torch (seconds): import them only when asked for
_FROM_API = ("DecodingOptions", "ScoreBridgeModel", "Translation", "load_model", "translate_long")


def __getattr__(name: str):
    if name in _FROM_API:
        from scorebridge import api

        return getattr(api, name)
    raise AttributeError(f"module 'scorebridge' has no attribute {name!r}")


__all__ = ["DecodingOptions", "InputError", "Modality", "ScoreBridgeModel", "ScorebridgeError", "Task", "Translation",
           "__version__", "load_model", "translate_long"]
