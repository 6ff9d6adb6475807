"""Help where people look: the query language as `archsearch help syntax` prints it, and a man
page generated from the click commands themselves.

The sections of SYNTAX are also sections of README.md, word for word (tests/test_help.py holds
them to it): change both together.
"""

import inspect
import re

SYNTAX = """\
#### Query syntax

| you type | it matches |
| --- | --- |
| `Taliban Kabul` | articles with both words (all words must match, as in notmuch and mu) |
| `Taliban OR ISIS` | either word |
| `Taliban NOT Kabul`, `Taliban -Kabul` | the first word, without the second |
| `(Kabul OR Kandahar) Taliban` | parentheses group |
| `"humanitarian assistance"` | the exact phrase |
| `US`, `WHO`, `IT`, `США` | a word typed in capitals of 2-5 letters: only where the article writes it in capitals (smart case), so `US` finds "US troops", not "us"; `--ignore-case` turns it off |
| `=general`, `=news` | that word as written, unstemmed, in any case: `=general` finds "general" and "General", not "generally" |
| `title:ceasefire` | a word in the title (the one shown: for wire copy, the lead sentence); likewise `source:`, `place:`, `section:`, `author:`, `path:` (parts of the file path), `url:` (parts of the URL: `url:reuters`, `url:"example.com/world"`) and `body:` |
| `lead:kabul`, `lead:"prime minister"` | a word or phrase at the start of the article: in the title or the lead, its first paragraph (Nexis's "At the Start"; see What it reads); it combines with everything else: `lead:(Kabul OR Kandahar) -lead:Taliban date:2021` |
| `lang:ru` | articles in one language (ISO 639-1 code, see Languages) |
| `source:"Pashtun Times"` | a phrase in a field |
| `afghan*` | words starting with `afghan` as written (`Afghans`, `Afghanistan`), case and accents aside |
| `organi?ation` | `?` is one letter, `*` any run of letters, anywhere in the word |
| `talibn~`, `talibn~2` | words within 1 (or 2) edits of `talibn` as written; an edit is a letter added, dropped or changed, or two neighbouring letters swapped (`tailban~` finds Taliban) |
| `talibn~2/3` | the same, among words that start with the first 3 letters typed (`tal`) |
| `date:2021-12` | articles dated in December 2021 (see Dates) |
| `Taliban NEAR/5 talks` | both words within 5 words of each other, in either order, in the title or in the body; `NEAR` alone is within 10 |
| `SENTENCE(Taliban talks Doha)` | all the words in one sentence of the title or of the body |
| `mentions>=3:Taliban` | articles whose body uses the word at least 3 times |

Prefix, wildcard and fuzzy words match the words of title and body as the article writes
them (folded as all words are, see Languages, in every language), not their stems: `organizat*` finds "organization" and `policie*` finds "policies" but
not "policy". Inside a field (`title:polic*`) they match that field's indexed words, which
for `title:` and `body:` are stems (`title:organizat*` finds nothing: "organization" is
indexed as `organiz`). `--explain` shows such words on the `exact` field, the index's
unstemmed words of title and body. An index built before this version asks for
`archsearch index --rebuild`.

Smart case, as in ripgrep: a plain word of 2-5 letters typed all in capitals (`US`, `WHO`,
`IT`, `ISIS`, Cyrillic `США`, Greek `ΗΠΑ`) matches only articles whose title or body write
it in capitals, and only those occurrences are highlighted; typed any other way (`us`,
`Us`) it matches in any case, as do all longer words.  Scripts without case (Chinese,
Arabic, Hebrew...) are never affected.  A line written all in capitals, with two words or
more (a headline `US TROOPS LEAVE`, a dateline `WASHINGTON (AP) -`), carries no case: its
words do not count as written in capitals, so `US` does not find the headline's "US"
unless the article writes "US" elsewhere.  Smart case applies to plain words with no field
or in `title:` and `body:` (which look at the capitals of title and body together: `title:US`
is `US` in the title, written in capitals in title or body); phrases (`"US troops"`),
prefix, wildcard and fuzzy words and the other fields match in any case.  `--ignore-case`
(`-i`, on `query`, `timeline`, `sources` and `browse`) turns smart case off. When smart
case leaves a query with nothing, `query` says how many articles match in any case
(`no article has all the words with WHO written in capitals; 3 match in any case`).

`=word` matches the word exactly as written, in any case and accents folded as always, but
not stemmed: `general` also finds "generally" (both are `general` to the English stemmer),
`=general` does not; `=universities` finds "universities", not "university".  It looks in
title and body together and takes no field (`title:=news` is an error); a form of several
words (`=U.S.-led`) matches them as a phrase.  Both combine with everything else:

    archsearch query 'WHO vaccine'              # the World Health Organization, not "who"
    archsearch query 'US -UK'                   # "US" in capitals, without "UK" in capitals
    archsearch query '(IT OR ICT) =jobs'        # "jobs" exactly, not "job"
    archsearch query -i 'WHO'                   # any case: "who" too

`--explain` lists the words matched in capitals only and the exact forms.  An index built
before this version asks for `archsearch index --rebuild`.

`NEAR/n` counts words as the index splits them: side by side is 1 apart, so `a NEAR/1 b` is
the phrase `"a b"` or `"b a"`, and `a NEAR/5 b` lets up to four words stand between them; a
phrase counts from its ends (`"border crossing" NEAR/4 refugees` finds "refugees waited at the
border crossing").  The words must be near each other within one field, the title or the
body.  Chained with one distance (`a NEAR/5 b NEAR/5 c`), every two of them are within 5.
`SENTENCE(...)` wants all its words in one sentence, the title being a text of its own.  The
parts joined by `NEAR` and `SENTENCE` are words (in their other forms, as always), phrases,
`(a OR b)` groups, prefix, wildcard, fuzzy and `=` words, and `title:` or `body:` words;
`NEAR` binds tighter than `AND` and `OR` (`a NEAR b OR c` is `(a NEAR b) OR c`, and `-a NEAR b`
leaves out the articles where they are near).  Both combine with everything else, `-c`,
`timeline` and `sources` count the very articles `query` lists, and the passage shown first
is one where the words stand near each other, or in one sentence.  A word typed in capitals
(smart case) asks the article to write it so somewhere, and then any of its occurrences counts.

A sentence ends at `?`, `!` (and `。！？؟।`), at a blank line, and at a full stop or `…`
followed by a word that does not start in lower case, unless the word before the full stop is
an abbreviation: one letter (`J. Smith`), a word with dots (`U.S.`, `e.g.`), or one of `Mr`,
`Mrs`, `Ms`, `Dr`, `Prof`, `Gen`, `Lt`, `Col`, `Maj`, `Capt`, `Sgt`, `Adm`, `Gov`, `Sen`,
`Rep`, `Rev`, `St`, `Mt`, `Jr`, `Sr`, `Inc`, `Corp`, `Ltd`, `Co`, `No`, `vs`, `etc`, `approx`
and the months (`Jan.`...).  So "the U.S. Army" is one sentence, and so is "in the U.S. The
next day" (the price of the first).  The index holds where words stand but not where
sentences end, so `SENTENCE` reads the text of each article that has all its words: about
2 ms an article on our test machine (`SENTENCE(Taliban Kabul)`, 16 such articles in 4,000:
55 ms, against 37 ms for `Taliban Kabul`; `SENTENCE(Trump president)`, 979: 1.8 s).  In an
article longer than 20,000 characters only the text between the nearest occurrences of the
words is looked at for sentence ends.

`mentions>=N:word` counts the word's occurrences in the body, in its other forms as everywhere
(`mentions>=3:convoy` counts "convoys" too; `mentions>=3:=convoy` only "convoy"); a phrase
counts where it stands whole, and `mentions>=3:(truce OR ceasefire)` counts both together.
The headline is not counted: a wire story's headline is its lead sentence, which the body
holds already, and counting it would count one mention twice.  A word typed in capitals
counts all its occurrences once the article writes it in capitals somewhere.

`-word` works on the command line too (`archsearch query Taliban -Kabul`); a word that
starts like a short option (`-n...`) must come after `--` or be written `NOT word`.
`--any` makes the plain words optional: articles with any of them match, best first.

A query archsearch cannot read exactly as typed is an error that names the bad part,
with exit status 2: an unbalanced quote or parenthesis, an operator with nothing on
one side (`Taliban AND`), an unknown field (`byline:`), an invalid date (`date:2021-13`).

#### Dates

`--since DATE` and `--until DATE` keep articles dated in that window, both ends included.
In the query, `date:A..B` does the same, with either end open (`date:2021-12..`,
`date:..2021`), and `date:X` means all of X; date terms combine with `OR`, `NOT` and
parentheses like words. A vague start means its first day and a vague end its last, so
`--since 2021 --until 2021` is the whole of 2021. DATE is one of:

| DATE | days (today being 2026-11-22) |
| --- | --- |
| `2021`, `2021-12`, `2021-12-10` | that year, month or day (month and day take two digits) |
| `today`, `yesterday` | 2026-11-22, 2026-11-21 |
| `7d`, `7 days`, `7 days ago` | the day 7 days back: 2026-11-15 |
| `2w`, `2 weeks ago` | 2026-11-08 |
| `3m`, `3 months ago` | 2026-08-22 (`m` is always months) |
| `1y`, `1 year ago` | 2025-11-22 |
| `last week`, `last month`, `last year` | the whole previous calendar week (Monday to Sunday), month or year |
| `this week`, `this month`, `this year` | from its first day to today |

The unit words are `d`, `day`, `days`, `w`, `week`, `weeks`, `m`, `month`, `months`, `y`,
`year`, `years`. Inside `date:` use the forms without spaces (`date:7d..`).

Articles with no date (like the Pashtun Times page) are left out by any date filter;
archsearch says on stderr how many undated articles matched the words and were left out,
and `--undated` keeps them.

#### Examples

    archsearch query Taliban Kabul                  # both words
    archsearch query '"peace talks" -Doha'          # a phrase, without Doha
    archsearch query 'title:ceasefire source:TASS'  # words in the title, from one source
    archsearch query --since 2021-08 --until 2021-12 Taliban
    archsearch query 'date:2021-12.. (Kabul OR Kandahar)'
    archsearch query @refugees-de                   # a query saved in the config file
    archsearch timeline 'query:refugees-de OR asylum'
"""

# What the man page says beyond the commands' own help.
ENVIRONMENT = [
    ("ARCHSEARCH_INDEX", "The index folder, when --index is not given."),
    ("ARCHSEARCH_CONFIG", "The configuration file, instead of $XDG_CONFIG_HOME/archsearch/config.toml."),
    ("XDG_CONFIG_HOME", "Holds archsearch/config.toml (default ~/.config)."),
    ("XDG_DATA_HOME", "Holds the default index, archsearch/ (default ~/.local/share)."),
    ("XDG_STATE_HOME", "Holds archsearch/, the hits of each index's last query, for @N (default ~/.local/state)."),
    ("XDG_CACHE_HOME", "Holds archsearch/, code and the language model kept so as not to make them again (default ~/.cache)."),
    ("PAGER", "The pager of show at a terminal (default less -R); empty or cat for none."),
    ("LESS", "Options for less; FRX when unset."),
    ("BROWSER", "What open opens an article with (default xdg-open, or open on macOS)."),
    ("VISUAL, EDITOR", "The editor of open --edit and of browse's e key (default vi)."),
    ("NO_COLOR", "When set, no colour unless --color always."),
    ("ARCHSEARCH_SERVER", "off: run every command in its own process, even when archsearch serve runs."),
    ("ARCHSEARCH_SOCKET", "The socket of archsearch serve."),
    ("XDG_RUNTIME_DIR", "Holds archsearch/server.sock, when ARCHSEARCH_SOCKET is unset (else /tmp/archsearch-UID/)."),
    ("ARCHSEARCH_DEBUG", "Show the traceback of an internal error."),
]

EXIT_STATUS = [
    ("0", "Something matched (or the command did what it was asked)."),
    ("1", "Nothing matched."),
    ("2", "An error: bad input, a bad configuration file, no index."),
    ("130", "Interrupted."),
]


# Beyond ASCII, roff input is read as Latin-1 unless told otherwise: `США` reached man as control
# codes.  groff and mandoc both read \[uXXXX] as the character.
_NOT_ASCII = re.compile(r"[^\x00-\x7f]")


def roff_text(text: str) -> str:
    """Text as roff prints it literally: backslashes and dashes escaped, characters beyond ASCII
    written as groff's Unicode escapes, no line read as a request."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = _NOT_ASCII.sub(lambda found: f"\\[u{ord(found.group()):04X}]", text)
    return "\n".join("\\&" + line if line[:1] in (".", "'") else line for line in text.split("\n"))


def roff_paragraphs(text: str) -> list[str]:
    """click's help text (paragraphs; a \\b paragraph keeps its lines) as roff."""
    lines = []
    for paragraph in re.split(r"\n\s*\n", inspect.cleandoc(text)):
        if paragraph.startswith("\b\n"):
            lines += [".PP", ".nf", *(roff_text(line) for line in paragraph[2:].splitlines()), ".fi"]
        else:
            lines += [".PP", roff_text(" ".join(line.strip() for line in paragraph.splitlines()))]
    return lines


def man_page(group, version: str) -> str:
    """The man page of every command of `group`, its options and help text, from click itself."""
    import click

    root = click.Context(group, info_name="archsearch", **group.context_settings)
    summary, _, description = inspect.cleandoc(group.help).partition("\n")
    lines = [
        f'.TH ARCHSEARCH 1 "" "archsearch {version}" "User Commands"',
        ".SH NAME",
        "archsearch \\- " + roff_text(summary.rstrip(".").lower()),
        ".SH SYNOPSIS",
        ".B archsearch",
        "\\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGUMENTS\\fR]",
        ".SH DESCRIPTION",
        *roff_paragraphs(description),
        ".SH COMMANDS",
    ]
    for name in group.list_commands(root):
        command = group.get_command(root, name)
        context = click.Context(command, info_name=name, parent=root)
        usage = " ".join(command.collect_usage_pieces(context))
        lines += [f'.SS "archsearch {name} {roff_text(usage)}"', *roff_paragraphs(command.help or "")]
        for parameter in command.get_params(context):
            record = parameter.get_help_record(context) if isinstance(parameter, click.Option) else None
            if record:
                lines += [".TP", f"\\fB{roff_text(record[0])}\\fR", roff_text(record[1])]
    lines += [".SH QUERY SYNTAX", *roff_markdown(SYNTAX)]
    lines += [".SH ENVIRONMENT"]
    for variable, meaning in ENVIRONMENT:
        lines += [".TP", f"\\fB{variable}\\fR", roff_text(meaning)]
    lines += [
        ".SH FILES",
        ".TP",
        "\\fI~/.config/archsearch/config.toml\\fR",
        roff_text("Defaults for any option of any command, the index location and saved queries "
                  "(see archsearch config)."),
        ".SH EXIT STATUS",
    ]
    for status, meaning in EXIT_STATUS:
        lines += [".TP", f"\\fB{status}\\fR", roff_text(meaning)]
    lines += [".SH SEE ALSO", roff_text("archsearch help syntax; the README at the project's home.")]
    return "\n".join(lines) + "\n"


def roff_markdown(text: str) -> list[str]:
    """The README's markdown of SYNTAX as roff: headings, tables as tagged paragraphs, code blocks kept."""
    lines = []
    for block in re.split(r"\n\s*\n", text.strip()):
        block_lines = block.splitlines()
        if block.startswith("#"):
            lines += [f'.SS "{roff_text(block.lstrip("#").strip())}"']
        elif block.startswith("|"):
            rows = [row for row in block_lines[2:]]
            for row in rows:
                cells = [cell.strip() for cell in row.strip().strip("|").split(" | ")]
                lines += [".TP", roff_text(plain_markdown(cells[0])), roff_text(plain_markdown(" | ".join(cells[1:])))]
        elif block.startswith("    "):
            lines += [".PP", ".nf", *(roff_text(line[4:]) for line in block_lines), ".fi"]
        else:
            lines += [".PP", roff_text(plain_markdown(" ".join(block_lines)))]
    return lines


def plain_markdown(text: str) -> str:
    return text.replace("`", "").replace("\\|", "|")
