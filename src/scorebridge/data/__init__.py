"""The data engine: aligned image / LMX / MIDI / audio samples from corpora and datasets, in sharded storage."""
