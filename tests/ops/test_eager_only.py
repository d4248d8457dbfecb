"""kNN and FPS stay out of torch.compile graphs without importing torch._dynamo early."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

import pointea
from pointea.ops import farthest_point_sample, gather_points, knn
from pointea.ops.brute_knn import knn_torch

ROOT = Path(pointea.__file__).resolve().parents[1]


@pytest.mark.parametrize("code", ["import pointea.ops", "import pointea.cli.predict"])
def test_import_does_not_load_dynamo(code):
    probe = f"{code}\nimport sys\nprint('torch._dynamo' in sys.modules, 'sympy' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False", "False"], done.stderr


def _pipeline(xyz):
    centre_idx = farthest_point_sample(xyz, 8)
    centres = gather_points(xyz, centre_idx)
    idx = knn(centres, xyz, 4)
    return (gather_points(xyz, idx) - centres.unsqueeze(2)).square().sum(-1).sqrt()


def test_compiled_caller_breaks_the_graph_at_knn_and_fps():
    """Compiled, the caller equals eager, and dynamo skips both functions (graph breaks
    named after ``torch.compiler.disable``) instead of tracing their loops."""
    from torch import _dynamo

    xyz = torch.randn(2, 64, 3, generator=torch.Generator().manual_seed(0))
    expected = _pipeline(xyz)
    _dynamo.reset()
    explained = _dynamo.explain(_pipeline)(xyz)
    reasons = " ".join(str(b.reason) for b in explained.break_reasons)
    assert explained.graph_break_count >= 1 and "torch.compiler.disable" in reasons, reasons
    traced = {
        getattr(node.target, "__name__", str(node.target))
        for graph in explained.graphs
        for node in graph.graph.nodes
        if node.op in ("call_function", "call_method")
    }
    # Only the caller's own gathers and distances: nothing of FPS or kNN was traced.
    assert traced <= {
        "gather",
        "sub",
        "square",
        "sum",
        "sqrt",
        "unsqueeze",
        "expand",
        "reshape",
        "view",
    }, traced
    assert "gather" in traced
    _dynamo.reset()
    got = torch.compile(_pipeline, backend="eager")(xyz)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_eager_results_do_not_depend_on_dynamo_being_imported():
    """Same indices whether the call goes straight to the function or through dynamo's
    disable wrapper (in this process torch._dynamo is imported by the test above or here)."""
    xyz = torch.randn(3, 50, 3, generator=torch.Generator().manual_seed(1))
    from torch import _dynamo  # noqa: F401  (the wrapper routes through torch._dynamo.disable)

    assert torch.equal(knn(xyz, xyz, 5), knn_torch(xyz, xyz, 5))
    assert farthest_point_sample(xyz, 10)[:, 0].eq(0).all()
    assert knn.__name__ == "knn" and "Indices" in knn.__doc__
