"""The built-in datasets: procedurally generated objects in the official HDF5 layouts.

``synthetic_cls`` (13 classes, ModelNet40 layout) and ``synthetic_parts`` (4 categories
with 2-4 parts, ShapeNetPart layout) are built from surface-sampled primitives with random
proportions, pose, anisotropic scale, non-uniform sampling density and noise. Some classes
differ only in detail (mug/cup: a handle; table/chair: a backrest; stool/table: round
top and three legs), so accuracy separates a good model from a weak one. Generation is
seeded, takes seconds, and is cached on disk next to a ``generator.json`` that records
the parameters; a change of parameters regenerates.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from pointea.data import primitives as prim
from pointea.data.modelnet40 import ModelNet40H5
from pointea.data.part_names import PART_NAMES_FILE
from pointea.data.release_writer import write_modelnet40_layout, write_shapenetpart_layout
from pointea.data.shapenet_part import ShapeNetPartH5

__all__ = [
    "CLASS_NAMES",
    "PART_CATEGORIES",
    "SyntheticConfig",
    "ensure_synthetic",
    "sample_object",
]

GENERATOR_VERSION = 2  # 2: denser, thicker mug handles; denser rocket nozzles and fins

# A part: (local part index, surface area, sampler n -> (n, 3)).
Part = tuple[int, float, Callable[[int], np.ndarray]]


def _u(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high))


def _rotate_y(pts: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return pts @ np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]])


def _moved(sampler: Callable[[int], np.ndarray], offset, angle: float = 0.0):
    return lambda n: _rotate_y(sampler(n), angle) + np.asarray(offset)


def _legs(rng, corners, size: float, height: float, round_legs: bool) -> list[Part]:
    parts = []
    for x, z in corners:
        if round_legs:
            area = prim.cylinder_area(size / 2, height, caps=0)
            fn = _moved(
                lambda n, r=size / 2: prim.cylinder(rng, n, r, height, bottom=False, top=False),
                (x, 0, z),
            )
        else:
            dims = (size, height, size)
            area = prim.box_area(dims)
            fn = _moved(lambda n, d=dims: prim.box(rng, n, d), (x, height / 2, z))
        parts.append((1, area, fn))
    return parts


def _sphere(rng) -> list[Part]:
    r = 1.0
    return [(0, 4 * np.pi, lambda n: prim.ellipsoid(rng, n, (r, r, r)))]


def _ellipsoid(rng) -> list[Part]:
    radii = (1.0, _u(rng, 1.6, 2.2), _u(rng, 0.55, 0.85))
    return [(0, 4 * np.pi * 1.5, lambda n: prim.ellipsoid(rng, n, radii))]


def _box(rng) -> list[Part]:
    size = (_u(rng, 0.6, 1.4), _u(rng, 0.6, 1.4), _u(rng, 0.6, 1.4))
    return [(0, prim.box_area(size), lambda n: prim.box(rng, n, size))]


def _cylinder(rng) -> list[Part]:
    r, h = _u(rng, 0.35, 0.6), _u(rng, 1.2, 2.0)
    return [(0, prim.cylinder_area(r, h), lambda n: prim.cylinder(rng, n, r, h))]


def _cone(rng) -> list[Part]:
    r, h = _u(rng, 0.5, 0.9), _u(rng, 1.0, 1.8)
    return [(0, prim.cone_area(r, h), lambda n: prim.cone(rng, n, r, h))]


def _torus(rng) -> list[Part]:
    major, minor = _u(rng, 0.8, 1.0), _u(rng, 0.18, 0.35)
    return [(0, prim.torus_area(major, minor), lambda n: prim.torus(rng, n, major, minor))]


def _cup_body(rng) -> tuple[list[Part], float, float]:
    r, h = _u(rng, 0.35, 0.5), _u(rng, 0.8, 1.1)
    body = (0, prim.cylinder_area(r, h, caps=1), lambda n: prim.cylinder(rng, n, r, h, top=False))
    return [body], r, h


# A mug's handle is sampled this many times as densely as its body: at its true share of
# the surface (about 7%, down to 2% of a cloud) a small network never learns to predict it.
HANDLE_DENSITY = 2.5


def _mug(rng) -> list[Part]:
    parts, r, h = _cup_body(rng)
    major, minor = _u(rng, 0.28, 0.36) * h, _u(rng, 0.05, 0.075)

    def handle(n):
        ring = prim.torus(rng, n, major, minor, arc=np.pi)  # arc in x-z, bulging to +z
        return ring[:, [2, 0, 1]] + np.array([r, h / 2, 0])  # bulge to +x, span along y

    return parts + [(1, HANDLE_DENSITY * prim.torus_area(major, minor, np.pi), handle)]


def _cup(rng) -> list[Part]:
    return _cup_body(rng)[0]


def _table(rng) -> list[Part]:
    w, d, t, legh = _u(rng, 1.2, 1.8), _u(rng, 0.7, 1.1), _u(rng, 0.05, 0.1), _u(rng, 0.7, 1.0)
    top = (w, t, d)
    inset, leg = _u(rng, 0.05, 0.15), _u(rng, 0.06, 0.11)
    corners = [(sx * (w / 2 - inset), sz * (d / 2 - inset)) for sx in (-1, 1) for sz in (-1, 1)]
    parts = [(0, prim.box_area(top), _moved(lambda n: prim.box(rng, n, top), (0, legh + t / 2, 0)))]
    return parts + _legs(rng, corners, leg, legh, round_legs=bool(rng.random() < 0.5))


def _stool(rng) -> list[Part]:
    r, t, legh = _u(rng, 0.4, 0.6), _u(rng, 0.05, 0.1), _u(rng, 0.7, 1.0)
    seat = (
        0,
        prim.cylinder_area(r, t),
        _moved(lambda n: prim.cylinder(rng, n, r, t), (0, legh, 0)),
    )
    spin = _u(rng, 0, 2 * np.pi)
    corners = [(0.8 * r * np.cos(spin + a), 0.8 * r * np.sin(spin + a)) for a in (0, 2.094, 4.189)]
    return [seat] + _legs(rng, corners, _u(rng, 0.06, 0.1), legh, round_legs=True)


def _chair(rng) -> list[Part]:
    w, t, legh = _u(rng, 0.8, 1.0), _u(rng, 0.05, 0.09), _u(rng, 0.45, 0.6)
    seat_dims = (w, t, w)
    back_dims = (w, _u(rng, 0.6, 0.9), t)
    leg = _u(rng, 0.06, 0.1)
    corners = [(sx * (w / 2 - leg), sz * (w / 2 - leg)) for sx in (-1, 1) for sz in (-1, 1)]
    back_y = legh + t + back_dims[1] / 2
    return [
        (
            0,
            prim.box_area(seat_dims),
            _moved(lambda n: prim.box(rng, n, seat_dims), (0, legh + t / 2, 0)),
        ),
        (
            0,
            prim.box_area(back_dims),
            _moved(lambda n: prim.box(rng, n, back_dims), (0, back_y, -w / 2 + t / 2)),
        ),
    ] + _legs(rng, corners, leg, legh, round_legs=False)


def _lamp(rng) -> list[Part]:
    base_r, base_h = _u(rng, 0.3, 0.45), _u(rng, 0.05, 0.1)
    pole_r, pole_h = _u(rng, 0.025, 0.045), _u(rng, 0.8, 1.3)
    shade_bottom, shade_top, shade_h = _u(rng, 0.35, 0.5), _u(rng, 0.12, 0.25), _u(rng, 0.3, 0.45)
    shade_y = base_h + pole_h - shade_h * _u(rng, 0.3, 0.7)
    return [
        (0, prim.cylinder_area(base_r, base_h), lambda n: prim.cylinder(rng, n, base_r, base_h)),
        (
            1,
            prim.cylinder_area(pole_r, pole_h, caps=0),
            _moved(
                lambda n: prim.cylinder(rng, n, pole_r, pole_h, bottom=False, top=False),
                (0, base_h, 0),
            ),
        ),
        (
            2,
            np.pi * (shade_bottom + shade_top) * shade_h,
            _moved(
                lambda n: prim.cylinder(
                    rng, n, shade_bottom, shade_h, bottom=False, top=False, top_radius=shade_top
                ),
                (0, shade_y, 0),
            ),
        ),
    ]


def _rocket(rng) -> list[Part]:
    r, h = _u(rng, 0.18, 0.28), _u(rng, 1.4, 2.0)
    nose_h, nozzle_h = _u(rng, 0.3, 0.6), _u(rng, 0.12, 0.25)
    fin_len, fin_h = _u(rng, 0.3, 0.5), _u(rng, 0.3, 0.5)
    num_fins = int(rng.integers(3, 5))
    open_tube = dict(bottom=False, top=False)
    parts: list[Part] = [
        (0, prim.cylinder_area(r, h, caps=0), lambda n: prim.cylinder(rng, n, r, h, **open_tube)),
        (
            1,
            np.pi * r * np.hypot(r, nose_h),
            _moved(
                lambda n: prim.cylinder(rng, n, r, nose_h, top_radius=0.0, **open_tube), (0, h, 0)
            ),
        ),
        (
            3,
            2 * np.pi * 1.4 * r * nozzle_h,  # twice as dense: the nozzle is a small part
            _moved(
                lambda n: prim.cylinder(rng, n, 0.7 * r, nozzle_h, top_radius=0.8 * r, **open_tube),
                (0, -nozzle_h, 0),
            ),
        ),
    ]
    for i in range(num_fins):
        parts.append(
            (
                2,
                2 * prim.fin_area(fin_len, fin_h) / num_fins * 3,  # thin: twice as dense
                # Right angle on the body at its base; the hypotenuse slopes outwards.
                _moved(
                    lambda n: prim.fin(rng, n, fin_len, fin_h),
                    (r, 0, 0),
                    angle=2 * np.pi * i / num_fins,
                ),
            )
        )
    return parts


CLASS_RECIPES: dict[str, Callable[[np.random.Generator], list[Part]]] = {
    "sphere": _sphere,
    "ellipsoid": _ellipsoid,
    "box": _box,
    "cylinder": _cylinder,
    "cone": _cone,
    "torus": _torus,
    "mug": _mug,
    "cup": _cup,
    "table": _table,
    "stool": _stool,
    "chair": _chair,
    "lamp": _lamp,
    "rocket": _rocket,
}
CLASS_NAMES = tuple(CLASS_RECIPES)

# Part categories: (name, synset-like id, part names); global ids run in this order.
PART_CATEGORIES = (
    ("Mug", "90000001", ("body", "handle")),
    ("Table", "90000002", ("top", "leg")),
    ("Lamp", "90000003", ("base", "pole", "shade")),
    ("Rocket", "90000004", ("body", "nose", "fin", "nozzle")),
)
_PART_RECIPES = {"Mug": _mug, "Table": _table, "Lamp": _lamp, "Rocket": _rocket}


def sample_object(
    rng: np.random.Generator, parts: list[Part], num_points: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sample, pose and normalise one object.

    Points go to parts by area times a random per-part density, then a random density
    gradient across the object thins one side; a random yaw, a small tilt, anisotropic
    scale and Gaussian noise follow; the cloud is centred and scaled into the unit sphere.

    Shapes:
        -> points (num_points, 3) float32, local part index (num_points,) int64
    """
    weights = np.array([area * rng.uniform(0.6, 1.6) for _, area, _ in parts])
    candidates = 2 * num_points
    counts = rng.multinomial(candidates - len(parts), weights / weights.sum()) + 1
    pts = np.concatenate([fn(c) for (_, _, fn), c in zip(parts, counts, strict=True)])
    labels = np.repeat([local for local, _, _ in parts], counts)
    direction = rng.normal(size=3)
    score = pts @ (direction / np.linalg.norm(direction)) * rng.uniform(0.0, 1.5)
    keep_prob = np.exp(score - score.max())
    keep = rng.choice(candidates, num_points, replace=False, p=keep_prob / keep_prob.sum())
    pts, labels = pts[keep], labels[keep]
    yaw, tilt_x, tilt_z = rng.uniform(0, 2 * np.pi), *rng.normal(0, 0.08, size=2)
    rot_x = np.array(
        [[1, 0, 0], [0, np.cos(tilt_x), -np.sin(tilt_x)], [0, np.sin(tilt_x), np.cos(tilt_x)]]
    )
    rot_z = np.array(
        [[np.cos(tilt_z), -np.sin(tilt_z), 0], [np.sin(tilt_z), np.cos(tilt_z), 0], [0, 0, 1]]
    )
    pts = _rotate_y(pts, yaw) @ rot_x @ rot_z * rng.uniform(0.85, 1.15, size=3)
    pts = pts + rng.normal(0, 0.006 * np.abs(pts).max(), size=pts.shape)
    pts = pts - pts.mean(axis=0)
    pts = pts / np.linalg.norm(pts, axis=1).max()
    return pts.astype(np.float32), labels.astype(np.int64)


@dataclass(frozen=True)
class SyntheticConfig:
    """What a generated release depends on; stored beside it to validate the cache."""

    seed: int = 0
    num_points: int = 2048
    cls_train_per_class: int = 160
    cls_test_per_class: int = 40
    parts_train_per_category: int = 240
    parts_val_per_category: int = 40
    parts_test_per_category: int = 60


def _generate_cls(folder: Path, cfg: SyntheticConfig) -> None:
    splits = {}
    for offset, (split, per_class) in enumerate(
        (("train", cfg.cls_train_per_class), ("test", cfg.cls_test_per_class))
    ):
        rng = np.random.default_rng([cfg.seed, offset])
        labels = np.repeat(np.arange(len(CLASS_NAMES)), per_class)
        rng.shuffle(labels)
        points = np.stack(
            [
                sample_object(rng, CLASS_RECIPES[CLASS_NAMES[c]](rng), cfg.num_points)[0]
                for c in labels
            ]
        )
        splits[split] = (points, labels)
    write_modelnet40_layout(folder, splits, CLASS_NAMES)


def _generate_parts(folder: Path, cfg: SyntheticConfig) -> None:
    first_ids = np.cumsum([0] + [len(names) for _, _, names in PART_CATEGORIES])
    category_parts = [
        list(range(first_ids[i], first_ids[i + 1])) for i in range(len(PART_CATEGORIES))
    ]
    sizes = (
        ("train", cfg.parts_train_per_category),
        ("val", cfg.parts_val_per_category),
        ("test", cfg.parts_test_per_category),
    )
    splits = {}
    for offset, (split, per_category) in enumerate(sizes):
        rng = np.random.default_rng([cfg.seed, 100 + offset])
        cats = np.repeat(np.arange(len(PART_CATEGORIES)), per_category)
        rng.shuffle(cats)
        points, parts = [], []
        for c in cats:
            name = PART_CATEGORIES[c][0]
            pts, local = sample_object(rng, _PART_RECIPES[name](rng), cfg.num_points)
            points.append(pts)
            parts.append(first_ids[c] + local)
        splits[split] = (np.stack(points), cats, np.stack(parts))
    categories = [(name, synset) for name, synset, _ in PART_CATEGORIES]
    write_shapenetpart_layout(folder, splits, categories, category_parts)
    names = {name: list(parts) for name, _, parts in PART_CATEGORIES}
    (folder / PART_NAMES_FILE).write_text(json.dumps(names, indent=1))


_KINDS = {
    "synthetic_cls": (ModelNet40H5.folder, _generate_cls),
    "synthetic_parts": (ShapeNetPartH5.folder, _generate_parts),
}


def ensure_synthetic(root: str | Path, name: str, config: SyntheticConfig | None = None) -> Path:
    """Generate the named built-in release under ``root`` unless an identical one is cached.

    Writes into a temporary folder beside the target and renames it into place, so an
    interrupted generation never leaves a half-written release behind.

    Returns:
        the release folder (``root/modelnet40_ply_hdf5_2048`` or ``root/hdf5_data``)
    """
    if name not in _KINDS:
        raise ValueError(f"built-in dataset must be one of {sorted(_KINDS)}, got {name!r}")
    config = config or SyntheticConfig()
    folder_name, generate = _KINDS[name]
    root = Path(root).expanduser()
    target = root / folder_name
    stamp = {"generator": name, "version": GENERATOR_VERSION, **asdict(config)}
    stamp_file = target / "generator.json"
    if stamp_file.is_file() and json.loads(stamp_file.read_text()) == stamp:
        return target
    if target.exists() and not stamp_file.is_file():
        raise FileExistsError(
            f"{target} exists and was not made by pointea's generator; not overwriting it"
        )
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder_name}-", dir=root))
    try:
        generate(tmp, config)
        (tmp / "generator.json").write_text(json.dumps(stamp, indent=1))
        if target.exists():  # a stale cache of ours: replace it
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
