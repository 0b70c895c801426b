"""Learned tokenizers for continuous modalities: the image RQ-VAE (`codecs.image`) and the audio codec."""
