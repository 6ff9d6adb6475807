"""The per-segment limits of an index (bench/README.md, "The 4 GiB limits of a segment"): how many
bytes an article takes in each structure with a 32-bit bound, and the CPU of the merge policy's
choices at a commit against an earlier commit's segments.py.

    python bench/segment_limits.py INDEX [BASE_COMMIT] [REPEAT]
"""

import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from whoosh.columns import VarBytesColumn
from whoosh.index import _DEF_INDEX_NAME, TOC

from archsearch.engines.whoosh import segments
from archsearch.engines.whoosh.store import open_index


def base_segments(commit: str):
    """segments.py as of `commit`, imported beside this one."""
    source = subprocess.run(["git", "show", f"{commit}:archsearch/engines/whoosh/segments.py"],
                            capture_output=True, text=True, check=True, cwd=Path(__file__).parent).stdout
    path = Path(tempfile.mkdtemp()) / "base_segments.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("base_segments", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def per_article(ix) -> None:
    with ix.reader() as reader:
        docs = reader.doc_count_all()
        stored = sum(sum(leaf._perdoc.column_reader("_stored", VarBytesColumn())._lengths) for leaf, _ in reader.leaf_readers())
        postings, positions = (0, None), (0, None)
        for leaf, _ in reader.leaf_readers():
            for key, info in leaf._terms.items():
                positions = max(positions, (info.weight(), key))
                if not info.is_inlined():
                    length = info.extent()[1]
                    postings = max(postings, ((length[0] if isinstance(length, tuple) else length), key))
    print(f"{docs} articles; stored fields {stored / docs:,.0f} bytes an article (4 GiB at {2**32 / (stored / docs) / 1e6:,.1f} M)")
    print(f"largest postings {postings[1]}: {postings[0] / docs:,.1f} bytes an article (2 GiB at {2**31 / (postings[0] / docs) / 1e6:,.0f} M)")
    print(f"most positions {positions[1]}: {positions[0] / docs:,.1f} an article (4 G at {2**32 / (positions[0] / docs) / 1e6:,.0f} M)")


def policy_cost(ix, base, repeat: int) -> None:
    storage = ix.storage
    found = TOC.read(storage, _DEF_INDEX_NAME).segments

    def base_commit():
        return [each for each in base.tier_merges(found) if each.doc_count()][: base.MERGE_BOUND]

    def commit():
        due = segments.tier_merges(storage, found)
        return segments.fitting(storage, [each for each in due if each.doc_count()][: segments.MERGE_BOUND])

    def base_compact():
        if len(found) > 1 or any(each.has_deletions() for each in found):
            return base.compaction_pass([each.doc_count() for each in found])

    def compact():
        return segments.compaction_run(storage, found)

    assert base_commit() == commit() and base_compact() == compact()
    print(f"{len(found)} segments")
    for round in range(3):
        for name, choose in [("base commit", base_commit), ("commit", commit), ("base compact", base_compact), ("compact", compact)]:
            start = time.process_time()
            for _ in range(repeat):
                choose()
            print(round, name, f"{(time.process_time() - start) / repeat * 1e6:.1f} us")
    start = time.process_time()
    for each in found:
        segments._live_column_bytes(storage, each)
    print(f"every segment's column lengths (read past 4 GiB only): {(time.process_time() - start) * 1e3:.2f} ms")


if __name__ == "__main__":
    index = open_index(Path(sys.argv[1]))
    per_article(index)
    policy_cost(index, base_segments(sys.argv[2] if len(sys.argv) > 2 else "d3fb71b"), int(sys.argv[3]) if len(sys.argv) > 3 else 2000)
