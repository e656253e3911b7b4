//! A Rust program that embeds CPython, exports an unchanged Python function through vecpipe,
//! releases the GIL and calls the compiled function from N `std::thread`s. The standard
//! library only, no crates; built with plain `rustc`.
//!
//!   host check [--threads N] [--n N] [--out FILE]
//!       Run the export on n elements split over N threads (GIL released), then again
//!       while the main thread holds the GIL (no call may need it), check the failure
//!       statuses, and compare every result with the Python function's, called through
//!       the C API. --out writes the results (n doubles) to FILE.
//!   host bench [--threads 1,2,...] [--seconds S]
//!       Throughput of the Python function through the C API (each thread takes the GIL)
//!       and of the export (no GIL) in 1, 2, ... threads, and the cost of one call on 8
//!       elements against a plain Rust function. One JSON object per line.
//!
//! Build: python examples/host/build.py (or `make host-examples`); it runs
//! `vecpipe export` to write fee_adjusted_return.rs next to this file's copy, then rustc.

#[path = "fee_adjusted_return.rs"]
mod fee_adjusted_return; // written by `vecpipe export`

use fee_adjusted_return::{Error, FeeAdjustedReturn};
use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::{mpsc, Barrier};
use std::time::{Duration, Instant};

#[repr(C)]
struct PyObject {
    _private: [u8; 0],
}

extern "C" {
    fn Py_Initialize();
    fn Py_FinalizeEx() -> c_int;
    fn PyRun_StringFlags(
        code: *const c_char,
        start: c_int,
        globals: *mut PyObject,
        locals: *mut PyObject,
        flags: *mut c_void,
    ) -> *mut PyObject;
    fn PyImport_AddModule(name: *const c_char) -> *mut PyObject;
    fn PyModule_GetDict(module: *mut PyObject) -> *mut PyObject;
    fn PyDict_GetItemString(dict: *mut PyObject, key: *const c_char) -> *mut PyObject;
    fn PyLong_AsVoidPtr(value: *mut PyObject) -> *mut c_void;
    fn PyErr_Print();
    fn PyEval_SaveThread() -> *mut c_void;
    fn PyEval_RestoreThread(state: *mut c_void);
    fn PyGILState_Ensure() -> c_int;
    fn PyGILState_Release(state: c_int);
    fn PyObject_CallFunction(callable: *mut PyObject, format: *const c_char, ...) -> *mut PyObject;
    fn PyFloat_AsDouble(value: *mut PyObject) -> f64;
    fn Py_DecRef(value: *mut PyObject);
}

const PY_FILE_INPUT: c_int = 257;
const FEE_BPS: f64 = 2.5;
const CHUNK: usize = 1000;

/// Start this Python's environment (a virtual environment's site-packages ahead of the
/// base installation's), then export the function: the object `exported` stays in
/// __main__, so its compiled code lives as long as the interpreter.
const SETUP: &str = "\
import os, site, sys
def _activate():
    folders = [f for f in os.environ.get('VECPIPE_SITE', '').split(os.pathsep) if f]
    if folders:
        base = set(site.getsitepackages()) | {site.getusersitepackages()}
        keep = [p for p in sys.path if p not in base]
        before = set(sys.path)
        for folder in folders:
            site.addsitedir(folder)
        sys.path[:] = [p for p in sys.path if p not in before] + keep
    sys.path.insert(0, os.environ['VECPIPE_EXAMPLE_DIR'])
_activate()
import vecpipe as vp
from pipeline import SIGNATURE, fee_adjusted_return
exported = vp.export(vp.stage(fee_adjusted_return, elementwise=True), SIGNATURE)
address = exported.address
";

/// A Python object shared with threads that only touch it while holding the GIL.
#[derive(Clone, Copy)]
struct Shared(*mut PyObject);
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

struct Python {
    globals: Shared,
    function: Shared,
    fee: FeeAdjustedReturn,
}

fn run(globals: Shared, code: &str) -> bool {
    let code = CString::new(code).unwrap();
    unsafe {
        let done = PyRun_StringFlags(code.as_ptr(), PY_FILE_INPUT, globals.0, globals.0, std::ptr::null_mut());
        if done.is_null() {
            PyErr_Print();
            return false;
        }
        Py_DecRef(done);
    }
    true
}

fn start_python() -> Python {
    // Defaults baked in by the build; the environment variables of the same names win.
    for (name, value) in [
        ("PYTHONHOME", option_env!("VECPIPE_HOME")),
        ("VECPIPE_SITE", option_env!("VECPIPE_SITE")),
        ("VECPIPE_EXAMPLE_DIR", option_env!("VECPIPE_EXAMPLE_DIR")),
    ] {
        if let Some(value) = value {
            if !value.is_empty() && std::env::var_os(name).is_none() {
                std::env::set_var(name, value);
            }
        }
    }
    unsafe {
        Py_Initialize();
        let main = CString::new("__main__").unwrap();
        let globals = Shared(PyModule_GetDict(PyImport_AddModule(main.as_ptr())));
        if !run(globals, SETUP) {
            std::process::exit(2);
        }
        let key = |name: &str| CString::new(name).unwrap();
        let address = PyLong_AsVoidPtr(PyDict_GetItemString(globals.0, key("address").as_ptr()));
        Python {
            globals,
            function: Shared(PyDict_GetItemString(globals.0, key("fee_adjusted_return").as_ptr())),
            fee: FeeAdjustedReturn::from_address(address as usize),
        }
    }
}

/// The inputs: exact decimal steps, so every language (and the test) builds the same.
struct Columns {
    price: Vec<f64>,
    prev: Vec<f64>,
    volume: Vec<f64>,
}

fn columns(n: usize) -> Columns {
    Columns {
        price: (0..n).map(|i| 100.0 + (i % 1000) as f64 * 0.01).collect(),
        prev: (0..n).map(|i| 100.0 + ((i * 7) % 1000) as f64 * 0.01).collect(),
        volume: (0..n).map(|i| 1000.0 + (i % 97) as f64).collect(),
    }
}

/// The Python function through the C API, on one element (the caller holds the GIL).
fn call_python(function: Shared, price: f64, prev: f64, volume: f64) -> f64 {
    let format = b"dddd\0".as_ptr() as *const c_char;
    unsafe {
        let result = PyObject_CallFunction(function.0, format, price, prev, volume, FEE_BPS);
        let value = PyFloat_AsDouble(result);
        Py_DecRef(result);
        value
    }
}

// -- check -----------------------------------------------------------------------------------

/// One thread's slice, in chunks; then the failure statuses, from a thread with no GIL:
/// a kernel that raises (a zero previous price divides by zero) and a null pointer.
fn run_slice(fee: FeeAdjustedReturn, c: &Columns, start: usize, out: &mut [f64]) -> Result<(), String> {
    for (k, chunk) in out.chunks_mut(CHUNK).enumerate() {
        let i = start + k * CHUNK;
        let m = chunk.len();
        fee.call(&c.price[i..i + m], &c.prev[i..i + m], &c.volume[i..i + m], FEE_BPS, chunk)
            .map_err(|e| e.to_string())?;
    }
    let mut result = [0.0];
    if fee.call(&[1.0], &[0.0], &[1.0], FEE_BPS, &mut result) != Err(Error::KernelRaised) {
        return Err("a raising kernel did not give KERNEL_RAISED".into());
    }
    let status = unsafe { (fee.raw())(std::ptr::null(), [1.0].as_ptr(), [1.0].as_ptr(), FEE_BPS, 1, result.as_mut_ptr()) };
    if status != fee_adjusted_return::BAD_ARGUMENTS {
        return Err(format!("a null pointer gave status {}", status));
    }
    Ok(())
}

/// Run the slices in threads; wait for them within a deadline (a thread waiting for a GIL
/// that the main thread holds would never finish).
fn run_threads(fee: FeeAdjustedReturn, c: &Columns, threads: usize, out: &mut [f64]) -> Result<(), String> {
    let n = out.len();
    let (sender, receiver) = mpsc::channel();
    std::thread::scope(|scope| {
        let mut rest = out;
        let mut start = 0;
        for t in 0..threads {
            let stop = n * (t + 1) / threads;
            let (mine, others) = rest.split_at_mut(stop - start);
            rest = others;
            let sender = sender.clone();
            let begin = start;
            scope.spawn(move || sender.send(run_slice(fee, c, begin, mine)).unwrap());
            start = stop;
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut result = Ok(());
        for t in 0..threads {
            match receiver.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(Err(e)) => result = Err(e),
                Ok(Ok(())) => {}
                Err(_) => {
                    eprintln!("thread {} did not finish: it waits for the GIL", t);
                    std::process::exit(3);
                }
            }
        }
        result
    })
}

fn check(python: &Python, threads: usize, n: usize, out_path: Option<&str>) -> i32 {
    let c = columns(n);
    let mut out = vec![0.0; n];
    let state = unsafe { PyEval_SaveThread() }; // release the GIL
    let mut failed = run_threads(python.fee, &c, threads, &mut out).err();
    unsafe { PyEval_RestoreThread(state) };
    // Again, with the GIL held by this thread the whole time.
    if let Err(e) = run_threads(python.fee, &c, threads, &mut out) {
        failed = Some(e);
    }
    let mut worst: f64 = 0.0;
    for i in 0..n {
        let expected = call_python(python.function, c.price[i], c.prev[i], c.volume[i]);
        worst = worst.max((out[i] - expected).abs() / expected.abs().max(1e-300));
    }
    // A failing call's explanation comes from Python, on the same inputs.
    if !run(python.globals, "import numpy as np\nprint('diagnose:', exported.diagnose(np.array([1.0]), np.array([0.0]), np.array([1.0]), 2.5))\n") {
        failed = Some("diagnose failed".into());
    }
    if let Some(path) = out_path {
        let bytes: Vec<u8> = out.iter().flat_map(|v| v.to_ne_bytes()).collect();
        std::fs::write(path, bytes).expect("cannot write --out");
    }
    println!(
        "rust host: {} elements in {} threads, GIL released and held: statuses {}; largest relative difference from the Python function {:.3e}",
        n,
        threads,
        if let Some(e) = &failed { format!("WRONG ({})", e) } else { "as expected".to_string() },
        worst
    );
    if failed.is_some() || worst > 1e-12 { 1 } else { 0 }
}

// -- bench -----------------------------------------------------------------------------------

fn throughput(python: &Python, c: &Columns, use_python: bool, threads: usize, seconds: f64) -> f64 {
    let barrier = Barrier::new(threads);
    let results: Vec<(u64, f64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let barrier = &barrier;
                let (fee, function) = (python.fee, python.function);
                scope.spawn(move || {
                    let n = c.price.len();
                    let mut out = vec![0.0; n];
                    barrier.wait();
                    let start = Instant::now();
                    let mut count: u64 = 0;
                    while start.elapsed().as_secs_f64() < seconds {
                        if use_python {
                            let gil = unsafe { PyGILState_Ensure() };
                            for i in 0..CHUNK {
                                out[i] = call_python(function, c.price[i], c.prev[i], c.volume[i]);
                            }
                            unsafe { PyGILState_Release(gil) };
                            count += CHUNK as u64;
                        } else {
                            fee.call(&c.price, &c.prev, &c.volume, FEE_BPS, &mut out).unwrap();
                            count += n as u64;
                        }
                    }
                    (count, start.elapsed().as_secs_f64())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let elements: u64 = results.iter().map(|r| r.0).sum();
    let elapsed = results.iter().map(|r| r.1).fold(0.0, f64::max);
    elements as f64 / elapsed
}

/// The same arithmetic in Rust: what a call on 8 elements costs with no vecpipe at all.
#[inline(never)]
unsafe extern "C" fn plain(price: *const f64, prev: *const f64, volume: *const f64, fee_bps: f64, n: i64, out: *mut f64) -> i32 {
    for i in 0..n as usize {
        let gross = (*price.add(i) / *prev.add(i)).ln();
        let cost = fee_bps * 1e-4 * (1.0 + (*volume.add(i)).sqrt() / 100.0);
        *out.add(i) = if gross > 0.0 { gross - cost } else { gross + cost };
    }
    0
}

fn ns_per_call(f: fee_adjusted_return::RawFn, c: &Columns, n: usize) -> f64 {
    let mut out = vec![0.0; n];
    let mut best = f64::INFINITY;
    for _ in 0..7 {
        let calls = 2_000_000 / n + 1; // about two million elements a repeat
        let start = Instant::now();
        for _ in 0..calls {
            let f = std::hint::black_box(f);
            unsafe { f(c.price.as_ptr(), c.prev.as_ptr(), c.volume.as_ptr(), FEE_BPS, n as i64, out.as_mut_ptr()) };
        }
        best = best.min(start.elapsed().as_secs_f64() / calls as f64 * 1e9);
    }
    best
}

fn bench(python: &Python, thread_list: &str, seconds: f64) -> i32 {
    let c = columns(10_000);
    let state = unsafe { PyEval_SaveThread() };
    for item in thread_list.split(',') {
        let threads: usize = match item.trim().parse() {
            Ok(t) if t >= 1 => t,
            _ => continue,
        };
        for (path, use_python) in [("python", true), ("export", false)] {
            let rate = throughput(python, &c, use_python, threads, seconds);
            println!("{{\"host\": \"rust\", \"path\": \"{}\", \"threads\": {}, \"elements_per_s\": {:.6e}}}", path, threads, rate);
        }
    }
    let raw = python.fee.raw();
    let (exported, plain_ns) = (ns_per_call(raw, &c, 8), ns_per_call(plain, &c, 8));
    let (exported_big, plain_big) = (ns_per_call(raw, &c, 10_000), ns_per_call(plain, &c, 10_000));
    println!(
        "{{\"host\": \"rust\", \"path\": \"overhead\", \"elements\": 8, \"export_ns\": {:.4}, \"plain_ns\": {:.4}, \"export_ns_10000\": {:.6e}, \"plain_ns_10000\": {:.6e}}}",
        exported, plain_ns, exported_big, plain_big
    );
    unsafe { PyEval_RestoreThread(state) };
    0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("");
    if mode != "check" && mode != "bench" {
        eprintln!("usage: {0} check [--threads N] [--n N] [--out FILE]\n       {0} bench [--threads 1,2,...] [--seconds S]", args[0]);
        std::process::exit(2);
    }
    let (mut threads, mut n, mut out, mut seconds) = (None, 100_000usize, None, 1.0f64);
    for pair in args[2..].chunks(2) {
        match (pair[0].as_str(), pair.get(1)) {
            ("--threads", Some(v)) => threads = Some(v.clone()),
            ("--n", Some(v)) => n = v.parse().expect("--n takes a count"),
            ("--out", Some(v)) => out = Some(v.clone()),
            ("--seconds", Some(v)) => seconds = v.parse().expect("--seconds takes a number"),
            (other, _) => {
                eprintln!("unknown option {}", other);
                std::process::exit(2);
            }
        }
    }
    let python = start_python();
    let code = if mode == "check" {
        let count: usize = threads.as_deref().unwrap_or("4").parse().unwrap_or(4);
        check(&python, count.clamp(1, 64), n, out.as_deref())
    } else {
        bench(&python, threads.as_deref().unwrap_or("1,2"), seconds)
    };
    unsafe { Py_FinalizeEx() };
    std::process::exit(code);
}
