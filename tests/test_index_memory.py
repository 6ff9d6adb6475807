"""What indexing keeps in memory (issue 15: peak memory at 1M under 1 GiB): measured in bench/
(index_memory.py), checked here by what the code holds and when, never by timing or RSS."""

from archsearch.engines.whoosh import postings_arrays
from archsearch.engines.whoosh.segments import encode_positions
from archsearch.schema import build_schema


class FakeSegment:
    def segment_id(self):
        return "MAIN_fake"

    def make_filename(self, extension):
        return self.segment_id() + extension


def test_a_sidecar_writer_remembers_only_single_positions(tmp_path):
    # A segment's frequent terms hold millions of distinct positions: kept, they were 70 MiB of
    # a worker's memory at 10,000 articles, while the single positions are what recurs.
    writer = postings_arrays.SidecarWriter(str(tmp_path), FakeSegment(), build_schema())
    positions = [[3], [1, 4, 8], [2], [0, 7], [3]]
    writer.add("body", b"word", [0, 1, 2, 3, 4], [1.0, 3.0, 1.0, 2.0, 1.0], list(map(encode_positions, positions)))
    writer.add("body", b"other", [5, 6], [2.0, 1.0], [encode_positions([1, 4, 8]), encode_positions([2])])
    assert sorted(map(postings_arrays.decode_positions, writer._decoded)) == [[2], [3]]
    writer.finish(10)
