"""``replication run`` (one chapter with new parameters) and ``replication book`` (the strict site build)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from replication.errors import ArgumentParser
from replication.book.chapters import PARAMS_ENV, book_params, chapter_path, load_params_file, read_md, read_parameters
from replication.book.execution import build_command, run_chapter
from replication.book.parameters import parse_assignments


def run_main(argv: list[str]) -> int:
    parser = ArgumentParser(
        prog="replication run",
        description="Execute a chapter with new parameters. Output: runs/chapters/<chapter>/<key>/ "
        "(<chapter>.ipynb, parameters.json, figures/).",
    )
    parser.add_argument("chapter", help="chapter name, e.g. glance (the file book/<chapter>.md)")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                        help="override one parameter (a Python literal); repeatable")
    parser.add_argument("--params", metavar="FILE", help="YAML file: {chapter: {name: value}}")
    parser.add_argument("--list", action="store_true", help="print the chapter's parameters and exit")
    args = parser.parse_args(argv)
    path = chapter_path(args.chapter)
    if args.list:
        for name, value in read_parameters(read_md(path.read_text())).items():
            print(f"{name} = {value!r}")
        return 0
    # the file's values, then -p's; both are checked, element by element, before the chapter runs
    given = load_params_file(args.params).get(args.chapter, {}) if args.params else {}
    given.update(parse_assignments(args.param))
    out_dir = run_chapter(args.chapter, given)
    print(out_dir)
    return 0


def book_main(argv: list[str]) -> int:
    parser = ArgumentParser(prog="replication book", description="Build the whole book (strict).")
    parser.add_argument("--params", metavar="FILE", help="YAML file {chapter: {name: value}} to build with")
    parser.add_argument("--pdf", action="store_true", help="also print the whole book into one PDF in the site "
                        "(_build/html/chinchilla-replicated.pdf), from a single-page build, with chromium")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    if args.params:
        book_params(args.params)  # every error before the build starts; the build reads the file again
        env[PARAMS_ENV] = str(Path(args.params).resolve())
    code = subprocess.call(build_command(), env=env)
    if code == 0 and args.pdf:
        from replication.book.pdf import build_pdf

        print(build_pdf(env=env))
    return code
