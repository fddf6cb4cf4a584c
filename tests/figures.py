"""Checks of the PNG figures that the examples and the command line draw."""

from pathlib import Path

import numpy as np
from matplotlib import image


def colour_count(pixels: np.ndarray) -> int:
    """Distinct RGB colours of an image read by matplotlib (floats in [0, 1])."""
    rgb = (pixels[..., :3] * 255).astype(np.uint8).astype(np.uint32)
    # One integer per colour: np.unique over rows sorts them as records, 2 s per figure.
    return len(np.unique((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]))


def check_png(path: Path, size: tuple[int, int]) -> None:
    """The figure exists, has the expected (width, height) and is not blank."""
    assert path.is_file(), path
    pixels = image.imread(path)
    assert pixels.shape[1::-1] == size, path
    colours = colour_count(pixels)
    assert colours > 20, f"{path}: only {colours} colours"
