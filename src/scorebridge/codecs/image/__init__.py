"""The image codec: an RQ-VAE turning score images into a grid of 4 codes per 16x16 patch, and its training loop."""

from .config import IMAGE_PRESETS, ImageCodecConfig
from .losses import ImageLosses, image_codec_losses
from .model import (
    ImageCodec,
    ImageCodecOutput,
    codes_to_image,
    image_to_codes,
    load_image_codec,
    save_image_codec,
)
from .preprocess import image_to_tensor, pad_to_patches, tensor_to_image
from .train import ImageTrainConfig, ImageTrainResult, train_on_images

__all__ = [
    "IMAGE_PRESETS", "ImageCodec", "ImageCodecConfig", "ImageCodecOutput", "ImageLosses", "ImageTrainConfig",
    "ImageTrainResult", "codes_to_image", "image_codec_losses", "image_to_codes", "image_to_tensor",
    "load_image_codec", "pad_to_patches", "save_image_codec", "tensor_to_image", "train_on_images",
]
