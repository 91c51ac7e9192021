"""The IDX reader and the MNIST loader, on tiny files written here and on the real ones."""

import gzip
import hashlib
import shutil

import numpy as np
import pytest

from nn_core.data import DATA_DIR, FILES, DataError, load_mnist, read_idx, scale_pixels, write_idx


def raw_sha256(path):
    return hashlib.sha256(gzip.open(path).read()).hexdigest()


@pytest.fixture
def tiny_dir(tmp_path):
    """A directory shaped like data/mnist with 5 train and 3 test images, and their checksums."""
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (5, 28, 28)), "train_labels": np.array([0, 1, 2, 3, 9]),
        "test_images": rng.integers(0, 256, (3, 28, 28)), "test_labels": np.array([4, 5, 6]),
    }
    lines = []
    for key, filename in FILES.items():
        write_idx(tmp_path / filename, arrays[key])
        lines.append(f"{raw_sha256(tmp_path / filename)}  {filename.removesuffix('.gz')}")
    (tmp_path / "SHA256SUMS.raw").write_text("\n".join(lines) + "\n")
    return tmp_path, arrays


def test_reads_tiny_files(tiny_dir):
    directory, arrays = tiny_dir
    data = load_mnist(directory)
    assert data.train_images.shape == (5, 784) and data.train_images.dtype == np.uint8
    assert np.array_equal(data.train_images, arrays["train_images"].reshape(5, 784))
    assert np.array_equal(data.test_labels, [4, 5, 6])
    image = read_idx(directory / FILES["test_images"])
    assert image.shape == (3, 28, 28)  # the header's dimensions, big-endian


def test_header_is_big_endian(tmp_path):
    path = tmp_path / "x.gz"
    with gzip.open(path, "wb") as handle:  # 2 images of 1x3, dims written big-endian by hand
        handle.write(bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]))
    assert read_idx(path).tolist() == [[[1, 2, 3]], [[4, 5, 6]]]


def test_missing_file_is_named(tiny_dir):
    directory, _ = tiny_dir
    (directory / FILES["test_labels"]).unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: file is missing"):
        load_mnist(directory)


def test_truncated_file_is_named(tiny_dir):
    directory, _ = tiny_dir
    path = directory / FILES["train_images"]
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz: not a valid gzip file or truncated"):
        load_mnist(directory)


def test_altered_file_fails_its_checksum(tiny_dir):
    directory, arrays = tiny_dir
    images = arrays["train_images"].copy()
    images[0, 0, 0] ^= 1  # one pixel, one bit
    write_idx(directory / FILES["train_images"], images)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: SHA-256 checksum mismatch: expected [0-9a-f]{64}, got [0-9a-f]{64}"):
        load_mnist(directory)


def test_bad_magic_and_bad_size_name_the_header(tmp_path):
    bad_magic = tmp_path / "magic.gz"
    with gzip.open(bad_magic, "wb") as handle:
        handle.write(bytes([0, 0, 9, 1, 0, 0, 0, 1, 7]))
    with pytest.raises(DataError, match="magic.gz: bad IDX header: magic number 0x00000901"):
        read_idx(bad_magic)
    short = tmp_path / "short.gz"
    with gzip.open(short, "wb") as handle:
        handle.write(bytes([0, 0, 8, 1, 0, 0, 0, 5, 1, 2]))  # says 5 labels, has 2
    with pytest.raises(DataError, match=r"short.gz: bad IDX size: header says shape \(5,\)"):
        read_idx(short)


def test_real_files_match_their_published_checksums(tmp_path):
    for filename in FILES.values():
        shutil.copy(DATA_DIR / filename, tmp_path / filename)
    shutil.copy(DATA_DIR / "SHA256SUMS.raw", tmp_path)
    data = load_mnist(tmp_path)
    assert data.train_images.shape == (60000, 784) and data.test_images.shape == (10000, 784)
    assert np.bincount(data.test_labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    # the published checksum list guards the real files too: a wrong digest is caught
    sums = (tmp_path / "SHA256SUMS.raw").read_text()
    (tmp_path / "SHA256SUMS.raw").write_text(sums.replace(sums[:8], "00000000", 1))
    with pytest.raises(DataError, match="checksum mismatch"):
        load_mnist(tmp_path)


def test_pixels_scale_to_unit_range(mnist):
    X_train = scale_pixels(mnist.train_images)
    assert X_train.dtype == np.float32 and X_train.shape == (60000, 784)
    assert X_train.min() == 0.0 and X_train.max() == 1.0
    assert mnist.test_labels.shape == (10000,) and set(np.unique(mnist.train_labels)) == set(range(10))


def test_shared_arrays_are_read_only(mnist):
    with pytest.raises(ValueError):
        mnist.train_images[0, 0] = 1


@pytest.mark.parametrize("line", ["0123abcd", "a" * 64 + "  name  extra", "not hex " * 8 + "  x.raw"],
                         ids=["one token", "three tokens", "not hex"])
def test_a_malformed_checksum_line_names_the_file_and_line(tiny_dir, line):
    directory, _ = tiny_dir
    sums = directory / "SHA256SUMS.raw"
    sums.write_text(sums.read_text() + line + "\n")
    with pytest.raises(DataError, match=r"SHA256SUMS\.raw, line 5: expected"):
        load_mnist(directory)


def test_a_checksum_list_that_is_not_text_names_the_file(tiny_dir):
    directory, _ = tiny_dir
    (directory / "SHA256SUMS.raw").write_bytes(b"\xff\xfe" + b"a" * 64 + b"  x\n")
    with pytest.raises(DataError, match=r"SHA256SUMS\.raw: not UTF-8 text"):
        load_mnist(directory)


def test_a_gzip_bomb_is_refused_without_unpacking_it(tiny_dir):
    import resource
    import zlib

    directory, _ = tiny_dir
    target = directory / FILES["test_labels"]
    unzip = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(2**20)
    target.write_bytes(b"".join(unzip.compress(zeros) for _ in range(512)) + unzip.flush())  # 512 MiB of zeros
    assert target.stat().st_size < 1_000_000
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: unpacks to more than 47,040,016 bytes"):
        load_mnist(directory)
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024 < 120  # not 512 MiB
