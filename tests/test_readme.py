"""The README's commands and example must keep working as written."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def fenced(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_python_example_runs(tmp_path):
    (example,) = fenced("python")
    script = tmp_path / "example.py"
    script.write_text(example)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "class logits (2, 40)" in done.stdout
    assert "part logits (1, 2048, 50)" in done.stdout


def test_ci_runs_the_readme_test_command():
    commands = [
        line.split("#")[0].strip() for block in fenced("bash") for line in block.splitlines()
    ]
    assert "make test" in commands
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, flags=re.M)


def test_every_readme_make_target_exists():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([\w-]+):", makefile, flags=re.M))
    used = set(re.findall(r"`?make ([\w-]+)`?", README))
    assert used and used <= targets, used - targets
