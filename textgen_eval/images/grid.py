"""Sample grids as PNG files, without an imaging library (pure functions: NumPy, zlib)."""

from __future__ import annotations

import math
import struct
import zlib

import numpy as np


def image_grid(images: np.ndarray, *, columns: int | None = None, pad: int = 2) -> np.ndarray:
    """``(n, C, H, W)`` values in [0, 1] → one ``uint8`` grayscale (or RGB when C = 3) mosaic,
    ``columns`` wide (default: ⌈√n⌉), separated by ``pad`` black pixels."""
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected (n, 1 or 3, H, W) images, got {images.shape}")
    n, c, h, w = images.shape
    cols = columns or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    grid = np.zeros((c, rows * (h + pad) + pad, cols * (w + pad) + pad), dtype=np.uint8)
    pixels = np.clip(np.rint(images * 255.0), 0, 255).astype(np.uint8)
    for i in range(n):
        r, col = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        grid[:, top : top + h, left : left + w] = pixels[i]
    return grid[0] if c == 1 else np.moveaxis(grid, 0, -1)  # (3, H, W) → (H, W, 3)


def png_bytes(image: np.ndarray) -> bytes:
    """A PNG file of a ``uint8`` ``(H, W)`` grayscale or ``(H, W, 3)`` RGB array."""
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError(f"expected a uint8 (H, W) or (H, W, 3) array, got {image.dtype} {image.shape}")
    height, width = image.shape[:2]
    color = 0 if image.ndim == 2 else 2
    rows = image.reshape(height, -1)  # (H, W[, 3]) → (H, W·channels)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)  # filter type 0 per scanline

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )
