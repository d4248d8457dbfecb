"""Install entry for pointea: `pip install -c constraints.txt -e .[dev]`."""

from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="pointea",
    version="0.1.0",
    description="Point-cloud transformers with external attention: models, data pipelines, training.",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["pointea", "pointea.*"]),
    include_package_data=True,
    install_requires=[
        "torch>=2.1",
        "torch-geometric>=2.4",
        "open3d>=0.18",
        "h5py>=3.8",
        "numpy",
        "pytorch-lightning>=2.1",
        "torchmetrics>=1.0",
        "hydra-core>=1.3",
        "omegaconf>=2.3",
        "matplotlib>=3.7",
        "rich>=13",
        "pooch>=1.7",
        "tensorboard>=2.12",
    ],
    extras_require={"dev": ["pytest>=7", "ruff>=0.4"]},
    entry_points={
        "console_scripts": [
            "pointea-train=pointea.cli.train:main",
            "pointea-visualize=pointea.cli.visualize:main",
            "pointea-predict=pointea.cli.predict:main",
            "pointea-plots=pointea.cli.plots:main",
            "pointea-report=pointea.cli.report:main",
        ]
    },
)
