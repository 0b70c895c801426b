"""Built-in corpora the build reads from the shared corpora folder: humdrum kern piano scores, OpenScore Lieder
(piano part, or voice and piano), ASAP (scores aligned to human performances), music21's bundled corpus, and any
folder of scores. Each is a ``data.contract.Source``; ``data.registry`` names them for ``--source``."""

from scorebridge.data.sources.asap import AsapSource
from scorebridge.data.sources.folder import FolderSource
from scorebridge.data.sources.kern import KernPianoSource
from scorebridge.data.sources.lieder import LiederSource, LiederVoiceSource
from scorebridge.data.sources.music21_corpus import Music21CorpusSource

__all__ = ["AsapSource", "FolderSource", "KernPianoSource", "LiederSource", "LiederVoiceSource",
           "Music21CorpusSource"]
