"""Finding a file's documents by its key in the segments whose keys span it (engines/whoosh/keys.py)."""

import json

import pytest
from whoosh.reading import TermNotFound

from archsearch.engines.whoosh import keys
from archsearch.engines.whoosh.keys import documents_of, field_span
from archsearch.engines.whoosh.segment_terms import read_segment_terms
from archsearch.engines.whoosh.store import index_searcher
from archsearch.indexing import update_index
from conftest import wire, write_corpus


def articles(count: int, start: int = 0) -> dict[str, str]:
    return {
        f"{number // 10:02d}/{'é' if number % 7 == 0 else ''}story{number:03d}.txt": wire(
            "2017-02-07", "MOSCOW, February 7. /TASS/.", f"Story {number} about ministers and talks number {number}."
        )
        for number in range(start, start + count)
    }


def whoosh_documents(reader, fieldname: str, text: str, also=None) -> list[int]:
    """Whoosh's own lookup through the multi-segment reader: a probe in every segment."""
    try:
        found = set(reader.postings(fieldname, text).all_ids())
        if also is not None:
            found &= set(reader.postings(*also).all_ids())
    except TermNotFound:
        return []
    return sorted(found)


def refused(*args, **kwargs):
    raise AssertionError("a key looked up through Whoosh's postings")


@pytest.mark.parametrize("read_directly", [False, True], ids=["whoosh", "read directly"])
@pytest.mark.parametrize("span_after_probes", [0, 10**9], ids=["spans", "probes"])
def test_a_key_is_found_as_whoosh_finds_it_after_updates_deletions_and_records(tmp_path, monkeypatch, span_after_probes, read_directly):
    monkeypatch.setattr(keys, "SPAN_AFTER_PROBES", span_after_probes)
    corpus = write_corpus(tmp_path / "corpus", articles(30))
    records = "".join(json.dumps({"title": f"record {n}", "text": f"Record {n} of the feed about talks."}) + "\n" for n in range(3))
    (corpus / "05").mkdir()
    (corpus / "05" / "feed.jsonl").write_text(records, encoding="utf-8")
    index_dir = tmp_path / "index"
    update_index(index_dir, [str(corpus)], commit_every=10)
    # Later segments: files changed, removed and added all over the key order.
    write_corpus(corpus, {name: text + " Changed." for name, text in articles(30).items() if name.endswith(("3.txt", "7.txt"))})
    for name in list(articles(30))[::9]:
        (corpus / name).unlink()
    write_corpus(corpus, articles(6, start=100))
    update_index(index_dir, [str(corpus)], commit_every=4)
    with index_searcher(index_dir) as searcher:
        reader = searcher.reader()
        assert len(list(reader.leaf_readers())) > 2
        wanted = {fields["key"] for fields in reader.all_stored_fields()} | {"no/such/file.txt", "00/story000.txt", ""}
        feed = next(key for key in wanted if key.endswith("feed.jsonl"))
        records = {fields.get("record") for fields in reader.all_stored_fields()} - {None}
        expected = {key: whoosh_documents(reader, "key", key) for key in wanted}
        expected_records = {record: whoosh_documents(reader, "key", feed, ("record", record)) for record in records}
        assert all(len(found) == 1 for found in expected_records.values())
        if read_directly:  # as the server prepares them (segment_terms.py): Whoosh's postings not asked
            for leaf, _ in reader.leaf_readers():
                read_segment_terms(leaf)
                monkeypatch.setattr(leaf, "postings", refused)
        for key in wanted:
            assert sorted(documents_of(reader, "key", key)) == expected[key], key
        for record in records:
            assert sorted(documents_of(reader, "key", feed, ("record", record))) == expected_records[record]


def test_in_a_fresh_build_each_key_is_in_the_span_of_one_segment_only(tmp_path):
    index_dir = tmp_path / "index"
    update_index(index_dir, [str(write_corpus(tmp_path / "corpus", articles(40)))], commit_every=10)
    with index_searcher(index_dir) as searcher:
        reader = searcher.reader()
        leaves = [leaf for leaf, _ in reader.leaf_readers()]
        assert len(leaves) == 4
        for fields in reader.all_stored_fields():
            wanted = fields["key"].encode("utf-8")
            spans = [field_span(leaf, "key") for leaf in leaves]
            assert sum(first <= wanted <= last for first, last in spans) == 1, fields["key"]


def test_a_segment_span_is_read_only_once_probing_it_has_cost_as_much(tmp_path, monkeypatch):
    index_dir = tmp_path / "index"
    update_index(index_dir, [str(write_corpus(tmp_path / "corpus", articles(20)))], commit_every=10)
    read = []
    real_read = keys._read_span
    monkeypatch.setattr(keys, "_read_span", lambda leaf, fieldname: read.append(fieldname) or real_read(leaf, fieldname))
    with index_searcher(index_dir) as searcher:
        reader = searcher.reader()
        wanted = sorted(fields["key"] for fields in reader.all_stored_fields())
        for key in wanted[: keys.SPAN_AFTER_PROBES]:
            assert len(list(documents_of(reader, "key", key))) == 1
        assert read == []
        assert len(list(documents_of(reader, "key", wanted[-1]))) == 1
        assert read == ["key", "key"]  # each of the two segments, once
        assert len(list(documents_of(reader, "key", wanted[0]))) == 1
        assert read == ["key", "key"]
