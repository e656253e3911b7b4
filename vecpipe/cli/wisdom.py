"""``vecpipe wisdom show|clear|export|import``: the stored measurements."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path
from typing import Any

from vecpipe.cli._common import OK, CLIError, frame_records, print_json, table, terminal_width
from vecpipe.errors import WisdomError
from vecpipe.wisdom import get_wisdom

HELP = "show, clear, export or import the stored measurements (wisdom)"
DESCRIPTION = """\
The wisdom is one JSON file in the cache folder ($VECPIPE_CACHE_DIR, else the user cache
folder): every variant's measurements per stage and kind of input, and verification
records, tied to this machine's fingerprint."""
EXAMPLES = """\
examples:
  vecpipe wisdom show
  vecpipe wisdom export wisdom-prod.json
  vecpipe wisdom import wisdom-prod.json      # on the same machine or setup
  vecpipe wisdom clear --stage mypackage.stages:normalise"""


def add_parser(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    """Register the ``wisdom`` command and its actions."""
    parser = subparsers.add_parser(
        "wisdom",
        help=HELP,
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser(
        "show", parents=[parent], help="print the records (path and count first)"
    )
    show.add_argument("--stage", default=None, metavar="ID", help="only this stage's records")
    clear = actions.add_parser(
        "clear", parents=[parent], help="forget the records: every stage's, or one"
    )
    clear.add_argument(
        "--stage", default=None, metavar="ID", help="forget only this stage (its id in `show`)"
    )
    export = actions.add_parser(
        "export", parents=[parent], help="write the records, with this machine's fingerprint"
    )
    export.add_argument("path", type=Path, metavar="PATH", help="the file to write")
    imp = actions.add_parser(
        "import", parents=[parent], help="merge the records of a file that export wrote"
    )
    imp.add_argument("path", type=Path, metavar="PATH", help="the wisdom file to read")
    imp.add_argument(
        "--force",
        action="store_true",
        help="import even if written on another machine or software setup",
    )
    imp.add_argument(
        "--keep-existing",
        action="store_true",
        help="keep the records stored here where both have one (default: imported ones win)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``vecpipe wisdom ACTION``; return the exit code."""
    store = get_wisdom()
    document: dict[str, Any] = {"command": "wisdom", "action": args.action, "path": str(store.path)}
    if args.action == "show":
        frame = store.to_frame()
        if args.stage is not None:
            frame = frame[frame["stage"] == args.stage]
        if args.json:
            print_json({**document, "records": frame_records(frame)})
        elif frame.empty:
            what = f"for stage {args.stage!r} " if args.stage else ""
            print(f"wisdom holds no records {what}({store.path})")
        else:
            print(f"wisdom at {store.path} ({len(frame)} records)")
            print(_readable(frame))
        return OK
    if args.action == "clear":
        before = len(store)
        store.forget(args.stage)
        removed = before - len(store)
        message = f"forgot {removed} records" + (f" of stage {args.stage!r}" if args.stage else "")
        _report(args, {**document, "stage": args.stage, "removed": removed}, message)
        return OK
    if args.action == "export":
        try:
            written = store.export(args.path)
        except OSError as exc:
            msg = f"cannot write wisdom to {str(args.path)!r}: {exc.strerror or exc}"
            raise CLIError(msg) from exc
        _report(
            args,
            {**document, "written": str(written), "records": len(store)},
            f"wrote {len(store)} records to {written}",
        )
        return OK
    try:
        merged = store.import_(args.path, overwrite=not args.keep_existing, force=args.force)
    except WisdomError as exc:
        raise CLIError(str(exc).replace("Pass force=True", "Pass --force")) from exc
    except OSError as exc:
        msg = f"cannot read wisdom from {str(args.path)!r}: {exc.strerror or exc}"
        raise CLIError(msg) from exc
    _report(
        args,
        {**document, "imported": str(args.path), "merged": merged},
        f"merged {merged} records from {args.path} into {store.path}",
    )
    return OK


def _report(args: argparse.Namespace, document: dict[str, Any], message: str) -> None:
    if args.json:
        print_json(document)
    else:
        print(message)


_SHOWN = ("variant", "status", "seconds", "compile_seconds", "reason")


def _readable(frame: Any) -> str:
    """The records by stage and key, like ``explain()``: times in readable units, reasons
    cut short, each table within the terminal's width."""
    from vecpipe._format import format_seconds as _seconds

    lines: list[str] = []
    for stage, by_stage in frame.groupby("stage", sort=False):
        lines.append(f"stage {stage}")
        for key, rows in by_stage.groupby("key", sort=False):
            lines.extend(
                textwrap.wrap(
                    f"input {key}",
                    terminal_width(),
                    initial_indent="  ",
                    subsequent_indent="        ",
                    break_on_hyphens=False,
                )
            )
            body = [
                (
                    str(r.get("variant", "")),
                    str(r.get("status", "")),
                    _seconds(r.get("seconds")),
                    _seconds(r.get("compile_seconds")),
                    _short(r.get("reason")),
                )
                for r in rows.to_dict(orient="records")
            ]
            header = ("variant", "status", "time", "compile", "reason")
            text = table(body, header, width=terminal_width() - 4)
            lines.extend("    " + line for line in text.splitlines())
    return "\n".join(lines)


def _short(reason: Any) -> str:
    if not isinstance(reason, str):
        return ""
    return reason if len(reason) <= 60 else reason[:57] + "..."
