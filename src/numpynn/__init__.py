"""numpynn: multilayer perceptrons in NumPy — readable, correct to the last gradient, fast, and safe with files.

    import numpynn as nn
    model = nn.Sequential([nn.Dense(784, 256), nn.ReLU(), nn.Dense(256, 10)], seed=0)
    history = model.fit(X, y, loss="cross_entropy", optimizer=nn.Adam(1e-3), epochs=10, batch_size=128)
"""

from __future__ import annotations

from . import data, initializers, losses, ops, optim, tables
from . import data as datasets  # nn.datasets.load("mnist")
from .errors import (
    ArgumentError,
    DataError,
    DatasetError,
    ModelFileError,
    NotBuiltError,
    NumpynnError,
    ShapeError,
    TrainingDivergedError,
)
from .gradcheck import GradcheckResult, gradcheck
from .layers import (
    ELU,
    GELU,
    ActivationLayer,
    BatchNorm,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    Layer,
    LeakyReLU,
    PeriodicEmbedding,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from .losses import BinaryCrossEntropy, CrossEntropy, Huber, Loss, MeanAbsoluteError, MeanSquaredError, Quantile
from .mlp import build_mlp
from .model import Sequential
from .optim import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    CosineDecay,
    ExponentialDecay,
    OneCycle,
    Optimizer,
    RMSprop,
    Schedule,
    StepDecay,
)
from .training import metrics
from .training.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    JSONLogger,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgressBar,
    ReduceLROnPlateau,
    WeightAverage,
)
from .training.doctor import Doctor
from .training.history import History
from .training.lr_find import lr_find
from .tune import tune  # noqa: E402  (nn.tune; the numpynn.tune package stays importable by name)
from .version import __version__

load = Sequential.load  # nn.load("model.safetensors")

__all__ = [
    "ELU", "GELU", "ArgumentError", "data", "datasets", "tables",
    "SGD", "ActivationLayer", "Adagrad", "Adam", "AdamW", "BatchNorm", "BinaryCrossEntropy", "CSVLogger", "Callback",
    "CosineDecay", "CrossEntropy", "DataError", "DatasetError", "Dense", "Dropout", "EarlyStopping", "Embedding",
    "ExponentialDecay", "Flatten", "GradcheckResult", "History", "Huber", "Identity", "JSONLogger", "Layer",
    "LearningRateScheduler", "LeakyReLU", "Loss", "MeanAbsoluteError", "MeanSquaredError", "ModelCheckpoint",
    "ModelFileError", "NotBuiltError", "NumpynnError", "OneCycle", "Optimizer", "PeriodicEmbedding", "ProgressBar",
    "Quantile",
    "RMSprop", "ReLU",
    "ReduceLROnPlateau", "Schedule",
    "Sequential", "ShapeError", "Sigmoid", "Softmax", "StepDecay", "Tanh", "TrainingDivergedError", "WeightAverage",
    "__version__", "build_mlp", "gradcheck",
    "initializers", "load", "losses", "metrics", "ops", "optim", "Doctor", "lr_find", "tune",
]
