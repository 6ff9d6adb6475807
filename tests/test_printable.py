"""rendering.printable: one character for one, whatever the text holds (its surrogates are found
by a regular expression, not a Python step per character)."""

from hypothesis import given
from hypothesis import strategies as st

from archsearch.rendering import printable


def test_undecodable_bytes_become_replacement_characters_one_for_one():
    text = "Zakharova\udcff said \u00e9t\u00e9 \ud800\udfff \u0416"
    assert printable(text) == "Zakharova\ufffd said \u00e9t\u00e9 \ufffd\ufffd \u0416"


@given(st.text(st.characters(blacklist_categories=("Cc", "Cf"))))
def test_a_text_without_control_characters_keeps_its_length_and_loses_only_its_surrogates(text):
    shown = printable(text)
    assert len(shown) == len(text)
    assert shown == "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in text)
