"""The image codec: an RQ-VAE turning score images into a grid of 4 codes per 16x16 patch, and its training."""

from .config import IMAGE_PRESETS, ImageCodecConfig
from .losses import ImageLosses, image_codec_losses
from .model import (
    ImageCodec,
    ImageCodecOutput,
    count_parameters,
    decode_image,
    encode_image,
    load_image_codec,
    save_image_codec,
)
from .preprocess import image_to_tensor, pad_to_patches, tensor_to_image
from .train import ImageTrainConfig, ImageTrainResult, load_train_images, train_image_codec, train_on_images

__all__ = [
    "IMAGE_PRESETS", "ImageCodec", "ImageCodecConfig", "ImageCodecOutput", "ImageLosses", "ImageTrainConfig",
    "ImageTrainResult", "count_parameters", "decode_image", "encode_image", "image_codec_losses",
    "image_to_tensor", "load_image_codec", "load_train_images", "pad_to_patches", "save_image_codec",
    "tensor_to_image", "train_image_codec", "train_on_images",
]
