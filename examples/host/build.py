"""Build the host examples: `vecpipe export` writes the C header and the Rust module, then
gcc and rustc compile the C and Rust hosts against this Python's libpython.

    python examples/host/build.py [--out build/host] [c] [rust] [--run]

``--run`` then runs each host's ``check`` (``host check --threads 4``). The Makefile's
``host-c``, ``host-rust`` and ``host-examples`` targets call this with the project's
virtual environment; the tests and ``python -m benchmarks --only host`` call
:func:`build`. Flags and folders come from :mod:`vecpipe.host.embed`, so the hosts start
the interpreter (and the environment) that ran this script.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SYMBOL = "fee_adjusted_return"
HOSTS = ("c", "rust")


def environment() -> dict[str, str]:
    """The hosts' environment: PYTHONHOME, this environment's site-packages, the example."""
    from vecpipe.host import embed

    return {
        **os.environ,
        "PYTHONHOME": embed.home(),
        "VECPIPE_SITE": os.pathsep.join(embed.site_dirs()),
        "VECPIPE_EXAMPLE_DIR": str(HERE),
    }


def _run(command: list[str], **options: object) -> None:
    print("+", " ".join(str(c) for c in command), file=sys.stderr, flush=True)
    subprocess.run(command, check=True, **options)  # type: ignore[call-overload]


def generate(out: Path) -> Path:
    """``vecpipe export``: the header and the Rust module, into ``out/gen``."""
    sys.path.insert(0, str(HERE))
    from pipeline import SIGNATURE

    from vecpipe.cli import main

    gen = out / "gen"
    target = f"{HERE / 'pipeline.py'}:{SYMBOL}"
    argv = ["export", target, "--elementwise", "--signature", SIGNATURE, "--out", str(gen)]
    print("+ vecpipe", " ".join(argv), file=sys.stderr, flush=True)
    if main(argv) != 0:
        msg = "vecpipe export failed (its message is above)"
        raise RuntimeError(msg)
    return gen


def build_c(out: Path, gen: Path) -> Path:
    """Compile examples/host/c/host.c into out/c/host."""
    from vecpipe.host import embed

    env = environment()
    folder = out / "c"
    folder.mkdir(parents=True, exist_ok=True)
    binary = folder / "host"
    defines = [
        f'-DVECPIPE_{name}="{env[key]}"'
        for name, key in (
            ("HOME", "PYTHONHOME"),
            ("SITE", "VECPIPE_SITE"),
            ("EXAMPLE_DIR", "VECPIPE_EXAMPLE_DIR"),
        )
    ]
    compiler = os.environ.get("CC", "gcc")
    _run(
        [
            compiler,
            "-O2",
            "-std=gnu11",
            "-Wall",
            "-Wextra",
            "-Werror",
            f"-I{gen}",
            *embed.cflags(),
            *defines,
            str(HERE / "c" / "host.c"),
            "-o",
            str(binary),
            *embed.ldflags(),
            "-lpthread",
            "-lm",
        ]
    )
    return binary


def build_rust(out: Path, gen: Path) -> Path:
    """Compile examples/host/rust/host.rs (next to the generated module) into out/rust/host."""
    from vecpipe.host import embed

    env = environment()
    folder = out / "rust"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(HERE / "rust" / "host.rs", folder / "main.rs")
    shutil.copyfile(gen / f"{SYMBOL}.rs", folder / f"{SYMBOL}.rs")
    binary = folder / "host"
    compile_env = {
        **os.environ,
        "VECPIPE_HOME": env["PYTHONHOME"],
        "VECPIPE_SITE": env["VECPIPE_SITE"],
        "VECPIPE_EXAMPLE_DIR": env["VECPIPE_EXAMPLE_DIR"],
    }
    rustc = os.environ.get("RUSTC", "rustc")
    _run(
        [
            rustc,
            "--edition",
            "2021",
            "-O",
            "-D",
            "warnings",
            str(folder / "main.rs"),
            "-o",
            str(binary),
            *embed.rustflags(),
        ],
        env=compile_env,
    )
    return binary


def build(out: Path, hosts: tuple[str, ...] = HOSTS) -> dict[str, Path]:
    """Generate, then build the hosts named; their binaries by host."""
    gen = generate(out)
    builders = {"c": build_c, "rust": build_rust}
    return {host: builders[host](out, gen) for host in hosts}


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module's description)."""
    parser = argparse.ArgumentParser(prog="python examples/host/build.py", description=__doc__)
    parser.add_argument("hosts", nargs="*", metavar="{c,rust}", help="which hosts (default: both)")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "build" / "host", help="the build folder"
    )
    parser.add_argument("--run", action="store_true", help="then run each host's check")
    args = parser.parse_args(argv)
    unknown = [h for h in args.hosts if h not in HOSTS]
    if unknown:
        parser.error(f"unknown host(s) {', '.join(unknown)}: choose from {', '.join(HOSTS)}")
    binaries = build(args.out.resolve(), tuple(args.hosts) or HOSTS)
    for host, binary in binaries.items():
        print(f"built the {host} host: {binary}", file=sys.stderr)
        if args.run:
            _run([str(binary), "check", "--threads", "4"], env=environment())
    return 0


if __name__ == "__main__":
    sys.exit(main())
