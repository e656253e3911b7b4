"""``vecpipe export MODULE:STAGE --signature "..." --out DIR``: a C header and a Rust module."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from vecpipe.cli._common import (
    OK,
    CLIError,
    command_parser,
    import_module,
    load_targets,
    print_json,
    split_reference,
)
from vecpipe.pipeline import Pipeline
from vecpipe.stage import Stage

HELP = "write the C header and the Rust module of a stage exported as a C function"
DESCRIPTION = """\
Export a stage's compiled variant as a C function that any native thread can call with
no GIL (vp.export), and write what a host project compiles against: DIR/SYMBOL.h (the
function's type and the status codes) and DIR/SYMBOL.rs (the extern "C" type and a safe
wrapper taking slices). The host embeds Python, calls vp.export with the same stage and
signature, and calls the address it gets (see docs/host.md).

MODULE:OBJECT names a stage, or a plain function (made a stage here; --elementwise for a
scalar function applied to every element)."""
EXAMPLES = """\
examples:
  vecpipe export pipeline.py:fee_adjusted_return --elementwise \\
      --signature "f8[:], f8[:], f8[:], f8 -> f8[:]" --out include/
  vecpipe export mypackage.stages:clip --signature "f8[:], f8 -> f8[:]" --out gen/"""


def add_parser(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    """Register the ``export`` command."""
    parser = command_parser(
        subparsers, parent, "export", help=HELP, description=DESCRIPTION, epilog=EXAMPLES
    )
    parser.add_argument(
        "target",
        metavar="MODULE:OBJECT",
        help="a stage or a function (pkg.mod:name or file.py:name)",
    )
    parser.add_argument(
        "--signature",
        required=True,
        help='the types, Numba-style, in the function\'s order: "f8[:], f8 -> f8[:]"',
    )
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="the folder to write to"
    )
    parser.add_argument(
        "--variant", help="the variant to export (default: the dispatcher's choice)"
    )
    parser.add_argument(
        "--length",
        choices=("same", "varies"),
        help="an array result has n elements, or its own length (default: as on the example)",
    )
    parser.add_argument(
        "--symbol", help="the name in the header and the module (default: the stage's)"
    )
    parser.add_argument(
        "--elementwise",
        action="store_true",
        help="a plain function is a scalar function, applied to every element",
    )
    parser.set_defaults(run=run)


def _stage(reference: str, elementwise: bool) -> Stage:
    module_name, path = split_reference(reference)
    if path is None:
        msg = f"{reference!r}: name the stage or function too, as MODULE:OBJECT"
        raise CLIError(msg)
    module = import_module(module_name)
    obj = getattr(module, path, None) if "." not in path else None
    if obj is not None and callable(obj) and not isinstance(obj, Stage | Pipeline):
        from vecpipe.stage import stage

        return stage(obj, elementwise=elementwise)
    (target,) = load_targets(reference, allow_module=False)
    if not isinstance(target.obj, Stage):
        msg = f"OBJECT {path!r} is a pipeline; export its stages one by one"
        raise CLIError(msg)
    if elementwise and not target.obj.elementwise:
        msg = (
            f"OBJECT {path!r} is a stage made without elementwise=True; --elementwise applies "
            "to plain functions"
        )
        raise CLIError(msg)
    return target.obj


def run(args: argparse.Namespace) -> int:
    """Run ``vecpipe export``; return the exit code."""
    from vecpipe.host import export

    stage = _stage(args.target, args.elementwise)
    exported = export(
        stage, args.signature, variant=args.variant, length=args.length, symbol=args.symbol
    )
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        header = args.out / f"{exported.symbol}.h"
        module = args.out / f"{exported.symbol}.rs"
        header.write_text(exported.c_header())
        module.write_text(exported.rust_extern())
    except OSError as exc:
        msg = f"--out {str(args.out)!r}: cannot write there ({exc.strerror or exc})"
        raise CLIError(msg) from exc
    if args.json:
        print_json(
            {
                "command": "export",
                "target": args.target,
                "stage": stage.name,
                "variant": exported.variant,
                "signature": str(exported.signature),
                "length": exported.length,
                "symbol": exported.symbol,
                "header": str(header),
                "rust": str(module),
                "passed_over": exported.passed_over,
            }
        )
    else:
        print(
            f"{stage.name}: variant {exported.variant!r} as {exported.symbol}"
            f"({exported.signature}), length {exported.length}"
        )
        for name, reason in exported.passed_over.items():
            print(f"  passed over {name}: {reason}")
        print(f"wrote {header}")
        print(f"wrote {module}")
    return OK
