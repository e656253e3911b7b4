"""The ``vecpipe`` command line (also ``python -m vecpipe``).

Commands: ``demo``, ``verify``, ``bench``, ``tune``, ``warm``, ``explain``, ``profile``,
``wisdom show|clear|export|import`` and ``export``; ``vecpipe COMMAND --help`` says more, and
``docs/cli.md`` is the reference.

Exit codes
----------
0
    Success.
1
    A check failed: ``vecpipe verify`` found a variant that differs from its reference
    (the minimal counterexample is printed).
2
    A usage error: a bad option, a wrong ``MODULE:OBJECT``, an object that is not a stage
    or pipeline, a stage without an input spec, an unreadable wisdom file, a missing
    optional dependency. One line on stderr says what to do.
3
    Your code raised: importing ``MODULE``, or running a stage or the profiled function.
4
    An internal error in vecpipe (``--debug`` shows the traceback; please report it).
130
    Interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence

from vecpipe.cli import bench, demo, explain, export, profile, tune, verify, warm, wisdom
from vecpipe.cli._common import (
    EXIT_CODES,
    INTERNAL,
    INTERRUPTED,
    USAGE,
    CLIError,
    common_options,
    one_line,
    print_warnings,
    vecpipe_warnings,
)
from vecpipe.errors import VecpipeError
from vecpipe.settings import environment_error

__all__ = ["build_parser", "main"]

_DESCRIPTION = """\
vecpipe: keep your pipeline's Python as the reference; run measured, verified variants.

MODULE[:OBJECT] names a stage or a pipeline: a dotted module (the current folder comes
first) or a .py file, then the object's name; without :OBJECT, every stage and pipeline
the module defines."""


def _epilog() -> str:
    codes = "\n".join(
        textwrap.fill(text, width=88, initial_indent=f"  {code:<5}", subsequent_indent=" " * 7)
        for code, text in EXIT_CODES
    )
    return f"""\
exit codes:
{codes}

examples:
  vecpipe profile mypipeline.py:main        where does the time go? (hot spots first)
  vecpipe verify mypipeline.py              every variant against its reference
  vecpipe bench mypipeline.py:clean --sizes 1k 100k 10M
  vecpipe tune mypipeline.py --sizes 1M     fill the wisdom before deploying
  vecpipe warm mypipeline.py                compile ahead of time (kernels too)
  vecpipe explain mypipeline.py:pipe        what runs, and why
  vecpipe wisdom show
  vecpipe export pipeline.py:clip --signature "f8[:], f8 -> f8[:]" --out gen/

progress bars go to stderr, on a terminal only; --json prints one JSON document."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``vecpipe`` command.

    Examples
    --------
    >>> parser = build_parser()
    >>> parser.parse_args(["verify", "stages.py:scale", "--max-examples", "50"]).max_examples
    50
    """
    from vecpipe import __version__

    parser = argparse.ArgumentParser(
        prog="vecpipe",
        description=_DESCRIPTION,
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"vecpipe {__version__}")
    commands = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", help="(COMMAND --help for more)"
    )
    parent = common_options()
    for module in (demo, verify, bench, tune, warm, explain, profile, wisdom, export):
        module.add_parser(commands, parent)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``vecpipe`` command; return its exit code (the console script exits with it).

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program's name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success; 1 when a check failed (verification found a mismatch); 2 for a
        usage error; 3 when the user's code raised; 4 for an internal error; 130 when
        interrupted. Errors are one line on stderr (``--debug`` shows tracebacks).

    Examples
    --------
    >>> from vecpipe.cli import main
    >>> main(["wisdom", "show", "--json"])  # doctest: +ELLIPSIS
    {
      "command": "wisdom",
      "action": "show",
      "path": "...wisdom.json",
      "records": []
    }
    0
    >>> main(["verify", "no_such_module:stage"])
    2
    """
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:  # --help, --version, or a usage error argparse printed
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else USAGE)
    if args.command is None:
        parser.print_help(sys.stderr)
        return USAGE
    name = args.command + (f" {args.action}" if getattr(args, "action", None) else "")
    debug = getattr(args, "debug", False)
    problem = environment_error()  # VECPIPE_MODE / VECPIPE_THREADS
    if problem is not None:
        print(f"vecpipe {name}: error: {problem}", file=sys.stderr)
        return USAGE
    collected: list[str] = []
    try:
        with vecpipe_warnings(collected):
            code: int = args.run(args)
    except CLIError as exc:
        if debug:
            raise
        print(f"vecpipe {name}: error: {exc}", file=sys.stderr)
        code = exc.code
    except VecpipeError as exc:  # a stage or spec the user declared is not valid
        if debug:
            raise
        print(f"vecpipe {name}: error: {one_line(exc)}", file=sys.stderr)
        code = USAGE
    except KeyboardInterrupt:
        print(f"vecpipe {name}: interrupted", file=sys.stderr)
        code = INTERRUPTED
    except Exception as exc:
        if debug:
            raise
        print(
            f"vecpipe {name}: internal error: {type(exc).__name__}: {one_line(exc)} "
            "(rerun with --debug for the traceback, and please report it)",
            file=sys.stderr,
        )
        code = INTERNAL
    finally:
        print_warnings(collected)
    return code
