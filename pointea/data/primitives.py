"""Surface samplers of parametric primitives, y up, in numpy.

Each sampler draws ``n`` points uniformly (by area) on a surface and returns (n, 3);
``*_area`` gives the surface area used to share points between the parts of an object.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "box",
    "box_area",
    "cone",
    "cone_area",
    "cylinder",
    "cylinder_area",
    "ellipsoid",
    "fin",
    "fin_area",
    "torus",
    "torus_area",
]

TAU = 2 * np.pi


def ellipsoid(rng: np.random.Generator, n: int, radii: tuple[float, float, float]) -> np.ndarray:
    """Points on an axis-aligned ellipsoid (a sphere when the radii are equal)."""
    d = rng.normal(size=(n, 3))
    return d / np.linalg.norm(d, axis=1, keepdims=True) * np.asarray(radii)


def box_area(size: tuple[float, float, float]) -> float:
    sx, sy, sz = size
    return 2 * (sx * sy + sy * sz + sx * sz)


def box(rng: np.random.Generator, n: int, size: tuple[float, float, float]) -> np.ndarray:
    """Points on the six faces of a box of the given side lengths, centred at the origin."""
    size = np.asarray(size, dtype=np.float64)
    face_areas = np.array([size[1] * size[2], size[0] * size[2], size[0] * size[1]])
    axis = rng.choice(3, size=n, p=face_areas / face_areas.sum())
    pts = (rng.random((n, 3)) - 0.5) * size
    side = rng.integers(0, 2, size=n) * 2 - 1
    pts[np.arange(n), axis] = side * size[axis] / 2
    return pts


def cylinder_area(radius: float, height: float, caps: int = 2) -> float:
    return TAU * radius * height + caps * np.pi * radius**2


def cylinder(
    rng: np.random.Generator,
    n: int,
    radius: float,
    height: float,
    *,
    bottom: bool = True,
    top: bool = True,
    top_radius: float | None = None,
) -> np.ndarray:
    """A vertical (frustum) tube from y=0 to y=height, with optional disc caps."""
    top_radius = radius if top_radius is None else top_radius
    side = np.pi * (radius + top_radius) * np.hypot(height, radius - top_radius)
    areas = np.array([side, np.pi * radius**2 * bottom, np.pi * top_radius**2 * top])
    which = rng.choice(3, size=n, p=areas / areas.sum())
    theta = rng.random(n) * TAU
    t = rng.random(n)
    # Side: radius interpolated along the height; caps: sqrt for uniform area on a disc.
    r = np.where(which == 0, radius + (top_radius - radius) * t, 0.0)
    r = np.where(which == 1, radius * np.sqrt(t), r)
    r = np.where(which == 2, top_radius * np.sqrt(t), r)
    y = np.where(which == 0, height * t, np.where(which == 1, 0.0, height))
    return np.stack([r * np.cos(theta), y, r * np.sin(theta)], axis=1)


def cone_area(radius: float, height: float) -> float:
    return np.pi * radius * np.hypot(radius, height) + np.pi * radius**2


def cone(rng: np.random.Generator, n: int, radius: float, height: float) -> np.ndarray:
    """A closed cone with its base disc at y=0 and its apex at y=height."""
    return cylinder(rng, n, radius, height, top=False, top_radius=0.0)


def torus_area(major: float, minor: float, arc: float = TAU) -> float:
    return arc * major * TAU * minor


def torus(
    rng: np.random.Generator, n: int, major: float, minor: float, *, arc: float = TAU
) -> np.ndarray:
    """A torus around the y axis (or an arc of it, from angle 0 to ``arc``), by rejection."""
    out = np.empty((0, 3))
    while len(out) < n:
        u = rng.random(2 * n) * arc
        v = rng.random(2 * n) * TAU
        # Accept with probability proportional to the local area element.
        keep = rng.random(2 * n) < (major + minor * np.cos(v)) / (major + minor)
        u, v = u[keep], v[keep]
        ring = major + minor * np.cos(v)
        out = np.concatenate(
            [out, np.stack([ring * np.cos(u), minor * np.sin(v), ring * np.sin(u)], 1)]
        )
    return out[:n]


def fin_area(length: float, height: float) -> float:
    return length * height


def fin(rng: np.random.Generator, n: int, length: float, height: float) -> np.ndarray:
    """A right triangle in the x-y plane: legs ``length`` along x and ``height`` along y."""
    a, b = rng.random(n), rng.random(n)
    flip = a + b > 1
    a, b = np.where(flip, 1 - a, a), np.where(flip, 1 - b, b)
    return np.stack([a * length, b * height, np.zeros(n)], axis=1)
