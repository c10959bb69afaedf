/*
 * sweep_test.c -- a systematic invalid-argument sweep of the whole C API.
 *
 *   sweep_test IFNAME GROUP PORT
 *
 * Run it inside a network namespace (tests/c/c_api.sh does, with IFNAME eth0
 * of a lab host): senders it creates send on IFNAME, on ports PORT to PORT+3.
 *
 * For every function mcast.h exports, a table of rows calls it with the
 * invalid arguments the header names or a careless caller would pass: NULL
 * for each pointer (handles, out-parameters, strings, buffers with a
 * length), freed handles, handles of another type and pointers that are no
 * handle at all, strings that are not UTF-8, bad group and source addresses,
 * port 0, bad interface names, negative timeouts other than -1, config
 * structs of every implausible `size` (0, not a multiple of the struct's
 * alignment, over 64 KiB, a newer struct with unknown fields set), every
 * enum field out of range and every numeric field at its limits and one
 * past them (the documented ones, and 0 / the type's maximum for the
 * others), key pointers and counts. Each row checks:
 *  - the exact mcast_status documented (or the documented fallback value of
 *    functions that return none);
 *  - the out-parameters as documented (*out NULL, ids and counts 0, key
 *    buffers zeroed, buffers untouched where nothing may be written);
 *  - mcast_last_error(): starts with the function's name and says what is
 *    wrong (names the argument or field) for every failure; unchanged after
 *    successes and after the documented no-ops (freeing NULL);
 *  - mcast_last_os_error(): errno for MCAST_ERR_IO, 0 for other failures;
 *  - never MCAST_ERR_INTERNAL, never a caught panic in the message.
 * Before each row the last error is set to a known marker (a failed
 * mcast_key_from_file of a missing file), so a row cannot pass on a message
 * left by an earlier one. Freed handles stay freed while later rows create
 * and free others (handle values are never reused). Settings at the edges
 * of what is accepted are also put to use (a sender and a receiver
 * exchanging objects): a panic on the engine thread would show as
 * MCAST_ERR_INTERNAL. After the sweep, the context used throughout must
 * still carry a message from a sender to a receiver.
 *
 * What cannot be swept without undefined behaviour is left out: strings
 * without a NUL, buffers shorter than their length, key pointers to fewer
 * than 32 bytes (the header makes those the caller's contract). Streams
 * (and their buffer size) are not part of the C API.
 *
 * Prints one "PASS: " or "FAIL: " line per row and ends with
 * "sweep_test: N passed, N failed"; exits 0 only if nothing failed. Meant
 * to run clean under valgrind.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mcast.h>

/* ------------------------------------------------------------ harness */

/* The `want` of rows for functions that return no mcast_status (their
 * documented fallback value is checked through out_ok instead). */
#define NS (-1)
#define INV MCAST_ERR_INVALID_ARGUMENT

static int passed, failed;

/* Set by a row: 0 if an out-parameter or return value is not as
 * documented. The harness sets it to 1 before each row. */
static int out_ok;
static char out_why[256];

/* A row that makes more calls after the one it tests (to check that a
 * handle survived, say) snapshots the last error first. */
static char snap_err[2048];
static int snap_os;
static int have_snap;

static void snap(void)
{
    snprintf(snap_err, sizeof snap_err, "%s", mcast_last_error());
    snap_os = mcast_last_os_error();
    have_snap = 1;
}

static void expect(int cond, const char *why)
{
    if (!cond && out_ok) {
        out_ok = 0;
        snprintf(out_why, sizeof out_why, "%s", why);
    }
}

#define MARKER "mcast-sweep-marker"

/* Sets the last error (and errno ENOENT) to a known failure. */
static void set_marker(void)
{
    uint8_t k[MCAST_KEY_LEN];
    mcast_key_from_file("/nonexistent/" MARKER, k);
}

static int is_marker(const char *e)
{
    return strncmp(e, "mcast_key_from_file: ", 21) == 0 && strstr(e, MARKER) != NULL;
}

static const char *sname(int s)
{
    static const char *names[] = {"MCAST_OK",
                                  "MCAST_ERR_INVALID_ARGUMENT",
                                  "MCAST_ERR_TIMEOUT",
                                  "MCAST_ERR_WOULD_BLOCK",
                                  "MCAST_ERR_IO",
                                  "MCAST_ERR_CLOSED",
                                  "MCAST_ERR_NO_SUCH_INTERFACE",
                                  "MCAST_ERR_CACHE_FULL",
                                  "MCAST_ERR_ABORTED",
                                  "MCAST_ERR_INTERNAL",
                                  "MCAST_ERR_REJECTED"};
    if (s == NS) {
        return "(no status)";
    }
    return s >= 0 && s <= 10 ? names[s] : "(unknown status)";
}

/* The message of a failure starts with the function's name (for the
 * *_sized functions, the name of the inline function that calls them). */
static int names_function(const char *e, const char *func)
{
    size_t n = strlen(func);
    if (n > 6 && strcmp(func + n - 6, "_sized") == 0) {
        n -= 6;
    }
    return strncmp(e, func, n) == 0 && e[n] == ':';
}

/* Checks one row's outcome and prints its PASS/FAIL line.
 * want: the status (or NS); msg: what the last error must contain (NULL:
 * it must still be the marker); os_want: errno expected for MCAST_ERR_IO. */
static void report(const char *func, const char *what, int got, int want, const char *msg, int os_want)
{
    const char *e = have_snap ? snap_err : mcast_last_error();
    int os = have_snap ? snap_os : mcast_last_os_error();
    char why[600] = "";
    if (got != want) {
        snprintf(why, sizeof why, "returned %s, want %s", sname(got), sname(want));
    } else if (!out_ok) {
        snprintf(why, sizeof why, "%s", out_why);
    } else if (msg == NULL && !is_marker(e)) {
        snprintf(why, sizeof why, "the last error changed (nothing to report here)");
    } else if (msg == NULL && os != ENOENT) {
        snprintf(why, sizeof why, "mcast_last_os_error() changed to %d", os);
    } else if (msg != NULL && !names_function(e, func)) {
        snprintf(why, sizeof why, "the last error does not start with \"%s:\"", func);
    } else if (msg != NULL && strstr(e, msg) == NULL) {
        snprintf(why, sizeof why, "the last error does not say \"%s\"", msg);
    } else if (msg != NULL && want == MCAST_ERR_IO && os != os_want) {
        snprintf(why, sizeof why, "mcast_last_os_error() is %d, want %d", os, os_want);
    } else if (msg != NULL && want != MCAST_ERR_IO && os != 0) {
        snprintf(why, sizeof why, "mcast_last_os_error() is %d, want 0 (not an I/O error)", os);
    } else if (strstr(e, "panic") != NULL) {
        snprintf(why, sizeof why, "a panic was caught");
    }
    int ok = why[0] == 0;
    if (ok) {
        printf("PASS: %s(%s) -> %s", func, what, sname(want));
        if (msg) {
            printf(": \"%s\"", e);
        }
        printf("\n");
        passed++;
    } else {
        printf("FAIL: %s(%s): %s   [last error: \"%s\", errno %d]\n", func, what, why, e, os);
        failed++;
    }
    fflush(stdout);
}

struct row {
    const char *func;
    const char *what;
    int (*run)(void);
    int want;
    const char *msg;
    int os; /* errno for MCAST_ERR_IO rows */
};

static void run_rows(const struct row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out_ok = 1;
        have_snap = 0;
        set_marker();
        int got = rows[i].run();
        report(rows[i].func, rows[i].what, got, rows[i].want, rows[i].msg, rows[i].os);
    }
}

#define ROWS(t) run_rows(t, sizeof t / sizeof t[0])

/* ------------------------------------------------------------ environment */

static const char *IFNAME, *GROUP;
static uint16_t PORT;
static char BRACKETED[80]; /* "[GROUP]" */

static mcast_ctx *ctx;          /* live, used throughout */
static mcast_ctx *dead_ctx;     /* freed */
static mcast_sender *snd;       /* live, on PORT */
static mcast_sender *snd_key;   /* live, sealed channel key, on PORT+1 */
static mcast_sender *snd_small; /* live, cache_max_bytes 100, on PORT+1 */
static mcast_sender *snd_quick; /* live, flushes fast, on PORT+1 */
static mcast_sender *dead_snd;  /* freed */
static mcast_sender *closed_snd; /* its context was freed */
static mcast_receiver *rcv;      /* live, on PORT (hears snd) */
static mcast_receiver *rcv_idle; /* live, on PORT+3 (hears nothing) */
static mcast_receiver *dead_rcv;
static mcast_receiver *closed_rcv;
static mcast_msg *msg;      /* live DATA message */
static mcast_msg *dead_msg; /* freed */
static int not_a_handle;    /* &not_a_handle is no handle */
static char junk;           /* out-parameters are preset to &junk */

static uint8_t key[MCAST_KEY_LEN], sign_secret[MCAST_SIGNATURE_KEY_LEN], sign_public[MCAST_SIGNATURE_KEY_LEN];
static uint8_t signers_bad[2 * MCAST_SIGNATURE_KEY_LEN]; /* a valid key, then one that is no curve point */

static char dir[64];                     /* a directory (also a valid file_dir) */
static char f_regular[128];              /* a regular file */
static char f_missing[128];              /* a path that does not exist */
static char f_missing_bytes[128];        /* ... whose name is not UTF-8 */
static char f_raw31[128], f_raw33[128];  /* 31 and 33 raw bytes */
static char f_hex63[128], f_hexbad[128]; /* 63 hex digits; 64 with a 'g' */
static char f_empty[128];                /* empty */
static char f_notpoint[128];             /* 32 bytes that are no curve point */
static char f_zero32[128];               /* 32 zero bytes (a small-order point) */
static char f_identity[128];             /* the identity point (small order) */

static char info_1400[1401], info_1401[1402];

static int write_file(char *path, const char *name, const void *data, size_t len)
{
    snprintf(path, 128, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        return -1;
    }
    size_t w = fwrite(data, 1, len, f);
    fclose(f);
    return w == len ? 0 : -1;
}

static int all_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (b[i]) {
            return 0;
        }
    }
    return 1;
}

static int all_byte(const void *p, int byte, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i] != (unsigned char)byte) {
            return 0;
        }
    }
    return 1;
}

/* Setup failures are not rows: they stop the program. */
static void must(int cond, const char *what)
{
    if (!cond) {
        printf("FAIL: setup: %s   [last error: \"%s\"]\n", what, mcast_last_error());
        printf("sweep_test: %d passed, %d failed\n", passed, failed + 1);
        exit(1);
    }
}

static mcast_sender *new_sender(mcast_ctx *c, uint16_t port, const mcast_sender_config *cfg)
{
    mcast_sender *s = NULL;
    mcast_status st = mcast_sender_new(c, GROUP, port, IFNAME, cfg, &s);
    return st == MCAST_OK ? s : NULL;
}

static mcast_receiver *new_receiver(mcast_ctx *c, uint16_t port, const mcast_receiver_config *cfg)
{
    mcast_receiver *r = NULL;
    mcast_status st = mcast_receiver_new(c, GROUP, port, IFNAME, cfg, &r);
    return st == MCAST_OK ? r : NULL;
}

static void setup(void)
{
    snprintf(BRACKETED, sizeof BRACKETED, "[%s]", GROUP);
    snprintf(dir, sizeof dir, "/tmp/mcast-sweep-XXXXXX");
    must(mkdtemp(dir) != NULL, "mkdtemp");
    uint8_t bytes[64];
    memset(bytes, 0x5a, sizeof bytes);
    must(write_file(f_regular, "regular", "some content\n", 13) == 0, "a regular file");
    snprintf(f_missing, sizeof f_missing, "%s/missing", dir);
    snprintf(f_missing_bytes, sizeof f_missing_bytes, "%s/missing-\xff\xfe", dir);
    must(write_file(f_raw31, "raw31", bytes, 31) == 0 && write_file(f_raw33, "raw33", bytes, 33) == 0, "raw key files");
    char hex[80];
    memset(hex, 'a', sizeof hex);
    hex[63] = '\n';
    must(write_file(f_hex63, "hex63", hex, 64) == 0, "63 hex digits");
    hex[63] = 'g';
    hex[64] = '\n';
    must(write_file(f_hexbad, "hexbad", hex, 65) == 0, "64 digits, one not hex");
    must(write_file(f_empty, "empty", "", 0) == 0, "an empty file");
    memset(bytes, 0x02, 32);
    must(write_file(f_notpoint, "notpoint", bytes, 32) == 0, "not a point");
    memset(bytes, 0, 32);
    must(write_file(f_zero32, "zero32", bytes, 32) == 0, "32 zero bytes");
    bytes[0] = 1;
    must(write_file(f_identity, "identity", bytes, 32) == 0, "the identity point");
    memset(info_1400, 'i', 1400);
    memset(info_1401, 'i', 1401);

    must(mcast_key_generate(key) == MCAST_OK, "mcast_key_generate");
    must(mcast_signing_key_generate(sign_secret, sign_public) == MCAST_OK, "mcast_signing_key_generate");
    memcpy(signers_bad, sign_public, MCAST_SIGNATURE_KEY_LEN);
    memset(signers_bad + MCAST_SIGNATURE_KEY_LEN, 0x02, MCAST_SIGNATURE_KEY_LEN);

    must(mcast_ctx_new(NULL, &ctx) == MCAST_OK, "mcast_ctx_new");
    must(mcast_ctx_new(NULL, &dead_ctx) == MCAST_OK, "a second context");
    mcast_ctx_free(dead_ctx);

    mcast_receiver_config rc;
    mcast_receiver_config_init(&rc);
    rc.sync_policy = MCAST_SYNC_CURRENT;
    must((rcv = new_receiver(ctx, PORT, &rc)) != NULL, "a receiver");
    must((rcv_idle = new_receiver(ctx, (uint16_t)(PORT + 3), NULL)) != NULL, "an idle receiver");
    must((dead_rcv = new_receiver(ctx, (uint16_t)(PORT + 3), NULL)) != NULL, "a receiver to free");
    mcast_receiver_free(dead_rcv);

    mcast_sender_config sc;
    mcast_sender_config_init(&sc);
    sc.grtt_initial_us = 10000;
    must((snd = new_sender(ctx, PORT, &sc)) != NULL, "a sender");
    must((dead_snd = new_sender(ctx, (uint16_t)(PORT + 1), NULL)) != NULL, "a sender to free");
    mcast_sender_free(dead_snd);
    sc.key = key;
    must((snd_key = new_sender(ctx, (uint16_t)(PORT + 1), &sc)) != NULL, "a sender with a key");
    mcast_sender_config_init(&sc);
    sc.cache_max_bytes = 100;
    must((snd_small = new_sender(ctx, (uint16_t)(PORT + 1), &sc)) != NULL, "a sender with a 100-byte cache");
    mcast_sender_config_init(&sc);
    sc.grtt_initial_us = 1000;
    sc.grtt_max_us = 1000;
    sc.robust_factor = 1;
    must((snd_quick = new_sender(ctx, (uint16_t)(PORT + 1), &sc)) != NULL, "a sender that flushes fast");

    mcast_ctx *c2 = NULL;
    must(mcast_ctx_new(NULL, &c2) == MCAST_OK, "a context to close");
    must((closed_snd = new_sender(c2, (uint16_t)(PORT + 1), NULL)) != NULL, "a sender of it");
    must((closed_rcv = new_receiver(c2, (uint16_t)(PORT + 3), NULL)) != NULL, "a receiver of it");
    mcast_ctx_free(c2);

    must(mcast_send(snd, "sweep", 5, NULL) == MCAST_OK && mcast_send(snd, "freed", 5, NULL) == MCAST_OK,
         "two messages");
    must(mcast_recv(rcv, &msg, 10000) == MCAST_OK && mcast_recv(rcv, &dead_msg, 10000) == MCAST_OK, "... received");
    mcast_msg_free(dead_msg);
}

static void teardown(void)
{
    /* Take what the rows sent to rcv. */
    mcast_msg *m = NULL;
    while (mcast_recv(rcv, &m, 300) == MCAST_OK || m) {
        mcast_msg_free(m);
        m = NULL;
    }
    mcast_msg_free(msg);
    mcast_sender_free(snd);
    mcast_sender_free(snd_key);
    mcast_sender_free(snd_small);
    mcast_sender_free(snd_quick);
    mcast_sender_free(closed_snd);
    mcast_receiver_free(rcv);
    mcast_receiver_free(rcv_idle);
    mcast_receiver_free(closed_rcv);
    mcast_ctx_free(ctx);
    const char *files[] = {f_regular, f_raw31, f_raw33, f_hex63, f_hexbad, f_empty, f_notpoint, f_zero32, f_identity};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        unlink(files[i]);
    }
    rmdir(dir);
}

/* ------------------------------------------------------------ version, errors, status strings */

static int r_version(void)
{
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", MCAST_VERSION_MAJOR, MCAST_VERSION_MINOR, MCAST_VERSION_PATCH);
    const char *v = mcast_version();
    expect(v && strcmp(v, want) == 0, "mcast_version() is not the header's version");
    return NS;
}
static int r_last_error(void)
{
    expect(mcast_last_error() != NULL && is_marker(mcast_last_error()), "mcast_last_error() lost the last failure");
    return NS;
}
static int r_last_os_error(void)
{
    expect(mcast_last_os_error() == ENOENT, "mcast_last_os_error() is not the errno of the last failure (ENOENT)");
    return NS;
}
static int unknown(int s)
{
    const char *t = mcast_status_str(s);
    expect(t && strcmp(t, "unknown status") == 0, "not \"unknown status\"");
    return NS;
}
static int r_status_int_min(void) { return unknown(INT_MIN); }
static int r_status_minus1(void) { return unknown(-1); }
static int r_status_11(void) { return unknown(11); }
static int r_status_int_max(void) { return unknown(INT_MAX); }
static int r_status_known(void)
{
    for (int s = 0; s <= 10; s++) {
        const char *t = mcast_status_str(s);
        expect(t && t[0] && strcmp(t, "unknown status") != 0, "a known status has no description");
    }
    return NS;
}

static const struct row basic_rows[] = {
    {"mcast_version", "", r_version, NS, NULL, 0},
    {"mcast_last_error", "after a failure", r_last_error, NS, NULL, 0},
    {"mcast_last_os_error", "after an I/O failure", r_last_os_error, NS, NULL, 0},
    {"mcast_status_str", "INT_MIN", r_status_int_min, NS, NULL, 0},
    {"mcast_status_str", "-1", r_status_minus1, NS, NULL, 0},
    {"mcast_status_str", "11 (one past MCAST_ERR_REJECTED)", r_status_11, NS, NULL, 0},
    {"mcast_status_str", "INT_MAX", r_status_int_max, NS, NULL, 0},
    {"mcast_status_str", "each known status 0..10", r_status_known, NS, NULL, 0},
};

/* ------------------------------------------------------------ config init */

/* Big enough for the largest plausible config (64 KiB) and then some. */
static _Alignas(16) unsigned char cfgbuf[(1 << 16) + 256];

typedef mcast_status (*init_fn)(void *, size_t);
static mcast_status init_ctx_cfg(void *p, size_t n) { return mcast_config_init_sized(p, n); }
static mcast_status init_snd_cfg(void *p, size_t n) { return mcast_sender_config_init_sized(p, n); }
static mcast_status init_rcv_cfg(void *p, size_t n) { return mcast_receiver_config_init_sized(p, n); }

/* init_sized with size n into a buffer of 0xab bytes: on failure nothing
 * is written; on success exactly n bytes, starting with size = n. */
static int init_case(init_fn f, void *target, size_t n)
{
    memset(cfgbuf, 0xab, sizeof cfgbuf);
    mcast_status st = f(target, n);
    if (st != MCAST_OK) {
        expect(all_byte(cfgbuf, 0xab, sizeof cfgbuf), "a failed init wrote into the struct");
    } else {
        size_t size;
        memcpy(&size, cfgbuf, sizeof size);
        expect(size == n, "init did not set size");
        expect(all_byte(cfgbuf + n, 0xab, sizeof cfgbuf - n), "init wrote past size bytes");
    }
    return st;
}

#define INIT_ROWS(F, T, NAME)                                                                                        \
    static int F##_null(void) { return F(NULL, sizeof(T)); }                                                          \
    static int F##_null0(void) { return F(NULL, 0); }                                                                 \
    static int F##_0(void) { return init_case(F, cfgbuf, 0); }                                                       \
    static int F##_3(void) { return init_case(F, cfgbuf, 3); }                                                        \
    static int F##_9(void) { return init_case(F, cfgbuf, 9); }                                                       \
    static int F##_15(void) { return init_case(F, cfgbuf, 15); }                                                     \
    static int F##_big(void) { return init_case(F, cfgbuf, (1 << 16) + 8); }                                         \
    static int F##_max(void) { return init_case(F, cfgbuf, SIZE_MAX); }                                              \
    static int F##_8(void) { return init_case(F, cfgbuf, 8); }                                                       \
    static int F##_newer(void)                                                                                        \
    {                                                                                                                 \
        int st = init_case(F, cfgbuf, sizeof(T) + 16);                                                               \
        expect(all_byte(cfgbuf + sizeof(T), 0, 16), "the unknown tail of a newer struct is not zeroed");             \
        return st;                                                                                                    \
    }                                                                                                                 \
    static const struct row F##_rows[] = {                                                                            \
        {NAME, "NULL, sizeof", F##_null, INV, "pointer is NULL", 0},                                                  \
        {NAME, "NULL, 0", F##_null0, INV, "pointer is NULL", 0},                                                      \
        {NAME, "cfg, 0", F##_0, INV, "size 0 is not the size", 0},                                                    \
        {NAME, "cfg, 3 (shorter than its size field)", F##_3, INV, "size 3 is not the size", 0},                    \
        {NAME, "cfg, 9 (not a multiple of the alignment)", F##_9, INV, "size 9 is not the size", 0},                 \
        {NAME, "cfg, 15 (not a multiple of the alignment)", F##_15, INV, "size 15 is not the size", 0},              \
        {NAME, "cfg, 65544 (over 64 KiB)", F##_big, INV, "size 65544 is not the size", 0},                          \
        {NAME, "cfg, SIZE_MAX", F##_max, INV, "is not the size", 0},                                                  \
        {NAME, "cfg, 8 (only the size field: writes only it)", F##_8, MCAST_OK, NULL, 0},                             \
        {NAME, "cfg, sizeof + 16 (a newer header: tail zeroed)", F##_newer, MCAST_OK, NULL, 0},                       \
    };

INIT_ROWS(init_ctx_cfg, mcast_config, "mcast_config_init_sized")
INIT_ROWS(init_snd_cfg, mcast_sender_config, "mcast_sender_config_init_sized")
INIT_ROWS(init_rcv_cfg, mcast_receiver_config, "mcast_receiver_config_init_sized")

/* ------------------------------------------------------------ keys */

static uint8_t kbuf[MCAST_KEY_LEN], kbuf2[MCAST_KEY_LEN];

static int r_key_generate_null(void) { return mcast_key_generate(NULL); }

/* f(path, kbuf) with kbuf preset to 0xab: zeroed on failure. */
static int key_read(mcast_status (*f)(const char *, uint8_t *), const char *path)
{
    memset(kbuf, 0xab, sizeof kbuf);
    mcast_status st = f(path, kbuf);
    if (st != MCAST_OK) {
        expect(all_zero(kbuf, sizeof kbuf), "the output is not zeroed on failure");
    }
    return st;
}

#define KEYFILE_ROWS(F, NAME, OUT)                                                                                  \
    static int F##_null_path(void) { return key_read(F, NULL); }                                                    \
    static int F##_empty_path(void) { return key_read(F, ""); }                                                     \
    static int F##_null_out(void) { return F(f_regular, NULL); }                                                    \
    static int F##_null_both(void) { return F(NULL, NULL); }                                                        \
    static int F##_dir(void) { return key_read(F, dir); }                                                           \
    static int F##_missing(void) { return key_read(F, f_missing); }                                                 \
    static int F##_missing_bytes(void) { return key_read(F, f_missing_bytes); }                                     \
    static int F##_raw31(void) { return key_read(F, f_raw31); }                                                     \
    static int F##_raw33(void) { return key_read(F, f_raw33); }                                                     \
    static int F##_hex63(void) { return key_read(F, f_hex63); }                                                     \
    static int F##_hexbad(void) { return key_read(F, f_hexbad); }                                                   \
    static int F##_empty(void) { return key_read(F, f_empty); }                                                     \
    static int F##_devnull(void) { return key_read(F, "/dev/null"); }                                               \
    static const struct row F##_rows[] = {                                                                           \
        {NAME, "NULL path, out", F##_null_path, INV, "path is NULL", 0},                                             \
        {NAME, "\"\", out", F##_empty_path, INV, "path is empty", 0},                                                \
        {NAME, "path, NULL", F##_null_out, INV, OUT " is NULL", 0},                                                  \
        {NAME, "NULL, NULL", F##_null_both, INV, "is NULL", 0},                                                      \
        {NAME, "a directory", F##_dir, INV, "is a directory", 0},                                                    \
        {NAME, "a missing file", F##_missing, MCAST_ERR_IO, "missing", ENOENT},                                      \
        {NAME, "a missing file whose name is not UTF-8", F##_missing_bytes, MCAST_ERR_IO, "missing-", ENOENT},       \
        {NAME, "31 raw bytes", F##_raw31, INV, "holds no key", 0},                                                   \
        {NAME, "33 raw bytes", F##_raw33, INV, "holds no key", 0},                                                   \
        {NAME, "63 hex digits", F##_hex63, INV, "holds no key", 0},                                                  \
        {NAME, "64 digits, one not hex", F##_hexbad, INV, "holds no key", 0},                                        \
        {NAME, "an empty file", F##_empty, INV, "holds no key", 0},                                                  \
        {NAME, "/dev/null (not a regular file, reads empty)", F##_devnull, INV, "/dev/null", 0},                    \
    };

KEYFILE_ROWS(mcast_key_from_file, "mcast_key_from_file", "out")
KEYFILE_ROWS(mcast_signing_key_from_file, "mcast_signing_key_from_file", "secret_out")
KEYFILE_ROWS(mcast_public_key_from_file, "mcast_public_key_from_file", "public_out")

static int r_pub_notpoint(void) { return key_read(mcast_public_key_from_file, f_notpoint); }
static int r_pub_zero(void) { return key_read(mcast_public_key_from_file, f_zero32); }
static int r_pub_identity(void) { return key_read(mcast_public_key_from_file, f_identity); }
static int r_sign_notpoint(void) { return key_read(mcast_signing_key_from_file, f_notpoint); }

static int r_skg_null_null(void) { return mcast_signing_key_generate(NULL, NULL); }
static int r_skg_null_pub(void)
{
    memset(kbuf, 0xab, sizeof kbuf);
    int st = mcast_signing_key_generate(NULL, kbuf);
    expect(all_zero(kbuf, sizeof kbuf), "public_out is not zeroed");
    return st;
}
static int r_skg_sec_null(void)
{
    memset(kbuf, 0xab, sizeof kbuf);
    int st = mcast_signing_key_generate(kbuf, NULL);
    expect(all_zero(kbuf, sizeof kbuf), "secret_out is not zeroed (a secret left behind)");
    return st;
}
static int r_skp_null_null(void) { return mcast_signing_key_public(NULL, NULL); }
static int r_skp_null_out(void)
{
    memset(kbuf, 0xab, sizeof kbuf);
    int st = mcast_signing_key_public(NULL, kbuf);
    expect(all_zero(kbuf, sizeof kbuf), "public_out is not zeroed");
    return st;
}
static int r_skp_sec_null(void) { return mcast_signing_key_public(sign_secret, NULL); }
static int r_skp_zero_secret(void)
{
    memset(kbuf2, 0, sizeof kbuf2);
    return mcast_signing_key_public(kbuf2, kbuf);
}

static const struct row key_rows[] = {
    {"mcast_key_generate", "NULL", r_key_generate_null, INV, "out is NULL", 0},
    {"mcast_public_key_from_file", "32 bytes that are no curve point", r_pub_notpoint, INV, "not a valid Ed25519 public key", 0},
    {"mcast_public_key_from_file", "32 zero bytes (a small-order point)", r_pub_zero, INV, "holds no key", 0},
    {"mcast_public_key_from_file", "the identity point (small order)", r_pub_identity, INV, "holds no key", 0},
    {"mcast_signing_key_from_file", "32 bytes that are no curve point (any 32 bytes are a seed)", r_sign_notpoint, MCAST_OK, NULL, 0},
    {"mcast_signing_key_generate", "NULL, NULL", r_skg_null_null, INV, "secret_out is NULL", 0},
    {"mcast_signing_key_generate", "NULL, public_out", r_skg_null_pub, INV, "secret_out is NULL", 0},
    {"mcast_signing_key_generate", "secret_out, NULL", r_skg_sec_null, INV, "public_out is NULL", 0},
    {"mcast_signing_key_public", "NULL, NULL", r_skp_null_null, INV, "secret is NULL", 0},
    {"mcast_signing_key_public", "NULL, public_out", r_skp_null_out, INV, "secret is NULL", 0},
    {"mcast_signing_key_public", "secret, NULL", r_skp_sec_null, INV, "public_out is NULL", 0},
    {"mcast_signing_key_public", "32 zero bytes (any 32 bytes are a seed)", r_skp_zero_secret, MCAST_OK, NULL, 0},
};

/* ------------------------------------------------------------ contexts */

static int r_ctx_new_null_out(void) { return mcast_ctx_new(NULL, NULL); }
static int r_ctx_new_null_out_bad_cfg(void)
{
    mcast_config c;
    memset(&c, 0, sizeof c);
    return mcast_ctx_new(&c, NULL);
}
static int r_ctx_free_null(void)
{
    mcast_ctx_free(NULL);
    return NS;
}
static int r_ctx_free_dead(void)
{
    mcast_ctx_free(dead_ctx);
    return NS;
}
static int r_ctx_free_sender(void)
{
    mcast_ctx_free((mcast_ctx *)(void *)snd);
    snap();
    expect(mcast_sender_node_id(snd) != 0, "the sender passed as a context was freed");
    return NS;
}
static int r_ctx_free_not_handle(void)
{
    mcast_ctx_free((mcast_ctx *)(void *)&not_a_handle);
    return NS;
}

static const struct row ctx_rows[] = {
    {"mcast_ctx_new", "NULL, NULL", r_ctx_new_null_out, INV, "out is NULL", 0},
    {"mcast_ctx_new", "cfg of size 0, NULL out", r_ctx_new_null_out_bad_cfg, INV, "out is NULL", 0},
    {"mcast_ctx_free", "NULL (a no-op)", r_ctx_free_null, NS, NULL, 0},
    {"mcast_ctx_free", "a freed context", r_ctx_free_dead, NS, "not a live mcast_ctx", 0},
    {"mcast_ctx_free", "a sender (ignored, the sender lives on)", r_ctx_free_sender, NS, "not a live mcast_ctx", 0},
    {"mcast_ctx_free", "a pointer that is no handle", r_ctx_free_not_handle, NS, "not a live mcast_ctx", 0},
};

/* ------------------------------------------------------------ channels */

static char abuf[MCAST_ADDRESS_TEXT_MAX];
static uint16_t cport;

/* mcast_channel_address with the outputs preset: on failure *port_out is 0
 * and addr_out an empty string (if it has room for one). */
static int chan(const char *name, int scope, char *addr, size_t len, uint16_t *port)
{
    memset(abuf, 'X', sizeof abuf);
    cport = 77;
    mcast_status st = mcast_channel_address(name, scope, 0, addr, len, port);
    if (st != MCAST_OK) {
        expect(cport == 0 || port == NULL, "port_out is not 0");
        expect(addr == NULL || len == 0 || abuf[0] == 0, "addr_out is not an empty string");
        expect(len != 0 || abuf[0] == 'X', "addr_len 0 but addr_out was written");
    }
    return st;
}
static int r_chan_null(void) { return chan(NULL, MCAST_SCOPE_GLOBAL, abuf, sizeof abuf, &cport); }
static int r_chan_empty(void) { return chan("", MCAST_SCOPE_GLOBAL, abuf, sizeof abuf, &cport); }
static int r_chan_utf8(void) { return chan("news\xff", MCAST_SCOPE_GLOBAL, abuf, sizeof abuf, &cport); }
static int r_chan_scope0(void) { return chan("news", 0, abuf, sizeof abuf, &cport); }
static int r_chan_scope1(void) { return chan("news", 1, abuf, sizeof abuf, &cport); }
static int r_chan_scope15(void) { return chan("news", 15, abuf, sizeof abuf, &cport); }
static int r_chan_scope_neg(void) { return chan("news", -1, abuf, sizeof abuf, &cport); }
static int r_chan_scope_min(void) { return chan("news", INT_MIN, abuf, sizeof abuf, &cport); }
static int r_chan_scope_max(void) { return chan("news", INT_MAX, abuf, sizeof abuf, &cport); }
static int r_chan_null_addr(void) { return chan("news", MCAST_SCOPE_GLOBAL, NULL, sizeof abuf, &cport); }
static int r_chan_null_port(void) { return chan("news", MCAST_SCOPE_GLOBAL, abuf, sizeof abuf, NULL); }
static int r_chan_len0(void) { return chan("news", MCAST_SCOPE_GLOBAL, abuf, 0, &cport); }
static int r_chan_len1(void) { return chan("news", MCAST_SCOPE_GLOBAL, abuf, 1, &cport); }
/* "ff1e:ed75:5737:908e:e779:efa7:6800:c7c3" is 39 characters. */
static int r_chan_len39(void) { return chan("news", MCAST_SCOPE_GLOBAL, abuf, 39, &cport); }
static int r_chan_len40(void)
{
    int st = chan("news", MCAST_SCOPE_GLOBAL, abuf, 40, &cport);
    expect(strcmp(abuf, "ff1e:ed75:5737:908e:e779:efa7:6800:c7c3") == 0 && cport == 53117, "wrong address or port");
    return st;
}

static const struct row chan_rows[] = {
    {"mcast_channel_address", "NULL name", r_chan_null, INV, "name is NULL", 0},
    {"mcast_channel_address", "\"\"", r_chan_empty, INV, "empty", 0},
    {"mcast_channel_address", "a name that is not UTF-8", r_chan_utf8, INV, "name is not valid UTF-8", 0},
    {"mcast_channel_address", "scope 0", r_chan_scope0, INV, "unknown scope 0", 0},
    {"mcast_channel_address", "scope 1", r_chan_scope1, INV, "unknown scope 1", 0},
    {"mcast_channel_address", "scope 15", r_chan_scope15, INV, "unknown scope 15", 0},
    {"mcast_channel_address", "scope -1", r_chan_scope_neg, INV, "unknown scope -1", 0},
    {"mcast_channel_address", "scope INT_MIN", r_chan_scope_min, INV, "unknown scope", 0},
    {"mcast_channel_address", "scope INT_MAX", r_chan_scope_max, INV, "unknown scope", 0},
    {"mcast_channel_address", "NULL addr_out", r_chan_null_addr, INV, "addr_out and port_out", 0},
    {"mcast_channel_address", "NULL port_out", r_chan_null_port, INV, "addr_out and port_out", 0},
    {"mcast_channel_address", "addr_len 0 (nothing written)", r_chan_len0, INV, "addr_len 0 is too small", 0},
    {"mcast_channel_address", "addr_len 1", r_chan_len1, INV, "addr_len 1 is too small", 0},
    {"mcast_channel_address", "addr_len 39 (one short)", r_chan_len39, INV, "addr_len 39 is too small (40 needed)", 0},
    {"mcast_channel_address", "addr_len 40 (just enough)", r_chan_len40, MCAST_OK, NULL, 0},
};

/* ------------------------------------------------------------ sender_new / receiver_new */

/* sender_new with *out preset to junk: NULL on failure, a live sender on
 * success (freed again). */
static int snew(mcast_ctx *c, const char *group, uint16_t port, const char *ifname)
{
    mcast_sender *s = (mcast_sender *)(void *)&junk;
    mcast_status st = mcast_sender_new(c, group, port, ifname, NULL, &s);
    snap();
    expect(st == MCAST_OK ? s != NULL && s != (mcast_sender *)(void *)&junk : s == NULL, "*out is not NULL on failure");
    if (st == MCAST_OK) {
        mcast_sender_free(s);
    }
    return st;
}
static int rnew(mcast_ctx *c, const char *group, uint16_t port, const char *ifname)
{
    mcast_receiver *r = (mcast_receiver *)(void *)&junk;
    mcast_status st = mcast_receiver_new(c, group, port, ifname, NULL, &r);
    snap();
    expect(st == MCAST_OK ? r != NULL && r != (mcast_receiver *)(void *)&junk : r == NULL, "*out is not NULL on failure");
    if (st == MCAST_OK) {
        mcast_receiver_free(r);
    }
    return st;
}
#define P1 ((uint16_t)(PORT + 1))
#define P3 ((uint16_t)(PORT + 3))

static int r_sn_null_ctx(void) { return snew(NULL, GROUP, P1, IFNAME); }
static int r_sn_dead_ctx(void) { return snew(dead_ctx, GROUP, P1, IFNAME); }
static int r_sn_wrong_ctx(void) { return snew((mcast_ctx *)(void *)rcv, GROUP, P1, IFNAME); }
static int r_sn_junk_ctx(void) { return snew((mcast_ctx *)(void *)&not_a_handle, GROUP, P1, IFNAME); }
static int r_sn_null_group(void) { return snew(ctx, NULL, P1, IFNAME); }
static int r_sn_empty_group(void) { return snew(ctx, "", P1, IFNAME); }
static int r_sn_utf8_group(void) { return snew(ctx, "ff3e::\xff", P1, IFNAME); }
static int r_sn_unicast(void) { return snew(ctx, "2001:db8::1", P1, IFNAME); }
static int r_sn_unspecified(void) { return snew(ctx, "::", P1, IFNAME); }
static int r_sn_loopback(void) { return snew(ctx, "::1", P1, IFNAME); }
static int r_sn_ipv4(void) { return snew(ctx, "239.1.2.3", P1, IFNAME); }
static int r_sn_mapped(void) { return snew(ctx, "::ffff:239.1.2.3", P1, IFNAME); }
static int r_sn_scoped(void) { return snew(ctx, "ff3e::1%eth0", P1, IFNAME); }
static int r_sn_space(void) { return snew(ctx, " ff3e::1", P1, IFNAME); }
static int r_sn_garbage(void) { return snew(ctx, "not an address", P1, IFNAME); }
static int r_sn_with_port(void) { return snew(ctx, "[ff3e::1]:5000", P1, IFNAME); }
static int r_sn_brackets(void) { return snew(ctx, BRACKETED, P1, IFNAME); }
static int r_sn_port0(void) { return snew(ctx, GROUP, 0, IFNAME); }
static int r_sn_port_max(void) { return snew(ctx, GROUP, 65535, IFNAME); }
static int r_sn_if_empty(void) { return snew(ctx, GROUP, P1, ""); }
static int r_sn_if_missing(void) { return snew(ctx, GROUP, P1, "nosuch0"); }
static int r_sn_if_utf8(void) { return snew(ctx, GROUP, P1, "eth\xc3"); }
static int r_sn_if_long(void) { return snew(ctx, GROUP, P1, "averyveryverylongname"); }
static int r_sn_if_space(void) { return snew(ctx, GROUP, P1, "eth0 "); }
static int r_sn_if_slash(void) { return snew(ctx, GROUP, P1, "a/b"); }
static int r_sn_null_out(void) { return mcast_sender_new(ctx, GROUP, P1, IFNAME, NULL, NULL); }
static int r_sn_null_out_ctx(void) { return mcast_sender_new(NULL, NULL, 0, NULL, NULL, NULL); }

static int r_rn_null_ctx(void) { return rnew(NULL, GROUP, P3, IFNAME); }
static int r_rn_dead_ctx(void) { return rnew(dead_ctx, GROUP, P3, IFNAME); }
static int r_rn_wrong_ctx(void) { return rnew((mcast_ctx *)(void *)snd, GROUP, P3, IFNAME); }
static int r_rn_null_group(void) { return rnew(ctx, NULL, P3, IFNAME); }
static int r_rn_utf8_group(void) { return rnew(ctx, "ff3e::\xff", P3, IFNAME); }
static int r_rn_unicast(void) { return rnew(ctx, "fd00::1", P3, IFNAME); }
static int r_rn_empty_group(void) { return rnew(ctx, "", P3, IFNAME); }
static int r_rn_port0(void) { return rnew(ctx, GROUP, 0, IFNAME); }
static int r_rn_if_empty(void) { return rnew(ctx, GROUP, P3, ""); }
static int r_rn_if_missing(void) { return rnew(ctx, GROUP, P3, "nosuch0"); }
static int r_rn_if_long(void) { return rnew(ctx, GROUP, P3, "averyveryverylongname"); }
static int r_rn_null_out(void) { return mcast_receiver_new(ctx, GROUP, P3, IFNAME, NULL, NULL); }

static const struct row new_rows[] = {
    {"mcast_sender_new", "NULL ctx", r_sn_null_ctx, INV, "mcast_ctx is NULL", 0},
    {"mcast_sender_new", "a freed ctx", r_sn_dead_ctx, INV, "not a live mcast_ctx", 0},
    {"mcast_sender_new", "a receiver as ctx", r_sn_wrong_ctx, INV, "not a live mcast_ctx", 0},
    {"mcast_sender_new", "a pointer that is no handle as ctx", r_sn_junk_ctx, INV, "not a live mcast_ctx", 0},
    {"mcast_sender_new", "NULL group", r_sn_null_group, INV, "group is NULL", 0},
    {"mcast_sender_new", "group \"\"", r_sn_empty_group, INV, "\"\" is not an IPv6 address", 0},
    {"mcast_sender_new", "group \"ff3e::\\xff\" (not UTF-8)", r_sn_utf8_group, INV, "group is not valid UTF-8", 0},
    {"mcast_sender_new", "group 2001:db8::1 (unicast)", r_sn_unicast, INV, "2001:db8::1 is not an IPv6 multicast address", 0},
    {"mcast_sender_new", "group :: (unspecified)", r_sn_unspecified, INV, "is not an IPv6 multicast address", 0},
    {"mcast_sender_new", "group ::1 (loopback)", r_sn_loopback, INV, "is not an IPv6 multicast address", 0},
    {"mcast_sender_new", "group 239.1.2.3 (IPv4)", r_sn_ipv4, INV, "\"239.1.2.3\" is not an IPv6 address", 0},
    {"mcast_sender_new", "group ::ffff:239.1.2.3 (IPv4-mapped)", r_sn_mapped, INV, "is not an IPv6 multicast address", 0},
    {"mcast_sender_new", "group ff3e::1%eth0 (with a scope)", r_sn_scoped, INV, "is not an IPv6 address", 0},
    {"mcast_sender_new", "group \" ff3e::1\" (leading space)", r_sn_space, INV, "is not an IPv6 address", 0},
    {"mcast_sender_new", "group \"not an address\"", r_sn_garbage, INV, "is not an IPv6 address", 0},
    {"mcast_sender_new", "group [ff3e::1]:5000 (with a port)", r_sn_with_port, INV, "is not an IPv6 address", 0},
    {"mcast_sender_new", "group in brackets (allowed)", r_sn_brackets, MCAST_OK, NULL, 0},
    {"mcast_sender_new", "port 0", r_sn_port0, INV, "port 0", 0},
    {"mcast_sender_new", "port 65535 (allowed)", r_sn_port_max, MCAST_OK, NULL, 0},
    {"mcast_sender_new", "ifname \"\"", r_sn_if_empty, INV, "no interface given", 0},
    {"mcast_sender_new", "ifname \"nosuch0\"", r_sn_if_missing, MCAST_ERR_NO_SUCH_INTERFACE, "interface nosuch0 does not exist", 0},
    {"mcast_sender_new", "ifname \"eth\\xc3\" (not UTF-8)", r_sn_if_utf8, INV, "ifname is not valid UTF-8", 0},
    {"mcast_sender_new", "ifname of 21 characters", r_sn_if_long, INV, "is not a valid interface name", 0},
    {"mcast_sender_new", "ifname \"eth0 \"", r_sn_if_space, INV, "is not a valid interface name", 0},
    {"mcast_sender_new", "ifname \"a/b\"", r_sn_if_slash, INV, "is not a valid interface name", 0},
    {"mcast_sender_new", "NULL out", r_sn_null_out, INV, "out is NULL", 0},
    {"mcast_sender_new", "every pointer NULL, port 0", r_sn_null_out_ctx, INV, "out is NULL", 0},
    {"mcast_receiver_new", "NULL ctx", r_rn_null_ctx, INV, "mcast_ctx is NULL", 0},
    {"mcast_receiver_new", "a freed ctx", r_rn_dead_ctx, INV, "not a live mcast_ctx", 0},
    {"mcast_receiver_new", "a sender as ctx", r_rn_wrong_ctx, INV, "not a live mcast_ctx", 0},
    {"mcast_receiver_new", "NULL group", r_rn_null_group, INV, "group is NULL", 0},
    {"mcast_receiver_new", "group \"ff3e::\\xff\" (not UTF-8)", r_rn_utf8_group, INV, "group is not valid UTF-8", 0},
    {"mcast_receiver_new", "group fd00::1 (unicast)", r_rn_unicast, INV, "is not an IPv6 multicast address", 0},
    {"mcast_receiver_new", "group \"\"", r_rn_empty_group, INV, "is not an IPv6 address", 0},
    {"mcast_receiver_new", "port 0", r_rn_port0, INV, "port 0", 0},
    {"mcast_receiver_new", "ifname \"\"", r_rn_if_empty, INV, "no interface given", 0},
    {"mcast_receiver_new", "ifname \"nosuch0\"", r_rn_if_missing, MCAST_ERR_NO_SUCH_INTERFACE, "interface nosuch0 does not exist", 0},
    {"mcast_receiver_new", "ifname of 21 characters", r_rn_if_long, INV, "is not a valid interface name", 0},
    {"mcast_receiver_new", "NULL out", r_rn_null_out, INV, "out is NULL", 0},
};

/* ------------------------------------------------------------ SSM */

static int ssm(mcast_ctx *c, const char *group, const char *const *sources, size_t n)
{
    mcast_receiver *r = (mcast_receiver *)(void *)&junk;
    mcast_status st = mcast_receiver_new_ssm(c, group, P3, IFNAME, sources, n, NULL, &r);
    snap();
    expect(st == MCAST_OK ? r != NULL && r != (mcast_receiver *)(void *)&junk : r == NULL, "*out is not NULL on failure");
    if (st == MCAST_OK) {
        mcast_receiver_free(r);
    }
    return st;
}
static const char *src_ok[2] = {"fd00::1", "fd00::2"};
static const char *src_null[2] = {NULL, NULL};
static const char *src_second_null[2] = {"fd00::1", NULL};
static const char *src_utf8[1] = {"fd00::\xff"};
static const char *src_multicast[1] = {"ff3e::1"};
static const char *src_unspecified[1] = {"::"};
static const char *src_ipv4[1] = {"10.0.0.1"};
static const char *src_garbage[1] = {"source"};
static const char *src_empty[1] = {""};

static int r_ssm_null_sources(void) { return ssm(ctx, GROUP, NULL, 1); }
static int r_ssm_null_entry(void) { return ssm(ctx, GROUP, src_null, 1); }
static int r_ssm_second_null(void) { return ssm(ctx, GROUP, src_second_null, 2); }
static int r_ssm_utf8(void) { return ssm(ctx, GROUP, src_utf8, 1); }
static int r_ssm_multicast(void) { return ssm(ctx, GROUP, src_multicast, 1); }
static int r_ssm_unspecified(void) { return ssm(ctx, GROUP, src_unspecified, 1); }
static int r_ssm_ipv4(void) { return ssm(ctx, GROUP, src_ipv4, 1); }
static int r_ssm_garbage(void) { return ssm(ctx, GROUP, src_garbage, 1); }
static int r_ssm_empty(void) { return ssm(ctx, GROUP, src_empty, 1); }
static int r_ssm_1025(void) { return ssm(ctx, GROUP, src_ok, 1025); }
static int r_ssm_size_max(void) { return ssm(ctx, GROUP, src_ok, SIZE_MAX); }
static int r_ssm_none(void) { return ssm(ctx, GROUP, NULL, 0); }
static int r_ssm_two(void) { return ssm(ctx, GROUP, src_ok, 2); }
static int r_ssm_null_ctx(void) { return ssm(NULL, GROUP, src_ok, 1); }
static int r_ssm_dead_ctx(void) { return ssm(dead_ctx, GROUP, src_ok, 1); }
static int r_ssm_bad_group(void) { return ssm(ctx, "2001:db8::1", src_ok, 1); }
static int r_ssm_null_out(void) { return mcast_receiver_new_ssm(ctx, GROUP, P3, IFNAME, src_ok, 1, NULL, NULL); }

static const struct row ssm_rows[] = {
    {"mcast_receiver_new_ssm", "NULL sources, n_sources 1", r_ssm_null_sources, INV, "sources is NULL", 0},
    {"mcast_receiver_new_ssm", "sources {NULL}", r_ssm_null_entry, INV, "source is NULL", 0},
    {"mcast_receiver_new_ssm", "sources {fd00::1, NULL}", r_ssm_second_null, INV, "source is NULL", 0},
    {"mcast_receiver_new_ssm", "a source that is not UTF-8", r_ssm_utf8, INV, "source is not valid UTF-8", 0},
    {"mcast_receiver_new_ssm", "source ff3e::1 (multicast)", r_ssm_multicast, INV, "ff3e::1 cannot be a source", 0},
    {"mcast_receiver_new_ssm", "source :: (unspecified)", r_ssm_unspecified, INV, ":: cannot be a source", 0},
    {"mcast_receiver_new_ssm", "source 10.0.0.1 (IPv4)", r_ssm_ipv4, INV, "\"10.0.0.1\" is not an IPv6 address", 0},
    {"mcast_receiver_new_ssm", "source \"source\"", r_ssm_garbage, INV, "is not an IPv6 address", 0},
    {"mcast_receiver_new_ssm", "source \"\"", r_ssm_empty, INV, "is not an IPv6 address", 0},
    {"mcast_receiver_new_ssm", "n_sources 1025", r_ssm_1025, INV, "1025 sources is too many", 0},
    {"mcast_receiver_new_ssm", "n_sources SIZE_MAX", r_ssm_size_max, INV, "sources is too many", 0},
    {"mcast_receiver_new_ssm", "NULL sources, n_sources 0 (any source)", r_ssm_none, MCAST_OK, NULL, 0},
    {"mcast_receiver_new_ssm", "two sources", r_ssm_two, MCAST_OK, NULL, 0},
    {"mcast_receiver_new_ssm", "NULL ctx", r_ssm_null_ctx, INV, "mcast_ctx is NULL", 0},
    {"mcast_receiver_new_ssm", "a freed ctx", r_ssm_dead_ctx, INV, "not a live mcast_ctx", 0},
    {"mcast_receiver_new_ssm", "group 2001:db8::1 (unicast)", r_ssm_bad_group, INV, "is not an IPv6 multicast address", 0},
    {"mcast_receiver_new_ssm", "NULL out", r_ssm_null_out, INV, "out is NULL", 0},
};

/* ------------------------------------------------------------ config structs */

enum special {
    P_NONE,
    P_KEY,          /* a valid sealed channel key */
    P_SIGNING_KEY,  /* a valid signing key */
    P_SIGNERS,      /* one valid public key */
    P_SIGNERS_BAD,  /* a valid public key, then one that is no curve point */
    P_DIR,          /* a writable directory */
    P_DIR_EMPTY,    /* "" */
    P_DIR_MISSING,  /* a directory that does not exist */
    P_DIR_BYTES,    /* ... whose name is not UTF-8 */
    P_DIR_FILE,     /* a regular file */
    P_NODES16,      /* wait_for_acks_nodes = 1..16 */
    P_NODES_JUNK,   /* wait_for_acks_nodes[1..15] = 0xffffffff */
};

struct patch {
    size_t off, width;
    uint64_t v;
    int special;
};
#define SET(T, f, val) {offsetof(T, f), sizeof(((T *)0)->f), (uint64_t)(val), P_NONE}
#define PTR(T, f, kind) {offsetof(T, f), sizeof(((T *)0)->f), 0, kind}
#define RAW(off, width, val) {(off), (width), (uint64_t)(val), P_NONE}

struct cfg_row {
    const char *what;
    struct patch p[4];
    int want;
    const char *msg;
    int os;
};

static void apply(unsigned char *base, const struct patch *p)
{
    for (size_t i = 0; i < 4 && p[i].width; i++) {
        unsigned char *at = base + p[i].off;
        const void *ptr = NULL;
        switch (p[i].special) {
        case P_NONE:
            break;
        case P_KEY:
            ptr = key;
            break;
        case P_SIGNING_KEY:
            ptr = sign_secret;
            break;
        case P_SIGNERS:
            ptr = sign_public;
            break;
        case P_SIGNERS_BAD:
            ptr = signers_bad;
            break;
        case P_DIR:
            ptr = dir;
            break;
        case P_DIR_EMPTY:
            ptr = "";
            break;
        case P_DIR_MISSING:
            ptr = f_missing;
            break;
        case P_DIR_BYTES:
            ptr = f_missing_bytes;
            break;
        case P_DIR_FILE:
            ptr = f_regular;
            break;
        case P_NODES16:
        case P_NODES_JUNK:
            for (uint32_t k = 0; k < MCAST_WAIT_FOR_ACKS_MAX; k++) {
                uint32_t id = p[i].special == P_NODES16 ? k + 1 : k == 0 ? 7 : 0xffffffffu;
                memcpy(at + 4 * k, &id, 4);
            }
            continue;
        }
        if (p[i].special != P_NONE) {
            memcpy(at, &ptr, sizeof ptr);
            continue;
        }
        uint8_t v1 = (uint8_t)p[i].v;
        uint16_t v2 = (uint16_t)p[i].v;
        uint32_t v4 = (uint32_t)p[i].v;
        uint64_t v8 = p[i].v;
        switch (p[i].width) {
        case 1:
            memcpy(at, &v1, 1);
            break;
        case 2:
            memcpy(at, &v2, 2);
            break;
        case 4:
            memcpy(at, &v4, 4);
            break;
        default:
            memcpy(at, &v8, 8);
            break;
        }
    }
}

/* A config in cfgbuf: zeroes, init_sized(sizeof T), then the row's patches. */
static void *make_cfg(init_fn init, size_t size, const struct cfg_row *r)
{
    memset(cfgbuf, 0, sizeof cfgbuf);
    init(cfgbuf, size);
    apply(cfgbuf, r->p);
    return cfgbuf;
}

#define SC(f, v) SET(mcast_sender_config, f, v)
#define SCP(f, k) PTR(mcast_sender_config, f, k)
#define RC(f, v) SET(mcast_receiver_config, f, v)
#define RCP(f, k) PTR(mcast_receiver_config, f, k)
#define CC(f, v) SET(mcast_config, f, v)

/* The size rows every config struct gets. */
#define SIZE_ROWS(T, NAME)                                                                                              \
    {"size 0 (not initialised)", {SET(T, size, 0)}, INV, NAME ".size is 0: initialise the struct", 0},                 \
    {"size 3 (shorter than its size field)", {SET(T, size, 3)}, INV, NAME ".size is 3", 0},                            \
    {"size 9 (not a multiple of the alignment)", {SET(T, size, 9)}, INV, NAME ".size is 9", 0},                        \
    {"size 15 (not a multiple of the alignment)", {SET(T, size, 15)}, INV, NAME ".size is 15", 0},                     \
    {"size 8 (an older header knowing only size: defaults)", {SET(T, size, 8)}, MCAST_OK, NULL, 0},                    \
    {"size sizeof + 8, unknown tail 0 (a newer header)", {SET(T, size, sizeof(T) + 8)}, MCAST_OK, NULL, 0},           \
    {"size sizeof + 8, unknown field set", {SET(T, size, sizeof(T) + 8), RAW(sizeof(T), 8, 1)}, INV, "newer mcast.h", 0}, \
    {"size sizeof, a field set past it (not read)", {RAW(sizeof(T), 8, 1)}, MCAST_OK, NULL, 0},                       \
    {"size 65536, tail 0 (the largest plausible)", {SET(T, size, 65536)}, MCAST_OK, NULL, 0},                          \
    {"size 65544 (over 64 KiB)", {SET(T, size, 65544)}, INV, NAME ".size is 65544, not a struct size", 0},             \
    {"size SIZE_MAX", {SET(T, size, SIZE_MAX)}, INV, "not a struct size", 0}

static const struct cfg_row ctx_cfg_rows[] = {
    SIZE_ROWS(mcast_config, "mcast_config"),
    {"size 16 (an older header, before recv_buffer)", {CC(size, 16), CC(recv_buffer, 1)}, MCAST_OK, NULL, 0},
    {"hop_limit 0", {CC(hop_limit, 0)}, MCAST_OK, NULL, 0},
    {"hop_limit 255", {CC(hop_limit, 255)}, MCAST_OK, NULL, 0},
    {"hop_limit 256", {CC(hop_limit, 256)}, INV, "hop_limit 256", 0},
    {"hop_limit UINT32_MAX", {CC(hop_limit, UINT32_MAX)}, INV, "hop_limit 4294967295", 0},
    {"loopback 0", {CC(loopback, 0)}, MCAST_OK, NULL, 0},
    {"loopback -1 (non-zero: on)", {CC(loopback, -1)}, MCAST_OK, NULL, 0},
    {"recv_buffer 0 (the kernel's)", {CC(recv_buffer, 0)}, MCAST_OK, NULL, 0},
    {"recv_buffer UINT64_MAX", {CC(recv_buffer, UINT64_MAX)}, MCAST_OK, NULL, 0},
    {"send_buffer 0 (the kernel's)", {CC(send_buffer, 0)}, MCAST_OK, NULL, 0},
    {"send_buffer UINT64_MAX", {CC(send_buffer, UINT64_MAX)}, MCAST_OK, NULL, 0},
};

static const struct cfg_row sender_cfg_rows[] = {
    SIZE_ROWS(mcast_sender_config, "mcast_sender_config"),
    {"size offsetof(key) (an older header, before keys)", {SC(size, offsetof(mcast_sender_config, key)), SC(seal_max_age_ms, 0), SC(reserved3, 9)}, MCAST_OK, NULL, 0},
    {"segment_size 0", {SC(segment_size, 0)}, INV, "segment size 0 is out of range", 0},
    {"segment_size 15 (minimum - 1)", {SC(segment_size, 15)}, INV, "segment size 15 is out of range (16..=8192", 0},
    {"segment_size 16 (minimum)", {SC(segment_size, 16)}, MCAST_OK, NULL, 0},
    {"segment_size 8192 (maximum)", {SC(segment_size, 8192)}, MCAST_OK, NULL, 0},
    {"segment_size 8193 (maximum + 1)", {SC(segment_size, 8193)}, INV, "segment size 8193 is out of range", 0},
    {"segment_size 65535", {SC(segment_size, 65535)}, INV, "segment size 65535 is out of range", 0},
    {"segment_size 59 with a key (minimum - 1)", {SC(segment_size, 59), SCP(key, P_KEY)}, INV, "segment size 59 is out of range (60..=8192 bytes with a key)", 0},
    {"segment_size 60 with a key (minimum)", {SC(segment_size, 60), SCP(key, P_KEY)}, MCAST_OK, NULL, 0},
    {"segment_size 143 with a signing_key (minimum - 1)", {SC(segment_size, 143), SCP(signing_key, P_SIGNING_KEY)}, INV, "segment size 143 is too small to sign objects (at least 144 bytes)", 0},
    {"segment_size 144 with a signing_key (minimum)", {SC(segment_size, 144), SCP(signing_key, P_SIGNING_KEY)}, MCAST_OK, NULL, 0},
    {"segment_size 187 with key and signing_key (minimum - 1)", {SC(segment_size, 187), SCP(key, P_KEY), SCP(signing_key, P_SIGNING_KEY)}, INV, "segment size 187 is too small to sign objects (at least 188 bytes with a key)", 0},
    {"segment_size 188 with key and signing_key (minimum)", {SC(segment_size, 188), SCP(key, P_KEY), SCP(signing_key, P_SIGNING_KEY)}, MCAST_OK, NULL, 0},
    {"block_size 0", {SC(block_size, 0)}, INV, "block size 0 with 16 parity segments is out of range", 0},
    {"block_size 1, parity 0 (smallest)", {SC(block_size, 1), SC(parity, 0)}, MCAST_OK, NULL, 0},
    {"block_size 255, parity 0", {SC(block_size, 255), SC(parity, 0)}, MCAST_OK, NULL, 0},
    {"block_size 239, parity 16 (sum 255)", {SC(block_size, 239)}, MCAST_OK, NULL, 0},
    {"block_size 240, parity 16 (sum 256)", {SC(block_size, 240)}, INV, "block size 240 with 16 parity segments is out of range", 0},
    {"block_size 1, parity 254 (sum 255)", {SC(block_size, 1), SC(parity, 254)}, MCAST_OK, NULL, 0},
    {"block_size 1, parity 255 (sum 256)", {SC(block_size, 1), SC(parity, 255)}, INV, "block size 1 with 255 parity segments", 0},
    {"block_size 256, parity 0", {SC(block_size, 256), SC(parity, 0)}, INV, "block size 256 with 0 parity segments", 0},
    {"block_size 65535, parity 65535", {SC(block_size, 65535), SC(parity, 65535)}, INV, "block size 65535 with 65535 parity", 0},
    {"auto_parity = parity (16)", {SC(auto_parity, 16)}, MCAST_OK, NULL, 0},
    {"auto_parity 17 > parity 16", {SC(auto_parity, 17)}, INV, "auto parity 17 exceeds the parity count 16", 0},
    {"auto_parity 1, parity 0", {SC(auto_parity, 1), SC(parity, 0)}, INV, "auto parity 1 exceeds the parity count 0", 0},
    {"auto_parity 65535", {SC(auto_parity, 65535)}, INV, "auto parity 65535 exceeds", 0},
    {"rate_bps 0", {SC(rate_bps, 0), SC(congestion_control, 0)}, INV, "rate 0 bit/s is too low (at least 1000)", 0},
    {"rate_bps 999 (minimum - 1)", {SC(rate_bps, 999), SC(congestion_control, 0)}, INV, "rate 999 bit/s is too low", 0},
    {"rate_bps 1000 (minimum), fixed rate", {SC(rate_bps, 1000), SC(congestion_control, 0)}, MCAST_OK, NULL, 0},
    {"rate_bps 1000, rate_min_bps 1000", {SC(rate_bps, 1000), SC(rate_min_bps, 1000)}, MCAST_OK, NULL, 0},
    {"rate_bps UINT64_MAX", {SC(rate_bps, UINT64_MAX)}, MCAST_OK, NULL, 0},
    {"rate_bps UINT64_MAX, fixed rate", {SC(rate_bps, UINT64_MAX), SC(congestion_control, 0)}, MCAST_OK, NULL, 0},
    {"rate_min_bps 0", {SC(rate_min_bps, 0)}, INV, "minimum rate 0 bit/s must be at least 1000", 0},
    {"rate_min_bps 999 (minimum - 1)", {SC(rate_min_bps, 999)}, INV, "minimum rate 999 bit/s must be at least 1000", 0},
    {"rate_min_bps 1000 (minimum)", {SC(rate_min_bps, 1000)}, MCAST_OK, NULL, 0},
    {"rate_min_bps = rate_bps", {SC(rate_min_bps, 100000000)}, MCAST_OK, NULL, 0},
    {"rate_min_bps = rate_bps + 1", {SC(rate_min_bps, 100000001)}, INV, "minimum rate 100000001 bit/s must be at least 1000 and at most the rate cap", 0},
    {"rate_min_bps UINT64_MAX", {SC(rate_min_bps, UINT64_MAX)}, INV, "minimum rate", 0},
    {"rate_min_bps 0 at a fixed rate (ignored)", {SC(rate_min_bps, 0), SC(congestion_control, 0)}, MCAST_OK, NULL, 0},
    {"congestion_control -1 (non-zero: on)", {SC(congestion_control, -1)}, MCAST_OK, NULL, 0},
    {"cache_max_objects 0", {SC(cache_max_objects, 0)}, MCAST_OK, NULL, 0},
    {"cache_max_objects UINT64_MAX", {SC(cache_max_objects, UINT64_MAX)}, MCAST_OK, NULL, 0},
    {"cache_max_bytes 0", {SC(cache_max_bytes, 0)}, MCAST_OK, NULL, 0},
    {"cache_max_bytes UINT64_MAX", {SC(cache_max_bytes, UINT64_MAX)}, MCAST_OK, NULL, 0},
    {"grtt_initial_us 0", {SC(grtt_initial_us, 0)}, MCAST_OK, NULL, 0},
    {"grtt_initial_us UINT64_MAX", {SC(grtt_initial_us, UINT64_MAX)}, MCAST_OK, NULL, 0},
    {"grtt_max_us 0", {SC(grtt_max_us, 0)}, MCAST_OK, NULL, 0},
    {"grtt_initial_us and grtt_max_us UINT64_MAX", {SC(grtt_initial_us, UINT64_MAX), SC(grtt_max_us, UINT64_MAX)}, MCAST_OK, NULL, 0},
    {"backoff_factor 0", {SC(backoff_factor, 0)}, MCAST_OK, NULL, 0},
    {"backoff_factor 15 (maximum)", {SC(backoff_factor, 15)}, MCAST_OK, NULL, 0},
    {"backoff_factor 16 (maximum + 1)", {SC(backoff_factor, 16)}, INV, "backoff_factor 16 is over 15", 0},
    {"backoff_factor 255", {SC(backoff_factor, 255)}, INV, "backoff_factor 255 is over 15", 0},
    {"backoff_factor 256", {SC(backoff_factor, 256)}, INV, "backoff_factor 256 is over 15", 0},
    {"backoff_factor UINT32_MAX", {SC(backoff_factor, UINT32_MAX)}, INV, "backoff_factor 4294967295 is over 15", 0},
    {"group_size 0", {SC(group_size, 0)}, MCAST_OK, NULL, 0},
    {"group_size UINT32_MAX", {SC(group_size, UINT32_MAX)}, MCAST_OK, NULL, 0},
    {"robust_factor 0", {SC(robust_factor, 0)}, MCAST_OK, NULL, 0},
    {"robust_factor UINT32_MAX", {SC(robust_factor, UINT32_MAX)}, MCAST_OK, NULL, 0},
    {"reserved0 1", {SC(reserved0, 1)}, INV, "reserved0, reserved1, reserved2 and reserved3 must be 0", 0},
    {"reserved1 UINT32_MAX", {SC(reserved1, UINT32_MAX)}, INV, "must be 0", 0},
    {"reserved2 1", {SC(reserved2, 1)}, INV, "must be 0", 0},
    {"reserved3 1", {SC(reserved3, 1)}, INV, "must be 0", 0},
    {"flow_control 2 (out of range)", {SC(flow_control, 2)}, INV, "flow_control 2 is not an mcast_flow_control value", 0},
    {"flow_control UINT32_MAX", {SC(flow_control, UINT32_MAX)}, INV, "flow_control 4294967295 is not an mcast_flow_control value", 0},
    {"MCAST_FLOW_WAIT_FOR_ACKS, wait_for_acks_count 0", {SC(flow_control, 1)}, INV, "wait_for_acks_count 0 is not 1 to 16", 0},
    {"MCAST_FLOW_WAIT_FOR_ACKS, wait_for_acks_count 17", {SC(flow_control, 1), SC(wait_for_acks_count, 17), SCP(wait_for_acks_nodes, P_NODES16)}, INV, "wait_for_acks_count 17 is not 1 to 16", 0},
    {"MCAST_FLOW_WAIT_FOR_ACKS, wait_for_acks_count UINT32_MAX", {SC(flow_control, 1), SC(wait_for_acks_count, UINT32_MAX), SCP(wait_for_acks_nodes, P_NODES16)}, INV, "wait_for_acks_count 4294967295 is not 1 to 16", 0},
    {"MCAST_FLOW_WAIT_FOR_ACKS, 16 node ids (maximum)", {SC(flow_control, 1), SC(wait_for_acks_count, 16), SCP(wait_for_acks_nodes, P_NODES16)}, MCAST_OK, NULL, 0},
    {"MCAST_FLOW_WAIT_FOR_ACKS, node id 0xffffffff", {SC(flow_control, 1), SC(wait_for_acks_count, 1), SC(wait_for_acks_nodes[0], 0xffffffffu)}, INV, "node id 0xffffffff is reserved", 0},
    {"MCAST_FLOW_WAIT_FOR_ACKS, node id 0", {SC(flow_control, 1), SC(wait_for_acks_count, 1)}, INV, "node id 0x0 is reserved", 0},
    {"MCAST_FLOW_WAIT_FOR_ACKS, 1 node, junk past the count (not read)", {SC(flow_control, 1), SC(wait_for_acks_count, 1), SCP(wait_for_acks_nodes, P_NODES_JUNK)}, MCAST_OK, NULL, 0},
    {"MCAST_FLOW_LEAVE_BEHIND, wait_for_acks_count 1", {SC(wait_for_acks_count, 1), SCP(wait_for_acks_nodes, P_NODES16)}, INV, "wait_for_acks_count is set but flow_control is not MCAST_FLOW_WAIT_FOR_ACKS", 0},
    {"a key", {SCP(key, P_KEY)}, MCAST_OK, NULL, 0},
    {"a key, seal_max_age_ms 0 (no limit)", {SCP(key, P_KEY), SC(seal_max_age_ms, 0)}, MCAST_OK, NULL, 0},
    {"a key, seal_max_age_ms 1", {SCP(key, P_KEY), SC(seal_max_age_ms, 1)}, MCAST_OK, NULL, 0},
    {"a key, seal_max_age_ms UINT32_MAX", {SCP(key, P_KEY), SC(seal_max_age_ms, UINT32_MAX)}, MCAST_OK, NULL, 0},
    {"no key, seal_max_age_ms 0 (ignored)", {SC(seal_max_age_ms, 0)}, MCAST_OK, NULL, 0},
    {"a signing_key", {SCP(signing_key, P_SIGNING_KEY)}, MCAST_OK, NULL, 0},
    {"node_id 1", {SC(node_id, 1)}, MCAST_OK, NULL, 0},
    {"node_id 0xfffffffe", {SC(node_id, 0xfffffffeu)}, MCAST_OK, NULL, 0},
    {"node_id 0xffffffff (NORM_NODE_ANY)", {SC(node_id, 0xffffffffu)}, INV, "node_id 0xffffffff is reserved", 0},
};

static const struct cfg_row receiver_cfg_rows[] = {
    SIZE_ROWS(mcast_receiver_config, "mcast_receiver_config"),
    {"size offsetof(file_dir) (an older header, before file_dir)", {RC(size, offsetof(mcast_receiver_config, file_dir)), RCP(file_dir, P_DIR_EMPTY), RC(trusted_signers_count, 3)}, MCAST_OK, NULL, 0},
    {"sync_policy 2 (out of range)", {RC(sync_policy, 2)}, INV, "sync_policy 2 is not an mcast_sync_policy value", 0},
    {"sync_policy UINT32_MAX", {RC(sync_policy, UINT32_MAX)}, INV, "sync_policy 4294967295 is not an mcast_sync_policy value", 0},
    {"sync_policy MCAST_SYNC_CURRENT", {RC(sync_policy, 0)}, MCAST_OK, NULL, 0},
    {"sync_window 0", {RC(sync_window, 0)}, MCAST_OK, NULL, 0},
    {"sync_window 65535 (maximum)", {RC(sync_window, 65535)}, MCAST_OK, NULL, 0},
    {"sync_window 65536 (maximum + 1)", {RC(sync_window, 65536)}, INV, "sync_window 65536 is over 65535", 0},
    {"sync_window UINT32_MAX", {RC(sync_window, UINT32_MAX)}, INV, "sync_window 4294967295 is over 65535", 0},
    {"max_object_size 0", {RC(max_object_size, 0)}, MCAST_OK, NULL, 0},
    {"max_object_size UINT64_MAX", {RC(max_object_size, UINT64_MAX)}, MCAST_OK, NULL, 0},
    {"max_buffer_per_sender 0", {RC(max_buffer_per_sender, 0)}, MCAST_OK, NULL, 0},
    {"max_buffer_per_sender UINT64_MAX", {RC(max_buffer_per_sender, UINT64_MAX)}, MCAST_OK, NULL, 0},
    {"max_buffer_total 0", {RC(max_buffer_total, 0)}, MCAST_OK, NULL, 0},
    {"max_buffer_total UINT64_MAX", {RC(max_buffer_total, UINT64_MAX)}, MCAST_OK, NULL, 0},
    {"max_senders 0", {RC(max_senders, 0)}, INV, "max_senders 0 would ignore every sender", 0},
    {"max_senders 1 (minimum)", {RC(max_senders, 1)}, MCAST_OK, NULL, 0},
    {"max_senders UINT64_MAX", {RC(max_senders, UINT64_MAX)}, MCAST_OK, NULL, 0},
    {"inactivity_timeout_ms 0", {RC(inactivity_timeout_ms, 0)}, INV, "inactivity timeout of 0", 0},
    {"inactivity_timeout_ms 1 (minimum)", {RC(inactivity_timeout_ms, 1)}, MCAST_OK, NULL, 0},
    {"inactivity_timeout_ms UINT64_MAX", {RC(inactivity_timeout_ms, UINT64_MAX)}, MCAST_OK, NULL, 0},
    {"unicast_nacks -1 (non-zero: on)", {RC(unicast_nacks, -1)}, MCAST_OK, NULL, 0},
    {"silent -1 (non-zero: on)", {RC(silent, -1)}, MCAST_OK, NULL, 0},
    {"node_id 0xfffffffe", {RC(node_id, 0xfffffffeu)}, MCAST_OK, NULL, 0},
    {"node_id 0xffffffff (NORM_NODE_ANY)", {RC(node_id, 0xffffffffu)}, INV, "node_id 0xffffffff is reserved", 0},
    {"reserved1 1", {RC(reserved1, 1)}, INV, "reserved1 and reserved2 must be 0", 0},
    {"reserved2 UINT32_MAX", {RC(reserved2, UINT32_MAX)}, INV, "reserved1 and reserved2 must be 0", 0},
    {"file_dir \"\"", {RCP(file_dir, P_DIR_EMPTY)}, INV, "file_dir is empty", 0},
    {"file_dir missing", {RCP(file_dir, P_DIR_MISSING)}, MCAST_ERR_IO, "file_dir", ENOENT},
    {"file_dir missing, its name not UTF-8", {RCP(file_dir, P_DIR_BYTES)}, MCAST_ERR_IO, "file_dir", ENOENT},
    {"file_dir a regular file", {RCP(file_dir, P_DIR_FILE)}, INV, "is not a directory", 0},
    {"file_dir a writable directory", {RCP(file_dir, P_DIR)}, MCAST_OK, NULL, 0},
    {"a key", {RCP(key, P_KEY)}, MCAST_OK, NULL, 0},
    {"a key, seal_max_age_ms 0 (no limit)", {RCP(key, P_KEY), RC(seal_max_age_ms, 0)}, MCAST_OK, NULL, 0},
    {"a key, seal_max_age_ms UINT32_MAX", {RCP(key, P_KEY), RC(seal_max_age_ms, UINT32_MAX)}, MCAST_OK, NULL, 0},
    {"trusted_signers NULL, count 1", {RC(trusted_signers_count, 1)}, INV, "trusted_signers is NULL but trusted_signers_count is 1", 0},
    {"trusted_signers NULL, count SIZE_MAX", {RC(trusted_signers_count, SIZE_MAX)}, INV, "trusted_signers is NULL", 0},
    {"trusted_signers set, count 0", {RCP(trusted_signers, P_SIGNERS)}, INV, "trusted_signers_count is 0", 0},
    {"trusted_signers set, count 65537 (maximum + 1)", {RCP(trusted_signers, P_SIGNERS), RC(trusted_signers_count, 65537)}, INV, "trusted_signers_count 65537 is over 65536", 0},
    {"trusted_signers set, count SIZE_MAX", {RCP(trusted_signers, P_SIGNERS), RC(trusted_signers_count, SIZE_MAX)}, INV, "is over 65536", 0},
    {"trusted_signers: one valid key", {RCP(trusted_signers, P_SIGNERS), RC(trusted_signers_count, 1)}, MCAST_OK, NULL, 0},
    {"trusted_signers: a valid key, then no curve point", {RCP(trusted_signers, P_SIGNERS_BAD), RC(trusted_signers_count, 2)}, INV, "trusted_signers[1] (key 2 of 2)", 0},
};

static void run_ctx_cfg_rows(void)
{
    for (size_t i = 0; i < sizeof ctx_cfg_rows / sizeof ctx_cfg_rows[0]; i++) {
        const struct cfg_row *r = &ctx_cfg_rows[i];
        out_ok = 1;
        have_snap = 0;
        set_marker();
        void *cfg = make_cfg(init_ctx_cfg, sizeof(mcast_config), r);
        mcast_ctx *c = (mcast_ctx *)(void *)&junk;
        mcast_status st = mcast_ctx_new(cfg, &c);
        snap();
        if (st != MCAST_OK) {
            expect(c == NULL, "*out is not NULL on failure");
        } else {
            /* The settings must also work on a socket. */
            mcast_sender *s = NULL;
            mcast_status st2 = mcast_sender_new(c, GROUP, (uint16_t)(PORT + 1), IFNAME, NULL, &s);
            if (st2 != MCAST_OK) {
                static char why[256];
                snprintf(why, sizeof why, "accepted, but mcast_sender_new on the context then fails with %s: %s",
                         sname(st2), mcast_last_error());
                expect(0, why);
            }
            mcast_sender_free(s);
            mcast_ctx_free(c);
        }
        char what[200];
        snprintf(what, sizeof what, "mcast_config: %s", r->what);
        report("mcast_ctx_new", what, st, r->want, r->msg, r->os);
    }
}

static void run_sender_cfg_rows(void)
{
    for (size_t i = 0; i < sizeof sender_cfg_rows / sizeof sender_cfg_rows[0]; i++) {
        const struct cfg_row *r = &sender_cfg_rows[i];
        out_ok = 1;
        have_snap = 0;
        set_marker();
        void *cfg = make_cfg(init_snd_cfg, sizeof(mcast_sender_config), r);
        mcast_sender *s = (mcast_sender *)(void *)&junk;
        mcast_status st = mcast_sender_new(ctx, GROUP, (uint16_t)(PORT + 1), IFNAME, cfg, &s);
        snap();
        if (st != MCAST_OK) {
            expect(s == NULL, "*out is not NULL on failure");
        } else {
            expect(s != NULL && mcast_sender_node_id(s) != 0, "no live sender");
            mcast_sender_free(s);
        }
        char what[200];
        snprintf(what, sizeof what, "mcast_sender_config: %s", r->what);
        report("mcast_sender_new", what, st, r->want, r->msg, r->os);
    }
}

static void run_receiver_cfg_rows(void)
{
    for (size_t i = 0; i < sizeof receiver_cfg_rows / sizeof receiver_cfg_rows[0]; i++) {
        const struct cfg_row *r = &receiver_cfg_rows[i];
        out_ok = 1;
        have_snap = 0;
        set_marker();
        void *cfg = make_cfg(init_rcv_cfg, sizeof(mcast_receiver_config), r);
        mcast_receiver *rv = (mcast_receiver *)(void *)&junk;
        mcast_status st = mcast_receiver_new(ctx, GROUP, (uint16_t)(PORT + 2), IFNAME, cfg, &rv);
        snap();
        if (st != MCAST_OK) {
            expect(rv == NULL, "*out is not NULL on failure");
        } else {
            expect(rv != NULL && mcast_receiver_fd(rv) >= 0, "no live receiver");
            mcast_receiver_free(rv);
        }
        char what[200];
        snprintf(what, sizeof what, "mcast_receiver_config: %s", r->what);
        report("mcast_receiver_new", what, st, r->want, r->msg, r->os);
    }
    /* The same through mcast_receiver_new_ssm (its config is read alike). */
    for (size_t i = 0; i < sizeof receiver_cfg_rows / sizeof receiver_cfg_rows[0]; i++) {
        const struct cfg_row *r = &receiver_cfg_rows[i];
        if (r->want == MCAST_OK) {
            continue;
        }
        out_ok = 1;
        have_snap = 0;
        set_marker();
        void *cfg = make_cfg(init_rcv_cfg, sizeof(mcast_receiver_config), r);
        mcast_receiver *rv = (mcast_receiver *)(void *)&junk;
        mcast_status st = mcast_receiver_new_ssm(ctx, GROUP, (uint16_t)(PORT + 2), IFNAME, src_ok, 1, cfg, &rv);
        snap();
        expect(st == MCAST_OK || rv == NULL, "*out is not NULL on failure");
        if (st == MCAST_OK) {
            mcast_receiver_free(rv);
        }
        char what[200];
        snprintf(what, sizeof what, "mcast_receiver_config: %s", r->what);
        report("mcast_receiver_new_ssm", what, st, r->want, r->msg, r->os);
    }
}

/* ------------------------------------------------------------ sending */

#define ID_PRESET UINT64_C(0xdeadbeefdeadbeef)
static uint64_t oid;

/* send-like call with *object_id_out preset: 0 on failure, an id on success. */
#define ID_CHECK(st)                                                                                                  \
    do {                                                                                                              \
        snap();                                                                                                       \
        expect((st) == MCAST_OK ? oid != ID_PRESET : oid == 0, "object_id_out is not 0 on failure (or not set)");    \
    } while (0)

static int send1(mcast_sender *s, const void *buf, size_t len)
{
    oid = ID_PRESET;
    mcast_status st = mcast_send(s, buf, len, &oid);
    ID_CHECK(st);
    return st;
}
static int try1(mcast_sender *s, const void *buf, size_t len)
{
    oid = ID_PRESET;
    mcast_status st = mcast_try_send(s, buf, len, &oid);
    ID_CHECK(st);
    return st;
}
static int tmo1(mcast_sender *s, const void *buf, size_t len, int t)
{
    oid = ID_PRESET;
    mcast_status st = mcast_send_timeout(s, buf, len, t, &oid);
    ID_CHECK(st);
    return st;
}
static int info1(mcast_sender *s, const void *buf, size_t len, const void *info, size_t info_len)
{
    oid = ID_PRESET;
    mcast_status st = mcast_send_with_info(s, buf, len, info, info_len, &oid);
    ID_CHECK(st);
    return st;
}
static int file1(mcast_sender *s, const char *path)
{
    oid = ID_PRESET;
    mcast_status st = mcast_send_file(s, path, &oid);
    ID_CHECK(st);
    return st;
}

static int r_send_null(void) { return send1(NULL, "x", 1); }
static int r_send_dead(void) { return send1(dead_snd, "x", 1); }
static int r_send_wrong(void) { return send1((mcast_sender *)(void *)rcv, "x", 1); }
static int r_send_junk(void) { return send1((mcast_sender *)(void *)&not_a_handle, "x", 1); }
static int r_send_null_buf(void) { return send1(snd, NULL, 1); }
static int r_send_null_buf_max(void) { return send1(snd, NULL, SIZE_MAX); }
static int r_send_closed(void) { return send1(closed_snd, "x", 1); }
static int r_send_cache_full(void) { return send1(snd_small, info_1400, 101); }
static int r_send_cache_fits(void) { return send1(snd_small, info_1400, 100); }
static int r_send_null_id(void) { return mcast_send(NULL, "x", 1, NULL); }

static int r_try_null(void) { return try1(NULL, "x", 1); }
static int r_try_dead(void) { return try1(dead_snd, "x", 1); }
static int r_try_wrong(void) { return try1((mcast_sender *)(void *)msg, "x", 1); }
static int r_try_null_buf(void) { return try1(snd, NULL, 1); }
static int r_try_closed(void) { return try1(closed_snd, "x", 1); }
static int r_try_cache_full(void) { return try1(snd_small, info_1400, 101); }

static int r_tmo_null(void) { return tmo1(NULL, "x", 1, 100); }
static int r_tmo_dead(void) { return tmo1(dead_snd, "x", 1, 100); }
static int r_tmo_null_buf(void) { return tmo1(snd, NULL, 1, 100); }
static int r_tmo_closed(void) { return tmo1(closed_snd, "x", 1, -1); }
static int r_tmo_cache_full(void) { return tmo1(snd_small, info_1400, 101, 100); }
static int r_tmo_minus5(void) { return tmo1(snd, "x", 1, -5); }
static int r_tmo_int_min(void) { return tmo1(snd, "x", 1, INT_MIN); }
static int r_tmo_int_max(void) { return tmo1(snd, "x", 1, INT_MAX); }

static int r_info_null(void) { return info1(NULL, "x", 1, "i", 1); }
static int r_info_dead(void) { return info1(dead_snd, "x", 1, "i", 1); }
static int r_info_null_buf(void) { return info1(snd, NULL, 1, "i", 1); }
static int r_info_null_info(void) { return info1(snd, "x", 1, NULL, 3); }
static int r_info_null_info0(void) { return info1(snd, "x", 1, NULL, 0); }
static int r_info_1400(void) { return info1(snd, "x", 1, info_1400, 1400); }
static int r_info_1401(void) { return info1(snd, "x", 1, info_1401, 1401); }
static int r_info_key_1356(void) { return info1(snd_key, "x", 1, info_1400, 1356); }
static int r_info_key_1357(void) { return info1(snd_key, "x", 1, info_1400, 1357); }
static int r_info_closed(void) { return info1(closed_snd, "x", 1, "i", 1); }

static int r_file_null(void) { return file1(NULL, f_regular); }
static int r_file_dead(void) { return file1(dead_snd, f_regular); }
static int r_file_wrong(void) { return file1((mcast_sender *)(void *)rcv, f_regular); }
static int r_file_null_path(void) { return file1(snd, NULL); }
static int r_file_empty(void) { return file1(snd, ""); }
static int r_file_root(void) { return file1(snd, "/"); }
static int r_file_dotdot(void) { return file1(snd, "/tmp/.."); }
static int r_file_dir(void) { return file1(snd, dir); }
static int r_file_devnull(void) { return file1(snd, "/dev/null"); }
static int r_file_missing(void) { return file1(snd, f_missing); }
static int r_file_missing_bytes(void) { return file1(snd, f_missing_bytes); }
static int r_file_closed(void) { return file1(closed_snd, f_regular); }

static const struct row send_rows[] = {
    {"mcast_send", "NULL sender", r_send_null, INV, "mcast_sender is NULL", 0},
    {"mcast_send", "a freed sender", r_send_dead, INV, "not a live mcast_sender", 0},
    {"mcast_send", "a receiver as sender", r_send_wrong, INV, "not a live mcast_sender", 0},
    {"mcast_send", "a pointer that is no handle", r_send_junk, INV, "not a live mcast_sender", 0},
    {"mcast_send", "NULL buf, len 1", r_send_null_buf, INV, "buf is NULL but its length is 1", 0},
    {"mcast_send", "NULL buf, len SIZE_MAX", r_send_null_buf_max, INV, "buf is NULL but its length is", 0},
    {"mcast_send", "a sender whose context was freed", r_send_closed, MCAST_ERR_CLOSED, "closed", 0},
    {"mcast_send", "101 bytes, cache_max_bytes 100", r_send_cache_full, MCAST_ERR_CACHE_FULL, "object of 101 bytes exceeds the transmit cache of 100 bytes", 0},
    {"mcast_send", "100 bytes, cache_max_bytes 100", r_send_cache_fits, MCAST_OK, NULL, 0},
    {"mcast_send", "NULL sender, NULL object_id_out", r_send_null_id, INV, "mcast_sender is NULL", 0},
    {"mcast_try_send", "NULL sender", r_try_null, INV, "mcast_sender is NULL", 0},
    {"mcast_try_send", "a freed sender", r_try_dead, INV, "not a live mcast_sender", 0},
    {"mcast_try_send", "a message as sender", r_try_wrong, INV, "not a live mcast_sender", 0},
    {"mcast_try_send", "NULL buf, len 1", r_try_null_buf, INV, "buf is NULL but its length is 1", 0},
    {"mcast_try_send", "a sender whose context was freed", r_try_closed, MCAST_ERR_CLOSED, "closed", 0},
    {"mcast_try_send", "101 bytes, cache_max_bytes 100", r_try_cache_full, MCAST_ERR_CACHE_FULL, "exceeds the transmit cache", 0},
    {"mcast_send_timeout", "NULL sender", r_tmo_null, INV, "mcast_sender is NULL", 0},
    {"mcast_send_timeout", "a freed sender", r_tmo_dead, INV, "not a live mcast_sender", 0},
    {"mcast_send_timeout", "NULL buf, len 1", r_tmo_null_buf, INV, "buf is NULL but its length is 1", 0},
    {"mcast_send_timeout", "a sender whose context was freed, timeout -1", r_tmo_closed, MCAST_ERR_CLOSED, "closed", 0},
    {"mcast_send_timeout", "101 bytes, cache_max_bytes 100", r_tmo_cache_full, MCAST_ERR_CACHE_FULL, "exceeds the transmit cache", 0},
    {"mcast_send_timeout", "timeout -5 (< 0: waits as needed)", r_tmo_minus5, MCAST_OK, NULL, 0},
    {"mcast_send_timeout", "timeout INT_MIN", r_tmo_int_min, MCAST_OK, NULL, 0},
    {"mcast_send_timeout", "timeout INT_MAX", r_tmo_int_max, MCAST_OK, NULL, 0},
    {"mcast_send_with_info", "NULL sender", r_info_null, INV, "mcast_sender is NULL", 0},
    {"mcast_send_with_info", "a freed sender", r_info_dead, INV, "not a live mcast_sender", 0},
    {"mcast_send_with_info", "NULL buf, len 1", r_info_null_buf, INV, "buf is NULL but its length is 1", 0},
    {"mcast_send_with_info", "NULL info, info_len 3", r_info_null_info, INV, "info is NULL but its length is 3", 0},
    {"mcast_send_with_info", "NULL info, info_len 0 (empty info)", r_info_null_info0, MCAST_OK, NULL, 0},
    {"mcast_send_with_info", "info of segment_size (1400) bytes", r_info_1400, MCAST_OK, NULL, 0},
    {"mcast_send_with_info", "info of segment_size + 1 bytes", r_info_1401, INV, "info of 1401 bytes exceeds the segment size 1400", 0},
    {"mcast_send_with_info", "with a key: info of segment_size - 44 bytes", r_info_key_1356, MCAST_OK, NULL, 0},
    {"mcast_send_with_info", "with a key: info of segment_size - 43 bytes", r_info_key_1357, INV, "info of 1357 bytes exceeds the segment size 1356", 0},
    {"mcast_send_with_info", "a sender whose context was freed", r_info_closed, MCAST_ERR_CLOSED, "closed", 0},
    {"mcast_send_file", "NULL sender", r_file_null, INV, "mcast_sender is NULL", 0},
    {"mcast_send_file", "a freed sender", r_file_dead, INV, "not a live mcast_sender", 0},
    {"mcast_send_file", "a receiver as sender", r_file_wrong, INV, "not a live mcast_sender", 0},
    {"mcast_send_file", "NULL path", r_file_null_path, INV, "path is NULL", 0},
    {"mcast_send_file", "\"\"", r_file_empty, INV, "path is empty", 0},
    {"mcast_send_file", "\"/\" (no base name)", r_file_root, INV, "has no file name", 0},
    {"mcast_send_file", "\"/tmp/..\" (no base name)", r_file_dotdot, INV, "has no file name", 0},
    {"mcast_send_file", "a directory", r_file_dir, INV, "not a regular file", 0},
    {"mcast_send_file", "/dev/null", r_file_devnull, INV, "not a regular file", 0},
    {"mcast_send_file", "a missing file", r_file_missing, MCAST_ERR_IO, "missing", ENOENT},
    {"mcast_send_file", "a missing file whose name is not UTF-8", r_file_missing_bytes, MCAST_ERR_IO, "missing-", ENOENT},
    {"mcast_send_file", "a sender whose context was freed", r_file_closed, MCAST_ERR_CLOSED, "closed", 0},
};

/* ------------------------------------------------------------ flushing, stats, node ids, free */

static int r_flush_null(void) { return mcast_flush(NULL, 100); }
static int r_flush_dead(void) { return mcast_flush(dead_snd, 100); }
static int r_flush_wrong(void) { return mcast_flush((mcast_sender *)(void *)rcv, 100); }
static int r_flush_closed(void) { return mcast_flush(closed_snd, 100); }
static int r_flush_closed_neg(void) { return mcast_flush(closed_snd, -5); }
static int r_flush_minus5(void) { return mcast_flush(snd_quick, -5); }
static int r_flush_int_min(void) { return mcast_flush(snd_quick, INT_MIN); }

static uint32_t nodes[4] = {11, 12, 13, 14}, acked[4];
static size_t n_acked;

static int facked(mcast_sender *s, const uint32_t *ns, size_t n, int t, uint32_t *out, size_t *nout)
{
    n_acked = 99;
    mcast_status st = mcast_flush_acked(s, ns, n, t, out, nout);
    snap();
    expect(st == MCAST_OK || n_acked == 0 || nout != &n_acked, "*n_acked is not 0 on failure");
    return st;
}
static int r_fa_null(void) { return facked(NULL, nodes, 1, 100, acked, &n_acked); }
static int r_fa_dead(void) { return facked(dead_snd, nodes, 1, 100, acked, &n_acked); }
static int r_fa_wrong(void) { return facked((mcast_sender *)(void *)rcv, nodes, 1, 100, acked, &n_acked); }
static int r_fa_null_nodes(void) { return facked(snd, NULL, 1, 100, acked, &n_acked); }
static int r_fa_null_acked(void) { return facked(snd, nodes, 1, 100, NULL, &n_acked); }
static int r_fa_null_n(void) { return facked(snd, nodes, 1, 100, acked, NULL); }
static int r_fa_null_n0(void) { return facked(snd, NULL, 0, 100, NULL, NULL); }
static int r_fa_too_many(void) { return facked(snd, nodes, 65537, 100, acked, &n_acked); }
static int r_fa_closed(void) { return facked(closed_snd, nodes, 1, 100, acked, &n_acked); }
static int r_fa_none(void)
{
    int st = facked(snd_quick, NULL, 0, -5, NULL, &n_acked);
    expect(n_acked == 0, "*n_acked is not 0 when nobody was asked");
    return st;
}

static mcast_sender_stats sstats;
static mcast_receiver_stats rstats;

static int sstat(const mcast_sender *s, mcast_sender_stats *out, size_t size)
{
    memset(&sstats, 0xab, sizeof sstats);
    mcast_status st = mcast_sender_get_stats_sized(s, out, size);
    snap();
    if (st != MCAST_OK || size == 0) {
        expect(all_byte(&sstats, 0xab, sizeof sstats), "the stats struct was written");
    }
    return st;
}
static int r_ss_null(void) { return sstat(NULL, &sstats, sizeof sstats); }
static int r_ss_dead(void) { return sstat(dead_snd, &sstats, sizeof sstats); }
static int r_ss_wrong(void) { return sstat((mcast_sender *)(void *)rcv, &sstats, sizeof sstats); }
static int r_ss_null_out(void) { return sstat(snd, NULL, sizeof sstats); }
static int r_ss_null_out0(void) { return sstat(snd, NULL, 0); }
static int r_ss_huge(void) { return sstat(snd, &sstats, (1 << 16) + 8); }
static int r_ss_zero(void) { return sstat(snd, &sstats, 0); }
static int r_ss_closed(void) { return sstat(closed_snd, &sstats, sizeof sstats); }

static int r_snid_null(void)
{
    expect(mcast_sender_node_id(NULL) == 0, "not 0");
    return NS;
}
static int r_snid_dead(void)
{
    expect(mcast_sender_node_id(dead_snd) == 0, "not 0");
    return NS;
}
static int r_snid_wrong(void)
{
    expect(mcast_sender_node_id((mcast_sender *)(void *)rcv) == 0, "not 0");
    return NS;
}

/* mcast_sender_interface / mcast_receiver_interface into ifbuf (or NULL):
 * on failure the buffer holds an empty string, and nothing is written when
 * len is 0; on success it names IFNAME. */
static char ifbuf[MCAST_INTERFACE_NAME_MAX];
static int ifname_check(mcast_status st, const char *out, size_t len)
{
    if (st != MCAST_OK) {
        expect(out == NULL || len == 0 || ifbuf[0] == 0, "out is not an empty string");
    } else {
        expect(strcmp(ifbuf, IFNAME) == 0, "not the interface joined on");
    }
    expect(len != 0 || ifbuf[0] == 'X', "len 0 but out was written");
    return st;
}
static int sif(const mcast_sender *s, char *out, size_t len)
{
    memset(ifbuf, 'X', sizeof ifbuf);
    return ifname_check(mcast_sender_interface(s, out, len), out, len);
}
static int rif(const mcast_receiver *r, char *out, size_t len)
{
    memset(ifbuf, 'X', sizeof ifbuf);
    return ifname_check(mcast_receiver_interface(r, out, len), out, len);
}
static int r_sif_null(void) { return sif(NULL, ifbuf, sizeof ifbuf); }
static int r_sif_dead(void) { return sif(dead_snd, ifbuf, sizeof ifbuf); }
static int r_sif_wrong(void) { return sif((mcast_sender *)(void *)rcv, ifbuf, sizeof ifbuf); }
static int r_sif_null_out(void) { return sif(snd, NULL, sizeof ifbuf); }
static int r_sif_len0(void) { return sif(snd, ifbuf, 0); }
static int r_sif_short(void) { return sif(snd, ifbuf, strlen(IFNAME)); }
static int r_sif_ok(void) { return sif(snd, ifbuf, strlen(IFNAME) + 1); }
static int r_sif_closed(void) { return sif(closed_snd, ifbuf, sizeof ifbuf); }
static int r_rif_null(void) { return rif(NULL, ifbuf, sizeof ifbuf); }
static int r_rif_dead(void) { return rif(dead_rcv, ifbuf, sizeof ifbuf); }
static int r_rif_wrong(void) { return rif((mcast_receiver *)(void *)snd, ifbuf, sizeof ifbuf); }
static int r_rif_null_out(void) { return rif(rcv, NULL, sizeof ifbuf); }
static int r_rif_len0(void) { return rif(rcv, ifbuf, 0); }
static int r_rif_short(void) { return rif(rcv, ifbuf, strlen(IFNAME)); }
static int r_rif_ok(void) { return rif(rcv, ifbuf, strlen(IFNAME) + 1); }
static int r_rif_closed(void) { return rif(closed_rcv, ifbuf, sizeof ifbuf); }
static int r_sfree_null(void)
{
    mcast_sender_free(NULL);
    return NS;
}
static int r_sfree_dead(void)
{
    mcast_sender_free(dead_snd);
    return NS;
}
static int r_sfree_wrong(void)
{
    mcast_sender_free((mcast_sender *)(void *)rcv);
    snap();
    expect(mcast_receiver_fd(rcv) >= 0, "the receiver passed as a sender was freed");
    return NS;
}
static int r_sfree_junk(void)
{
    mcast_sender_free((mcast_sender *)(void *)&not_a_handle);
    return NS;
}

static const struct row sender_rows[] = {
    {"mcast_flush", "NULL sender", r_flush_null, INV, "mcast_sender is NULL", 0},
    {"mcast_flush", "a freed sender", r_flush_dead, INV, "not a live mcast_sender", 0},
    {"mcast_flush", "a receiver as sender", r_flush_wrong, INV, "not a live mcast_sender", 0},
    {"mcast_flush", "a sender whose context was freed", r_flush_closed, MCAST_ERR_CLOSED, "closed", 0},
    {"mcast_flush", "a sender whose context was freed, timeout -5", r_flush_closed_neg, MCAST_ERR_CLOSED, "closed", 0},
    {"mcast_flush", "timeout -5 (< 0: waits as needed)", r_flush_minus5, MCAST_OK, NULL, 0},
    {"mcast_flush", "timeout INT_MIN", r_flush_int_min, MCAST_OK, NULL, 0},
    {"mcast_flush_acked", "NULL sender", r_fa_null, INV, "mcast_sender is NULL", 0},
    {"mcast_flush_acked", "a freed sender", r_fa_dead, INV, "not a live mcast_sender", 0},
    {"mcast_flush_acked", "a receiver as sender", r_fa_wrong, INV, "not a live mcast_sender", 0},
    {"mcast_flush_acked", "NULL nodes, n_nodes 1", r_fa_null_nodes, INV, "nodes, acked_out and n_acked must not be NULL", 0},
    {"mcast_flush_acked", "NULL acked_out, n_nodes 1", r_fa_null_acked, INV, "nodes, acked_out and n_acked must not be NULL", 0},
    {"mcast_flush_acked", "NULL n_acked", r_fa_null_n, INV, "nodes, acked_out and n_acked must not be NULL", 0},
    {"mcast_flush_acked", "NULL nodes, acked_out and n_acked, n_nodes 0", r_fa_null_n0, INV, "must not be NULL", 0},
    {"mcast_flush_acked", "n_nodes 65537", r_fa_too_many, INV, "65537 nodes is too many", 0},
    {"mcast_flush_acked", "a sender whose context was freed", r_fa_closed, MCAST_ERR_CLOSED, "closed", 0},
    {"mcast_flush_acked", "n_nodes 0, NULL arrays, timeout -5 (nobody to ask)", r_fa_none, MCAST_OK, NULL, 0},
    {"mcast_sender_get_stats_sized", "NULL sender", r_ss_null, INV, "mcast_sender is NULL", 0},
    {"mcast_sender_get_stats_sized", "a freed sender", r_ss_dead, INV, "not a live mcast_sender", 0},
    {"mcast_sender_get_stats_sized", "a receiver as sender", r_ss_wrong, INV, "not a live mcast_sender", 0},
    {"mcast_sender_get_stats_sized", "NULL out", r_ss_null_out, INV, "mcast_sender_stats pointer is NULL", 0},
    {"mcast_sender_get_stats_sized", "NULL out, size 0", r_ss_null_out0, INV, "mcast_sender_stats pointer is NULL", 0},
    {"mcast_sender_get_stats_sized", "size 65544", r_ss_huge, INV, "size 65544 is not the size of a mcast_sender_stats", 0},
    {"mcast_sender_get_stats_sized", "size 0 (nothing written)", r_ss_zero, MCAST_OK, NULL, 0},
    {"mcast_sender_get_stats_sized", "a sender whose context was freed (still answers)", r_ss_closed, MCAST_OK, NULL, 0},
    {"mcast_sender_node_id", "NULL (0)", r_snid_null, NS, "mcast_sender is NULL", 0},
    {"mcast_sender_node_id", "a freed sender (0)", r_snid_dead, NS, "not a live mcast_sender", 0},
    {"mcast_sender_node_id", "a receiver as sender (0)", r_snid_wrong, NS, "not a live mcast_sender", 0},
    {"mcast_sender_interface", "NULL sender", r_sif_null, INV, "mcast_sender is NULL", 0},
    {"mcast_sender_interface", "a freed sender", r_sif_dead, INV, "not a live mcast_sender", 0},
    {"mcast_sender_interface", "a receiver as sender", r_sif_wrong, INV, "not a live mcast_sender", 0},
    {"mcast_sender_interface", "NULL out", r_sif_null_out, INV, "output buffer must not be NULL", 0},
    {"mcast_sender_interface", "len 0 (nothing written)", r_sif_len0, INV, "len 0 is too small", 0},
    {"mcast_sender_interface", "len one short", r_sif_short, INV, "is too small", 0},
    {"mcast_sender_interface", "len just enough", r_sif_ok, MCAST_OK, NULL, 0},
    {"mcast_sender_interface", "a sender whose context was freed (still answers)", r_sif_closed, MCAST_OK, NULL, 0},
    {"mcast_sender_free", "NULL (a no-op)", r_sfree_null, NS, NULL, 0},
    {"mcast_sender_free", "a freed sender", r_sfree_dead, NS, "not a live mcast_sender", 0},
    {"mcast_sender_free", "a receiver (ignored, the receiver lives on)", r_sfree_wrong, NS, "not a live mcast_sender", 0},
    {"mcast_sender_free", "a pointer that is no handle", r_sfree_junk, NS, "not a live mcast_sender", 0},
};

/* ------------------------------------------------------------ receiving */

static int recv1(mcast_receiver *r, mcast_msg **out, int t)
{
    mcast_msg *m = (mcast_msg *)(void *)&junk;
    mcast_status st = mcast_recv(r, out ? &m : NULL, t);
    snap();
    if (out) {
        expect(st == MCAST_OK || st == MCAST_ERR_ABORTED || st == MCAST_ERR_REJECTED ? m != NULL : m == NULL,
               "*out is not NULL on failure");
        if (m != (mcast_msg *)(void *)&junk) {
            mcast_msg_free(m);
        }
    }
    return st;
}
static mcast_msg *dummy;
static int r_recv_null(void) { return recv1(NULL, &dummy, 0); }
static int r_recv_null_out(void) { return recv1(rcv_idle, NULL, 0); }
static int r_recv_null_both(void) { return recv1(NULL, NULL, 0); }
static int r_recv_dead(void) { return recv1(dead_rcv, &dummy, 0); }
static int r_recv_wrong(void) { return recv1((mcast_receiver *)(void *)snd, &dummy, 0); }
static int r_recv_junk(void) { return recv1((mcast_receiver *)(void *)&not_a_handle, &dummy, 100); }
static int r_recv_closed_neg(void) { return recv1(closed_rcv, &dummy, -5); }
static int r_recv_closed_min(void) { return recv1(closed_rcv, &dummy, INT_MIN); }
static int r_recv_closed_0(void) { return recv1(closed_rcv, &dummy, 0); }
static int r_recv_idle_1(void) { return recv1(rcv_idle, &dummy, 1); }
static int r_recv_idle_0(void) { return recv1(rcv_idle, &dummy, 0); }
/* A negative timeout other than -1 waits as long as needed: for a message
 * on its way. */
static int r_recv_neg_live(void)
{
    if (mcast_send(snd, "negative", 8, NULL) != MCAST_OK) {
        return MCAST_ERR_INTERNAL;
    }
    return recv1(rcv, &dummy, -5);
}
static int r_recv_min_live(void)
{
    if (mcast_send(snd, "INT_MIN", 7, NULL) != MCAST_OK) {
        return MCAST_ERR_INTERNAL;
    }
    return recv1(rcv, &dummy, INT_MIN);
}

static int r_fd_null(void)
{
    expect(mcast_receiver_fd(NULL) == -1, "not -1");
    return NS;
}
static int r_fd_dead(void)
{
    expect(mcast_receiver_fd(dead_rcv) == -1, "not -1");
    return NS;
}
static int r_fd_wrong(void)
{
    expect(mcast_receiver_fd((mcast_receiver *)(void *)snd) == -1, "not -1");
    return NS;
}
static int r_fd_closed(void)
{
    expect(mcast_receiver_fd(closed_rcv) >= 0, "not a descriptor");
    return NS;
}

static void never_called(void *u, mcast_status s, mcast_msg *m)
{
    (void)u;
    (void)s;
    mcast_msg_free(m);
}
static int r_cb_null(void) { return mcast_receiver_set_callback(NULL, never_called, NULL); }
static int r_cb_dead(void) { return mcast_receiver_set_callback(dead_rcv, never_called, NULL); }
static int r_cb_wrong(void) { return mcast_receiver_set_callback((mcast_receiver *)(void *)snd, never_called, NULL); }
static int r_cb_null_cb(void) { return mcast_receiver_set_callback(rcv_idle, NULL, NULL); }
static int r_cb_closed(void)
{
    mcast_status st = mcast_receiver_set_callback(closed_rcv, never_called, &junk);
    mcast_receiver_set_callback(closed_rcv, NULL, NULL);
    return st;
}

static int rstat(const mcast_receiver *r, mcast_receiver_stats *out, size_t size)
{
    memset(&rstats, 0xab, sizeof rstats);
    mcast_status st = mcast_receiver_get_stats_sized(r, out, size);
    snap();
    if (st != MCAST_OK || size == 0) {
        expect(all_byte(&rstats, 0xab, sizeof rstats), "the stats struct was written");
    }
    return st;
}
static int r_rs_null(void) { return rstat(NULL, &rstats, sizeof rstats); }
static int r_rs_dead(void) { return rstat(dead_rcv, &rstats, sizeof rstats); }
static int r_rs_wrong(void) { return rstat((mcast_receiver *)(void *)snd, &rstats, sizeof rstats); }
static int r_rs_null_out(void) { return rstat(rcv_idle, NULL, sizeof rstats); }
static int r_rs_huge(void) { return rstat(rcv_idle, &rstats, SIZE_MAX); }
static int r_rs_zero(void) { return rstat(rcv_idle, &rstats, 0); }
static int r_rs_closed(void) { return rstat(closed_rcv, &rstats, sizeof rstats); }

static int r_rnid_null(void)
{
    expect(mcast_receiver_node_id(NULL) == 0, "not 0");
    return NS;
}
static int r_rnid_dead(void)
{
    expect(mcast_receiver_node_id(dead_rcv) == 0, "not 0");
    return NS;
}
static int r_rnid_wrong(void)
{
    expect(mcast_receiver_node_id((mcast_receiver *)(void *)snd) == 0, "not 0");
    return NS;
}
static int r_rfree_null(void)
{
    mcast_receiver_free(NULL);
    return NS;
}
static int r_rfree_dead(void)
{
    mcast_receiver_free(dead_rcv);
    return NS;
}
static int r_rfree_wrong(void)
{
    mcast_receiver_free((mcast_receiver *)(void *)snd);
    snap();
    expect(mcast_sender_node_id(snd) != 0, "the sender passed as a receiver was freed");
    return NS;
}
static int r_rfree_ctx(void)
{
    mcast_receiver_free((mcast_receiver *)(void *)ctx);
    snap();
    mcast_receiver *r = NULL;
    expect(mcast_receiver_new(ctx, GROUP, P3, IFNAME, NULL, &r) == MCAST_OK, "the context passed as a receiver was freed");
    mcast_receiver_free(r);
    return NS;
}

static const struct row receiver_rows[] = {
    {"mcast_recv", "NULL receiver", r_recv_null, INV, "mcast_receiver is NULL", 0},
    {"mcast_recv", "NULL out", r_recv_null_out, INV, "out is NULL", 0},
    {"mcast_recv", "NULL receiver, NULL out", r_recv_null_both, INV, "is NULL", 0},
    {"mcast_recv", "a freed receiver", r_recv_dead, INV, "not a live mcast_receiver", 0},
    {"mcast_recv", "a sender as receiver", r_recv_wrong, INV, "not a live mcast_receiver", 0},
    {"mcast_recv", "a pointer that is no handle, timeout 100", r_recv_junk, INV, "not a live mcast_receiver", 0},
    {"mcast_recv", "a receiver whose context was freed, timeout -5", r_recv_closed_neg, MCAST_ERR_CLOSED, "closed", 0},
    {"mcast_recv", "a receiver whose context was freed, timeout INT_MIN", r_recv_closed_min, MCAST_ERR_CLOSED, "closed", 0},
    {"mcast_recv", "a receiver whose context was freed, timeout 0", r_recv_closed_0, MCAST_ERR_CLOSED, "closed", 0},
    {"mcast_recv", "nothing to receive, timeout 1", r_recv_idle_1, MCAST_ERR_TIMEOUT, "timed out", 0},
    {"mcast_recv", "nothing to receive, timeout 0", r_recv_idle_0, MCAST_ERR_WOULD_BLOCK, "would block", 0},
    {"mcast_recv", "a message on its way, timeout -5 (< 0: waits as needed)", r_recv_neg_live, MCAST_OK, NULL, 0},
    {"mcast_recv", "a message on its way, timeout INT_MIN", r_recv_min_live, MCAST_OK, NULL, 0},
    {"mcast_receiver_fd", "NULL (-1)", r_fd_null, NS, "mcast_receiver is NULL", 0},
    {"mcast_receiver_fd", "a freed receiver (-1)", r_fd_dead, NS, "not a live mcast_receiver", 0},
    {"mcast_receiver_fd", "a sender as receiver (-1)", r_fd_wrong, NS, "not a live mcast_receiver", 0},
    {"mcast_receiver_fd", "a receiver whose context was freed (still valid)", r_fd_closed, NS, NULL, 0},
    {"mcast_receiver_set_callback", "NULL receiver", r_cb_null, INV, "mcast_receiver is NULL", 0},
    {"mcast_receiver_set_callback", "a freed receiver", r_cb_dead, INV, "not a live mcast_receiver", 0},
    {"mcast_receiver_set_callback", "a sender as receiver", r_cb_wrong, INV, "not a live mcast_receiver", 0},
    {"mcast_receiver_set_callback", "NULL callback (back to queueing)", r_cb_null_cb, MCAST_OK, NULL, 0},
    {"mcast_receiver_set_callback", "a receiver whose context was freed", r_cb_closed, MCAST_OK, NULL, 0},
    {"mcast_receiver_get_stats_sized", "NULL receiver", r_rs_null, INV, "mcast_receiver is NULL", 0},
    {"mcast_receiver_get_stats_sized", "a freed receiver", r_rs_dead, INV, "not a live mcast_receiver", 0},
    {"mcast_receiver_get_stats_sized", "a sender as receiver", r_rs_wrong, INV, "not a live mcast_receiver", 0},
    {"mcast_receiver_get_stats_sized", "NULL out", r_rs_null_out, INV, "mcast_receiver_stats pointer is NULL", 0},
    {"mcast_receiver_get_stats_sized", "size SIZE_MAX", r_rs_huge, INV, "is not the size of a mcast_receiver_stats", 0},
    {"mcast_receiver_get_stats_sized", "size 0 (nothing written)", r_rs_zero, MCAST_OK, NULL, 0},
    {"mcast_receiver_get_stats_sized", "a receiver whose context was freed (still answers)", r_rs_closed, MCAST_OK, NULL, 0},
    {"mcast_receiver_node_id", "NULL (0)", r_rnid_null, NS, "mcast_receiver is NULL", 0},
    {"mcast_receiver_node_id", "a freed receiver (0)", r_rnid_dead, NS, "not a live mcast_receiver", 0},
    {"mcast_receiver_node_id", "a sender as receiver (0)", r_rnid_wrong, NS, "not a live mcast_receiver", 0},
    {"mcast_receiver_interface", "NULL receiver", r_rif_null, INV, "mcast_receiver is NULL", 0},
    {"mcast_receiver_interface", "a freed receiver", r_rif_dead, INV, "not a live mcast_receiver", 0},
    {"mcast_receiver_interface", "a sender as receiver", r_rif_wrong, INV, "not a live mcast_receiver", 0},
    {"mcast_receiver_interface", "NULL out", r_rif_null_out, INV, "output buffer must not be NULL", 0},
    {"mcast_receiver_interface", "len 0 (nothing written)", r_rif_len0, INV, "len 0 is too small", 0},
    {"mcast_receiver_interface", "len one short", r_rif_short, INV, "is too small", 0},
    {"mcast_receiver_interface", "len just enough", r_rif_ok, MCAST_OK, NULL, 0},
    {"mcast_receiver_interface", "a receiver whose context was freed (still answers)", r_rif_closed, MCAST_OK, NULL, 0},
    {"mcast_receiver_free", "NULL (a no-op)", r_rfree_null, NS, NULL, 0},
    {"mcast_receiver_free", "a freed receiver", r_rfree_dead, NS, "not a live mcast_receiver", 0},
    {"mcast_receiver_free", "a sender (ignored, the sender lives on)", r_rfree_wrong, NS, "not a live mcast_receiver", 0},
    {"mcast_receiver_free", "a context (ignored, the context lives on)", r_rfree_ctx, NS, "not a live mcast_receiver", 0},
};

/* ------------------------------------------------------------ messages */

/* The handles no message accessor may take: NULL, freed, of another type. */
#define BAD_MSG_NULL ((const mcast_msg *)NULL)
#define BAD_MSG_DEAD ((const mcast_msg *)dead_msg)
#define BAD_MSG_WRONG ((const mcast_msg *)(const void *)rcv)

static size_t mlen;
static int bytes_acc(const uint8_t *(*f)(const mcast_msg *, size_t *), const mcast_msg *m)
{
    mlen = 99;
    const uint8_t *p = f(m, &mlen);
    expect(p == NULL && mlen == 0, "not NULL with *len 0");
    return NS;
}
static int r_data_null(void) { return bytes_acc(mcast_msg_data, BAD_MSG_NULL); }
static int r_data_dead(void) { return bytes_acc(mcast_msg_data, BAD_MSG_DEAD); }
static int r_data_wrong(void) { return bytes_acc(mcast_msg_data, BAD_MSG_WRONG); }
static int r_data_null_len(void)
{
    expect(mcast_msg_data(NULL, NULL) == NULL, "not NULL");
    return NS;
}
static int r_data_live_null_len(void)
{
    const uint8_t *p = mcast_msg_data(msg, NULL);
    expect(p != NULL && memcmp(p, "sweep", 5) == 0, "not the message's bytes");
    return NS;
}
static int r_info_acc_null(void) { return bytes_acc(mcast_msg_info, BAD_MSG_NULL); }
static int r_info_acc_dead(void) { return bytes_acc(mcast_msg_info, BAD_MSG_DEAD); }
static int r_info_acc_wrong(void) { return bytes_acc(mcast_msg_info, BAD_MSG_WRONG); }
static int r_info_live_null_len(void)
{
    expect(mcast_msg_info(msg, NULL) != NULL, "NULL for a live message");
    return NS;
}

#define MSG_VALUE_ROWS(F, FALLBACK)                                                                                    \
    static int F##_null(void)                                                                                          \
    {                                                                                                                  \
        expect(F(BAD_MSG_NULL) == FALLBACK, "not " #FALLBACK);                                                         \
        return NS;                                                                                                     \
    }                                                                                                                  \
    static int F##_dead(void)                                                                                          \
    {                                                                                                                  \
        expect(F(BAD_MSG_DEAD) == FALLBACK, "not " #FALLBACK);                                                         \
        return NS;                                                                                                     \
    }                                                                                                                  \
    static int F##_wrong(void)                                                                                         \
    {                                                                                                                  \
        expect(F(BAD_MSG_WRONG) == FALLBACK, "not " #FALLBACK);                                                        \
        return NS;                                                                                                     \
    }
MSG_VALUE_ROWS(mcast_msg_sender, NULL)
MSG_VALUE_ROWS(mcast_msg_sender_node_id, 0)
MSG_VALUE_ROWS(mcast_msg_object_id, 0)
MSG_VALUE_ROWS(mcast_msg_kind, MCAST_KIND_ABORTED)
MSG_VALUE_ROWS(mcast_msg_message_end, 0)
MSG_VALUE_ROWS(mcast_msg_lost_before, 0)
MSG_VALUE_ROWS(mcast_msg_stream_end, 0)
MSG_VALUE_ROWS(mcast_msg_path, NULL)

#define MSG_ROWS3(F, NAME, FALLBACK)                                                                                  \
    {NAME, "NULL (" FALLBACK ")", F##_null, NS, "mcast_msg is NULL", 0},                                              \
    {NAME, "a freed message (" FALLBACK ")", F##_dead, NS, "not a live mcast_msg", 0},                                \
    {NAME, "a receiver as message (" FALLBACK ")", F##_wrong, NS, "not a live mcast_msg", 0}

static int r_path_live(void)
{
    expect(mcast_msg_path(msg) == NULL, "not NULL for a DATA message");
    return NS;
}

static int signer(const mcast_msg *m, uint8_t *out)
{
    memset(kbuf, 0xab, sizeof kbuf);
    expect(mcast_msg_signer(m, out) == 0, "not 0");
    expect(out == NULL || all_zero(kbuf, sizeof kbuf), "public_out is not zeroed");
    return NS;
}
static int r_signer_null(void) { return signer(NULL, kbuf); }
static int r_signer_null_null(void) { return signer(NULL, NULL); }
static int r_signer_dead(void) { return signer(dead_msg, kbuf); }
static int r_signer_wrong(void) { return signer((const mcast_msg *)(const void *)snd, kbuf); }
static int r_signer_unsigned(void) { return signer(msg, kbuf); }
static int r_signer_unsigned_null(void) { return signer(msg, NULL); }

static int r_mfree_null(void)
{
    mcast_msg_free(NULL);
    return NS;
}
static int r_mfree_dead(void)
{
    mcast_msg_free(dead_msg);
    return NS;
}
static int r_mfree_wrong(void)
{
    mcast_msg_free((mcast_msg *)(void *)snd);
    snap();
    expect(mcast_sender_node_id(snd) != 0, "the sender passed as a message was freed");
    return NS;
}
static int r_mfree_junk(void)
{
    mcast_msg_free((mcast_msg *)(void *)&not_a_handle);
    return NS;
}

static const struct row msg_rows[] = {
    {"mcast_msg_data", "NULL, &len (NULL, len 0)", r_data_null, NS, "mcast_msg is NULL", 0},
    {"mcast_msg_data", "a freed message (NULL, len 0)", r_data_dead, NS, "not a live mcast_msg", 0},
    {"mcast_msg_data", "a receiver as message (NULL, len 0)", r_data_wrong, NS, "not a live mcast_msg", 0},
    {"mcast_msg_data", "NULL, NULL", r_data_null_len, NS, "mcast_msg is NULL", 0},
    {"mcast_msg_data", "a live message, NULL len", r_data_live_null_len, NS, NULL, 0},
    {"mcast_msg_info", "NULL, &len (NULL, len 0)", r_info_acc_null, NS, "mcast_msg is NULL", 0},
    {"mcast_msg_info", "a freed message (NULL, len 0)", r_info_acc_dead, NS, "not a live mcast_msg", 0},
    {"mcast_msg_info", "a receiver as message (NULL, len 0)", r_info_acc_wrong, NS, "not a live mcast_msg", 0},
    {"mcast_msg_info", "a live message, NULL len", r_info_live_null_len, NS, NULL, 0},
    MSG_ROWS3(mcast_msg_sender, "mcast_msg_sender", "NULL"),
    MSG_ROWS3(mcast_msg_sender_node_id, "mcast_msg_sender_node_id", "0"),
    MSG_ROWS3(mcast_msg_object_id, "mcast_msg_object_id", "0"),
    MSG_ROWS3(mcast_msg_kind, "mcast_msg_kind", "MCAST_KIND_ABORTED"),
    MSG_ROWS3(mcast_msg_message_end, "mcast_msg_message_end", "0"),
    MSG_ROWS3(mcast_msg_lost_before, "mcast_msg_lost_before", "0"),
    MSG_ROWS3(mcast_msg_stream_end, "mcast_msg_stream_end", "0"),
    MSG_ROWS3(mcast_msg_path, "mcast_msg_path", "NULL"),
    {"mcast_msg_path", "a live DATA message (NULL, no error)", r_path_live, NS, NULL, 0},
    {"mcast_msg_signer", "NULL, public_out (0, zeroed)", r_signer_null, NS, "mcast_msg is NULL", 0},
    {"mcast_msg_signer", "NULL, NULL (0)", r_signer_null_null, NS, "mcast_msg is NULL", 0},
    {"mcast_msg_signer", "a freed message (0, zeroed)", r_signer_dead, NS, "not a live mcast_msg", 0},
    {"mcast_msg_signer", "a sender as message (0, zeroed)", r_signer_wrong, NS, "not a live mcast_msg", 0},
    {"mcast_msg_signer", "an unsigned message (0, zeroed, no error)", r_signer_unsigned, NS, NULL, 0},
    {"mcast_msg_signer", "an unsigned message, NULL (0)", r_signer_unsigned_null, NS, NULL, 0},
    {"mcast_msg_free", "NULL (a no-op)", r_mfree_null, NS, NULL, 0},
    {"mcast_msg_free", "a freed message", r_mfree_dead, NS, "not a live mcast_msg", 0},
    {"mcast_msg_free", "a sender (ignored, the sender lives on)", r_mfree_wrong, NS, "not a live mcast_msg", 0},
    {"mcast_msg_free", "a pointer that is no handle", r_mfree_junk, NS, "not a live mcast_msg", 0},
};

/* ------------------------------------------------------------ extreme settings in use */

/* Settings at the edges of what is accepted must also work, not only be
 * accepted: a panic on the engine thread (an overflow, a division by zero)
 * would end it, and every later call on the context would fail with
 * MCAST_ERR_INTERNAL (or MCAST_ERR_CLOSED). */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int broken(int st)
{
    return st == MCAST_ERR_INTERNAL || st == MCAST_ERR_CLOSED;
}

/* On a context of their own, a sender with *sc and a receiver with *rc (NULL:
 * defaults): n objects of len bytes, received for wait_ms, then both must
 * still be answered by the engine. MCAST_OK, or the status that shows what
 * broke (timeouts, full caches and aborted objects are fine here). */
static int in_use(const mcast_sender_config *sc, const mcast_receiver_config *rc, size_t len, int n, int wait_ms)
{
    mcast_ctx *c = NULL;
    mcast_sender *s = NULL;
    mcast_receiver *r = NULL;
    uint16_t port = (uint16_t)(PORT + 2);
    int st = mcast_ctx_new(NULL, &c);
    if (st == MCAST_OK) {
        st = mcast_receiver_new(c, GROUP, port, IFNAME, rc, &r);
    }
    if (st == MCAST_OK) {
        st = mcast_sender_new(c, GROUP, port, IFNAME, sc, &s);
    }
    uint8_t *data = calloc(len ? len : 1, 1);
    int got = 0, reports = 0;
    for (int i = 0; st == MCAST_OK && i < n; i++) {
        int t = mcast_send_timeout(s, data, len, 1000, NULL);
        st = broken(t) ? t : st;
    }
    double t0 = now_s();
    while (st == MCAST_OK && (now_s() - t0) * 1000 < wait_ms) {
        mcast_msg *m = NULL;
        int t = mcast_recv(r, &m, 100);
        mcast_msg_free(m);
        got += t == MCAST_OK;
        reports += t == MCAST_ERR_ABORTED || t == MCAST_ERR_REJECTED;
        st = broken(t) ? t : st;
    }
    printf("      (in use: %d of %d objects received, %d abort or rejection reports)\n", got, n, reports);
    if (st == MCAST_OK) {
        int t = mcast_flush(s, 0); /* answered by the engine thread */
        st = broken(t) ? t : st;
    }
    if (st == MCAST_OK) {
        mcast_msg *m = NULL;
        int t = mcast_recv(r, &m, 0);
        mcast_msg_free(m);
        st = broken(t) ? t : st;
    }
    if (st != MCAST_OK) {
        snap();
    }
    mcast_sender_free(s);
    mcast_receiver_free(r);
    mcast_ctx_free(c);
    free(data);
    set_marker(); /* the timeouts along the way are not what this row checks */
    return st;
}

static mcast_sender_config xs;
static mcast_receiver_config xr;

static int r_x_huge_grtt(void)
{
    mcast_sender_config_init(&xs);
    xs.grtt_initial_us = UINT64_MAX;
    xs.grtt_max_us = UINT64_MAX;
    xs.robust_factor = UINT32_MAX;
    xs.group_size = 0;
    xs.backoff_factor = 0;
    xs.rate_bps = UINT64_MAX;
    xs.congestion_control = 0;
    return in_use(&xs, NULL, 3000, 3, 1000);
}
static int r_x_smallest(void)
{
    mcast_sender_config_init(&xs);
    xs.segment_size = 16;
    xs.block_size = 1;
    xs.parity = 254;
    xs.auto_parity = 254;
    xs.rate_bps = 1000;
    xs.congestion_control = 0;
    xs.grtt_initial_us = 0;
    xs.grtt_max_us = 0;
    return in_use(&xs, NULL, 40, 1, 1000);
}
static int r_x_no_cache(void)
{
    mcast_sender_config_init(&xs);
    xs.cache_max_objects = 0;
    xs.cache_max_bytes = 0;
    xs.robust_factor = 0;
    return in_use(&xs, NULL, 0, 3, 1000);
}
static int r_x_largest(void)
{
    mcast_sender_config_init(&xs);
    xs.segment_size = 8192;
    xs.block_size = 255;
    xs.parity = 0;
    xs.rate_bps = 20000000;
    xs.rate_min_bps = 20000000;
    return in_use(&xs, NULL, 300000, 1, 1500);
}
static int r_x_receiver_max(void)
{
    mcast_receiver_config_init(&xr);
    xr.inactivity_timeout_ms = UINT64_MAX;
    xr.sync_window = 65535;
    xr.max_senders = UINT64_MAX;
    xr.max_buffer_per_sender = UINT64_MAX;
    xr.max_buffer_total = UINT64_MAX;
    xr.max_object_size = UINT64_MAX;
    return in_use(NULL, &xr, 3000, 3, 1000);
}
static int r_x_receiver_zero(void)
{
    mcast_receiver_config_init(&xr);
    xr.inactivity_timeout_ms = 1;
    xr.sync_window = 0;
    xr.max_senders = 1;
    xr.max_buffer_per_sender = 0;
    xr.max_buffer_total = 0;
    xr.max_object_size = 0;
    return in_use(NULL, &xr, 3000, 3, 1000);
}
static int r_x_silent(void)
{
    mcast_sender_config_init(&xs);
    xs.auto_parity = 16;
    mcast_receiver_config_init(&xr);
    xr.silent = -1;
    xr.unicast_nacks = -1;
    xr.sync_policy = MCAST_SYNC_CURRENT;
    return in_use(&xs, &xr, 3000, 3, 1000);
}
static int r_x_sealed_1ms(void)
{
    mcast_sender_config_init(&xs);
    xs.key = key;
    xs.seal_max_age_ms = 1;
    mcast_receiver_config_init(&xr);
    xr.key = key;
    xr.seal_max_age_ms = 1;
    return in_use(&xs, &xr, 3000, 3, 1000);
}
static int r_x_sealed_signed_smallest(void)
{
    mcast_sender_config_init(&xs);
    xs.key = key;
    xs.signing_key = sign_secret;
    xs.segment_size = 188;
    xs.node_id = 0xfffffffeu;
    mcast_receiver_config_init(&xr);
    xr.key = key;
    xr.seal_max_age_ms = UINT32_MAX;
    xr.trusted_signers = sign_public;
    xr.trusted_signers_count = 1;
    return in_use(&xs, &xr, 1000, 2, 1000);
}
static int r_x_wait_for_nobody(void)
{
    mcast_sender_config_init(&xs);
    xs.flow_control = MCAST_FLOW_WAIT_FOR_ACKS;
    xs.wait_for_acks_count = MCAST_WAIT_FOR_ACKS_MAX;
    for (uint32_t k = 0; k < MCAST_WAIT_FOR_ACKS_MAX; k++) {
        xs.wait_for_acks_nodes[k] = 0xfffffffeu - k;
    }
    xs.cache_max_objects = 1;
    return in_use(&xs, NULL, 100, 3, 500);
}

static const struct row extreme_rows[] = {
    {"mcast_sender_new", "in use: GRTT UINT64_MAX us, robust_factor UINT32_MAX, group_size 0, backoff 0, fixed rate UINT64_MAX", r_x_huge_grtt, MCAST_OK, NULL, 0},
    {"mcast_sender_new", "in use: segment_size 16, block_size 1, parity = auto_parity 254, fixed rate 1000, GRTT 0", r_x_smallest, MCAST_OK, NULL, 0},
    {"mcast_sender_new", "in use: cache_max_objects 0, cache_max_bytes 0, robust_factor 0 (empty objects)", r_x_no_cache, MCAST_OK, NULL, 0},
    {"mcast_sender_new", "in use: segment_size 8192, block_size 255, parity 0, rate_min_bps = rate_bps", r_x_largest, MCAST_OK, NULL, 0},
    {"mcast_receiver_new", "in use: every limit at its maximum, inactivity_timeout_ms UINT64_MAX", r_x_receiver_max, MCAST_OK, NULL, 0},
    {"mcast_receiver_new", "in use: every limit at its minimum (0, or 1 for max_senders and inactivity_timeout_ms)", r_x_receiver_zero, MCAST_OK, NULL, 0},
    {"mcast_receiver_new", "in use: silent -1, unicast_nacks -1, MCAST_SYNC_CURRENT", r_x_silent, MCAST_OK, NULL, 0},
    {"mcast_receiver_new", "in use: sealed, seal_max_age_ms 1 at both ends", r_x_sealed_1ms, MCAST_OK, NULL, 0},
    {"mcast_sender_new", "in use: sealed and signed, segment_size 188 (minimum), node_id 0xfffffffe", r_x_sealed_signed_smallest, MCAST_OK, NULL, 0},
    {"mcast_sender_new", "in use: MCAST_FLOW_WAIT_FOR_ACKS for 16 absent nodes, cache_max_objects 1", r_x_wait_for_nobody, MCAST_OK, NULL, 0},
};

/* ------------------------------------------------------------ after the sweep */

static int r_still_alive(void)
{
    mcast_msg *m = NULL;
    /* Take what the rows sent to rcv, then one more exchange. */
    while (mcast_recv(rcv, &m, 500) == MCAST_OK) {
        mcast_msg_free(m);
        m = NULL;
    }
    mcast_msg_free(m);
    m = NULL;
    set_marker(); /* the drain ended with a timeout */
    mcast_status st = mcast_send(snd, "still alive", 11, NULL);
    if (st != MCAST_OK) {
        return st;
    }
    st = mcast_recv(rcv, &m, 10000);
    if (st == MCAST_OK) {
        size_t len = 0;
        const uint8_t *d = mcast_msg_data(m, &len);
        expect(d && len == 11 && memcmp(d, "still alive", 11) == 0, "another message came");
    }
    mcast_msg_free(m);
    return st;
}

static const struct row final_rows[] = {
    {"mcast_send", "after the sweep: the context still carries a message", r_still_alive, MCAST_OK, NULL, 0},
};

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s IFNAME GROUP PORT (inside a network namespace)\n", argv[0]);
        return 2;
    }
    IFNAME = argv[1];
    GROUP = argv[2];
    PORT = (uint16_t)atoi(argv[3]);
    alarm(600); /* a row that hangs ends the program (and the test) */

    setup();
    ROWS(basic_rows);
    ROWS(init_ctx_cfg_rows);
    ROWS(init_snd_cfg_rows);
    ROWS(init_rcv_cfg_rows);
    ROWS(mcast_key_from_file_rows);
    ROWS(mcast_signing_key_from_file_rows);
    ROWS(mcast_public_key_from_file_rows);
    ROWS(key_rows);
    ROWS(ctx_rows);
    ROWS(chan_rows);
    run_ctx_cfg_rows();
    ROWS(new_rows);
    ROWS(ssm_rows);
    run_sender_cfg_rows();
    run_receiver_cfg_rows();
    ROWS(send_rows);
    ROWS(sender_rows);
    ROWS(receiver_rows);
    ROWS(msg_rows);
    ROWS(extreme_rows);
    ROWS(final_rows);
    teardown();

    printf("sweep_test: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
