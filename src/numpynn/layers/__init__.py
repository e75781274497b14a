"""Layers: one small file per family; every class here is in the registry model files are rebuilt from."""

from .activations import (
    ACTIVATION_LAYERS,
    ELU,
    GELU,
    ActivationLayer,
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from .base import LAYERS, Layer, layer_from_config
from .dense import Dense
from .dropout import Dropout
from .embedding import Embedding
from .norm import BatchNorm
from .periodic import PeriodicEmbedding
from .reshape import Flatten

__all__ = [
    "ACTIVATION_LAYERS", "ActivationLayer", "BatchNorm", "Dense", "Dropout", "ELU", "Embedding", "Flatten", "GELU",
    "Identity", "LAYERS", "Layer", "LeakyReLU", "PeriodicEmbedding", "ReLU", "Sigmoid", "Softmax", "Tanh",
    "layer_from_config",
]
