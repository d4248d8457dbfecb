"""predict and load_model start without importing Lightning or torchmetrics (start-up)."""

import subprocess
import sys
from pathlib import Path

import pytest

import pointea

ROOT = Path(pointea.__file__).resolve().parents[1]


def _imported_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(done.stdout.split())


@pytest.mark.parametrize(
    "code",
    [
        "import pointea.cli.predict",
        "import pointea; pointea.load_model",
        "from pointea.data import DatasetError",
        "from pointea.tasks.checkpoint_io import load_checkpoint, CheckpointError",
    ],
)
def test_predict_imports_no_lightning(code):
    modules = _imported_after(code)
    assert "pointea" in modules  # the probe imported something
    assert "pytorch_lightning" not in modules and "lightning" not in modules, code
    assert "torchmetrics" not in modules, code


def test_lazy_exports_resolve_to_their_modules():
    import pointea.data as data
    import pointea.tasks as tasks
    from pointea.data.datamodule import PointCloudDataModule
    from pointea.tasks.atomic_checkpoint_io import AtomicCheckpointIO
    from pointea.tasks.checkpoint_io import AtomicCheckpointIO as reexported
    from pointea.tasks.part_iou import restrict_to_category
    from pointea.tasks.part_masks import restrict_to_category as moved
    from pointea.tasks.segmentation import SegmentationTask

    assert data.PointCloudDataModule is PointCloudDataModule
    assert tasks.SegmentationTask is SegmentationTask
    assert reexported is AtomicCheckpointIO and restrict_to_category is moved
    for module in (data, tasks):
        for name in module.__all__:
            assert getattr(module, name).__name__ == name
        with pytest.raises(AttributeError, match="no_such_name"):
            module.no_such_name  # noqa: B018
