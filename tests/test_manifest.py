"""The record of indexed files: a folder's files kept as columns read back exactly as written."""

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from archsearch.manifest import Entry, FolderRecord, Manifest

# File names as the operating system may hand them over: any bytes but NUL and "/", decoded with
# surrogate escapes where they are not UTF-8.
names = st.binary(min_size=1, max_size=12).map(lambda raw: os.fsdecode(raw.replace(b"\0", b"_").replace(b"/", b"_")))
records = st.tuples(
    st.integers(0, 2**62),
    st.integers(-(2**62), 2**62),
    st.text("0123456789abcdef", min_size=64, max_size=64),
    st.none() | st.text(max_size=20),
)


@settings(deadline=None)  # machines shared with benchmarks
@given(st.dictionaries(names, records, max_size=20))
def test_a_folder_record_is_read_back_as_written(files):
    record = FolderRecord.decode(*FolderRecord.from_files(files).encode())
    assert record.files() == files
    assert record.indexed == sum(1 for entry in files.values() if entry[3] is None)
    assert record.same_as(sorted(files), [files[name][0] for name in sorted(files)],
                          [files[name][1] for name in sorted(files)])


@settings(deadline=None)
@given(st.dictionaries(names, records, min_size=1, max_size=8), st.data())
def test_a_folder_differing_in_one_file_is_not_the_same(files, data):
    record = FolderRecord.from_files(files)
    names_, sizes, mtimes = sorted(files), list(record.sizes), list(record.mtimes)
    position = data.draw(st.integers(0, len(names_) - 1))
    column = data.draw(st.sampled_from(["size", "mtime", "gone"]))
    if column == "size":
        sizes[position] += 1
    elif column == "mtime":
        mtimes[position] += 1
    else:
        del names_[position], sizes[position], mtimes[position]
    assert not record.same_as(names_, sizes, mtimes)


def test_changes_are_recorded_folder_by_folder(tmp_path):
    manifest = Manifest(tmp_path / "record.sqlite")
    try:
        root = str(tmp_path / "corpus")
        first = {f"{root}/a/{name}": Entry(root, size, 10 + size, f"{size:064x}") for size, name in enumerate("xyz")}
        manifest.replace(1, first.items())
        manifest.record(2, {f"{root}/b/new": Entry(root, 7, 8, "f" * 64, "empty")}, [f"{root}/a/y"])
        assert manifest.generation == 2
        assert manifest.entries(root) == {
            f"{root}/a/x": first[f"{root}/a/x"],
            f"{root}/a/z": first[f"{root}/a/z"],
            f"{root}/b/new": Entry(root, 7, 8, "f" * 64, "empty"),
        }
        assert manifest.indexed_count() == 2
    finally:
        manifest.close()
