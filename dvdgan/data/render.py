"""Vectorised numpy rasterisation for the procedural datasets: whole clips at once, no per-pixel loops.

Shapes are signed distance functions in pixels (positive inside); ``coverage`` turns a distance into an
anti-aliased [0, 1] pixel coverage, so edges stay sharp but sub-pixel motion is still visible.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=32)
def pixel_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``(y, x)``, each float32 ``[H, W]`` (read-only, cached)."""
    y, x = np.meshgrid(np.arange(height, dtype=np.float32), np.arange(width, dtype=np.float32), indexing="ij")
    y.setflags(write=False)
    x.setflags(write=False)
    return y, x


def coverage(sdf: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of a signed distance in pixels (a 1-pixel linear ramp at the edge)."""
    return np.clip(sdf + 0.5, 0.0, 1.0, out=sdf)


def bounce(start: np.ndarray, velocity: np.ndarray, low: np.ndarray, high: np.ndarray, steps: int) -> np.ndarray:
    """Positions ``[steps, D]`` of points moving at constant velocity with elastic bounces off ``[low, high]``.

    Unfolding the reflections gives a triangle wave of the free trajectory, exact for any speed.
    """
    t = np.arange(steps, dtype=np.float32)[:, None]
    span = np.maximum(high - low, 1e-6)
    u = np.mod(start - low + velocity * t, 2.0 * span)
    return low + span - np.abs(u - span)


def circle_sdf(cy: np.ndarray, cx: np.ndarray, radius: np.ndarray, height: int, width: int) -> np.ndarray:
    """Signed distance ``[N, H, W]`` to circles with per-item centres and radii (arrays of shape ``[N]``)."""
    y, x = pixel_grid(height, width)
    dy = y - cy[:, None, None]
    dx = x - cx[:, None, None]
    return radius[:, None, None] - np.sqrt(dx * dx + dy * dy)


def polygon_sdf(vertices: np.ndarray, height: int, width: int) -> np.ndarray:
    """Signed distance ``[N, H, W]`` to convex polygons ``vertices [N, K, 2]`` given as (y, x) in any winding.

    Inside it is the exact distance to the nearest edge; outside it is the largest edge-line distance, which is
    exact near edges (all that anti-aliasing needs).
    """
    y, x = pixel_grid(height, width)
    v0 = vertices.astype(np.float32)
    v1 = np.roll(v0, -1, axis=1)
    edge = v1 - v0
    normal = np.stack([edge[..., 1], -edge[..., 0]], axis=-1)  # perpendicular to each edge
    normal /= np.maximum(np.linalg.norm(normal, axis=-1, keepdims=True), 1e-6)
    centre = v0.mean(axis=1, keepdims=True)
    # Orient every normal inwards, whatever the winding.
    sign = np.sign(np.sum((centre - v0) * normal, axis=-1, keepdims=True))
    normal *= np.where(sign == 0, 1.0, sign)
    offset = np.sum(normal * v0, axis=-1)  # [N, K]
    ny, nx, offset = (a[..., None, None].astype(np.float32) for a in (normal[..., 0], normal[..., 1], offset))
    sdf = ny[:, 0] * y + (nx[:, 0] * x - offset[:, 0])
    for k in range(1, v0.shape[1]):  # one edge at a time keeps the temporaries [N, H, W]
        np.minimum(sdf, ny[:, k] * y + (nx[:, k] * x - offset[:, k]), out=sdf)
    return sdf


def ellipse_sdf(
    cy: np.ndarray, cx: np.ndarray, half_length: np.ndarray, half_width: np.ndarray, angle: np.ndarray,
    height: int, width: int,
) -> np.ndarray:
    """Approximate signed distance ``[N, H, W]`` to rotated ellipses (major axis along ``angle``, image coords)."""
    y, x = pixel_grid(height, width)
    dy = y - cy[:, None, None]
    dx = x - cx[:, None, None]
    c, s = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    u = (c * dx + s * dy) / half_length[:, None, None]
    v = (-s * dx + c * dy) / half_width[:, None, None]
    return (1.0 - np.sqrt(u * u + v * v)) * half_width[:, None, None]


def transform_points(points: np.ndarray, cy: np.ndarray, cx: np.ndarray, scale: np.ndarray,
                     angle: np.ndarray) -> np.ndarray:
    """Place local (y, x) ``points [K, 2]`` per item: scale, rotate by ``angle`` (image coords), translate.

    Returns ``[N, K, 2]``. With y pointing down, a growing angle turns the shape clockwise on screen.
    """
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    py, px = points[None, :, 0] * scale[:, None], points[None, :, 1] * scale[:, None]
    x = c * px - s * py + cx[:, None]
    y = s * px + c * py + cy[:, None]
    return np.stack([y, x], axis=-1)


def paint(cover: np.ndarray, colour: np.ndarray, background: float = 0.0) -> np.ndarray:
    """Blend an object coverage ``[T, H, W]`` in [0, 1] of one RGB ``colour`` over a flat grey background.

    Returns uint8 ``[T, H, W, 3]``; coverage is quantised to 256 levels and looked up in a colour table, which is
    several times faster than blending in float.
    """
    levels = np.linspace(0.0, 1.0, 256, dtype=np.float32)[:, None]
    table = (levels * (np.asarray(colour, np.float32) - background) + background + 0.5).astype(np.uint8)
    index = (cover * 255.0 + 0.5).astype(np.uint8)
    return np.take(table, index, axis=0)
