"""scorebridge: translate music between score images, notation (MusicXML/LMX), MIDI and audio."""

from scorebridge.errors import InputError, ScorebridgeError
from scorebridge.modality import Modality, Task

__version__ = "0.1.0"

__all__ = ["InputError", "Modality", "ScorebridgeError", "Task", "__version__"]
