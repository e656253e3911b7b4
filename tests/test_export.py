"""vp.export: stages as C functions that native threads call with no GIL.

The exported functions are called for real: through ctypes, from a native thread started
with ``pthread_create`` while this thread holds the GIL, and from the C and Rust example
hosts (built here with gcc and rustc, and run as separate programs). The stages live in
``tests/host_stages.py``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import host_stages as hs
import numba
import numpy as np
import pytest
from numba import types as nb

import vecpipe as vp
from vecpipe.cli import main
from vecpipe.host import Export, embed
from vecpipe.host.entry import BAD_ARGUMENTS, KERNEL_RAISED, OK, OUTPUT_TOO_SMALL, gil_users
from vecpipe.host.signature import parse_signature

ROOT = Path(__file__).resolve().parent.parent
STAGES = Path(hs.__file__)
F8 = np.float64


# -- signatures -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("f8[:], f8 -> f8[:]", "f8[:], f8 -> f8[:]"),
        ("float64[::1],float32->int64", "f8[:], f4 -> i8"),
        ("i4[:], b1 -> bool_[:]", "i4[:], b1 -> b1[:]"),
        ("  boolean[ : ] -> int32 ", "b1[:] -> i4"),
    ],
    ids=["plain", "long-names", "bool", "spaces"],
)
def test_a_signature_reads_numba_spellings(text: str, expected: str) -> None:
    assert str(parse_signature(text)) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("f8[:] f8[:]", "needs one '->'"),
        ("f8[:] -> f8 -> f8", "needs one '->'"),
        ("c16[:] -> f8[:]", "'c16[:]' is not a supported type"),
        ("f8[:, :] -> f8[:]", "is not a supported type"),
        ("f8[:], -> f8[:]", "types separated by commas"),
        (" -> f8[:]", "types separated by commas"),
        ("f8, f8 -> f8", "no array argument"),
        ("f8[:] -> u8[:]", "the result 'u8[:]' is not a supported type"),
        (42, "must be a string"),
    ],
    ids=[
        "no-arrow",
        "two-arrows",
        "complex",
        "2d",
        "empty-arg",
        "no-args",
        "no-array",
        "bad-result",
        "not-a-string",
    ],
)
def test_a_bad_signature_says_what_to_write(text: Any, message: str) -> None:
    with pytest.raises(vp.InvalidArgument, match=message.replace("[", r"\[").replace("(", r"\(")):
        parse_signature(text)


# -- exporting and calling --------------------------------------------------------------------


@pytest.fixture(scope="module")
def module_wisdom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A private wisdom folder for the module's shared exports (made before any test's)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VECPIPE_CACHE_DIR", str(tmp_path_factory.mktemp("export-wisdom")))
        yield


@pytest.fixture(scope="module")
def scale_export(module_wisdom: None) -> Export:
    return vp.export(hs.scale_stage, "f8[:], f8 -> f8[:]")


@pytest.fixture(scope="module")
def above_export(module_wisdom: None) -> Export:
    return vp.export(vp.stage(hs.above), "f8[:], f8 -> f8[:]")


@pytest.fixture(scope="module")
def fee_export(module_wisdom: None) -> Export:
    return vp.export(hs.fee_stage, "f8[:], f8[:], f8[:], f8 -> f8[:]")


def test_an_array_stage_exports_its_compiled_reference(scale_export: Export) -> None:
    exported = scale_export
    x = np.linspace(-1.0, 1.0, 101)
    assert exported.variant == "auto_numba"
    assert exported.symbol == "scale" and exported.parameters == ("x", "k")
    assert isinstance(exported.address, int) and exported.address != 0
    np.testing.assert_array_equal(exported(x, 3.0), hs.scale(x, 3.0))
    out = np.empty(101)
    assert exported.ctypes(x, 3.0, len(x), out) == OK
    np.testing.assert_array_equal(out, hs.scale(x, 3.0))


def test_an_elementwise_stage_exports_the_scalar_function_over_arrays(
    fee_export: Export,
) -> None:
    exported = fee_export
    rng = np.random.default_rng(1)
    price, prev, volume = (
        rng.uniform(90, 110, 500),
        rng.uniform(90, 110, 500),
        rng.uniform(0, 1e4, 500),
    )
    expected = [hs.fee(p, q, v, 2.5) for p, q, v in zip(price, prev, volume, strict=True)]
    assert exported.variant == "auto_ufunc"
    assert exported.mode == "elementwise"
    np.testing.assert_allclose(exported(price, prev, volume, 2.5), expected, rtol=1e-15)


@pytest.mark.parametrize("code", ["f8", "f4", "i8", "i4", "b1"])
def test_every_element_type_crosses_the_boundary(code: str) -> None:
    stage = vp.stage(hs.pick, name=f"pick_{code}", elementwise=True)
    exported = vp.export(stage, f"{code}[:], {code} -> {code}[:]")
    dtype = parse_signature(f"{code}[:] -> {code}").args[0].dtype.numpy
    values = np.array([0, 1, 5, 2, 0, 7], dtype=dtype)
    floor = dtype.type(1)
    got = exported(values, floor)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, [hs.pick(v, floor) for v in values])


def test_an_integer_stage_exports_with_its_integer_result() -> None:
    exported = vp.export(vp.stage(hs.running_total), "i8[:] -> i8[:]")
    x = np.arange(-5, 20, dtype=np.int64)
    np.testing.assert_array_equal(exported(x), np.cumsum(x))


def test_a_scalar_result_fills_one_element() -> None:
    exported = vp.export(vp.stage(hs.total), "f8[:], b1 -> f8")
    x = np.arange(10, dtype=np.float64)
    out = np.full(1, np.nan)
    assert exported.ctypes(x, True, len(x), out) == OK
    assert out[0] == -45.0
    assert exported(x, False) == 45.0
    assert "double *out" in exported.c_header()
    assert "Result<f64, Error>" in exported.rust_extern()


def test_a_result_of_its_own_length_takes_a_capacity_and_reports_the_length(
    above_export: Export,
) -> None:
    exported = above_export
    assert exported.length == "varies"
    x = np.array([0.1, 0.9, 0.2, 0.8, 0.95])
    out_len = np.zeros(1, dtype=np.int64)
    small = np.empty(2)
    assert exported.ctypes(x, 0.5, len(x), small, len(small), out_len) == OUTPUT_TOO_SMALL
    assert out_len[0] == 3
    enough = np.empty(3)
    assert exported.ctypes(x, 0.5, len(x), enough, len(enough), out_len) == OK
    np.testing.assert_array_equal(enough, [0.9, 0.8, 0.95])
    np.testing.assert_array_equal(exported(x, 0.5), [0.9, 0.8, 0.95])
    assert "int64_t out_cap, int64_t *out_len" in exported.c_header()


def _raw(exported: Export) -> Any:
    """The address as a ctypes function of plain pointers, which may be NULL."""
    params = [ctypes.c_void_p if a.array else a.dtype.ctypes for a in exported.signature.args]
    params += [ctypes.c_int64, ctypes.c_void_p]
    if exported.length == "varies":
        params += [ctypes.c_int64, ctypes.c_void_p]
    return ctypes.CFUNCTYPE(ctypes.c_int32, *params)(exported.address)


def test_null_pointers_and_negative_lengths_are_bad_arguments(scale_export: Export) -> None:
    exported = scale_export
    raw = _raw(exported)
    x, out = np.ones(4), np.zeros(4)
    assert raw(x.ctypes.data, 2.0, 4, out.ctypes.data) == OK
    assert raw(None, 2.0, 4, out.ctypes.data) == BAD_ARGUMENTS
    assert raw(x.ctypes.data, 2.0, 4, None) == BAD_ARGUMENTS
    assert raw(x.ctypes.data, 2.0, -1, out.ctypes.data) == BAD_ARGUMENTS
    np.testing.assert_array_equal(out, 2.0)  # the good call's result, untouched since


def test_a_varying_result_may_be_measured_with_no_buffer(above_export: Export) -> None:
    exported = above_export
    raw = _raw(exported)
    x = np.array([0.1, 0.9, 0.8])
    out_len = np.zeros(1, dtype=np.int64)
    assert raw(x.ctypes.data, 0.5, 3, None, 0, out_len.ctypes.data) == OUTPUT_TOO_SMALL
    assert out_len[0] == 2
    assert raw(x.ctypes.data, 0.5, 3, None, 2, out_len.ctypes.data) == BAD_ARGUMENTS
    assert raw(x.ctypes.data, 0.5, 3, None, 0, None) == BAD_ARGUMENTS


def test_a_raising_kernel_returns_status_1_and_diagnose_says_why(
    fee_export: Export,
) -> None:
    exported = fee_export
    price, prev, volume = np.array([101.0, 99.0, 98.0]), np.array([100.0, 100.0, 0.0]), np.ones(3)
    assert exported.ctypes(price, prev, volume, 2.5, 3, np.empty(3)) == KERNEL_RAISED
    text = exported.diagnose(price, prev, volume, 2.5)
    assert "status 1 (KERNEL_RAISED)" in text
    assert "ZeroDivisionError" in text
    assert "math.log(price / prev_price)" in text  # the line of the user's code
    assert "first at element 2: fee(98.0, 0.0, 1.0, 2.5)" in text
    with pytest.raises(vp.ExportCallError, match="ZeroDivisionError") as raised:
        exported(price, prev, volume, 2.5)
    assert raised.value.status == KERNEL_RAISED


def test_diagnose_says_when_a_call_succeeds_and_matches(scale_export: Export) -> None:
    exported = scale_export
    text = exported.diagnose(np.ones(3), 2.0)
    assert "status 0 (OK)" in text and "equals the reference's" in text
    assert "must be a 1-D float64 array" in exported.diagnose(np.ones(3, dtype=np.int64), 2.0)


def test_a_result_whose_length_changes_after_export_gives_status_4() -> None:
    exported = vp.export(
        vp.stage(hs.above), "f8[:], f8 -> f8[:]", length="same", example=(np.array([0.6, 0.7]), 0.5)
    )
    x = np.array([0.1, 0.7])
    assert exported.ctypes(x, 0.5, 2, np.empty(2)) == 4
    assert "length='varies'" in exported.diagnose(x, 0.5)


# -- which variant --------------------------------------------------------------------------


def test_the_dispatchers_choice_is_exported() -> None:
    stage = vp.stage(hs.scale, name="scale_choice")
    example = (np.linspace(0.0, 1.0, 2000), 2.0)
    exported = vp.export(stage, "f8[:], f8 -> f8[:]", example=example)
    with vp.config(threads=1):
        assert stage.choice(*example) == exported.variant == "auto_numba"


def test_a_second_process_takes_the_choice_from_wisdom() -> None:
    example = (np.linspace(0.0, 1.0, 3000), 2.0)
    first = vp.export(
        vp.stage(hs.scale, name="scale_wisdom"), "f8[:], f8 -> f8[:]", example=example
    )
    again = vp.stage(hs.scale, name="scale_wisdom")  # the same stage id, a fresh dispatcher
    second = vp.export(again, "f8[:], f8 -> f8[:]", example=example)
    frame = again.explain().to_frame()
    assert set(frame["source"]) == {"wisdom"}
    assert second.variant == first.variant


def test_a_python_choice_gives_way_to_the_next_native_variant() -> None:
    example = (np.ones(10_000),)
    exported = vp.export(hs.double_stage, "f8[:] -> f8[:]", example=example)
    with vp.config(threads=1):
        assert hs.double_stage.choice(*example) == "numpy"  # 300x less work than the kernel
    assert exported.variant == "numba"
    np.testing.assert_array_equal(exported(np.arange(3.0)), [0.0, 2.0, 4.0])


def test_a_named_variant_is_exported() -> None:
    exported = vp.export(hs.double_stage, "f8[:] -> f8[:]", variant="numba")
    assert exported.variant == "numba" and not exported.passed_over


def test_an_unknown_variant_lists_the_stages_variants() -> None:
    with pytest.raises(vp.UnknownVariant, match=r"has no variant 'nope'.*'numpy', 'numba'"):
        vp.export(hs.double_stage, "f8[:] -> f8[:]", variant="nope")


def test_a_stage_that_cannot_compile_says_why() -> None:
    with pytest.raises(vp.ExportError) as raised:
        vp.export(vp.stage(hs.rolling_mean), "f8[:] -> f8[:]")
    text = str(raised.value)
    assert "stage 'rolling_mean'" in text
    assert "the reference cannot be compiled by Numba" in text
    assert "TypingError" in text


def test_a_stage_with_python_variants_only_says_they_run_python() -> None:
    with pytest.raises(vp.ExportError, match="numpy: a 'numpy' variant runs Python code"):
        vp.export(hs.numpy_only, "f8[:] -> f8[:]")


def test_a_result_type_other_than_declared_is_refused() -> None:
    with pytest.raises(
        vp.ExportError,
        match=r"returns array\(float64, 1d, C\) where the signature declares i8\[:\]",
    ):
        vp.export(vp.stage(hs.running_total), "f8[:] -> i8[:]")


def test_a_variant_that_differs_from_the_reference_is_refused() -> None:
    with pytest.raises(vp.ExportError, match="wrong: differs from the reference on the example"):
        vp.export(hs.misfits, "f8[:] -> f8[:]", variant="wrong")


def test_a_variant_that_writes_into_its_input_is_refused() -> None:
    with pytest.raises(vp.ExportError, match="writes into its input arrays"):
        vp.export(hs.misfits, "f8[:] -> f8[:]", variant="in_place")


def test_a_kernel_that_prints_is_refused_since_print_takes_the_gil() -> None:
    with pytest.raises(
        vp.ExportError, match=r"chatty: its compiled code takes the GIL: .*numba_gil_ensure"
    ):
        vp.export(hs.misfits, "f8[:] -> f8[:]", variant="chatty")


def test_a_parallel_kernel_is_refused_since_numba_launches_it_under_the_gil() -> None:
    """Pins a fact of Numba (0.68): every parallel region starts with PyGILState_Ensure.

    If a Numba upgrade makes this test fail, parallel kernels may have become exportable:
    revisit vecpipe/host/export.py (and the workqueue layer, which aborts when two host
    threads launch a region at once) and docs/host.md.
    """
    with pytest.raises(vp.ExportError) as raised:
        vp.export(hs.misfits, "f8[:] -> f8[:]", variant="parallel")
    text = str(raised.value)
    assert "takes the GIL" in text and "numba_gil_ensure" in text
    assert "launch every parallel region" in text


def test_a_stage_pinned_to_its_reference_is_not_exported() -> None:
    stage = vp.stage(hs.scale, name="pinned_scale")
    stage.pin("reference")
    with pytest.raises(vp.ExportError, match="pinned to its reference"):
        vp.export(stage, "f8[:], f8 -> f8[:]")


def test_the_gil_check_refuses_what_it_cannot_read() -> None:
    class Unknown:
        def inspect_llvm(self) -> str:
            return "define i32 @something() {\n}\n"

    assert gil_users(Unknown()) is None


# -- bad arguments --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: vp.export(hs.scale, "f8[:], f8 -> f8[:]"), r"expected a stage.*vp.stage\(scale\)"),
        (lambda: vp.export(hs.scale_stage, "f8[:] -> f8[:]"), r"takes 2 argument\(s\) \(x, k\)"),
        (lambda: vp.export(hs.scale_stage, "f8[:], f8 -> f8[:]", length="long"), "length='long'"),
        (
            lambda: vp.export(vp.stage(hs.total), "f8[:], b1 -> f8", length="varies"),
            "needs an array result",
        ),
        (
            lambda: vp.export(hs.scale_stage, "f8[:], f8 -> f8[:]", symbol="2x"),
            "must be a C identifier",
        ),
        (
            lambda: vp.export(
                hs.scale_stage, "f8[:], f8 -> f8[:]", example=(np.ones(3, np.float32), 1.0)
            ),
            "argument 'x' must be a 1-D float64 array",
        ),
        (
            lambda: vp.export(
                hs.fee_stage,
                "f8[:], f8[:], f8[:], f8 -> f8[:]",
                example=(np.ones(3), np.ones(4), np.ones(3), 1.0),
            ),
            "prev_price' has 4 elements",
        ),
        (
            lambda: vp.export(
                hs.scale_stage, "f8[:], f8 -> f8[:]", example=(np.ones(3), np.ones(3))
            ),
            "argument 'k' must be a scalar",
        ),
        (
            lambda: vp.export(hs.fee_stage, "f8[:], f8[:], f8[:], f8 -> f8[:]", length="varies"),
            "elementwise",
        ),
        (
            lambda: vp.export(hs.scale_stage, "f8[:], f8 -> f8[:]", variant=3),
            "must be a variant's name",
        ),
    ],
    ids=[
        "function",
        "count",
        "length",
        "varies-scalar",
        "symbol",
        "example-dtype",
        "example-lengths",
        "example-scalar",
        "elementwise-varies",
        "variant-type",
    ],
)
def test_a_bad_argument_is_named(call: Any, message: str) -> None:
    with pytest.raises(vp.InvalidArgument, match=message):
        call()


def test_a_reference_that_raises_on_the_example_asks_for_one() -> None:
    example = (np.ones(3), np.array([1.0, 0.0, 1.0]), np.ones(3), 1.0)
    with pytest.raises(
        vp.ExportError, match=r"raises on the example: ZeroDivisionError.*element 1"
    ):
        vp.export(hs.fee_stage, "f8[:], f8[:], f8[:], f8 -> f8[:]", example=example)


def test_the_example_is_used_and_left_as_it_was() -> None:
    x = np.array([1.0, 2.0, 3.0])
    exported = vp.export(
        vp.stage(hs.scale, name="scale_example"), "f8[:], f8 -> f8[:]", example=(x, 2.0)
    )
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(exported(x, 2.0), [2.0, 4.0, 6.0])


# -- no GIL, threads, lifetime --------------------------------------------------------------


@numba.extending.intrinsic
def _as_voidptr(typingctx: Any, address: Any) -> Any:
    from llvmlite import ir

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.inttoptr(args[0], ir.IntType(8).as_pointer())

    return nb.voidptr(address), codegen


def _driver(address: int) -> Any:
    """A native thread body (``void *body(void *block)``) that calls ``scale``'s export.

    The block is float64: [k, n, done, status, x (n), out (n)]; the body sets ``done``
    last, after the call returned, with no Python anywhere on its path.
    """
    prototype = ctypes.CFUNCTYPE(
        ctypes.c_int32, ctypes.c_void_p, ctypes.c_double, ctypes.c_int64, ctypes.c_void_p
    )
    target = prototype(address)

    @numba.cfunc(nb.voidptr(nb.voidptr))
    def body(block):
        head = numba.carray(block, 4, np.float64)
        n = np.int64(head[1])
        data = numba.carray(block, 4 + 2 * n, np.float64).ctypes.data
        head[3] = target(_as_voidptr(data + 32), head[0], n, _as_voidptr(data + 32 + 8 * n))
        head[2] = 1.0
        return block

    body._target = target  # the prototype must outlive the thread
    return body


def _call_in_native_thread_holding_the_gil(
    address: int, x: np.ndarray, k: float, wait: float
) -> tuple[bool, float, np.ndarray]:
    """Start a pthread that calls the export while this thread keeps the GIL; poll its
    ``done`` flag without ever releasing the GIL (a switch interval of 60 s)."""
    n = len(x)
    block = np.zeros(4 + 2 * n)
    block[0], block[1], block[4 : 4 + n] = k, n, x
    body = _driver(address)
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    try:
        create = libc.pthread_create
    except AttributeError:  # glibc before 2.34 keeps it in libpthread
        create = ctypes.CDLL(ctypes.util.find_library("pthread")).pthread_create
    create.argtypes = [
        ctypes.POINTER(ctypes.c_ulong),
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    thread = ctypes.c_ulong()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(60.0)
    try:
        assert create(ctypes.byref(thread), None, body.address, block.ctypes.data) == 0
        deadline = time.perf_counter() + wait
        while block[2] == 0.0 and time.perf_counter() < deadline:
            pass
        done = bool(block[2] == 1.0)
    finally:
        sys.setswitchinterval(interval)
    join = (
        getattr(libc, "pthread_join", None)
        or ctypes.CDLL(ctypes.util.find_library("pthread")).pthread_join
    )
    join.argtypes = [ctypes.c_ulong, ctypes.c_void_p]
    join(thread.value, None)  # the GIL is released during the join: a blocked thread ends
    return done, float(block[3]), block[4 + n :]


def test_a_native_thread_calls_the_export_while_python_holds_the_gil() -> None:
    exported = vp.export(vp.stage(hs.divide, name="divide_nogil"), "f8[:], f8 -> f8[:]")
    x = np.arange(1.0, 6.0)
    done, status, out = _call_in_native_thread_holding_the_gil(exported.address, x, 2.0, wait=30.0)
    assert done and status == OK
    np.testing.assert_array_equal(out, x / 2.0)
    # The failing path too: the kernel raises (division by zero) and nothing takes the GIL.
    done, status, _ = _call_in_native_thread_holding_the_gil(exported.address, x, 0.0, wait=30.0)
    assert done and status == KERNEL_RAISED


def test_the_gil_test_catches_a_function_that_takes_the_gil(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """The control: a plain cfunc whose kernel raises takes the GIL to print the exception,
    so the native thread cannot finish while this thread holds it."""
    kernel = numba.njit(hs.divide)

    @numba.cfunc(nb.int32(nb.voidptr, nb.float64, nb.int64, nb.voidptr))
    def unguarded(p, d, n, q):
        out = numba.carray(q, n, np.float64)
        r = kernel(numba.carray(p, n, np.float64), d)
        for i in range(n):
            out[i] = r[i]
        return 0

    caught: list[type[BaseException]] = []
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: caught.append(unraisable.exc_type)
    try:
        done, _, _ = _call_in_native_thread_holding_the_gil(
            unguarded.address, np.ones(3), 0.0, wait=2.0
        )
    finally:
        sys.unraisablehook = hook
    assert not done
    assert caught == [ZeroDivisionError]  # reported once the thread got the GIL


def test_python_threads_call_one_export_at_once(scale_export: Export) -> None:
    exported = scale_export
    inputs = [np.random.default_rng(i).normal(size=50_000) for i in range(4)]
    outputs = [np.empty(50_000) for _ in inputs]
    statuses: list[int] = []

    def work(i: int) -> None:
        for _ in range(20):
            statuses.append(exported.ctypes(inputs[i], float(i), 50_000, outputs[i]))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [OK] * 80
    for i, (x, out) in enumerate(zip(inputs, outputs, strict=True)):
        np.testing.assert_array_equal(out, x * float(i))


def test_the_ctypes_function_keeps_the_compiled_code_alive() -> None:
    function = vp.export(vp.stage(hs.scale, name="scale_alive"), "f8[:], f8 -> f8[:]").ctypes
    gc.collect()
    out = np.empty(3)
    assert function(np.ones(3), 4.0, 3, out) == OK
    np.testing.assert_array_equal(out, 4.0)


# -- the texts ----------------------------------------------------------------------------------

_SIGNATURES = {
    "same": (hs.scale_stage, "f8[:], f8 -> f8[:]", {}),
    "varies": (vp.stage(hs.above, name="above_text"), "f8[:], f8 -> f8[:]", {}),
    "scalar": (vp.stage(hs.total, name="total_text"), "f8[:], b1 -> f8", {}),
    "elementwise": (hs.fee_stage, "f8[:], f8[:], f8[:], f8 -> f8[:]", {"symbol": "fee_cost"}),
}


@pytest.fixture(scope="module")
def texts(module_wisdom: None) -> dict[str, tuple[str, str]]:
    found = {}
    for label, (stage, signature, options) in _SIGNATURES.items():
        exported = vp.export(stage, signature, **options)
        found[label] = (exported.c_header(), exported.rust_extern())
    return found


def test_the_headers_compile_as_c_and_cpp(
    texts: dict[str, tuple[str, str]], tmp_path: Path
) -> None:
    assert shutil.which("gcc") and shutil.which("g++"), "gcc and g++ are needed (they are on CI)"
    include = "".join(f'#include "{label}.h"\n' for label in texts)
    for label, (header, _) in texts.items():
        (tmp_path / f"{label}.h").write_text(header)
    use = tmp_path / "use.c"
    use.write_text(include + include + "int main(void) { return VECPIPE_OK; }\n")  # twice: guards
    for compiler, language in (("gcc", "c"), ("g++", "c++")):
        done = subprocess.run(
            [
                compiler,
                "-fsyntax-only",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-x",
                language,
                f"-I{tmp_path}",
                str(use),
            ],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
    assert (
        "typedef int32_t fee_cost_fn(const double *price, const double *prev_price, "
        "const double *volume, double fee_bps, int64_t n, double *out);" in texts["elementwise"][0]
    )


def test_the_rust_modules_compile(texts: dict[str, tuple[str, str]], tmp_path: Path) -> None:
    assert shutil.which("rustc"), "rustc is needed (it is on CI)"
    lib = tmp_path / "lib.rs"
    lib.write_text("".join(f'#[path = "{label}.rs"]\npub mod {label};\n' for label in texts))
    for label, (_, module) in texts.items():
        (tmp_path / f"{label}.rs").write_text(module)
    done = subprocess.run(
        [
            "rustc",
            "--edition",
            "2021",
            "--crate-type",
            "lib",
            "--emit",
            "metadata",
            "-D",
            "warnings",
            "-o",
            str(tmp_path / "lib.rmeta"),
            str(lib),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert (
        "pub fn call(&self, x: &[f64], threshold: f64, out: &mut [f64]) -> Result<usize, Error>"
        in texts["varies"][1]
    )
    assert "pub struct FeeCost" in texts["elementwise"][1]


# -- the command line -------------------------------------------------------------------------


def test_vecpipe_export_writes_the_header_and_the_rust_module(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "export",
            f"{STAGES}:scale_stage",
            "--signature",
            "f8[:], f8 -> f8[:]",
            "--out",
            str(tmp_path / "gen"),
            "--json",
        ]
    )
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert document["variant"] == "auto_numba" and document["symbol"] == "scale"
    assert "typedef int32_t scale_fn(" in (tmp_path / "gen" / "scale.h").read_text()
    assert "pub struct Scale" in (tmp_path / "gen" / "scale.rs").read_text()


def test_vecpipe_export_makes_a_plain_function_a_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "export",
            f"{STAGES}:fee",
            "--elementwise",
            "--signature",
            "f8[:], f8[:], f8[:], f8 -> f8[:]",
            "--out",
            str(tmp_path),
            "--symbol",
            "fee_c",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "variant 'auto_ufunc'" in out and (tmp_path / "fee_c.h").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["{stages}:rolling_mean", "--signature", "f8[:] -> f8[:]"], "cannot be compiled by Numba"),
        (["{stages}", "--signature", "f8[:] -> f8[:]"], "name the stage or function too"),
        (["{stages}:scale_stage", "--signature", "f8 -> f8"], "no array argument"),
        (
            ["{stages}:scale_stage", "--signature", "f8[:], f8 -> f8[:]", "--elementwise"],
            "--elementwise applies",
        ),
    ],
    ids=["not-compilable", "no-object", "bad-signature", "elementwise-stage"],
)
def test_vecpipe_export_errors_are_one_line_with_exit_code_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [a.format(stages=STAGES) for a in argv]
    assert main(["export", *argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_embed_prints_this_pythons_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert embed.main(["--home", "--site"]) == 0
    home, site = capsys.readouterr().out.splitlines()
    assert home == sys.base_prefix
    assert site.split(os.pathsep) == embed.site_dirs()
    assert any(flag.startswith("-lpython") for flag in embed.ldflags())


# -- the example hosts -----------------------------------------------------------------------


def _build_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "host_build", ROOT / "examples" / "host" / "build.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Path]]:
    assert shutil.which("gcc") and shutil.which("rustc"), (
        "gcc and rustc are needed (they are on CI)"
    )
    build = _build_module()
    return build, build.build(tmp_path_factory.mktemp("hosts"))


@pytest.mark.parametrize("host", ["c", "rust"])
def test_an_example_host_calls_the_export_from_its_threads(
    host: str, hosts: tuple[Any, dict[str, Path]], tmp_path: Path
) -> None:
    build, binaries = hosts
    n = 20_000
    out_file = tmp_path / "out.bin"
    done = subprocess.run(
        [str(binaries[host]), "check", "--threads", "4", "--n", str(n), "--out", str(out_file)],
        env=build.environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "statuses as expected" in done.stdout
    assert "status 1 (KERNEL_RAISED)" in done.stdout and "ZeroDivisionError" in done.stdout
    i = np.arange(n)
    price = 100.0 + (i % 1000) * 0.01
    prev = 100.0 + ((i * 7) % 1000) * 0.01
    volume = 1000.0 + (i % 97).astype(np.float64)
    sys.path.insert(0, str(ROOT / "examples" / "host"))
    try:
        from pipeline import fee_adjusted_return
    finally:
        sys.path.remove(str(ROOT / "examples" / "host"))
    expected = np.array(
        [fee_adjusted_return(*v, 2.5) for v in zip(price, prev, volume, strict=True)]
    )
    got = np.fromfile(out_file, dtype=np.float64)
    assert vp.close().compare(expected, got) is None
    assert math.isfinite(got.sum())
