import subprocess
import sys


def run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_a_query_loads_neither_urllib_request_nor_asyncio():
    loaded = run(
        "import sys, archsearch.searching, archsearch.store; "
        "print(type(sys.modules['urllib.request']).__name__, 'asyncio' in sys.modules)"
    )
    assert loaded == "_DeferredModule False"


def test_urllib_request_still_works_for_anyone_who_uses_it():
    result = run(
        "import archsearch.searching, urllib.request, sys; "
        "print(urllib.request.Request('http://example.com').host, type(sys.modules['urllib.request']).__name__)"
    )
    assert result == "example.com module"


def test_whoosh_cached_properties_work():
    result = run(
        "import tempfile; from whoosh import fields, index; "
        "import archsearch; "
        "d = tempfile.mkdtemp(); ix = index.create_in(d, fields.Schema(a=fields.ID(stored=True))); "
        "w = ix.writer(); w.add_document(a='x'); w.add_document(a='y'); w.commit(); "
        "w = ix.writer(); w.delete_by_term('a', 'x'); w.commit(merge=False); "
        "r = ix.reader(); print(sorted(r.deleted_docs_set) if hasattr(r, 'deleted_docs_set') else 'multi', r.doc_count())"
    )
    assert result.endswith(" 1")
