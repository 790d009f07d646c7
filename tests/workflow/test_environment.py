"""The environment files agree: the direct pins (envs/requirements.in), the hash lock that
`make setup` installs (envs/requirements.txt), the ranges of pyproject.toml and the conda env
(envs/learndyn.yaml). Reads files only: no network, no install."""

import importlib.util
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
ENVS = REPO / "envs"
TOOLS = {"pip", "setuptools"}  # locked (every installed package is), but not dependencies of learndyn


def _conda_env_module():
    spec = importlib.util.spec_from_file_location("conda_env", ENVS / "conda_env.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def lock():
    return _conda_env_module().parse_lock((ENVS / "requirements.txt").read_text())


@pytest.fixture(scope="module")
def direct():
    """{name: version} of the exact pins in requirements.in."""
    pins = {}
    for line in (ENVS / "requirements.in").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==", f"requirements.in: not an exact pin: {line!r}"
            pins[canonicalize_name(req.name)] = spec.version
    return pins


@pytest.fixture(scope="module")
def ranges():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + [r for extra in project.get("optional-dependencies", {}).values() for r in extra]
    return {canonicalize_name(Requirement(r).name): Requirement(r).specifier for r in reqs}


def test_every_locked_package_is_an_exact_pin_with_hashes(lock):
    assert len(lock) > 50
    for name, (version, hashes) in lock.items():
        assert hashes, f"{name}=={version} has no hash"
        assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), name


def test_lock_holds_each_direct_pin_at_its_version(lock, direct):
    for name, version in direct.items():
        assert name in lock, f"{name} of requirements.in is missing from the lock: run `make lock`"
        assert SpecifierSet(f"=={version}").contains(lock[name][0]), (name, version, lock[name][0])


def test_torch_is_the_cpu_build_and_no_cuda_package_is_locked(lock):
    version, hashes = lock["torch"]
    assert version.endswith("+cpu"), version
    assert not [n for n in lock if n.startswith(("nvidia-", "cuda-", "triton"))]


def test_pyproject_ranges_cover_the_lock_and_name_every_direct_dependency(lock, direct, ranges):
    assert set(ranges) == set(direct) - TOOLS
    for name, spec in ranges.items():
        assert spec, f"pyproject.toml: {name} has no range"
        assert spec.contains(lock[name][0], prereleases=True), (name, str(spec), lock[name][0])


def test_lightning_range_excludes_the_compromised_releases(ranges):
    for bad in ("2.6.2", "2.6.3"):
        assert not ranges["pytorch-lightning"].contains(bad)


def test_conda_env_is_generated_from_the_lock():
    module = _conda_env_module()
    want = module.render((ENVS / "requirements.txt").read_text())
    assert (ENVS / "learndyn.yaml").read_text() == want, "envs/learndyn.yaml is stale: run `make lock`"


def test_conda_env_pins_every_locked_package(lock):
    yaml = pytest.importorskip("yaml")
    env = yaml.safe_load((ENVS / "learndyn.yaml").read_text())
    conda = {}
    pip = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for line in dep["pip"]:
                if not line.startswith("--"):
                    words = line.split()
                    req = Requirement(words[0])
                    pip[canonicalize_name(req.name)] = (str(req.specifier)[2:], [w.split("=", 1)[1] for w in words[1:]])
        else:
            name, _, version = dep.partition("=")
            conda[canonicalize_name(name)] = version
    for name, (version, hashes) in lock.items():
        if name in pip:
            assert pip[name] == (version, hashes), name
        else:
            assert conda.get(name) == version, f"{name}=={version} is in neither part of the conda env"
    assert conda["python"] == "3.11"


@pytest.mark.workflow
def test_snakemake_lint_finds_a_conda_env_for_every_rule():
    """`snakemake --lint` from the repository root, as a user runs it (the CLI: its --lint=json
    cannot serialise this workflow in 9.27). Lint parses the workflow only: it runs no job."""
    import subprocess
    import sys

    smk = Path(sys.executable).parent / "snakemake"
    proc = subprocess.run(
        [str(smk), "--lint", "--configfile", "config/smoke.yaml"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    out = proc.stdout + proc.stderr
    # exit 1 = lints printed (the remaining ones are about code layout), 0 = none; anything else failed
    assert proc.returncode in (0, 1) and "Exception" not in out and "Error" not in out, out[-3000:]
    assert "Specify a conda environment" not in out, out[-3000:]
