"""Folders of a user's own labelled files in mixed formats and sizes, written with numpy and
plain text (and Open3D's own PLY writer where a .ply is the point)."""

import numpy as np


def cloud(rng, count):
    """A cloud with extent, not centred or scaled (the reader normalises it)."""
    return rng.normal(size=(count, 3)) * [3.0, 1.0, 0.5] + [10.0, -4.0, 2.0]


def normalised(points):
    """Centred on the centroid, scaled into the unit sphere: written out independently."""
    centred = points - points.mean(axis=0)
    return centred / np.sqrt((centred**2).sum(axis=1)).max()


def write_ascii_ply(path, points, labels=None):
    lines = ["ply", "format ascii 1.0", f"element vertex {len(points)}",
             "property float x", "property float y", "property float z"]  # fmt: skip
    if labels is not None:
        lines.append("property int label")
    lines.append("end_header")
    for i, p in enumerate(points):
        lines.append(" ".join(f"{v:.6f}" for v in p) + ("" if labels is None else f" {labels[i]}"))
    path.write_text("\n".join(lines) + "\n")


def write_off_cube(path):
    v = [(x, y, z) for x in (0, 1) for y in (0, 1) for z in (0, 1)]
    faces = [(0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5), (0, 4, 5), (0, 5, 1),
             (2, 3, 7), (2, 7, 6), (0, 2, 6), (0, 6, 4), (1, 5, 7), (1, 7, 3)]  # fmt: skip
    text = ["OFF", f"{len(v)} {len(faces)} 0", *(" ".join(map(str, p)) for p in v)]
    text += [f"3 {a} {b} {c}" for a, b, c in faces]
    path.write_text("\n".join(text) + "\n")


def write_class_folder(root, rng, per_class=5, classes=("mug", "bowl", "vase"), sizes=(40, 64, 90)):
    """root/<class>/: .npy, comma .txt, .xyz, ascii .ply of mixed sizes, one .off mesh per
    class; returns {relative path: points as written} for the clouds."""
    written = {}
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            points = cloud(rng, sizes[i % len(sizes)])
            kind = i % 4
            rel = f"{c}/{c}_{i}." + ("npy", "txt", "xyz", "ply")[kind]
            if kind == 0:
                np.save(root / rel, points)
            elif kind == 1:
                (root / rel).write_text("\n".join(",".join(f"{v:.6f}" for v in p) for p in points))
            elif kind == 2:
                np.savetxt(root / rel, points, fmt="%.6f")
            else:
                write_ascii_ply(root / rel, points)
            written[rel] = np.loadtxt(root / rel, delimiter=",") if kind == 1 else points
        write_off_cube(root / c / f"{c}_mesh.off")
    return written


def write_part_folder(root, rng, per_category=4, table=(("chair", (0, 1, 2)), ("lamp", (3, 4)))):
    """root/<category>/: 4-column .txt, 7-column .npy, 4-column .pts, labelled ascii .ply;
    returns {relative path: (points, labels)}."""
    written = {}
    for name, parts in table:
        (root / name).mkdir(parents=True)
        for i in range(per_category):
            count = (50, 64, 77)[i % 3]
            points, labels = cloud(rng, count), rng.choice(parts, count)
            labels[: len(parts)] = parts  # every part occurs
            kind = i % 4
            rel = f"{name}/{name}_{i}." + ("txt", "npy", "pts", "ply")[kind]
            if kind == 0:
                np.savetxt(root / rel, np.c_[points, labels], fmt="%.6f")
            elif kind == 1:
                np.save(root / rel, np.c_[points, rng.normal(size=(count, 3)), labels])
            elif kind == 2:
                np.savetxt(root / rel, np.c_[points, labels], fmt="%.6f")
            else:
                write_ascii_ply(root / rel, points, labels)
            written[rel] = (np.loadtxt(root / rel)[:, :3] if kind in (0, 2) else points, labels)
    return written
