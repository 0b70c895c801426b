"""Evaluation: quality metrics (codecs, transcription) and reference tools that the benchmarks call."""
