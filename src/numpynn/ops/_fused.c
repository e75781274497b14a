/* numpynn.ops._fused: one-pass C loops for the elementwise work around a training step's matrix products.
 *
 * The readable version of every loop here is a method of NumpyOps (numpynn/ops/numpy_ops.py); FusedOps
 * (fused_ops.py) calls these loops in its place where they apply. NumPy makes one pass over memory per
 * operation: Adam's update is a dozen passes over every weight, a ReLU layer's bias and activation two, its
 * backward pass three. Here each job is one pass. Bias+ReLU, the ReLU backward pass and the bias sum use the
 * same float operations in the same order (no FMA contraction: built with -ffp-contract=off), so they give
 * bit-identical results to the NumPy reference; Adam folds the bias corrections into its step size and eps,
 * as Kingma & Ba's section 2 suggests, and agrees with the reference to a few units in the last place.
 *
 * Arrays arrive through the buffer protocol (no NumPy headers needed to build): C-contiguous float32 or
 * float64, checked here; a mismatch raises ValueError/TypeError naming what was expected.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
/* one binary, the widest vector unit the CPU has: chosen at load time */
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

/* ---- buffers ------------------------------------------------------------------------------------------ */

typedef struct {
    Py_buffer view;
    int held;
} Arg;

static void release(Arg *args, int n) {
    for (int i = 0; i < n; i++)
        if (args[i].held) PyBuffer_Release(&args[i].view);
}

/* The element kind of a buffer: 'f' (float32), 'd' (float64), 'q' (int64), or 0. */
static char kind(const Py_buffer *v) {
    const char *f = v->format ? v->format : "B";
    if (*f == '@' || *f == '=' || *f == '<') f++;
    if (f[0] && f[1] == 0) {
        if (f[0] == 'f' && v->itemsize == 4) return 'f';
        if (f[0] == 'd' && v->itemsize == 8) return 'd';
        if ((f[0] == 'q' || f[0] == 'l') && v->itemsize == 8) return 'q';
    }
    return 0;
}

static int get(PyObject *obj, Arg *a, int writable, const char *name) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, &a->view, flags) < 0) {
        PyErr_Format(PyExc_TypeError, "%s must be a C-contiguous%s array", name, writable ? " writable" : "");
        return -1;
    }
    a->held = 1;
    return 0;
}

/* All float arguments must share one kind; returns it ('f' or 'd') or 0 with an error set. */
static char same_float_kind(Arg *args, int n, const char *const *names) {
    char k = kind(&args[0].view);
    if (k != 'f' && k != 'd') {
        PyErr_Format(PyExc_TypeError, "%s must be float32 or float64, got format '%s'", names[0],
                     args[0].view.format ? args[0].view.format : "B");
        return 0;
    }
    for (int i = 1; i < n; i++) {
        if (kind(&args[i].view) != k) {
            PyErr_Format(PyExc_TypeError, "%s must have the dtype of %s (%s)", names[i], names[0],
                         k == 'f' ? "float32" : "float64");
            return 0;
        }
    }
    return k;
}

#define COUNT(a) ((a).view.len / (a).view.itemsize)
#define DENSE_ROWS_BLOCK 1024 /* inputs listed at a time by dense_rows */

/* ---- loops, written once for float and double ---------------------------------------------------------- */

#define LOOPS(T, SQRT, EXP, LOG, SFX)                                                                           \
    /* p *= decay; g += l2*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g; p -= a * m / (sqrt(v) + eps) */      \
    static CLONES void adam_##SFX(Py_ssize_t n, T *restrict p, const T *restrict g, T *restrict m,            \
                                  T *restrict v, T a, T b1, T c1, T b2, T c2, T eps, T decay, T l2) {          \
        int scale = decay != (T)1, couple = l2 != (T)0; /* c1 = 1 - b1 and c2 = 1 - b2, rounded from double */ \
        for (Py_ssize_t i = 0; i < n; i++) {                                                                   \
            T pi = scale ? p[i] * decay : p[i];                                                                \
            T gi = couple ? g[i] + pi * l2 : g[i];                                                             \
            T mi = m[i] * b1 + gi * c1;                                                                        \
            T vi = v[i] * b2 + (gi * gi) * c2;                                                                 \
            m[i] = mi;                                                                                         \
            v[i] = vi;                                                                                         \
            p[i] = pi - (mi / (SQRT(vi) + eps)) * a;                                                           \
        }                                                                                                      \
    }                                                                                                          \
    /* z = max(z + b, 0), row by row; NaN stays NaN */                                                         \
    static CLONES void bias_relu_##SFX(Py_ssize_t rows, Py_ssize_t cols, T *restrict z, const T *restrict b) { \
        for (Py_ssize_t r = 0; r < rows; r++) {                                                                \
            T *restrict zr = z + r * cols;                                                                     \
            for (Py_ssize_t c = 0; c < cols; c++) {                                                            \
                T x = zr[c] + b[c];                                                                            \
                zr[c] = x < (T)0 ? (T)0 : x;                                                                   \
            }                                                                                                  \
        }                                                                                                      \
    }                                                                                                          \
    /* dz = dy * (y > 0); gb = dz summed over rows, first row first as NumPy's sum does (rows `ld` apart) */   \
    static CLONES void relu_backward_##SFX(Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t ld,                    \
                                           const T *restrict dy, const T *restrict y, T *restrict dz,          \
                                           T *restrict gb) {                                                   \
        for (Py_ssize_t r = 0; r < rows; r++) {                                                                \
            const T *restrict dyr = dy + r * ld, *restrict yr = y + r * ld;                                    \
            T *restrict dzr = dz + r * ld;                                                                     \
            for (Py_ssize_t c = 0; c < cols; c++) {                                                            \
                T d = dyr[c] * (yr[c] > (T)0 ? (T)1 : (T)0);                                                   \
                dzr[c] = d;                                                                                    \
                gb[c] = r ? gb[c] + d : d;                                                                     \
            }                                                                                                  \
        }                                                                                                      \
    }                                                                                                          \
    /* out[i] = e^(z[i] - top of z's row), rows of k; the exponentials in one flat loop that vectorizes */    \
    static CLONES void exp_shifted_##SFX(Py_ssize_t n, Py_ssize_t k, const T *z, T *out) {                    \
        for (Py_ssize_t r = 0; r < n; r++) {                                                                   \
            const T *zr = z + r * k;                                                                           \
            T top = zr[0];                                                                                     \
            for (Py_ssize_t c = 1; c < k; c++) top = zr[c] > top ? zr[c] : top;                                \
            for (Py_ssize_t c = 0; c < k; c++) out[r * k + c] = zr[c] - top;                                   \
        }                                                                                                      \
        for (Py_ssize_t i = 0; i < n * k; i++) out[i] = EXP(out[i]);                                           \
    }                                                                                                          \
    /* gb = dz summed over rows, first row first as NumPy's sum does: the bias gradient of a layer without ReLU */ \
    static CLONES void sum_rows_##SFX(Py_ssize_t rows, Py_ssize_t cols, const T *restrict dz, T *restrict gb) {  \
        for (Py_ssize_t c = 0; c < cols; c++) gb[c] = rows ? dz[c] : (T)0;                                    \
        for (Py_ssize_t r = 1; r < rows; r++)                                                                  \
            for (Py_ssize_t c = 0; c < cols; c++) gb[c] += dz[r * cols + c];                                   \
    }                                                                                                          \
    /* softmax cross-entropy of integer labels with label smoothing: returns the summed loss (float64),      \
       writes (softmax(z) - smoothed one-hot) * norm into grad; -1 if a label is out of range */              \
    static int softmax_xent_##SFX(Py_ssize_t n, Py_ssize_t k, const T *restrict z, const long long *labels,    \
                                  double eps, T norm, T *restrict grad, double *total) {                       \
        for (Py_ssize_t r = 0; r < n; r++)                                                                     \
            if (labels[r] < 0 || labels[r] >= k) return -1;                                                    \
        exp_shifted_##SFX(n, k, z, grad);                                                                      \
        double sum = 0.0;                                                                                      \
        T off = (T)(eps / (double)k), hit = (T)(1.0 - eps);                                                    \
        for (Py_ssize_t r = 0; r < n; r++) {                                                                   \
            const T *zr = z + r * k;                                                                           \
            T *gr = grad + r * k;                                                                              \
            long long t = labels[r];                                                                           \
            T top = zr[0];                                                                                     \
            for (Py_ssize_t c = 1; c < k; c++) top = zr[c] > top ? zr[c] : top;                                \
            T s = 0;                                                                                           \
            double shifted = 0.0;                                                                              \
            for (Py_ssize_t c = 0; c < k; c++) {                                                               \
                s += gr[c];                                                                                    \
                shifted += (double)(zr[c] - top);                                                              \
            }                                                                                                  \
            T log_z = LOG(s);                                                                                  \
            double nll = (double)(log_z - (zr[t] - top));                                                      \
            sum += eps ? (1.0 - eps) * nll + eps * ((double)log_z - shifted / (double)k) : nll;                \
            for (Py_ssize_t c = 0; c < k; c++) {                                                               \
                T q = gr[c] / s - off;                                                                         \
                gr[c] = (c == t ? q - hit : q) * norm;                                                         \
            }                                                                                                  \
        }                                                                                                      \
        *total = sum * (double)norm;                                                                           \
        return 0;                                                                                              \
    }                                                                                                          \
    /* softmax of each row, into out (may be z) */                                                             \
    static void softmax_##SFX(Py_ssize_t n, Py_ssize_t k, const T *z, T *out) {                               \
        exp_shifted_##SFX(n, k, z, out);                                                                       \
        for (Py_ssize_t r = 0; r < n; r++) {                                                                   \
            T *o = out + r * k, s = 0;                                                                         \
            for (Py_ssize_t c = 0; c < k; c++) s += o[c];                                                      \
            for (Py_ssize_t c = 0; c < k; c++) o[c] /= s;                                                      \
        }                                                                                                      \
    }                                                                                                          \
    /* out = x @ W + b, then max(., 0) if relu: a Dense layer's forward pass for a few rows (prediction).     \
       Only the rows of W whose input is not zero are read (an image's background is zero, as are about     \
       half of a ReLU layer's outputs; the reference BLAS gemv skips them too), four of them per pass over   \
       the output row. The nonzero inputs are listed first without a branch: where zeros fall at random, as  \
       in a hidden layer's output, a test per input would be mispredicted about every other time.            \
       The list is made block by block, so any width needs only a small fixed buffer. */                     \
    static CLONES void dense_rows_##SFX(Py_ssize_t rows, Py_ssize_t nin, Py_ssize_t nout, const T *x,          \
                                        const T *W, const T *b, T *restrict out, int relu) {                  \
        Py_ssize_t nz[DENSE_ROWS_BLOCK + 3];                                                                   \
        for (Py_ssize_t r = 0; r < rows; r++) {                                                                \
            const T *xr = x + r * nin;                                                                         \
            T *restrict o = out + r * nout;                                                                    \
            for (Py_ssize_t c = 0; c < nout; c++) o[c] = b[c];                                                 \
            Py_ssize_t k = 0; /* listed and not yet used: fewer than four carry over to the next block */     \
            for (Py_ssize_t s = 0; s < nin; s += DENSE_ROWS_BLOCK) {                                           \
                Py_ssize_t e = s + DENSE_ROWS_BLOCK < nin ? s + DENSE_ROWS_BLOCK : nin, j = 0;                 \
                for (Py_ssize_t i = s; i < e; i++) {                                                           \
                    nz[k] = i;                                                                                 \
                    k += xr[i] != (T)0;                                                                        \
                }                                                                                              \
                for (; j + 4 <= k; j += 4) {                                                                   \
                    const T *w0 = W + nz[j] * nout, *w1 = W + nz[j + 1] * nout;                                \
                    const T *w2 = W + nz[j + 2] * nout, *w3 = W + nz[j + 3] * nout;                            \
                    T a0 = xr[nz[j]], a1 = xr[nz[j + 1]], a2 = xr[nz[j + 2]], a3 = xr[nz[j + 3]];              \
                    for (Py_ssize_t c = 0; c < nout; c++)                                                      \
                        o[c] += (a0 * w0[c] + a1 * w1[c]) + (a2 * w2[c] + a3 * w3[c]);                         \
                }                                                                                              \
                for (Py_ssize_t q = 0; j + q < k; q++) nz[q] = nz[j + q];                                      \
                k -= j;                                                                                        \
            }                                                                                                  \
            for (Py_ssize_t j = 0; j < k; j++) {                                                               \
                const T *w0 = W + nz[j] * nout;                                                                \
                T a0 = xr[nz[j]];                                                                              \
                for (Py_ssize_t c = 0; c < nout; c++) o[c] += a0 * w0[c];                                      \
            }                                                                                                  \
            if (relu)                                                                                          \
                for (Py_ssize_t c = 0; c < nout; c++) o[c] = o[c] < (T)0 ? (T)0 : o[c];                        \
        }                                                                                                      \
    }

/* 1 if no element is NaN or inf: those have every exponent bit set. Integer tests, so the loop vectorizes
   (a float sum could not be reordered); checked block by block to stop soon after a bad value. */
#define ALL_FINITE(U, EXPONENT, SFX)                                                                            \
    static CLONES int all_finite_##SFX(Py_ssize_t n, const U *restrict bits) {                                 \
        for (Py_ssize_t s = 0; s < n; s += 4096) {                                                             \
            Py_ssize_t e = s + 4096 < n ? s + 4096 : n;                                                        \
            U bad = 0;                                                                                         \
            for (Py_ssize_t i = s; i < e; i++) bad |= (bits[i] & EXPONENT) == EXPONENT;                        \
            if (bad) return 0;                                                                                 \
        }                                                                                                      \
        return 1;                                                                                              \
    }

ALL_FINITE(uint32_t, 0x7f800000u, f32)
ALL_FINITE(uint64_t, 0x7ff0000000000000ull, f64)
/* e^x for float32 x <= 0, the shifted logits of a softmax, in branch-free arithmetic the compiler turns into
   vector instructions (the C library's expf is called one number at a time): x = j*ln2 + r with j a whole
   number and |r| <= ln2/2, e^r by its Taylor series to r^7 (the first term left out is below 1e-8 of the
   result, a sixth of float32's precision), and 2^j written straight into the exponent bits. Within 1.5 x 2^-23
   of the exact value, relatively, as expf is (the tests check this); 0 below ln(FLT_MIN) = -87.34, where
   expf's result is subnormal or 0 and counts for nothing in a softmax; NaN for NaN. */
static inline float exp_nonpositive(float x) {
    const float lowest = -87.33654f, round = 12582912.0f; /* 1.5 * 2^23: adding it rounds to a whole number */
    float xc = x >= lowest ? x : lowest; /* NaN too, so every step below is defined; its result is NaN */
    float j = (xc * 1.44269504f + round) - round; /* nearest whole number to x / ln2 */
    float r = (xc - j * 0.693359375f) - j * -2.12194440e-4f; /* ln2 in two parts: j * 0.693359375 is exact */
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    union { uint32_t i; float f; } scale = {.i = (uint32_t)((int32_t)j + 127) << 23};
    float e = p * scale.f;
    return x >= lowest ? e : x < lowest ? 0.0f : x; /* a NaN logit stays NaN, so divergence is caught */
}

LOOPS(float, sqrtf, exp_nonpositive, logf, f32)
LOOPS(double, sqrt, exp, log, f64)

/* ---- sharing a loop with the BLAS library's threads ------------------------------------------------------ */
/* OpenBLAS keeps its worker threads spinning for about 0.1 s after each matrix product, waiting for the next
   one. A thread of our own would have to share a core with such a spinner (and ran slower than one thread
   alone when tried), so the long loops of a training step are split across those very workers instead:
   OpenBLAS's gotoblas_pthread(n, function, args, stride) runs function(args + i*stride) for i < n, the
   first on the calling thread and the rest on its workers, and returns when all are done. numpynn.ops.blas_threads
   finds that function in the OpenBLAS that NumPy loaded and hands it over with share_blas_threads();
   until then, or with another BLAS, every loop runs on the calling thread. The parts are cut so that each
   element is computed by the same operations as in one pass: results do not depend on the thread count. */

typedef int (*blas_run_fn)(int, void *, void *, int);
typedef int (*blas_count_fn)(void);
static blas_run_fn blas_run = NULL;
static blas_count_fn blas_threads = NULL;
#define MAX_PARTS 16

typedef struct Part {
    void (*body)(const struct Part *);
    const void *job;
    Py_ssize_t lo, hi; /* the items [lo, hi) of this part */
    int index;
    unsigned long long fp_mode;
} Part;

/* The floating-point mode (flush-to-zero among it) is per thread: a part runs in its caller's. */
static unsigned long long fp_mode_get(void) {
#if defined(__x86_64__) || defined(_M_X64)
    return _mm_getcsr();
#elif defined(__aarch64__) && defined(__GNUC__)
    unsigned long long fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    return fpcr;
#else
    return 0;
#endif
}

static void fp_mode_set(unsigned long long mode) {
#if defined(__x86_64__) || defined(_M_X64)
    _mm_setcsr((unsigned int)mode);
#elif defined(__aarch64__) && defined(__GNUC__)
    __asm__ __volatile__("msr fpcr, %0" : : "r"(mode));
#else
    (void)mode;
#endif
}

static void run_part(void *arg) {
    const Part *part = arg;
    unsigned long long own = fp_mode_get();
    fp_mode_set(part->fp_mode);
    part->body(part);
    fp_mode_set(own);
}

/* Runs body over [0, n) in parts of at least `grain` items, cut at multiples of `align` items, on as many of the
   BLAS library's threads as it is set to use (threadpoolctl's limits apply); returns the number of parts. */
static int share(void (*body)(const Part *), const void *job, Py_ssize_t n, Py_ssize_t grain, Py_ssize_t align) {
    int k = blas_run && n >= 2 * grain ? blas_threads() : 1;
    if (k > n / grain) k = (int)(n / grain);
    if (k > MAX_PARTS) k = MAX_PARTS;
    if (k <= 1) {
        Part whole = {body, job, 0, n, 0, 0};
        body(&whole);
        return 1;
    }
    Part parts[MAX_PARTS];
    Py_ssize_t per = ((n + k - 1) / k + align - 1) / align * align, lo = 0;
    unsigned long long mode = fp_mode_get();
    int used = 0;
    for (; used < k && lo < n; used++, lo += per) {
        Part p = {body, job, lo, lo + per < n ? lo + per : n, used, mode};
        parts[used] = p;
    }
    blas_run(used, (void *)run_part, parts, (int)sizeof(Part));
    return used;
}

#define SHARE_GRAIN 16384 /* elements: below this a part costs more to hand over than it saves */

static PyObject *py_share_blas_threads(PyObject *self, PyObject *args) {
    unsigned long long run, count;
    if (!PyArg_ParseTuple(args, "KK:share_blas_threads", &run, &count)) return NULL;
    if ((run == 0) != (count == 0)) {
        PyErr_SetString(PyExc_ValueError, "give both function addresses, or 0 and 0 to stop sharing");
        return NULL;
    }
    blas_run = (blas_run_fn)(uintptr_t)run;
    blas_threads = (blas_count_fn)(uintptr_t)count;
    Py_RETURN_NONE;
}

/* ---- Python entry points --------------------------------------------------------------------------------- */

typedef struct {
    char kind;
    void *p, *m, *v;
    const void *g;
    double a, b1, b2, eps, decay, l2;
} AdamJob;

static void adam_part(const Part *part) {
    const AdamJob *j = part->job;
    Py_ssize_t lo = part->lo, n = part->hi - part->lo;
    if (j->kind == 'f')
        adam_f32(n, (float *)j->p + lo, (const float *)j->g + lo, (float *)j->m + lo, (float *)j->v + lo,
                 (float)j->a, (float)j->b1, (float)(1.0 - j->b1), (float)j->b2, (float)(1.0 - j->b2), (float)j->eps,
                 (float)j->decay, (float)j->l2);
    else
        adam_f64(n, (double *)j->p + lo, (const double *)j->g + lo, (double *)j->m + lo, (double *)j->v + lo,
                 j->a, j->b1, 1.0 - j->b1, j->b2, 1.0 - j->b2, j->eps, j->decay, j->l2);
}

static PyObject *py_adam(PyObject *self, PyObject *args) {
    PyObject *o[4];
    double a, b1, b2, eps, decay, l2;
    if (!PyArg_ParseTuple(args, "OOOOdddddd:adam", &o[0], &o[1], &o[2], &o[3], &a, &b1, &b2, &eps, &decay, &l2))
        return NULL;
    static const char *const names[] = {"p", "g", "m", "v"};
    Arg x[4];
    memset(x, 0, sizeof x);
    for (int i = 0; i < 4; i++)
        if (get(o[i], &x[i], i != 1, names[i]) < 0) goto fail;
    char k = same_float_kind(x, 4, names);
    if (!k) goto fail;
    Py_ssize_t n = COUNT(x[0]);
    for (int i = 1; i < 4; i++)
        if (COUNT(x[i]) != n) {
            PyErr_Format(PyExc_ValueError, "%s has %zd elements, p has %zd", names[i], COUNT(x[i]), n);
            goto fail;
        }
    AdamJob job = {k, x[0].view.buf, x[2].view.buf, x[3].view.buf, x[1].view.buf, a, b1, b2, eps, decay, l2};
    Py_BEGIN_ALLOW_THREADS
    share(adam_part, &job, n, SHARE_GRAIN, 16);
    Py_END_ALLOW_THREADS
    release(x, 4);
    Py_RETURN_NONE;
fail:
    release(x, 4);
    return NULL;
}

/* rows x cols from a 2-D array and a vector of length cols */
static int rows_of(Arg *m, Arg *vec, const char *mname, Py_ssize_t *rows, Py_ssize_t *cols) {
    *cols = COUNT(*vec);
    if (m->view.ndim != 2 || m->view.shape[1] != *cols) {
        PyErr_Format(PyExc_ValueError, "%s must be 2-D with %zd columns", mname, *cols);
        return -1;
    }
    *rows = m->view.shape[0];
    return 0;
}

/* n x k from a 2-D array and an output buffer of the same size */
static int matrix_and_out(Arg *m, Arg *out, const char *mname, const char *oname, Py_ssize_t *n, Py_ssize_t *k) {
    if (m->view.ndim != 2 || COUNT(*out) != COUNT(*m)) {
        PyErr_Format(PyExc_ValueError, "%s must be 2-D and %s the same size", mname, oname);
        return -1;
    }
    *n = m->view.shape[0];
    *k = m->view.shape[1];
    return 0;
}

typedef struct {
    char kind;
    Py_ssize_t cols;
    void *z;
    const void *b;
} BiasReluJob;

static void bias_relu_part(const Part *part) { /* a range of rows */
    const BiasReluJob *j = part->job;
    Py_ssize_t rows = part->hi - part->lo, at = part->lo * j->cols;
    if (j->kind == 'f') bias_relu_f32(rows, j->cols, (float *)j->z + at, j->b);
    else bias_relu_f64(rows, j->cols, (double *)j->z + at, j->b);
}

/* The arguments (matrix, vector of its width), the one at `written` to be written: their float kind, or 0 with
   an error set. Both buffers are released by the caller either way. */
static char matrix_and_vector(PyObject *args, const char *format, const char *const names[2], int written, Arg x[2],
                              Py_ssize_t *rows, Py_ssize_t *cols, int *flag) {
    PyObject *o[2];
    memset(x, 0, 2 * sizeof *x);
    if (!PyArg_ParseTuple(args, format, &o[0], &o[1], flag)) return 0; /* flag: an optional "|p" after the arrays */
    for (int i = 0; i < 2; i++)
        if (get(o[i], &x[i], i == written, names[i]) < 0) return 0;
    char k = same_float_kind(x, 2, names);
    if (!k || rows_of(&x[0], &x[1], names[0], rows, cols) < 0) return 0;
    return k;
}

static PyObject *py_bias_relu(PyObject *self, PyObject *args) {
    static const char *const names[] = {"z", "b"};
    Arg x[2];
    Py_ssize_t rows, cols;
    int shared = 1; /* 0: on the calling thread alone, whatever its size */
    char k = matrix_and_vector(args, "OO|p:bias_relu", names, 0, x, &rows, &cols, &shared);
    if (!k) goto fail;
    BiasReluJob job = {k, cols, x[0].view.buf, x[1].view.buf};
    Py_BEGIN_ALLOW_THREADS
    share(bias_relu_part, &job, rows, shared ? 1 + SHARE_GRAIN / (cols ? cols : 1) : rows + 1, 1);
    Py_END_ALLOW_THREADS
    release(x, 2);
    Py_RETURN_NONE;
fail:
    release(x, 2);
    return NULL;
}

typedef struct {
    char kind;
    Py_ssize_t rows, cols;
    const void *dy, *y;
    void *dz, *gb;
} ReluBackwardJob;

static void relu_backward_part(const Part *part) { /* a range of columns, so each bias sum keeps its order */
    const ReluBackwardJob *j = part->job;
    Py_ssize_t c = part->lo, w = part->hi - part->lo;
    if (j->kind == 'f')
        relu_backward_f32(j->rows, w, j->cols, (const float *)j->dy + c, (const float *)j->y + c,
                          (float *)j->dz + c, (float *)j->gb + c);
    else
        relu_backward_f64(j->rows, w, j->cols, (const double *)j->dy + c, (const double *)j->y + c,
                          (double *)j->dz + c, (double *)j->gb + c);
}

static PyObject *py_relu_backward(PyObject *self, PyObject *args) {
    PyObject *o[4];
    if (!PyArg_ParseTuple(args, "OOOO:relu_backward", &o[0], &o[1], &o[2], &o[3])) return NULL;
    static const char *const names[] = {"dy", "y", "dz", "gb"};
    Arg x[4];
    memset(x, 0, sizeof x);
    Py_ssize_t rows, cols;
    for (int i = 0; i < 4; i++)
        if (get(o[i], &x[i], i >= 2, names[i]) < 0) goto fail;
    char k = same_float_kind(x, 4, names);
    if (!k || rows_of(&x[0], &x[3], "dy", &rows, &cols) < 0) goto fail;
    if (COUNT(x[1]) != rows * cols || COUNT(x[2]) != rows * cols) {
        PyErr_Format(PyExc_ValueError, "y and dz must have the %zd x %zd elements of dy", rows, cols);
        goto fail;
    }
    ReluBackwardJob job = {k, rows, cols, x[0].view.buf, x[1].view.buf, x[2].view.buf, x[3].view.buf};
    Py_BEGIN_ALLOW_THREADS
    share(relu_backward_part, &job, cols, 1 + SHARE_GRAIN / (rows ? rows : 1), 16);
    Py_END_ALLOW_THREADS
    release(x, 4);
    Py_RETURN_NONE;
fail:
    release(x, 4);
    return NULL;
}

static PyObject *py_sum_rows(PyObject *self, PyObject *args) {
    static const char *const names[] = {"dz", "gb"};
    Arg x[2];
    Py_ssize_t rows, cols;
    char k = matrix_and_vector(args, "OO:sum_rows", names, 1, x, &rows, &cols, NULL);
    if (!k) goto fail;
    Py_BEGIN_ALLOW_THREADS
    if (k == 'f') sum_rows_f32(rows, cols, x[0].view.buf, x[1].view.buf);
    else sum_rows_f64(rows, cols, x[0].view.buf, x[1].view.buf);
    Py_END_ALLOW_THREADS
    release(x, 2);
    Py_RETURN_NONE;
fail:
    release(x, 2);
    return NULL;
}

static PyObject *py_softmax_cross_entropy(PyObject *self, PyObject *args) {
    PyObject *oz, *ol, *og;
    double eps, norm, total = 0.0;
    if (!PyArg_ParseTuple(args, "OOddO:softmax_cross_entropy", &oz, &ol, &eps, &norm, &og)) return NULL;
    static const char *const names[] = {"logits", "grad"};
    Arg x[3];
    memset(x, 0, sizeof x);
    if (get(oz, &x[0], 0, "logits") < 0 || get(og, &x[1], 1, "grad") < 0 || get(ol, &x[2], 0, "labels") < 0)
        goto fail;
    Py_ssize_t n, c;
    char k = same_float_kind(x, 2, names);
    if (!k || matrix_and_out(&x[0], &x[1], "logits", "grad", &n, &c) < 0) goto fail;
    if (kind(&x[2].view) != 'q' || COUNT(x[2]) != n) {
        PyErr_Format(PyExc_TypeError, "labels must be %zd int64 class indices", n);
        goto fail;
    }
    int bad;
    Py_BEGIN_ALLOW_THREADS
    if (k == 'f') bad = softmax_xent_f32(n, c, x[0].view.buf, x[2].view.buf, eps, (float)norm, x[1].view.buf, &total);
    else bad = softmax_xent_f64(n, c, x[0].view.buf, x[2].view.buf, eps, norm, x[1].view.buf, &total);
    Py_END_ALLOW_THREADS
    if (bad) {
        PyErr_Format(PyExc_IndexError, "a class label is outside 0..%zd", c - 1);
        goto fail;
    }
    release(x, 3);
    return PyFloat_FromDouble(total);
fail:
    release(x, 3);
    return NULL;
}

static PyObject *py_softmax(PyObject *self, PyObject *args) {
    PyObject *oz, *oo;
    if (!PyArg_ParseTuple(args, "OO:softmax", &oz, &oo)) return NULL;
    static const char *const names[] = {"z", "out"};
    Arg x[2];
    memset(x, 0, sizeof x);
    if (get(oz, &x[0], 0, "z") < 0 || get(oo, &x[1], 1, "out") < 0) goto fail;
    Py_ssize_t n, c;
    char k = same_float_kind(x, 2, names);
    if (!k || matrix_and_out(&x[0], &x[1], "z", "out", &n, &c) < 0) goto fail;
    if (c > 0) {
        if (k == 'f') softmax_f32(n, c, x[0].view.buf, x[1].view.buf);
        else softmax_f64(n, c, x[0].view.buf, x[1].view.buf);
    }
    release(x, 2);
    Py_RETURN_NONE;
fail:
    release(x, 2);
    return NULL;
}

/* dense_rows(x, layers, softmax=False): a stack of Dense layers for a few rows in one call (prediction of one
   sample is mostly calls otherwise). `layers` is a sequence of (W, b, out, relu); each layer reads the previous
   out. With softmax, the last out is turned into each row's softmax in place (a classifier's probabilities). */
static PyObject *py_dense_rows(PyObject *self, PyObject *args) {
    PyObject *ox, *olayers;
    int softmax = 0;
    if (!PyArg_ParseTuple(args, "OO|p:dense_rows", &ox, &olayers, &softmax)) return NULL;
    PyObject *seq = PySequence_Fast(olayers, "layers must be a sequence of (W, b, out, relu)");
    if (!seq) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    Arg *a = PyMem_Calloc(1 + 3 * (size_t)n, sizeof(Arg));
    int *relu = PyMem_Calloc((size_t)n + 1, sizeof(int));
    if (!a || !relu) {
        PyErr_NoMemory();
        goto fail;
    }
    if (n == 0) {
        PyErr_SetString(PyExc_ValueError, "layers must hold at least one (W, b, out, relu)");
        goto fail;
    }
    static const char *const names[] = {"x", "W", "b", "out"};
    if (get(ox, &a[0], 0, "x") < 0) goto fail;
    char k = kind(&a[0].view);
    if ((k != 'f' && k != 'd') || a[0].view.ndim != 2) {
        PyErr_SetString(PyExc_TypeError, "x must be a 2-D float32 or float64 array (rows, n_in)");
        goto fail;
    }
    Py_ssize_t rows = a[0].view.shape[0], width = a[0].view.shape[1];
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        PyObject *o[3];
        if (!PyTuple_Check(item)) { /* PyArg_ParseTuple on anything else is a SystemError */
            PyErr_Format(PyExc_TypeError, "dense_rows: layers[%zd] must be a tuple (W, b, out, relu), got %s", i,
                         Py_TYPE(item)->tp_name);
            goto fail;
        }
        if (!PyArg_ParseTuple(item, "OOOp:dense_rows layer", &o[0], &o[1], &o[2], &relu[i])) goto fail;
        Arg *L = a + 1 + 3 * i;
        for (int j = 0; j < 3; j++)
            if (get(o[j], &L[j], j == 2, names[j + 1]) < 0) goto fail;
        Arg four[4] = {a[0], L[0], L[1], L[2]};
        if (!same_float_kind(four, 4, names)) goto fail;
        Py_ssize_t nout = COUNT(L[1]);
        if (L[0].view.ndim != 2 || L[0].view.shape[0] != width || L[0].view.shape[1] != nout) {
            PyErr_Format(PyExc_ValueError, "layer %zd: W must be (%zd, %zd) for an input of %zd and b of %zd", i,
                         width, nout, width, nout);
            goto fail;
        }
        if (L[2].view.ndim != 2 || L[2].view.shape[0] != rows || L[2].view.shape[1] != nout) {
            PyErr_Format(PyExc_ValueError, "layer %zd: out must be (%zd, %zd)", i, rows, nout);
            goto fail;
        }
        width = nout;
    }
    Py_BEGIN_ALLOW_THREADS
    const void *in = a[0].view.buf;
    Py_ssize_t nin = a[0].view.shape[1];
    for (Py_ssize_t i = 0; i < n; i++) {
        Arg *L = a + 1 + 3 * i;
        Py_ssize_t nout = L[2].view.shape[1];
        if (k == 'f') dense_rows_f32(rows, nin, nout, in, L[0].view.buf, L[1].view.buf, L[2].view.buf, relu[i]);
        else dense_rows_f64(rows, nin, nout, in, L[0].view.buf, L[1].view.buf, L[2].view.buf, relu[i]);
        in = L[2].view.buf;
        nin = nout;
    }
    if (softmax && nin > 0) { /* in: the last out, of nin columns */
        if (k == 'f') softmax_f32(rows, nin, in, (float *)in);
        else softmax_f64(rows, nin, in, (double *)in);
    }
    Py_END_ALLOW_THREADS
    release(a, (int)(1 + 3 * n));
    PyMem_Free(a);
    PyMem_Free(relu);
    Py_DECREF(seq);
    Py_RETURN_NONE;
fail:
    if (a) release(a, (int)(1 + 3 * n)); /* only the views taken are marked held */
    PyMem_Free(a);
    PyMem_Free(relu);
    Py_DECREF(seq);
    return NULL;
}

typedef struct {
    char kind;
    const void *bits;
    int ok[MAX_PARTS];
} AllFiniteJob;

static void all_finite_part(const Part *part) {
    AllFiniteJob *j = (AllFiniteJob *)part->job; /* each part writes only its own flag */
    Py_ssize_t n = part->hi - part->lo;
    j->ok[part->index] = j->kind == 'f' ? all_finite_f32(n, (const uint32_t *)j->bits + part->lo)
                                        : all_finite_f64(n, (const uint64_t *)j->bits + part->lo);
}

static PyObject *py_all_finite(PyObject *self, PyObject *arg) {
    Arg x[1];
    memset(x, 0, sizeof x);
    if (get(arg, &x[0], 0, "a") < 0) return NULL;
    char k = kind(&x[0].view);
    if (k != 'f' && k != 'd') {
        PyErr_SetString(PyExc_TypeError, "a must be float32 or float64");
        release(x, 1);
        return NULL;
    }
    AllFiniteJob job = {k, x[0].view.buf, {0}};
    int parts, ok = 1;
    Py_BEGIN_ALLOW_THREADS
    parts = share(all_finite_part, &job, COUNT(x[0]), 16 * SHARE_GRAIN, 16);
    Py_END_ALLOW_THREADS
    for (int i = 0; i < parts; i++) ok &= job.ok[i];
    release(x, 1);
    return PyBool_FromLong(ok);
}

typedef struct {
    const char *src;
    char *dst;
    const long long *idx;
    Py_ssize_t row; /* bytes */
} TakeRowsJob;

/* out[r] = X[idx[r]] for whole rows, prefetching a few rows ahead (the rows are scattered over memory) */
static void take_rows_part(const Part *part) {
    const TakeRowsJob *j = part->job;
    for (Py_ssize_t r = part->lo; r < part->hi; r++) {
        if (r + 2 < part->hi) {
            const char *ahead = j->src + j->idx[r + 2] * j->row;
            for (Py_ssize_t b = 0; b < j->row; b += 64) __builtin_prefetch(ahead + b, 0, 0);
        }
        memcpy(j->dst + r * j->row, j->src + j->idx[r] * j->row, (size_t)j->row);
    }
}

static PyObject *py_take_rows(PyObject *self, PyObject *args) {
    PyObject *oX, *oi, *oo;
    if (!PyArg_ParseTuple(args, "OOO:take_rows", &oX, &oi, &oo)) return NULL;
    Arg x[3];
    memset(x, 0, sizeof x);
    if (get(oX, &x[0], 0, "X") < 0 || get(oi, &x[1], 0, "idx") < 0 || get(oo, &x[2], 1, "out") < 0) goto fail;
    if (x[0].view.ndim < 1 || x[0].view.shape[0] == 0 || kind(&x[1].view) != 'q' ||
        x[0].view.itemsize != x[2].view.itemsize) {
        PyErr_SetString(PyExc_TypeError, "take_rows needs X with rows, int64 idx and out of X's dtype");
        goto fail;
    }
    Py_ssize_t n = x[0].view.shape[0], m = COUNT(x[1]), row = x[0].view.len / n;
    if (x[2].view.len != m * row) {
        PyErr_Format(PyExc_ValueError, "out must hold %zd rows of X", m);
        goto fail;
    }
    const long long *idx = x[1].view.buf;
    for (Py_ssize_t r = 0; r < m; r++)
        if (idx[r] < 0 || idx[r] >= n) {
            PyErr_Format(PyExc_IndexError, "row index %lld is outside 0..%zd", idx[r], n - 1);
            goto fail;
        }
    TakeRowsJob job = {x[0].view.buf, x[2].view.buf, idx, row};
    Py_BEGIN_ALLOW_THREADS
    share(take_rows_part, &job, m, 1 + SHARE_GRAIN * 4 / (row ? row : 1), 1);
    Py_END_ALLOW_THREADS
    release(x, 3);
    Py_RETURN_NONE;
fail:
    release(x, 3);
    return NULL;
}

/* The calling thread's flush-to-zero mode: with it on, the CPU takes numbers below the smallest normal float
   (1.2e-38 in float32) as zero, in what it reads and what it writes. Off, x86 CPUs compute on such subnormal
   numbers about a hundred times slower, and training makes them: where a weight's gradient is zero step after
   step, its optimizer state decays geometrically (Adam's m by 0.9 a step) and is subnormal after some 850
   steps. FusedOps.flush_subnormals() turns it on while fit() trains. */
static PyObject *py_flush_subnormals(PyObject *self, PyObject *arg) {
    int on = PyObject_IsTrue(arg);
    if (on < 0) return NULL;
#if defined(__x86_64__) || defined(_M_X64)
    const unsigned int bits = 0x8040; /* FTZ (results) and DAZ (inputs) in MXCSR */
    unsigned int csr = _mm_getcsr();
    _mm_setcsr(on ? csr | bits : csr & ~bits);
    return PyBool_FromLong((csr & bits) == bits);
#elif defined(__aarch64__) && defined(__GNUC__)
    const unsigned long long bit = 1ull << 24; /* FPCR.FZ */
    unsigned long long fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    unsigned long long next = on ? fpcr | bit : fpcr & ~bit;
    __asm__ __volatile__("msr fpcr, %0" : : "r"(next));
    return PyBool_FromLong((fpcr & bit) != 0);
#else
    Py_RETURN_FALSE; /* no such mode known here: numbers stay IEEE subnormals */
#endif
}

/* ---- bfloat16 ----------------------------------------------------------------------------------------- */

typedef struct {
    const uint32_t *src;
    uint16_t *dst;
} ToBf16Job;

/* bfloat16 is float32's upper half: round to nearest even on the 16 bits dropped; a NaN stays a (quiet) NaN
   rather than rounding into infinity */
static CLONES void to_bf16_part(const Part *part) {
    const ToBf16Job *j = part->job;
    for (Py_ssize_t i = part->lo; i < part->hi; i++) {
        uint32_t u = j->src[i];
        if ((u & 0x7fffffffu) > 0x7f800000u)
            j->dst[i] = (uint16_t)((u >> 16) | 0x40u);
        else
            j->dst[i] = (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    }
}

static PyObject *py_to_bf16(PyObject *self, PyObject *args) {
    PyObject *os, *od;
    if (!PyArg_ParseTuple(args, "OO:to_bf16", &os, &od)) return NULL;
    Arg x[2];
    memset(x, 0, sizeof x);
    if (get(os, &x[0], 0, "src") < 0 || get(od, &x[1], 1, "dst") < 0) goto fail;
    if (kind(&x[0].view) != 'f' || x[1].view.itemsize != 2 || COUNT(x[0]) != COUNT(x[1])) {
        PyErr_SetString(PyExc_TypeError, "to_bf16 needs float32 src and a 2-byte dst with as many elements");
        goto fail;
    }
    ToBf16Job job = {x[0].view.buf, x[1].view.buf};
    Py_BEGIN_ALLOW_THREADS
    share(to_bf16_part, &job, COUNT(x[0]), 4 * SHARE_GRAIN, 32);
    Py_END_ALLOW_THREADS
    release(x, 2);
    Py_RETURN_NONE;
fail:
    release(x, 2);
    return NULL;
}


/* ---- augmentation ------------------------------------------------------------------------------------- */

typedef struct {
    const void *src;
    void *dst;
    const double *affine; /* 6 a sample: source row = a0 r + a1 c + a2, source column = a3 r + a4 c + a5 */
    const void *field;    /* (2, n, h, w) displacements added to the source coordinates, or NULL */
    Py_ssize_t n, h, w;
    char k;
} WarpJob;

/* Bilinear resampling of each image at its affine map (plus the field), zero outside the image; the same
   arithmetic order as the NumPy reference (data/augment.py's bilinear_sample). */
#define WARP(T, FLOOR, SFX)                                                                                   \
    static CLONES void warp_##SFX(const WarpJob *j, Py_ssize_t lo, Py_ssize_t hi) {                           \
        const Py_ssize_t h = j->h, w = j->w, px = h * w;                                                     \
        for (Py_ssize_t i = lo; i < hi; i++) {                                                                \
            const T *img = (const T *)j->src + i * px;                                                        \
            T *out = (T *)j->dst + i * px;                                                                    \
            const double *a = j->affine + 6 * i;                                                              \
            const T *fr = j->field ? (const T *)j->field + i * px : NULL;                                     \
            const T *fc = j->field ? (const T *)j->field + (j->n + i) * px : NULL;                            \
            const T a0 = (T)a[0], a1 = (T)a[1], a2 = (T)a[2], a3 = (T)a[3], a4 = (T)a[4], a5 = (T)a[5];       \
            for (Py_ssize_t r = 0; r < h; r++)                                                                \
                for (Py_ssize_t c = 0; c < w; c++) {                                                          \
                    const Py_ssize_t o = r * w + c;                                                           \
                    T sr = a0 * (T)r + a1 * (T)c + a2, sc = a3 * (T)r + a4 * (T)c + a5;                       \
                    if (fr) {                                                                                 \
                        sr += fr[o];                                                                          \
                        sc += fc[o];                                                                          \
                    }                                                                                         \
                    if (!(sr > (T)-1 && sr < (T)h && sc > (T)-1 && sc < (T)w)) { /* NaN too */               \
                        out[o] = (T)0;                                                                        \
                        continue;                                                                             \
                    }                                                                                         \
                    const T r0f = FLOOR(sr), c0f = FLOOR(sc), dr = sr - r0f, dc = sc - c0f;                   \
                    const Py_ssize_t r0 = (Py_ssize_t)r0f, c0 = (Py_ssize_t)c0f;                              \
                    const int up = r0 >= 0, down = r0 + 1 < h, left = c0 >= 0, right = c0 + 1 < w;           \
                    const Py_ssize_t at = r0 * w + c0; /* read only where the tap is inside */               \
                    T tl = up && left ? img[at] : (T)0, tr = up && right ? img[at + 1] : (T)0;                \
                    T bl = down && left ? img[at + w] : (T)0, br = down && right ? img[at + w + 1] : (T)0;    \
                    T top = tl + (tr - tl) * dc, bottom = bl + (br - bl) * dc;                                \
                    out[o] = top + (bottom - top) * dr;                                                       \
                }                                                                                             \
        }                                                                                                     \
    }
WARP(float, floorf, f)
WARP(double, floor, d)

static void warp_part(const Part *part) {
    const WarpJob *j = part->job;
    if (j->k == 'f')
        warp_f(j, part->lo, part->hi);
    else
        warp_d(j, part->lo, part->hi);
}

static PyObject *py_warp(PyObject *self, PyObject *args) {
    PyObject *oi, *oa, *of, *oo;
    if (!PyArg_ParseTuple(args, "OOOO:warp", &oi, &oa, &of, &oo)) return NULL;
    Arg x[4];
    memset(x, 0, sizeof x);
    int with_field = of != Py_None;
    if (get(oi, &x[0], 0, "images") < 0 || get(oo, &x[1], 1, "out") < 0 || get(oa, &x[2], 0, "affine") < 0 ||
        (with_field && get(of, &x[3], 0, "field") < 0))
        goto fail;
    static const char *const names[] = {"images", "out", "field"};
    Arg floats[3] = {x[0], x[1], x[3]};
    char k = same_float_kind(floats, with_field ? 3 : 2, names);
    if (!k) goto fail;
    if (x[0].view.ndim != 3 || kind(&x[2].view) != 'd') {
        PyErr_SetString(PyExc_TypeError, "warp needs images (n, h, w) and float64 affine maps (n, 2, 3)");
        goto fail;
    }
    Py_ssize_t n = x[0].view.shape[0], h = x[0].view.shape[1], w = x[0].view.shape[2];
    if (x[1].view.len != x[0].view.len || COUNT(x[2]) != 6 * n || (with_field && COUNT(x[3]) != 2 * n * h * w)) {
        PyErr_Format(PyExc_ValueError, "warp of %zd images of %zdx%zd needs out of their size, 6 affine values an "
                     "image and a field of 2 x their size", n, h, w);
        goto fail;
    }
    WarpJob job = {x[0].view.buf, x[1].view.buf, x[2].view.buf, with_field ? x[3].view.buf : NULL, n, h, w, k};
    Py_BEGIN_ALLOW_THREADS
    share(warp_part, &job, n, 1 + SHARE_GRAIN / (h * w > 0 ? h * w : 1), 1);
    Py_END_ALLOW_THREADS
    release(x, 4);
    Py_RETURN_NONE;
fail:
    release(x, 4);
    return NULL;
}

static PyMethodDef methods[] = {
    {"adam", py_adam, METH_VARARGS, "adam(p, g, m, v, a, beta1, beta2, eps, decay, l2): Adam's step in place"},
    {"bias_relu", py_bias_relu, METH_VARARGS,
     "bias_relu(z, b, shared=True): z = max(z + b, 0) in place; shared=False keeps it on the calling thread"},
    {"relu_backward", py_relu_backward, METH_VARARGS, "relu_backward(dy, y, dz, gb): dz = dy*(y>0), gb = sum(dz, 0)"},
    {"sum_rows", py_sum_rows, METH_VARARGS, "sum_rows(dz, gb): gb = dz summed over its rows"},
    {"softmax_cross_entropy", py_softmax_cross_entropy, METH_VARARGS,
     "softmax_cross_entropy(logits, labels, eps, norm, grad) -> summed loss * norm; grad written"},
    {"softmax", py_softmax, METH_VARARGS, "softmax(z, out): row-wise softmax"},
    {"all_finite", py_all_finite, METH_O, "all_finite(a) -> True if no element is NaN or inf"},
    {"flush_subnormals", py_flush_subnormals, METH_O,
     "flush_subnormals(on) -> previous: this thread's flush-to-zero mode for subnormal floats"},
    {"dense_rows", py_dense_rows, METH_VARARGS,
     "dense_rows(x, layers, softmax=False): for each (W, b, out, relu) in layers, out = x @ W + b (ReLU if relu), "
     "x = out; then the last out's row-wise softmax in place if softmax"},
    {"share_blas_threads", py_share_blas_threads, METH_VARARGS,
     "share_blas_threads(run, count): addresses of OpenBLAS's gotoblas_pthread and its get_num_threads, "
     "or 0, 0 to run every loop on the calling thread"},
    {"take_rows", py_take_rows, METH_VARARGS, "take_rows(X, idx, out): out[r] = X[idx[r]]"},
    {"warp", py_warp, METH_VARARGS,
     "warp(images, affine, field, out): each image resampled bilinearly at affine (n, 2, 3) + field, zero outside"},
    {"to_bf16", py_to_bf16, METH_VARARGS, "to_bf16(src, dst): dst = src rounded to bfloat16 (nearest even)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fused", "One-pass C loops for numpynn's training step.",
                                    -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fused(void) { return PyModule_Create(&module); }
