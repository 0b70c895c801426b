"""One-window translation behind ``scorebridge.api``: reading a source, finding codecs, building results.

``sources`` turns user input into the translator's source steps, ``codecs`` finds and checks the image and
audio codecs a translation needs, ``results`` turns generated target steps into `Translation` objects.
"""
