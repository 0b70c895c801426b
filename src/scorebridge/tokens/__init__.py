"""Token layouts shared by the translator: image grid flattening (`tokens.image_grid`), shifts, vocabulary."""
