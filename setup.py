"""Install entry for pointea: `pip install -c constraints.txt -e .[dev]`.

The one place for the package's metadata, requirements and extras (pyproject.toml holds
only tool settings). The version is read from pointea/__init__.py, where
`pointea.__version__` states it.
"""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(
    r'^__version__ = "([^"]+)"', (HERE / "pointea" / "__init__.py").read_text(), flags=re.M
).group(1)
EXPORT = ["onnx>=1.15", "onnxruntime>=1.17"]

setup(
    name="pointea",
    version=VERSION,
    description="Point-cloud transformers with external attention: models, data pipelines, training.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["pointea", "pointea.*"]),
    # The Hydra configs travel inside the package: installed console scripts compose them.
    package_data={"pointea.configs": ["*.yaml", "*/*.yaml", "*/*/*.yaml"]},
    install_requires=[
        "torch>=2.1",
        "torch-geometric>=2.4",
        "open3d>=0.18",
        "h5py>=3.8",
        "numpy",
        "pyarrow>=14",  # C CSV reader: the text releases are ingested by it (data/text_table.py)
        "pytorch-lightning>=2.1",
        "torchmetrics>=1.0",
        "hydra-core>=1.3",
        "omegaconf>=2.3",
        "matplotlib>=3.7",
        "rich>=13",
        "pooch>=1.7",
        "tensorboard>=2.12",
    ],
    extras_require={
        "export": EXPORT,  # ONNX export and running exported models
        # The export tests run rather than skip; setuptools>=70.1 builds wheels (tests/test_wheel.py).
        "dev": ["pytest>=7", "ruff>=0.4", "setuptools>=70.1", *EXPORT],
    },
    entry_points={
        "console_scripts": [
            "pointea-train=pointea.cli.train:main",
            "pointea-visualize=pointea.cli.visualize:main",
            "pointea-predict=pointea.cli.predict:main",
            "pointea-plots=pointea.cli.plots:main",
            "pointea-export=pointea.cli.export:main",
            "pointea-report=pointea.cli.report:main",
        ]
    },
)
