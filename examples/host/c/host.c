/* A C program that embeds CPython, exports an unchanged Python function through vecpipe,
 * releases the GIL and calls the compiled function from N pthreads.
 *
 *   host check [--threads N] [--n N] [--out FILE]
 *       Run the export on n elements split over N threads (GIL released), then again
 *       while the main thread holds the GIL (no call may need it), check the failure
 *       statuses, and compare every result with the Python function's, called through
 *       the C API. --out writes the results (n doubles) to FILE.
 *   host bench [--threads 1,2,...] [--seconds S]
 *       Throughput of the Python function through the C API (each thread takes the GIL)
 *       and of the export (no GIL) in 1, 2, ... threads, the export in as many
 *       processes, and the cost of one call on 8 elements against a plain C function.
 *       One JSON object per line.
 *
 * Build: python examples/host/build.py (or `make host-examples`); it runs
 * `vecpipe export` to write fee_adjusted_return.h, then compiles this file.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fee_adjusted_return.h" /* written by `vecpipe export` */

/* Defaults baked in by the build; the environment variables of the same names win. */
#ifndef VECPIPE_SITE
#define VECPIPE_SITE ""
#endif
#ifndef VECPIPE_HOME
#define VECPIPE_HOME ""
#endif
#ifndef VECPIPE_EXAMPLE_DIR
#define VECPIPE_EXAMPLE_DIR ""
#endif

#define FEE_BPS 2.5
#define CHUNK 1000

/* Start this Python's environment (a virtual environment's site-packages ahead of the base
 * installation's), then export the function: the object `exported` stays in __main__, so
 * its compiled code lives as long as the interpreter. */
static const char *SETUP =
    "import os, site, sys\n"
    "def _activate():\n"
    "    folders = [f for f in os.environ.get('VECPIPE_SITE', '').split(os.pathsep) if f]\n"
    "    if folders:\n"
    "        base = set(site.getsitepackages()) | {site.getusersitepackages()}\n"
    "        keep = [p for p in sys.path if p not in base]\n"
    "        before = set(sys.path)\n"
    "        for folder in folders:\n"
    "            site.addsitedir(folder)\n"
    "        sys.path[:] = [p for p in sys.path if p not in before] + keep\n"
    "    sys.path.insert(0, os.environ['VECPIPE_EXAMPLE_DIR'])\n"
    "_activate()\n"
    "import vecpipe as vp\n"
    "from pipeline import SIGNATURE, fee_adjusted_return\n"
    "exported = vp.export(vp.stage(fee_adjusted_return, elementwise=True), SIGNATURE)\n"
    "address = exported.address\n";

static fee_adjusted_return_fn *fee; /* the exported function */
static PyObject *globals;           /* __main__'s namespace */
static PyObject *function;          /* the Python function itself */

typedef struct {
    double *price, *prev, *volume, *out;
    int64_t n;
} Columns;

static Columns make_columns(int64_t n) {
    Columns c = {malloc(n * sizeof(double)), malloc(n * sizeof(double)),
                 malloc(n * sizeof(double)), malloc(n * sizeof(double)), n};
    for (int64_t i = 0; i < n; i++) { /* exact decimal steps: the test rebuilds them */
        c.price[i] = 100.0 + (double)(i % 1000) * 0.01;
        c.prev[i] = 100.0 + (double)((i * 7) % 1000) * 0.01;
        c.volume[i] = 1000.0 + (double)(i % 97);
    }
    return c;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void set_default(const char *name, const char *value) {
    if (value[0] != '\0') setenv(name, value, 0);
}

static void start_python(void) {
    set_default("PYTHONHOME", VECPIPE_HOME);
    set_default("VECPIPE_SITE", VECPIPE_SITE);
    set_default("VECPIPE_EXAMPLE_DIR", VECPIPE_EXAMPLE_DIR);
    Py_Initialize();
    globals = PyModule_GetDict(PyImport_AddModule("__main__"));
    PyObject *done = PyRun_String(SETUP, Py_file_input, globals, globals);
    if (done == NULL) {
        PyErr_Print();
        exit(2);
    }
    Py_DECREF(done);
    fee = (fee_adjusted_return_fn *)PyLong_AsVoidPtr(PyDict_GetItemString(globals, "address"));
    function = PyDict_GetItemString(globals, "fee_adjusted_return");
}

/* -- check ------------------------------------------------------------------------------ */

typedef struct {
    Columns *c;
    int64_t start, stop;
    int status; /* the first status other than OK, else OK */
    int done;
} Slice;

static void *run_slice(void *arg) {
    Slice *s = arg;
    s->status = VECPIPE_OK;
    for (int64_t i = s->start; i < s->stop; i += CHUNK) {
        int64_t m = s->stop - i < CHUNK ? s->stop - i : CHUNK;
        int32_t status = fee(s->c->price + i, s->c->prev + i, s->c->volume + i, FEE_BPS, m,
                             s->c->out + i);
        if (status != VECPIPE_OK && s->status == VECPIPE_OK) s->status = status;
    }
    /* The failure statuses, from a thread with no GIL: a kernel that raises (a zero
     * previous price divides by zero) and a null pointer. */
    double zero = 0.0, one = 1.0, result;
    if (fee(&one, &zero, &one, FEE_BPS, 1, &result) != VECPIPE_KERNEL_RAISED) s->status = -1;
    if (fee(NULL, &one, &one, FEE_BPS, 1, &result) != VECPIPE_BAD_ARGUMENTS) s->status = -2;
    __atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Run the slices in threads; join within a deadline (a thread waiting for a GIL that the
 * main thread holds would never finish). */
static int run_threads(Columns *c, int threads) {
    pthread_t ids[64];
    Slice slices[64];
    for (int t = 0; t < threads; t++) {
        slices[t] = (Slice){c, c->n * t / threads, c->n * (t + 1) / threads, 0, 0};
        pthread_create(&ids[t], NULL, run_slice, &slices[t]);
    }
    double deadline = now() + 60.0;
    for (int t = 0; t < threads; t++) {
        while (!__atomic_load_n(&slices[t].done, __ATOMIC_ACQUIRE)) {
            if (now() > deadline) {
                fprintf(stderr, "thread %d did not finish: it waits for the GIL\n", t);
                _exit(3);
            }
            usleep(1000);
        }
        pthread_join(ids[t], NULL);
        if (slices[t].status != VECPIPE_OK) {
            fprintf(stderr, "thread %d: status %d\n", t, slices[t].status);
            return 1;
        }
    }
    return 0;
}

static int check(int threads, int64_t n, const char *out_path) {
    Columns c = make_columns(n);

    PyThreadState *state = PyEval_SaveThread(); /* release the GIL */
    int failed = run_threads(&c, threads);
    PyEval_RestoreThread(state);
    /* Again, with the GIL held by this thread the whole time. */
    failed |= run_threads(&c, threads);

    /* The Python function through the C API, element by element: the reference. */
    double worst = 0.0;
    for (int64_t i = 0; i < n; i++) {
        PyObject *r = PyObject_CallFunction(function, "dddd", c.price[i], c.prev[i],
                                            c.volume[i], FEE_BPS);
        double expected = PyFloat_AsDouble(r);
        Py_DECREF(r);
        double error = fabs(c.out[i] - expected) / fmax(fabs(expected), 1e-300);
        if (error > worst) worst = error;
    }
    /* A failing call's explanation comes from Python, on the same inputs. */
    PyObject *done = PyRun_String(
        "import numpy as np\n"
        "print('diagnose:', exported.diagnose(np.array([1.0]), np.array([0.0]),"
        " np.array([1.0]), 2.5))\n",
        Py_file_input, globals, globals);
    if (done == NULL) {
        PyErr_Print();
        failed = 1;
    }
    Py_XDECREF(done);
    if (out_path != NULL) {
        FILE *f = fopen(out_path, "wb");
        fwrite(c.out, sizeof(double), (size_t)n, f);
        fclose(f);
    }
    printf("c host: %lld elements in %d threads, GIL released and held: statuses %s; "
           "largest relative difference from the Python function %.3g\n",
           (long long)n, threads, failed ? "WRONG" : "as expected", worst);
    return failed || worst > 1e-12;
}

/* -- bench ------------------------------------------------------------------------------ */

typedef struct {
    Columns *c;
    int python; /* 1: the Python function through the C API; 0: the export */
    double seconds;
    pthread_barrier_t *barrier;
    long long elements;
    double elapsed;
} Worker;

static void *bench_worker(void *arg) {
    Worker *w = arg;
    int64_t n = w->c->n;
    double *out = malloc(n * sizeof(double));
    pthread_barrier_wait(w->barrier);
    double start = now(), stop = start + w->seconds, t = start;
    long long count = 0;
    while (t < stop) {
        if (w->python) {
            PyGILState_STATE gil = PyGILState_Ensure();
            for (int64_t i = 0; i < CHUNK; i++) {
                PyObject *r = PyObject_CallFunction(function, "dddd", w->c->price[i],
                                                    w->c->prev[i], w->c->volume[i], FEE_BPS);
                out[i] = PyFloat_AsDouble(r);
                Py_DECREF(r);
            }
            PyGILState_Release(gil);
            count += CHUNK;
        } else {
            fee(w->c->price, w->c->prev, w->c->volume, FEE_BPS, n, out);
            count += n;
        }
        t = now();
    }
    w->elements = count;
    w->elapsed = t - start;
    free(out);
    return NULL;
}

static double throughput(Columns *c, int python, int threads, double seconds) {
    pthread_t ids[64];
    Worker workers[64];
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, (unsigned)threads);
    for (int t = 0; t < threads; t++) {
        workers[t] = (Worker){c, python, seconds, &barrier, 0, 0.0};
        pthread_create(&ids[t], NULL, bench_worker, &workers[t]);
    }
    long long elements = 0;
    double elapsed = 0.0;
    for (int t = 0; t < threads; t++) {
        pthread_join(ids[t], NULL);
        elements += workers[t].elements;
        if (workers[t].elapsed > elapsed) elapsed = workers[t].elapsed;
    }
    pthread_barrier_destroy(&barrier);
    return (double)elements / elapsed;
}

/* The export in separate processes (forked after the export: the code is in memory). */
static double process_throughput(Columns *c, int processes, double seconds) {
    int fds[64][2];
    pid_t pids[64];
    double go = now() + 0.05; /* a common start */
    for (int p = 0; p < processes; p++) {
        if (pipe(fds[p]) != 0) return 0.0;
        pids[p] = fork();
        if (pids[p] == 0) {
            double *out = malloc(c->n * sizeof(double));
            while (now() < go) {
            }
            double start = now(), t = start;
            long long count = 0;
            while (t < start + seconds) {
                fee(c->price, c->prev, c->volume, FEE_BPS, c->n, out);
                count += c->n;
                t = now();
            }
            double rate = (double)count / (t - start);
            if (write(fds[p][1], &rate, sizeof rate) != sizeof rate) _exit(1);
            _exit(0);
        }
        close(fds[p][1]);
    }
    double total = 0.0;
    for (int p = 0; p < processes; p++) {
        double rate = 0.0;
        if (read(fds[p][0], &rate, sizeof rate) == sizeof rate) total += rate;
        close(fds[p][0]);
        waitpid(pids[p], NULL, 0);
    }
    return total;
}

/* The same arithmetic in C: what a call on 8 elements costs with no vecpipe at all. */
__attribute__((noinline)) static int32_t plain_c(const double *price, const double *prev,
                                                 const double *volume, double fee_bps,
                                                 int64_t n, double *out) {
    for (int64_t i = 0; i < n; i++) {
        double gross = log(price[i] / prev[i]);
        double cost = fee_bps * 1e-4 * (1.0 + sqrt(volume[i]) / 100.0);
        out[i] = gross > 0.0 ? gross - cost : gross + cost;
    }
    return 0;
}

static double ns_per_call(fee_adjusted_return_fn *volatile f, Columns *c, int64_t n) {
    double best = 1e30, *out = malloc(n * sizeof(double));
    for (int repeat = 0; repeat < 7; repeat++) {
        const int calls = (int)(2000000 / n) + 1; /* about two million elements a repeat */
        double start = now();
        for (int i = 0; i < calls; i++) f(c->price, c->prev, c->volume, FEE_BPS, n, out);
        double each = (now() - start) / calls * 1e9;
        if (each < best) best = each;
    }
    free(out);
    return best;
}

static int bench(const char *thread_list, double seconds) {
    Columns c = make_columns(10000);
    Columns small = make_columns(8);
    PyThreadState *state = PyEval_SaveThread();
    char list[256];
    snprintf(list, sizeof list, "%s", thread_list);
    for (char *item = strtok(list, ","); item != NULL; item = strtok(NULL, ",")) {
        int threads = atoi(item);
        if (threads < 1 || threads > 64) continue;
        printf("{\"host\": \"c\", \"path\": \"python\", \"threads\": %d, \"elements_per_s\": %.6g}\n",
               threads, throughput(&c, 1, threads, seconds));
        printf("{\"host\": \"c\", \"path\": \"export\", \"threads\": %d, \"elements_per_s\": %.6g}\n",
               threads, throughput(&c, 0, threads, seconds));
        printf("{\"host\": \"c\", \"path\": \"processes\", \"threads\": %d, \"elements_per_s\": %.6g}\n",
               threads, process_throughput(&c, threads, seconds));
        fflush(stdout);
    }
    double exported = ns_per_call(fee, &small, 8), plain = ns_per_call(plain_c, &small, 8);
    double exported_big = ns_per_call(fee, &c, 10000), plain_big = ns_per_call(plain_c, &c, 10000);
    printf("{\"host\": \"c\", \"path\": \"overhead\", \"elements\": 8, \"export_ns\": %.4g, "
           "\"plain_ns\": %.4g, \"export_ns_10000\": %.6g, \"plain_ns_10000\": %.6g}\n",
           exported, plain, exported_big, plain_big);
    PyEval_RestoreThread(state);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "bench") != 0)) {
        fprintf(stderr, "usage: %s check [--threads N] [--n N] [--out FILE]\n"
                        "       %s bench [--threads 1,2,...] [--seconds S]\n", argv[0], argv[0]);
        return 2;
    }
    const char *threads = NULL, *out = NULL;
    int64_t n = 100000;
    double seconds = 1.0;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--threads") == 0) threads = argv[i + 1];
        else if (strcmp(argv[i], "--n") == 0) n = atoll(argv[i + 1]);
        else if (strcmp(argv[i], "--out") == 0) out = argv[i + 1];
        else if (strcmp(argv[i], "--seconds") == 0) seconds = atof(argv[i + 1]);
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    start_python();
    int code;
    if (strcmp(argv[1], "check") == 0) {
        int count = threads ? atoi(threads) : 4;
        code = check(count < 1 ? 1 : (count > 64 ? 64 : count), n, out);
    } else {
        code = bench(threads ? threads : "1,2", seconds);
    }
    Py_Finalize();
    return code;
}
