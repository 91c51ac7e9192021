"""Bringing your own data (#32): every format read into a DataSet, converted MNIST's way, and trained from the
command line to an accuracy measured here (the floors sit a few points below what was measured)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from nn_core.data import DataError
from nn_core.datasets import convert_image, read_dataset, write_zip_of_folders
from tests import dataset_files as files
from tests.dataset_files import SHAPES

ROOT = Path(__file__).resolve().parent.parent


def train_cli(path: Path, *flags: str) -> dict:
    """``python -m nn_core.train --data PATH --json``: the last epoch's figures."""
    result = subprocess.run([sys.executable, "-m", "nn_core.train", "--data", str(path), "--json", "--threads", "1",
                             *flags], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "Data: " in result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def digits28():
    """scikit-learn's digits converted to 28x28 by ``convert_image`` (the way a zip of them is read)."""
    images, labels = files.digits_8x8()
    return np.array([convert_image(Image.fromarray(image, "L")) for image in images]), labels


def test_convert_image_fits_20x20_centres_the_mass_and_inverts_dark_on_light():
    image = Image.new("RGB", (300, 120), (250, 248, 240))  # a photo's light page, dark ink, off centre
    ImageDraw.Draw(image).rectangle((200, 10, 260, 100), fill=(10, 10, 10))
    pixels = convert_image(image).reshape(28, 28).astype(float)
    rows, cols = np.nonzero(pixels > 20)
    assert rows.max() - rows.min() + 1 <= 21 and rows.max() - rows.min() + 1 >= 19  # the longer side: 20 px
    assert cols.max() - cols.min() + 1 < 16  # aspect kept (61 x 91 -> about 13 x 20)
    centre = np.array([(pixels.sum(1) * np.arange(28)).sum(), (pixels.sum(0) * np.arange(28)).sum()]) / pixels.sum()
    assert np.allclose(centre, 13.5, atol=0.6)
    assert pixels[0, 0] == 0 and pixels.max() == 255  # white ink on black


def test_a_large_jpeg_photo_of_a_drawing_is_read_from_its_reduced_decoding():
    photo = Image.new("RGB", (3000, 2000), (200, 195, 180))  # a 6 MP photo of a grey page
    ImageDraw.Draw(photo).ellipse((1200, 600, 1800, 1400), outline=(30, 30, 30), width=60)
    blob = files.zip_of({"a/1.jpg": jpeg(photo), "a/2.png": files.png(Image.new("L", (9, 9))),
                         "b/1.png": files.png(Image.new("L", (9, 9)))})
    data = read_dataset(blob, "photos.zip")
    every = np.concatenate([data.train_images, data.test_images])
    ring = every[every.sum(axis=1).argmax()].reshape(28, 28)  # the photo (the others are blank)
    rows, cols = np.nonzero(ring > 60)
    assert rows.max() - rows.min() + 1 in (19, 20, 21) and 13 <= cols.max() - cols.min() + 1 <= 17  # 600 x 800 -> 15 x 20
    assert ring[0, 0] == 0 and ring[14, 14] < 60 and ring.max() == 255  # white ring on black, hollow


def jpeg(image: Image.Image, orientation: int = 1) -> bytes:
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = orientation  # EXIF Orientation: 6 = the camera was turned, rotate 90 degrees clockwise to view
    image.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def test_a_phone_photo_is_turned_the_way_it_was_taken():
    photo = Image.new("L", (400, 300), 230)
    ImageDraw.Draw(photo).rectangle((40, 100, 360, 140), fill=20)  # a wide bar as stored
    pixels = convert_image(Image.open(io.BytesIO(jpeg(photo, orientation=6)))).reshape(28, 28)
    rows, cols = np.nonzero(pixels > 60)
    assert rows.max() - rows.min() > 15 and cols.max() - cols.min() < 6  # shown upright: a tall bar


def test_a_28x28_image_is_kept_as_it_is_and_a_blank_one_gives_zeros():
    pixels = np.zeros((28, 28), np.uint8)
    pixels[3:9, 20:27] = 200  # off centre: a 28x28 image is MNIST's size already, not refitted
    assert np.array_equal(convert_image(Image.fromarray(pixels, "L")), pixels.reshape(784))
    assert not convert_image(Image.new("L", (50, 40), 255)).any()


def test_a_transparent_drawing_is_read_whichever_its_inks_colour():
    for ink in ((0, 0, 0, 255), (255, 255, 255, 255)):
        image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
        ImageDraw.Draw(image).ellipse((10, 10, 50, 50), outline=ink, width=5)
        pixels = convert_image(image).reshape(28, 28)
        assert pixels.max() == 255 and pixels[0, 0] == 0 and pixels[14, 14] == 0  # a white ring on black


def test_class_folders_read_with_names_sorted_others_skipped_and_a_held_out_split():
    blob = files.zip_of({"set/10/a.png": files.png(Image.new("L", (9, 9), 255)),
                         "set/2/a.png": files.png(Image.new("L", (9, 9), 128)),
                         "set/2/b.jpg": files.png(Image.new("L", (9, 9), 128)),  # a PNG named .jpg: still read
                         "set/2/notes.txt": b"x", "set/10/c.png": b"not an image",
                         "__MACOSX/set/2/._a.png": b"x", "set/.DS_Store": b"x"})
    data = read_dataset(blob, "my set.zip", seed=3)
    assert data.classes == ("2", "10") and data.name == "my set"  # numbers by value
    assert len(data.train_labels) + len(data.test_labels) == 3
    assert "3 files that are not an image skipped" in data.note and "1 unreadable image file skipped" in data.note
    assert "seed 3" in data.note


def test_write_zip_of_folders_round_trips(digits28):
    images, labels = digits28  # in scikit-learn's order, the classes interleaved
    for data in (read_dataset(files.npz_bytes(x=images[:300], y=labels[:300]), "held-out.npz"),
                 read_dataset(files.npz_bytes(x=images[:300], y=labels[:300], x_test=images[1500:],
                                              y_test=labels[1500:]), "digits.npz")):
        back = read_dataset(write_zip_of_folders(data), "back.zip")
        assert back.classes == data.classes and back.key == data.key  # the same arrays in order, classes and split
        assert np.array_equal(back.test_images, data.test_images) and np.array_equal(back.train_labels, data.train_labels)
    odd = read_dataset(files.npz_bytes(x=digits28[0][:40], y=np.arange(40) % 2, classes=np.array(["a/b", ".."])))
    assert read_dataset(write_zip_of_folders(odd)).classes == ("a_b", "_")  # no folder climbs out; order kept
    named = read_dataset(files.npz_bytes(x=images[:60], y=np.arange(60) % 3, classes=np.array(["smile", "arrow", "c"])))
    back = read_dataset(write_zip_of_folders(named), "drawn.zip")  # classes.txt keeps the order they were named in
    assert back.classes == ("smile", "arrow", "c") and back.key == named.key and "skipped" not in back.note


def test_idx_files_gzipped_or_not_in_a_zip_or_a_folder(digits28, tmp_path):
    images, labels = digits28
    train, test = (images[:1500].reshape(-1, 28, 28), labels[:1500]), (images[1500:].reshape(-1, 28, 28), labels[1500:])
    packed = read_dataset(files.idx_zip(train, test), "fashion.zip")
    assert packed.classes == ("T-shirt or top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                              "Bag", "Ankle boot")  # Fashion-MNIST's files carry no names: known by the name
    assert np.array_equal(packed.train_images, images[:1500]) and np.array_equal(packed.test_labels, labels[1500:])
    (tmp_path / "train-images-idx3-ubyte").write_bytes(files.idx_bytes(train[0], packed=False))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(files.idx_bytes(train[1], packed=False))
    folder = read_dataset(tmp_path)
    assert folder.classes == tuple("0123456789") and "held out" in folder.note
    assert len(folder.train_labels) + len(folder.test_labels) == 1500


def test_emnist_letters_transposed_labels_from_1_and_the_mapping_file():
    rng = np.random.default_rng(0)
    images = np.zeros((52, 28, 28), np.uint8)
    images[:, 2:6, 10:26] = 255  # a bar along the stored rows: a column once transposed
    labels = np.repeat(np.arange(1, 27), 2).astype(np.uint8)
    mapping = "".join(f"{k} {64 + k} {96 + k}\n" for k in range(1, 27)).encode()
    blob = files.idx_zip((images, labels), (images[:26], labels[rng.permutation(52)[:26]]), prefix="emnist-letters-",
                         extra={"emnist-letters-mapping.txt": mapping})
    data = read_dataset(blob, "letters.zip")
    assert data.classes[:2] == ("Aa", "Bb") and data.n_classes == 26
    assert data.train_labels.min() == 0 and data.train_labels.max() == 25
    assert data.train_images.reshape(-1, 28, 28)[0, 10:26, 2:6].all()  # upright
    assert "transposed" in data.note and "labels 1-26 counted from 0" in data.note
    without = read_dataset(files.idx_zip((images, labels), None, prefix="emnist-letters-"), "letters.zip")
    assert without.classes[25] == "Zz"


def test_idx_files_past_the_bounds_are_read_up_to_them(monkeypatch):
    import nn_core.dataset_idx as idx

    monkeypatch.setattr(idx, "MAX_TRAIN_IMAGES", 30)
    images, labels = np.zeros((50, 28, 28), np.uint8), (np.arange(50) % 2).astype(np.uint8)
    images[:, 5:20, 5:20] = 1
    data = read_dataset(files.idx_zip((images, labels), (images[:10], labels[:10])), "big.zip")
    assert len(data.train_labels) == 30 and "the first 30 of its 50 images" in data.note


def test_npz_and_csv(digits28):
    images, labels = digits28
    npz = read_dataset(files.npz_bytes(x=images[:300].reshape(-1, 28, 28), y=labels[:300], x_test=images[300:400],
                                       y_test=labels[300:400], classes=np.array(list("abcdefghij"))), "d.npz")
    assert npz.classes == tuple("abcdefghij") and len(npz.test_labels) == 100 and npz.note == ""
    assert np.array_equal(npz.train_images, images[:300])
    for header in (True, False):
        csv = read_dataset(files.csv_text(images[:200], labels[:200], header), "d.csv")
        assert csv.classes == tuple("0123456789") and len(csv.train_labels) + len(csv.test_labels) == 200
    assert read_dataset(files.csv_text(images[:50], labels[:50]), "no_suffix").classes  # found from the content


@pytest.fixture(scope="module")
def data_files(tmp_path_factory, digits28):
    """The four data sets the command line trains on, written as their files."""
    folder = tmp_path_factory.mktemp("data")
    images, labels = digits28
    written = {"digits.zip": files.digits_zip(), "shapes.zip": files.shapes_zip(100),
               "digits-idx.zip": files.idx_zip((images[:1500].reshape(-1, 28, 28), labels[:1500]),
                                               (images[1500:].reshape(-1, 28, 28), labels[1500:])),
               "digits.csv": files.csv_text(images, labels)}
    for name, blob in written.items():
        (folder / name).write_bytes(blob)
    shapes = read_dataset(folder / "shapes.zip")
    np.savez(folder / "shapes.npz", x=shapes.train_images, y=shapes.train_labels, x_test=shapes.test_images,
             y_test=shapes.test_labels, classes=np.array(shapes.classes))
    return folder


# name, flags, measured test accuracy (python -m nn_core.train --data FILE --json --threads 1 FLAGS), floor
# (the digits' IDX test split is the last 297 images, other writers than the first 1,500's: harder than a random
# held-out 20%; the CSV holds the same converted images as the zip, so trains to the same figure)
TRAINED = [
    ("digits.zip", ("--epochs", "9"), 0.9554, 0.92),
    ("digits-idx.zip", ("--epochs", "9"), 0.8822, 0.85),
    ("digits.csv", ("--epochs", "9"), 0.9554, 0.92),
    ("shapes.zip", ("--epochs", "3"), 1.0, 0.95),
    ("shapes.npz", ("--epochs", "3"), 1.0, 0.95),
]


@pytest.mark.parametrize("name, flags, measured, floor", TRAINED, ids=[t[0] for t in TRAINED])
def test_each_format_trains_from_the_command_line(data_files, name, flags, measured, floor):
    figures = train_cli(data_files / name, *flags)
    print(f"{name}: test accuracy {figures['test_accuracy']:.4f} (measured when this test was written: {measured:.4f})")
    assert figures["test_accuracy"] >= floor


def test_the_sweep_trains_every_run_on_the_data_set_and_a_saved_model_names_it(data_files, tmp_path):
    result = subprocess.run([sys.executable, "-m", "nn_core.sweep", "--data", str(data_files / "shapes.npz"),
                             "--workers", "1", "--epochs", "2", "--hidden", "16", "32", "--json"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    print("sweep on shapes.npz:", [(row["hidden_units"], row["test_accuracy"]) for row in rows])
    assert len(rows) == 2 and all(row["test_accuracy"] >= 0.9 for row in rows)  # four classes: chance is 25%
    train_cli(data_files / "shapes.npz", "--epochs", "1", "--save", str(tmp_path / "m.npz"))
    from nn_core.persist import load_model_file

    saved = load_model_file(tmp_path / "m.npz")
    assert saved.data.classes == SHAPES and saved.data.name == "shapes" and saved.model.classes == 4


def test_a_bad_file_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(files.zip_of({"../x/1.png": b"", "x/2.png": b""}))
    for path in (bad, tmp_path / "missing.zip"):
        result = subprocess.run([sys.executable, "-m", "nn_core.train", "--data", str(path)], cwd=ROOT,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 2 and result.stdout == ""
        assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: "), result.stderr


def test_refusals_are_data_errors_of_one_sentence():
    with pytest.raises(DataError, match="a single IDX file"):
        read_dataset(files.idx_bytes(np.zeros((2, 28, 28))), "train-images-idx3-ubyte.gz")
    with pytest.raises(DataError, match="not a format the lab reads"):
        read_dataset(b"hello", "x.bin")


def test_the_sweep_refuses_a_bad_data_file_with_status_2_and_one_line(tmp_path):
    bad = tmp_path / "one.zip"
    bad.write_bytes(files.zip_of({"only/1.png": files.png(Image.new("L", (5, 5), 255))}))
    result = subprocess.run([sys.executable, "-m", "nn_core.sweep", "--data", str(bad), "--workers", "1"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == "error: a data set has 2 to 62 classes, this one has 1"
