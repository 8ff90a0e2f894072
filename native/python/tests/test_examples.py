"""The Python examples (Annoy's quick start, and an on-disk build served from another
process) run as written, with only `from grove import AnnoyIndex` for the import."""
import ast
import json
import pathlib
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def run(script, *args, cwd):
    return subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=cwd, check=True,
                          capture_output=True, text=True).stdout


def test_quick_start(tmp_path):
    out = run("quick_start.py", cwd=tmp_path)
    neighbours = ast.literal_eval(out.strip())
    assert len(neighbours) == 1000 and neighbours[0] == 0 and sorted(neighbours) == list(range(1000))
    assert (tmp_path / "test.ann").exists()


def test_on_disk_build_then_load_in_another_process(tmp_path):
    run("on_disk_build.py", "build", cwd=tmp_path)
    assert not list(tmp_path.glob("big.ann.building-*"))
    items, neighbours = run("on_disk_build.py", "query", cwd=tmp_path).split(" ", 1)
    assert int(items) == 5000
    ids = ast.literal_eval(neighbours.strip())
    assert ids[0] == 0 and len(ids) == 10


def test_readme_python_quick_start_runs_as_pasted(tmp_path):
    # The README's first Python block, exactly as a user would paste it.
    readme = (pathlib.Path(__file__).resolve().parents[3] / "README.md").read_text()
    block = readme.split("```python\n", 1)[1].split("```", 1)[0]
    script = tmp_path / "quick_start_from_readme.py"
    script.write_text(block)
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, check=True, capture_output=True, text=True).stdout
    ids, distances = ast.literal_eval(out.strip())
    assert ids[0] == 0 and len(ids) == 10 and distances[0] == 0


def test_grove_console_script_is_the_native_cli(tmp_path):
    # pip installs `grove`, the same program as the native CLI: the same file for the same
    # seed, the same answers, the same errors.
    import numpy as np
    script = pathlib.Path(sys.executable).parent / "grove"
    assert script.exists(), "pip did not install the grove console script"
    native = pathlib.Path(__file__).resolve().parents[3] / "build" / "native" / "native" / "grove"
    data = tmp_path / "items.npy"
    np.save(data, np.random.default_rng(3).standard_normal((400, 6)).astype(np.float32))
    build = ["build", "--metric", "angular", "--trees", "4", "--seed", "11", "--quiet", str(data)]
    subprocess.run([str(script), *build, str(tmp_path / "py.ann")], check=True, capture_output=True)
    query = subprocess.run([str(script), "query", str(tmp_path / "py.ann"), "--metric", "angular", "--dim", "6",
                            "--item", "5", "-k", "3", "--json"], check=True, capture_output=True, text=True).stdout
    assert json.loads(query)["results"][0]["ids"][0] == 5
    bad = subprocess.run([str(script), "bogus"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown command 'bogus'" in bad.stderr
    if not native.exists():
        import pytest
        pytest.skip(f"no native CLI at {native} to compare with (npm test builds it)")
    subprocess.run([str(native), *build, str(tmp_path / "native.ann")], check=True, capture_output=True)
    assert (tmp_path / "py.ann").read_bytes() == (tmp_path / "native.ann").read_bytes()
