"""Decoding: logit masks per output slot (``decoding.masks``) and the search over a translator's logits."""
