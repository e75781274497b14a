"""Write the example digit images of examples/digits/ from three test digits of the bundled MNIST sample.

    python examples/digits/make_digits.py        # rewrites drawn-7.png, photo-2.png, inverted-3.png

Each is an MNIST digit re-rendered the way a user's own image comes: drawn (dark strokes on white, as a paint
program saves them), photographed (dark ink on grey, unevenly lit, noisy paper, a larger and wider frame, the
digit off-centre) and inverted (light strokes on black, MNIST's own convention). `numpynn predict` reads all
three (`numpynn predict runs/demo/model.safetensors examples/digits/`). Being drawn from MNIST, the images are
under MNIST's licence, CC BY-SA 3.0 (the README's data attribution).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from numpynn import data

HERE = Path(__file__).parent
# (index in the sample's test split, its label): digits a trained model reads right, one per style
CHOSEN = {"drawn": (72, 7), "photo": (106, 2), "inverted": (173, 3)}


def ink(digit: np.ndarray, side: int) -> np.ndarray:
    """The digit's strokes (0..1), enlarged smoothly to side x side."""
    return np.asarray(Image.fromarray(digit).resize((side, side), Image.BICUBIC), np.float32).clip(0, 255) / 255


def drawn(digit: np.ndarray) -> np.ndarray:
    img = np.ones((200, 200), np.float32)
    img[16:184, 16:184] -= 0.9 * ink(digit, 168)
    return img


def photo(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = 240, 320
    light = 0.50 + 0.14 * np.linspace(0, 1, w)[None, :] + 0.06 * np.linspace(0, 1, h)[:, None]  # lit from a side
    img = light + 0.03 * rng.standard_normal((h, w))
    img[40:190, 150:300] -= 0.42 * ink(digit, 150)  # pencil, not black ink
    blurred = Image.fromarray((img.clip(0, 1) * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.2))
    return np.asarray(blurred, np.float32) / 255


def inverted(digit: np.ndarray) -> np.ndarray:
    img = np.zeros((120, 120), np.float32)
    img[10:110, 10:110] = ink(digit, 100)
    return img


def main() -> None:
    _, (Xt, yt) = data.load_raw("mnist-sample")
    rng = np.random.default_rng(0)
    for style, (index, label) in CHOSEN.items():
        assert yt[index] == label, (style, index, yt[index])
        img = {"drawn": drawn, "inverted": inverted}[style](Xt[index]) if style != "photo" else photo(Xt[index], rng)
        Image.fromarray((img.clip(0, 1) * 255).astype(np.uint8)).save(HERE / f"{style}-{label}.png", optimize=True)


if __name__ == "__main__":
    main()
