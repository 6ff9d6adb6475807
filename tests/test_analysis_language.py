"""Language identification and declared language tags."""

import os
import subprocess
import sys
import time
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsearch.analysis import article_language, identify_language, language_code
from archsearch.analysis.language import IDENTIFY_CHARS, _get_identifier
from conftest import SEEDS

PARAGRAPHS = {
    "ru": "МОСКВА, 10 февраля. /ТАСС/. Россия готова принять беженцев из Афганистана, заявил министр.",
    "uk": "КИЇВ, 10 лютого. /Укрінформ/. Уряд України ухвалив програму допомоги біженцям.",
    "fa": "کابل، ۱۰ فوریه /ایرنا/. هزاران پناهجوی افغان در هفته گذشته از مرز ایران عبور کردند.",
    "ar": "موسكو، 10 فبراير /تاس/. قال وزير الخارجية إن بلاده مستعدة لاستقبال اللاجئين.",
    "tr": "ANKARA, 10 Şubat (AA) - Binlerce mülteci geçen hafta İran sınırından Türkiye'ye geçti.",
    "de": "BERLIN, 9. Februar. /DPA/. Die Bundesregierung will mehr Flüchtlinge aus Afghanistan aufnehmen.",
    "fr": "PARIS, 8 février. /AFP/ Des milliers de réfugiés afghans ont franchi la frontière.",
    "es": "MADRID, 10 de febrero (EFE) - El Gobierno acogerá a más refugiados afganos este año.",
    "zh": "新华社北京2月10日电 外交部发言人表示，中国愿继续向阿富汗人民提供人道主义援助。",
    "en": "KABUL, December 10. /TASS/. The Taliban government asked donors to release frozen assets.",
}


@pytest.mark.parametrize("language", PARAGRAPHS)
def test_identifies_the_language_of_a_news_lead(language):
    assert identify_language(PARAGRAPHS[language]) == language


def test_too_little_text_is_not_guessed():
    assert identify_language("12 345 — 6") == ""
    assert identify_language("") == ""


@pytest.mark.parametrize(
    "declared, code",
    [
        ("en-US", "en"),
        ("fa_AF", "fa"),
        ("prs", "fa"),
        ("Dari", "fa"),
        ("rus", "ru"),
        ("RU", "ru"),
        ("pus", "ps"),
        ("arz", "ar"),
        ("", ""),
        ("not a language", ""),
    ],
)
def test_language_code_from_declared_tags(declared, code):
    assert language_code(declared) == code


def test_declared_language_wins_over_identification():
    assert article_language("de", "Title", PARAGRAPHS["en"]) == "de"
    assert article_language("", "", PARAGRAPHS["ru"]) == "ru"
    assert article_language("x-unknown-tag", "", PARAGRAPHS["ru"]) == "ru"


@cache
def decompressed_model() -> dict:
    from py3langid.langid import MODEL_DIR, MODEL_FILE

    from archsearch.analysis.language import _decompressed_model

    return _decompressed_model(MODEL_DIR / MODEL_FILE)


@cache
def reference_model():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE)


def test_no_state_of_the_automaton_is_deeper_than_the_bytes_it_is_run_over():
    """Each state is reached from the start in at most AUTOMATON_DEPTH bytes (breadth first)."""
    import numpy as np

    from archsearch.analysis.language import AUTOMATON_DEPTH

    identifier = reference_model()
    rows = np.frombuffer(identifier.tk_nextmove, np.dtype(identifier.tk_nextmove.typecode)).reshape(-1, 256)
    row_of = np.frombuffer(identifier.tk_row, np.dtype(identifier.tk_row.typecode))
    reached = np.zeros(len(row_of), bool)
    reached[0] = True
    frontier = np.array([0])
    depth = 0
    while len(frontier):
        following = np.unique(rows[row_of[frontier]])
        frontier = following[~reached[following]]
        reached[frontier] = True
        depth += bool(len(frontier))
    assert reached.all()
    assert depth <= AUTOMATON_DEPTH


def same_as_py3langid(identifier, reference, text):
    from py3langid.langid import visit_counts

    data = reference._encode(text)
    features, counts = identifier.features(data)
    visits = visit_counts(reference.tk_nextmove, reference._rowbase, reference.tk_output, data) or {}
    assert (features.tolist(), counts.tolist()) == (list(visits), list(visits.values()))
    assert identifier.raw_scores(data).tobytes() == reference._raw_score(data).tobytes()
    assert identifier.classify(text) == reference.classify(text)[0]


def test_a_reset_byte_leads_every_state_to_the_start():
    """What lets the opening bytes be stepped over as the others are (RESET_BYTE)."""
    from archsearch.analysis.language import RESET_BYTE

    identifier = reference_model()
    following = np.frombuffer(identifier.tk_nextmove, np.dtype(identifier.tk_nextmove.typecode))[
        np.array(identifier._rowbase) + RESET_BYTE]
    assert not following.any()
    assert identifier.tk_output[0] < 0


def test_every_weight_is_a_negative_normal_float16_made_float32_by_its_bits():
    """What lets the weights be converted by integer arithmetic (NEGATIVE_NORMAL_FLOAT32_OFFSET),
    rather than by numpy's conversion of float16 (~4 ns a number)."""
    from archsearch.analysis.language import NEGATIVE_NORMAL_FLOAT32_OFFSET

    bits = reference_model().nb_ptc.view(np.uint16)
    assert bits.min() >= 0x8400 and bits.max() < 0xFC00  # sign set, exponent neither 0 nor 31
    every = np.arange(0x8400, 0xFC00, dtype=np.uint16)
    shifted = (every.astype(np.uint32) << 13) + np.uint32(NEGATIVE_NORMAL_FLOAT32_OFFSET)
    assert np.array_equal(shifted.view(np.float32), every.view(np.float16).astype(np.float32))


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)
       | st.text(alphabet="abcdefghij klmnoABC.,éüßжзыال中文", max_size=200))
def test_identifies_as_py3langid_does(text):
    same_as_py3langid(_get_identifier(), reference_model(), text)


def test_identifies_real_articles_as_py3langid_does():
    identifier = _get_identifier()
    reference = reference_model()
    texts = [*PARAGRAPHS.values(), *(path.read_text() for path in SEEDS.iterdir())]
    for text in texts:
        for start in range(0, len(text), 97):  # openings and stretches cut anywhere, mid-character too
            same_as_py3langid(identifier, reference, text[start : start + IDENTIFY_CHARS])


@settings(max_examples=150, deadline=None)
@given(st.lists(
    st.sampled_from(["", "12 345", *PARAGRAPHS.values()])
    | st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)
    | st.text(alphabet="abcdefghij klmnoABC.,éüßжзыال中文", max_size=700),
    max_size=8,
))
def test_texts_identified_together_are_scored_as_py3langid_scores_each(texts):
    from py3langid.langid import visit_counts

    from archsearch.analysis.language import article_languages, identify_languages

    identifier, reference = _get_identifier(), reference_model()
    datas = [reference._encode(text) for text in texts]
    for data, (features, counts), scores in zip(datas, identifier.features_of(datas), identifier.raw_scores_of(datas)):
        visits = visit_counts(reference.tk_nextmove, reference._rowbase, reference.tk_output, data) or {}
        assert (features.tolist(), counts.tolist()) == (list(visits), list(visits.values()))
        assert scores.tobytes() == reference._raw_score(data).tobytes()
    assert identifier.classify_all(texts) == [reference.classify(text)[0] for text in texts]
    assert identify_languages(texts) == [identify_language(text) for text in texts]
    articles = [("de" if len(text) % 3 == 0 else "", "", text) for text in texts]
    assert article_languages(articles) == [article_language(*article) for article in articles]


@settings(max_examples=500, deadline=None)
@given(st.text(st.sampled_from(["a", "Ж", "ل", "中", "ǅ", "\u0301", "1", "٣", "_", " ", ".", "\n", "\ud800", "😀"]), max_size=40)
       | st.text(st.characters(exclude_categories=()), max_size=60))
def test_a_text_is_told_when_it_has_enough_letters(text):
    """One match of _enough_letters says what counting the letters ([^\\W\\d_]) said."""
    import re

    from archsearch.analysis.language import MIN_LETTERS, _enough_letters

    assert (_enough_letters().match(text) is not None) == (len(re.findall(r"[^\W\d_]", text)) >= MIN_LETTERS)


def test_texts_scored_together_are_rows_of_one_array_the_featureless_at_the_floor():
    """raw_scores_of scores a batch as one array (priors added and labels chosen for all rows at
    once): a text with no feature between two with some scores py3langid's floor, priors left out,
    and the others their own scores, to the bit."""
    identifier, reference = _get_identifier(), reference_model()
    datas = [reference._encode(text) for text in (PARAGRAPHS["ru"], "", SENTENCE, "1")]
    scores = identifier.raw_scores_of(datas)
    assert isinstance(scores, np.ndarray) and scores.shape == (len(datas), len(identifier._classes))
    assert [row.tobytes() for row in scores] == [reference._raw_score(data).tobytes() for data in datas]
    assert (scores[1] == identifier._floor).all()


def model_copies(cache_home):
    from archsearch.analysis.language import MODEL_CACHE_PREFIX, MODEL_CACHE_SUFFIX

    return list((cache_home / "archsearch").glob(f"{MODEL_CACHE_PREFIX}*{MODEL_CACHE_SUFFIX}"))


def replace_copy(copy, data: bytes) -> None:
    """Puts `data` where the copy is as archsearch does, in a new file: writing over the copy in
    place would cut it under whatever still maps it (SIGBUS)."""
    partial = copy.with_name(copy.name + ".new")
    partial.write_bytes(data)
    os.chmod(partial, 0o600)
    os.replace(partial, copy)


def mapped_from(array, copy) -> bool:
    """Whether `array` is in a mapping of the file `copy` (/proc/self/maps)."""
    address = array.__array_interface__["data"][0]
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.rstrip("\n").split(maxsplit=5)
            start, end = (int(bound, 16) for bound in fields[0].split("-"))
            if start <= address < end:
                return fields[5:] == [str(copy)]
    return False


def same_arrays(first: dict, second: dict) -> bool:
    import numpy as np

    return first.keys() == second.keys() and all(
        first[name].dtype == second[name].dtype and np.array_equal(first[name], second[name]) for name in first
    )


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="tells a mapping by /proc/self/maps")
def test_the_model_is_mapped_from_an_uncompressed_copy_in_the_cache_folder(tmp_path, monkeypatch):
    """Decompressing py3langid's model cost each process 0.4-0.5 s: the first keeps its arrays, the
    next map them, the same arrays (so the same answers, to the bit), the page cache's one copy of
    them shared by all (read from an .npz, they were 80 MiB of each indexing worker)."""
    import numpy as np

    from archsearch.analysis import language

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    made = language.model_arrays()
    (copy,) = model_copies(tmp_path)
    assert copy.stat().st_mode & 0o777 == 0o600
    reference = reference_model()
    assert np.array_equal(made["ptc"], reference.nb_ptc) and np.array_equal(made["pc"], reference.nb_pc)
    assert made["classes"].tolist() == reference.nb_classes
    assert made["nextmove"].tolist() == reference.tk_nextmove.tolist()
    assert made["nextmove_row"].tolist() == reference.tk_row.tolist()
    assert made["out_feat"].tolist() == reference.tk_output

    def never(source):
        raise AssertionError("decompressed again")

    monkeypatch.setattr(language, "_decompressed_model", never)
    kept = language.model_arrays()
    assert same_arrays(kept, made)
    assert all(mapped_from(kept[name], copy) and not kept[name].flags.writeable for name in ("ptc", "nextmove"))
    identifier = language.ArrayIdentifier()
    assert mapped_from(identifier._next, copy) and mapped_from(identifier._weight_bits, copy)
    assert mapped_from(identifier._output, copy)
    assert identifier.classify(SENTENCE) == reference.classify(SENTENCE)[0]


def copy_layout(copy) -> tuple[int, dict]:
    """Where the arrays of a copy of the model start, and each array's offset from there."""
    import json

    from archsearch.analysis.language import ARRAY_ALIGNMENT, MODEL_COPY_MAGIC

    data = copy.read_bytes()
    header_start = len(MODEL_COPY_MAGIC) + 8
    header_end = header_start + int.from_bytes(data[len(MODEL_COPY_MAGIC) : len(MODEL_COPY_MAGIC) + 4], "little")
    layout = json.loads(data[header_start:header_end])
    return -(-header_end // ARRAY_ALIGNMENT) * ARRAY_ALIGNMENT, {name: offset for name, _, _, offset, _ in layout["arrays"]}


def flipped(data: bytes, place: int) -> bytes:
    changed = bytearray(data)
    changed[place] ^= 0x10
    return bytes(changed)


def test_a_damaged_copy_of_the_model_is_made_again(tmp_path, monkeypatch):
    """A damaged header or small array (their CRC-32s), or a copy cut shorter or made longer than its
    header says, is decompressed again and written anew."""
    from archsearch.analysis import language

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    made = language.model_arrays()
    (copy,) = model_copies(tmp_path)
    whole = copy.read_bytes()
    arrays_start, offsets = copy_layout(copy)
    damaged = [
        flipped(whole, len(language.MODEL_COPY_MAGIC) + 20),  # in the header
        *(flipped(whole, arrays_start + offsets[name] + 5) for name in ("classes", "nextmove_row", "out_feat", "pc")),
        whole[: len(whole) // 2], whole[:-1], whole + b"\0", whole[:40], b"",
    ]
    for data in damaged:
        replace_copy(copy, data)
        assert same_arrays(language.model_arrays(), made)
        assert copy.read_bytes() == whole


def test_an_unwritable_cache_folder_only_means_decompressing_the_model(tmp_path, monkeypatch):
    from archsearch.analysis import language

    (tmp_path / "archsearch").write_text("a file where the folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert language.model_arrays()["classes"].tolist() == reference_model().nb_classes
    assert list(tmp_path.iterdir()) == [tmp_path / "archsearch"]


def test_a_label_met_twice_is_scored_as_py3langid_scores_it(monkeypatch):
    """The model has two columns each for Serbian and Uzbek (two scripts). py3langid folds the
    later column into the first before taking the best: where the later one ties with a language
    between the two, the label met twice wins; the best column alone would give the other."""
    import numpy as np
    from py3langid.langid import LanguageIdentifier

    from archsearch.analysis import language

    identifier, reference = language.ArrayIdentifier(), reference_model()
    (first, later), between = identifier._aliases[-1], identifier._aliases[-1][0] + 1
    assert identifier._classes[first] == identifier._classes[later] != identifier._classes[between]
    scores = np.full(len(identifier._classes), -50.0, np.float32)
    scores[[first, between, later]] = -20.0, -10.0, -10.0
    monkeypatch.setattr(identifier, "raw_scores_of", lambda datas: np.tile(scores, (len(datas), 1)))
    monkeypatch.setattr(LanguageIdentifier, "_raw_score", lambda self, data: scores.copy())
    assert identifier.classify(SENTENCE) == reference.classify(SENTENCE)[0] == identifier._classes[first]


def test_copies_left_by_upgrades_are_removed_when_a_new_copy_is_made(tmp_path, monkeypatch):
    """Each version of the model (or of the copy's format: an .npz before) left a 68 MB copy behind
    for good. Those not written for 30 days go when a new copy is made; a recent one (another
    installation's) stays,
    as do other programs' files and whatever a link points to."""
    from archsearch.analysis import language

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = tmp_path / "archsearch"
    folder.mkdir()
    outside = tmp_path / "outside.npz"
    outside.write_bytes(b"not ours")
    month_ago = time.time() - 31 * 24 * 3600
    names = ["langid-model-0-aaaa.npz", "langid-model-1-bbbb.npz", "langid-model-2-cccc.arrays.77.tmp",
             "langid-model-2-ffff.arrays", "langid-model-1-dddd.npz", "notes.npz"]
    for name in names:
        (folder / name).write_bytes(b"x")
    (folder / "langid-model-1-eeee.npz").symlink_to(outside)
    for name in names[:4] + ["notes.npz"]:
        os.utime(folder / name, (month_ago, month_ago))
    os.utime(folder / "langid-model-1-eeee.npz", (month_ago, month_ago), follow_symlinks=False)
    language.model_arrays()
    (made,) = set(model_copies(tmp_path)) - {folder / name for name in names} - {folder / "langid-model-1-eeee.npz"}
    assert sorted(path.name for path in folder.iterdir()) == sorted([made.name, "langid-model-1-dddd.npz", "langid-model-1-eeee.npz", "notes.npz"])
    assert outside.read_bytes() == b"not ours"


def test_the_copy_is_never_written_through_a_link(tmp_path, monkeypatch):
    """The partial copy was opened with O_TRUNC and no O_NOFOLLOW: a link in its place (the folder
    is the user's, but a shared or restored one may hold anything) had its target overwritten."""
    from archsearch.analysis import language

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    language.model_arrays()
    (copy,) = model_copies(tmp_path)
    os.unlink(copy)
    target = tmp_path / "target"
    target.write_bytes(b"keep me")
    os.symlink(target, f"{copy}.{os.getpid()}.tmp")
    assert language.model_arrays()["classes"].tolist() == reference_model().nb_classes
    assert target.read_bytes() == b"keep me"


SENTENCE = "The president said on Tuesday that the talks would resume in Geneva next week."


@pytest.fixture
def kept_copy(tmp_path, monkeypatch):
    """The model's uncompressed copy, made in a cache folder of the test's own."""
    from archsearch.analysis import language

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    language.model_arrays()
    (copy,) = model_copies(tmp_path)
    return copy


@pytest.mark.parametrize("kind", ["npy", "npz"])
def test_a_copy_of_another_format_only_means_decompressing_the_model(kept_copy, kind):
    """README: 'A missing, damaged or unwritable copy only means decompressing the model again'.
    A .npy where the .npz was (np.load returns an array, which is no context manager) raised
    TypeError out of model_arrays: `archsearch index` then failed with an internal error on every
    run until the file was deleted.  An .npz of the model's arrays is the format before."""
    import io

    from archsearch.analysis import language

    stream = io.BytesIO()
    if kind == "npy":
        np.save(stream, np.arange(3))
    else:
        np.savez(stream, **decompressed_model())
    replace_copy(kept_copy, stream.getvalue())
    assert language.model_arrays()["classes"].tolist() == reference_model().nb_classes


def test_a_copy_holding_other_arrays_only_means_decompressing_the_model(kept_copy):
    """A whole copy of arrays under the model's names, not the model's (another program's file, or
    a later archsearch keeping them otherwise under the same name): the identifier failed with
    IndexError (an internal error in `archsearch index`), or would answer wrongly.  So do arrays of
    the model's kinds whose moves or features lead outside the model."""
    import io

    from archsearch.analysis import language

    model = decompressed_model()
    features_outside = {**model, "out_feat": np.full_like(model["out_feat"], len(model["ptc"]))}
    moves_outside = {**model, "nextmove": model["nextmove"][:-256]}
    for arrays in ({name: np.zeros(2, np.int8) for name in language.MODEL_ARRAYS}, features_outside, moves_outside):
        stream = io.BytesIO()
        language.write_model_copy(stream, arrays)
        replace_copy(kept_copy, stream.getvalue())
        identifier = language.ArrayIdentifier()
        assert identifier.classify(SENTENCE) == reference_model().classify(SENTENCE)[0]


def test_damage_in_the_unchecked_arrays_can_change_a_language_never_fail(kept_copy):
    """The weights and the moves (UNCHECKED_ARRAYS) are mapped unchecked: any bytes there, moves to
    states that are none, weights that are no numbers, leave every look-up inside the model."""
    from archsearch.analysis import language

    whole = kept_copy.read_bytes()
    arrays_start, offsets = copy_layout(kept_copy)
    model = decompressed_model()
    random = np.random.default_rng(15)
    data = bytearray(whole)
    for name in language.UNCHECKED_ARRAYS:
        start = arrays_start + offsets[name]
        data[start : start + model[name].nbytes] = random.integers(0, 256, model[name].nbytes, np.uint8).tobytes()
    replace_copy(kept_copy, bytes(data))
    identifier = language.ArrayIdentifier()
    assert language.model_arrays().keys() == set(language.MODEL_ARRAYS)
    assert not np.array_equal(identifier._next, model["nextmove"])
    texts = [*PARAGRAPHS.values(), SENTENCE, "".join(map(chr, range(32, 1200))), "x" * 700, ""]
    assert set(identifier.classify_all(texts)) <= set(identifier._classes)


def test_a_copy_shorter_than_its_header_says_is_not_mapped(kept_copy):
    """Reading a mapping past the end of its file kills the process (SIGBUS), where a copy read
    whole only failed to read: sizes are checked before anything is read from the mapping."""
    whole = kept_copy.read_bytes()
    for cut in (len(whole) // 2, len(whole) - 1):
        replace_copy(kept_copy, whole[:cut])
        identified = subprocess.run(
            [sys.executable, "-c", "from archsearch.analysis import identify_language; print(identify_language(%r))" % SENTENCE],
            capture_output=True, text=True, timeout=60, env={**os.environ, "XDG_CACHE_HOME": str(kept_copy.parent.parent)},
        )
        assert (identified.returncode, identified.stdout) == (0, "en\n"), identified.stderr


def test_a_copy_that_another_user_could_write_is_not_mapped(kept_copy):
    """One who can write it could cut it shorter under a process mapping it (SIGBUS): it is made
    anew, by this user alone."""
    from archsearch.analysis import language

    os.chmod(kept_copy, 0o620)
    assert language._kept_model(str(kept_copy)) is None
    assert language.model_arrays()["classes"].tolist() == reference_model().nb_classes
    assert kept_copy.stat().st_mode & 0o777 == 0o600
    assert language._kept_model(str(kept_copy)) is not None


def test_without_a_home_no_copy_is_kept_under_the_working_folder(tmp_path, monkeypatch):
    """HOME unset and a user id without a passwd entry (a container run with --user): expanduser
    leaves '~' as it is, and the 68 MB copy went to ./~/.cache/archsearch of whatever folder the
    command ran in (a folder named '~', which `rm -rf ~` would not remove as meant)."""
    from archsearch.analysis import language

    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.setattr(os.path, "expanduser", lambda path: path)  # as without a passwd entry
    monkeypatch.chdir(tmp_path)
    assert language.model_arrays()["classes"].tolist() == reference_model().nb_classes
    assert not (tmp_path / "~").exists()


def test_a_fifo_where_the_copy_was_only_means_decompressing_the_model(kept_copy):
    """Opened to be read, a FIFO waits for a writer: every run that identified a language hung."""
    os.unlink(kept_copy)
    os.mkfifo(kept_copy)
    identified = subprocess.run(
        [sys.executable, "-c", "from archsearch.analysis import identify_language; print(identify_language(%r))" % SENTENCE],
        capture_output=True, text=True, timeout=60, env={**os.environ, "XDG_CACHE_HOME": str(kept_copy.parent.parent)},
    )
    assert identified.stdout == "en\n", identified.stderr


@settings(max_examples=100, deadline=None)
@given(title=st.text(max_size=700), body=st.text(alphabet="abc дж ال中.\n", max_size=1500))
def test_an_article_is_identified_from_its_opening_as_from_its_whole_text(title, body):
    """article_language reads the body's opening only (a 12 MB body was copied whole first)."""
    assert article_language("", title, body) == identify_language(f"{title}\n{body}")


def test_the_package_gives_language_identification_s_names_on_first_use():
    """archsearch.analysis loads language.py when one of its names is asked for (a query asks for none)."""
    import archsearch.analysis as analysis
    from archsearch.analysis import language

    assert [getattr(analysis, name) for name in sorted(analysis._LANGUAGE_NAMES)] == [
        language.article_language, language.article_languages, language.identify_language, language.language_code,
    ]
    assert analysis._LANGUAGE_NAMES <= set(analysis.__all__)
    with pytest.raises(AttributeError):
        analysis.no_such_name
