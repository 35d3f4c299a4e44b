"""Loaders for user files: CSV, .npz and MNIST-format IDX files written by the tests themselves."""
import gzip
import struct

import numpy as np
import pytest

from annie import data
from annie.errors import ConfigError, DataError, SerializationError


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# ---- CSV -----------------------------------------------------------------------------------

def test_csv_target_by_name_index_and_default(tmp_path):
    path = _write(tmp_path / "t.csv", "a,b,label\n1,2.5,0\n3,4,1\n\n5,6e-1,2\n")
    X, y = data.load_csv(path, target="label")
    np.testing.assert_array_equal(X, np.array([[1, 2.5], [3, 4], [5, 0.6]], dtype=np.float32))
    assert X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(y, [0, 1, 2])
    X_first, y_first = data.load_csv(path, target=0)
    np.testing.assert_array_equal(X_first, np.array([[2.5, 0], [4, 1], [0.6, 2]], np.float32))
    np.testing.assert_array_equal(y_first, [1, 3, 5])
    X_last, y_last = data.load_csv(path)  # default: the last column
    np.testing.assert_array_equal(X_last, X)
    np.testing.assert_array_equal(y_last, y)


def test_csv_float_target_regression_and_forced_dtype(tmp_path):
    path = _write(tmp_path / "r.csv", "x,y\n1,0.5\n2,1.5\n")
    X, y = data.load_csv(path, target="y")
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, [0.5, 1.5])
    path = _write(tmp_path / "w.csv", "x,y\n1,10\n2,20\n")
    _, y = data.load_csv(path, target="y", target_dtype="float32")
    assert y.dtype == np.float32
    with pytest.raises(DataError, match="non-integer"):
        data.load_csv(tmp_path / "r.csv", target="y", target_dtype="int64")
    with pytest.raises(ConfigError, match="target_dtype"):
        data.load_csv(path, target_dtype="int8")


def test_csv_text_labels_become_sorted_class_indices(tmp_path):
    path = _write(tmp_path / "flowers.csv", "len,kind\n1.0,virginica\n2.0,setosa\n3.0,virginica\n")
    X, y, classes = data.load_csv(path, target="kind", return_classes=True)
    assert classes == ["setosa", "virginica"]
    np.testing.assert_array_equal(y, [1, 0, 1])
    assert y.dtype == np.int64 and X.shape == (3, 1)


def test_csv_no_header_whitespace_and_no_target(tmp_path):
    path = _write(tmp_path / "plain.txt", "1 2  3\n4\t5 6\n")
    X, y = data.load_csv(path, target=None, delimiter=None, header=False)
    assert y is None
    np.testing.assert_array_equal(X, [[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ConfigError, match="header=False"):
        data.load_csv(path, target="a", delimiter=None, header=False)


def test_csv_semicolon_and_quoted_cells(tmp_path):
    path = _write(tmp_path / "q.csv", '"x";"y"\n"1.5";"2"\n')
    X, y = data.load_csv(path, delimiter=";")
    np.testing.assert_array_equal(X, [[1.5]])
    np.testing.assert_array_equal(y, [2])


def test_csv_missing_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        data.load_csv(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a folder, not a file"):
        data.load_csv(tmp_path)


def test_csv_unknown_column_names_the_available_ones(tmp_path):
    path = _write(tmp_path / "t.csv", "alpha,beta,label\n1,2,0\n")
    with pytest.raises(ConfigError, match=r"'lable'.*did you mean 'label'.*\['alpha', 'beta', "
                                          r"'label'\]"):
        data.load_csv(path, target="lable")
    with pytest.raises(ConfigError, match="out of range for 3 columns"):
        data.load_csv(path, target=3)


def test_csv_non_numeric_cell_names_line_and_column(tmp_path):
    path = _write(tmp_path / "bad.csv", "a,b,label\n1,2,0\n3,oops,1\n")
    with pytest.raises(DataError, match=r"line 3, column 'b': cannot read 'oops'"):
        data.load_csv(path)
    path = _write(tmp_path / "empty_cell.csv", "a,b,label\n1,,0\n")
    with pytest.raises(DataError, match=r"line 2, column 'b': an empty cell"):
        data.load_csv(path)
    path = _write(tmp_path / "bad_target.csv", "a,label\n1,0\n2,zero\n")
    with pytest.raises(DataError, match=r"line 3, target column 'label': cannot read 'zero'"):
        data.load_csv(path)


def test_csv_ragged_and_empty_files(tmp_path):
    with pytest.raises(DataError, match="line 3 has 2 fields, expected 3"):
        data.load_csv(_write(tmp_path / "ragged.csv", "a,b,c\n1,2,3\n4,5\n"))
    with pytest.raises(DataError, match="is empty"):
        data.load_csv(_write(tmp_path / "empty.csv", "\n\n"))
    with pytest.raises(DataError, match="no data rows"):
        data.load_csv(_write(tmp_path / "header_only.csv", "a,b\n"))
    with pytest.raises(DataError, match="no feature columns"):
        data.load_csv(_write(tmp_path / "one.csv", "y\n1\n"))


# ---- NPZ -----------------------------------------------------------------------------------

def test_npz_round_trip_and_dtypes(tmp_path):
    X = np.arange(12, dtype=np.float64).reshape(4, 3)
    y = np.array([0, 1, 1, 0], dtype=np.int32)
    np.savez(tmp_path / "d.npz", X=X, y=y, inputs=X * 2, targets=X[:, 0])
    X_loaded, y_loaded = data.load_npz(tmp_path / "d.npz")
    assert X_loaded.dtype == np.float32 and y_loaded.dtype == np.int64
    np.testing.assert_array_equal(X_loaded, X)
    np.testing.assert_array_equal(y_loaded, y)
    X_other, y_other = data.load_npz(tmp_path / "d.npz", x_key="inputs", y_key="targets")
    assert y_other.dtype == np.float32
    np.testing.assert_array_equal(X_other, X * 2)
    X_only, none = data.load_npz(tmp_path / "d.npz", y_key=None)
    assert none is None and X_only.shape == (4, 3)


def test_npz_errors(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((3, 2)), labels=np.zeros(3))
    with pytest.raises(DataError, match=r"no array named 'y'; available: \['X', 'labels'\]"):
        data.load_npz(tmp_path / "d.npz")
    np.savez(tmp_path / "short.npz", X=np.zeros((3, 2)), y=np.zeros(2))
    with pytest.raises(DataError, match="different lengths"):
        data.load_npz(tmp_path / "short.npz")
    np.savez(tmp_path / "objects.npz", X=np.array([{"a": 1}, None], dtype=object), y=np.zeros(2))
    with pytest.raises(SerializationError, match="objects.npz"):
        data.load_npz(tmp_path / "objects.npz")
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(SerializationError, match="single array"):
        data.load_npz(tmp_path / "single.npy")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(SerializationError):
        data.load_npz(tmp_path / "junk.npz")
    with pytest.raises(DataError, match="does not exist"):
        data.load_npz(tmp_path / "missing.npz")


# ---- IDX -----------------------------------------------------------------------------------

def _idx_bytes(array: np.ndarray, type_code: int, big_endian_dtype: str) -> bytes:
    """An IDX file written by hand from the format description (independent of load_idx)."""
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(
        struct.pack(">I", size) for size in array.shape)
    return header + array.astype(big_endian_dtype).tobytes()


@pytest.mark.parametrize("type_code, dtype, big_endian", [
    (0x08, np.uint8, ">u1"), (0x09, np.int8, ">i1"), (0x0B, np.int16, ">i2"),
    (0x0C, np.int32, ">i4"), (0x0D, np.float32, ">f4"), (0x0E, np.float64, ">f8")])
def test_idx_every_type_code(tmp_path, type_code, dtype, big_endian):
    values = (np.arange(24).reshape(2, 3, 4) * (-1) ** np.arange(24).reshape(2, 3, 4))
    if dtype == np.uint8:
        values = np.abs(values) * 10
    values = values.astype(dtype)
    path = tmp_path / "a.idx"
    path.write_bytes(_idx_bytes(values, type_code, big_endian))
    loaded = data.load_idx(path)
    assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, values)


def test_idx_gzip_and_mnist_pair(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    (tmp_path / "images.idx3-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(images, 0x08, ">u1")))
    (tmp_path / "labels.idx1-ubyte").write_bytes(_idx_bytes(labels, 0x08, ">u1"))
    X, y = data.load_mnist_idx(tmp_path / "images.idx3-ubyte.gz", tmp_path / "labels.idx1-ubyte")
    assert X.shape == (5, 12) and X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(X, images.reshape(5, 12) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, labels)
    X_raw, _ = data.load_mnist_idx(tmp_path / "images.idx3-ubyte.gz",
                                   tmp_path / "labels.idx1-ubyte", flatten=False, scale=False)
    np.testing.assert_array_equal(X_raw, images)


def test_idx_errors(tmp_path):
    good = _idx_bytes(np.arange(6, dtype=np.uint8).reshape(2, 3), 0x08, ">u1")
    path = tmp_path / "f.idx"
    path.write_bytes(good[:-1])
    with pytest.raises(SerializationError, match=r"truncated: shape \(2, 3\).*needs 18 bytes, the "
                                                 r"file has 17"):
        data.load_idx(path)
    path.write_bytes(good[:6])
    with pytest.raises(SerializationError, match="truncated: its header declares 2 dimensions"):
        data.load_idx(path)
    path.write_bytes(good + b"\x00")
    with pytest.raises(SerializationError, match="longer than its header says"):
        data.load_idx(path)
    path.write_bytes(b"\x01\x00" + good[2:])
    with pytest.raises(SerializationError, match="not an IDX file"):
        data.load_idx(path)
    path.write_bytes(b"\x00\x00\x0a" + good[3:])
    with pytest.raises(SerializationError, match="unknown IDX type code 0x0A"):
        data.load_idx(path)
    path.write_bytes(b"\x00\x00")
    with pytest.raises(SerializationError, match="too short"):
        data.load_idx(path)
    with pytest.raises(DataError, match="does not exist"):
        data.load_idx(tmp_path / "missing.idx")


def test_mnist_pair_mismatch(tmp_path):
    (tmp_path / "images").write_bytes(_idx_bytes(np.zeros((3, 2, 2), np.uint8), 0x08, ">u1"))
    (tmp_path / "labels").write_bytes(_idx_bytes(np.zeros(2, np.uint8), 0x08, ">u1"))
    with pytest.raises(DataError, match="3 images but 2 labels"):
        data.load_mnist_idx(tmp_path / "images", tmp_path / "labels")
    with pytest.raises(DataError, match="must hold a 3-D array"):
        data.load_mnist_idx(tmp_path / "labels", tmp_path / "labels")


# ---- the fast parser and the careful reader agree --------------------------------------------

def test_fast_and_careful_readings_give_the_same_table(tmp_path):
    rows = np.random.default_rng(0).normal(size=(50, 3)).round(5)
    labels = np.array(["a", "b, quoted", "c"])[np.arange(50) % 3]
    plain = "x,y,z,label\n" + "".join(f"{a},{b},{c},{label.replace(', ', '-')}\n"
                                      for (a, b, c), label in zip(rows, labels))
    careful = "x,y,z,label\n  \n" + "".join(f'{a},"{b}",{c},"{label}"\n'
                                            for (a, b, c), label in zip(rows, labels))
    X_fast, y_fast, classes_fast = data.load_csv(_write(tmp_path / "fast.csv", plain),
                                                 return_classes=True)
    X_careful, y_careful, classes_careful = data.load_csv(
        _write(tmp_path / "careful.csv", careful), return_classes=True)
    np.testing.assert_array_equal(X_fast, rows.astype(np.float32))
    np.testing.assert_array_equal(X_careful, X_fast)
    np.testing.assert_array_equal(y_careful, y_fast)
    assert classes_careful == ["a", "b, quoted", "c"] and classes_fast == ["a", "b-quoted", "c"]


def test_a_bad_cell_deep_in_a_large_file_is_located(tmp_path):
    values = np.arange(30000, dtype=np.float64).reshape(10000, 3)
    lines = ["a,b,c"] + [f"{a:g},{b:g},{c:g}" for a, b, c in values]
    lines[7001] = "1,x7,2"
    with pytest.raises(DataError, match=r"line 7002, column 'b': cannot read 'x7'"):
        data.load_csv(_write(tmp_path / "big.csv", "\n".join(lines) + "\n"))
    lines[7001] = "1,2"
    with pytest.raises(DataError, match=r"line 7002 has 2 fields, expected 3"):
        data.load_csv(_write(tmp_path / "big.csv", "\n".join(lines) + "\n"))


def test_a_header_of_numbers_is_recognised_as_data(tmp_path):
    from annie.data.files import CSVTable
    table = CSVTable(_write(tmp_path / "t.csv", "1.5,2,0\n3,4,1\n"))
    assert table.header_looks_like_data and len(table) == 1
    assert not CSVTable(_write(tmp_path / "h.csv", "a,2,c\n3,4,1\n")).header_looks_like_data


def test_windows_are_views_of_the_series():
    series = np.arange(100_000, dtype=np.float32)
    X, y = data.make_windows(series, window=500, horizon=3)
    assert np.shares_memory(X, series) and np.shares_memory(y, series)
    assert X.shape == (100_000 - 502, 500) and y.shape == (100_000 - 502, 3)
    np.testing.assert_array_equal(X[1234], series[1234:1734])
    np.testing.assert_array_equal(y[-1], series[-3:])
