"""Language identification of a corpus's articles: this checkout against another version's code,
interleaved in one process, so that both meet the same load.

    .venv/bin/python bench/language_ab.py /tmp/c4k --code /tmp/before [--files 3000] [--repeat 3]

DIR of --code is an exported tree of another commit (`git archive COMMIT archsearch | tar -x -C
DIR`); its analysis/language.py is loaded beside this checkout's.  Each article's
article_language(undeclared, title, body) is timed (CPU) in chunks of 100 articles, one version
then the other; both must name the same language for every article.
"""

import argparse
import importlib.util
import json
import os
import time

CHUNK = 100


def corpus_articles(corpus: str, files: int) -> list:
    from archsearch.formats import read_file
    from archsearch.formats.article import Article

    folders = sorted(os.path.join(corpus, name) for name in os.listdir(corpus))
    paths = sorted(os.path.join(top, name) for folder in folders for top, _, names in os.walk(folder) for name in names)
    return [item for path in paths[:files] for item in read_file(path) if isinstance(item, Article)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus")
    parser.add_argument("--code", required=True, help="an exported tree of the other version")
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()

    from archsearch.analysis import language as this

    spec = importlib.util.spec_from_file_location("other_language", os.path.join(options.code, "archsearch/analysis/language.py"))
    other = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(other)
    articles = [(article.title, article.body) for article in corpus_articles(options.corpus, options.files)]
    versions = {"other": other, "this": this}
    named = {name: [module.article_language("", title, body) for title, body in articles] for name, module in versions.items()}
    assert named["other"] == named["this"], "the versions name different languages"
    spent = dict.fromkeys(versions, 0.0)
    for _ in range(options.repeat):
        for start in range(0, len(articles), CHUNK):
            chunk = articles[start : start + CHUNK]
            for name, module in versions.items():
                started = time.process_time()
                for title, body in chunk:
                    module.article_language("", title, body)
                spent[name] += time.process_time() - started
    timed = options.repeat * len(articles)
    print(json.dumps({
        "articles": len(articles),
        **{f"{name}_us_per_article": round(seconds / timed * 1e6, 1) for name, seconds in spent.items()},
        "other_over_this": round(spent["other"] / spent["this"], 2),
    }))


if __name__ == "__main__":
    main()
