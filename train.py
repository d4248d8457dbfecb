"""Train and test pointea models: ``python train.py task=cls data=modelnet40``."""

from pointea.cli.train import main

if __name__ == "__main__":
    main()
