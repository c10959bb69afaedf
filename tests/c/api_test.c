/*
 * api_test.c -- the C contract of libmcast, checked from C.
 *
 *   api_test IFNAME GROUP PORT
 *
 * Run it inside a network namespace (tests/c/c_api.sh does, with IFNAME
 * eth0 of a lab host): it sends multicast on IFNAME, to itself (loopback),
 * on ports PORT to PORT+9.
 *
 * Checks: version macros, status strings, thread-local last error, config
 * init and versioning (older and newer struct sizes), argument checks (NULL,
 * invalid UTF-8, bad addresses, port 0, missing interface, bad configs, wrong
 * and freed handles, double frees), a loopback exchange of DATA and FILE
 * objects through mcast_recv, the receiver fd (poll) and the engine-thread
 * callback (including what a callback may not do), stats, concurrent senders,
 * and freeing a context while another thread is blocked in mcast_recv.
 * Sealed channels: keys (mcast_key_generate, mcast_key_from_file), config
 * defaults, a sealed exchange, and MCAST_ERR_REJECTED reports at receivers
 * with another key, without a key, and with a key facing an unsealed sender.
 * Signed objects: signing and public keys (generation, derivation, key
 * files, invalid points), config defaults and checks (trusted_signers,
 * node_id, older struct sizes), a signed exchange from a sender with a fixed
 * node id to a receiver trusting its key (the message names the signer),
 * one trusting another key (objects aborted, sender rejected, never
 * delivered) and one trusting nobody, and an unsigned sender refused by a
 * trusting receiver.
 *
 * Prints one line per check and ends with "api_test: N passed, N failed";
 * exits 0 only if nothing failed. Meant to run clean under valgrind.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mcast.h>

static int passed, failed;

static void check(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s: ", ok ? "ok  " : "FAIL");
    vprintf(fmt, ap);
    va_end(ap);
    if (!ok) {
        printf("   [last error: %s]", mcast_last_error());
    }
    printf("\n");
    fflush(stdout);
    if (ok) {
        passed++;
    } else {
        failed++;
    }
}

static int contains(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle) != NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int fd_readable(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

static const char *IFNAME, *GROUP;
static uint16_t PORT;

/* ------------------------------------------------------------ basics */

static void *other_thread_last_error(void *arg)
{
    const char **out = arg;
    *out = mcast_last_error();
    return NULL;
}

static void test_basics(void)
{
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", MCAST_VERSION_MAJOR, MCAST_VERSION_MINOR, MCAST_VERSION_PATCH);
    check(strcmp(mcast_version(), want) == 0, "mcast_version() \"%s\" matches the header's macros (%s)", mcast_version(), want);
    check(strcmp(mcast_status_str(MCAST_ERR_TIMEOUT), "timed out") == 0, "mcast_status_str(MCAST_ERR_TIMEOUT)");
    check(strcmp(mcast_status_str(MCAST_OK), "ok") == 0, "mcast_status_str(MCAST_OK)");
    check(strcmp(mcast_status_str(12345), "unknown status") == 0, "mcast_status_str of an unknown value");
    check(strcmp(mcast_last_error(), "") == 0, "no last error before any failure");

    mcast_status st = mcast_ctx_new(NULL, NULL);
    check(st == MCAST_ERR_INVALID_ARGUMENT, "mcast_ctx_new(NULL, NULL) -> MCAST_ERR_INVALID_ARGUMENT");
    check(contains(mcast_last_error(), "mcast_ctx_new") && contains(mcast_last_error(), "out is NULL"),
          "last error names the function and the problem: \"%s\"", mcast_last_error());
    const char *other = NULL;
    pthread_t t;
    pthread_create(&t, NULL, other_thread_last_error, &other);
    pthread_join(t, NULL);
    check(other && strcmp(other, "") == 0, "the last error is thread-local (another thread sees \"\")");
    check(mcast_last_os_error() == 0, "mcast_last_os_error() is 0 for a non-I/O error");

    /* Frees of NULL do nothing. */
    mcast_ctx_free(NULL);
    mcast_sender_free(NULL);
    mcast_receiver_free(NULL);
    mcast_msg_free(NULL);
    check(1, "freeing NULL handles is a no-op");
}

/* ------------------------------------------------------------ channels */

/* The vectors of docs/PROTOCOL.md ("Channels"). */
static void test_channels(void)
{
    char a[MCAST_ADDRESS_TEXT_MAX];
    uint16_t port = 0;
    mcast_status st = mcast_channel_address("news", MCAST_SCOPE_GLOBAL, 0, a, sizeof a, &port);
    check(st == MCAST_OK && strcmp(a, "ff1e:ed75:5737:908e:e779:efa7:6800:c7c3") == 0 && port == 53117, "channel news: %s %u", a, (unsigned)port);
    st = mcast_channel_address("news", MCAST_SCOPE_SITE, 1, a, sizeof a, &port);
    check(st == MCAST_OK && strcmp(a, "ff35::ed75:5737") == 0 && port == 53117, "channel news, site, ssm: %s %u", a, (unsigned)port);
    st = mcast_channel_address("news", MCAST_SCOPE_LINK, 0, a, sizeof a, &port);
    check(st == MCAST_OK && strcmp(a, "ff12:ed75:5737:908e:e779:efa7:6800:c7c3") == 0 && port == 53117, "channel news, link: %s %u", a, (unsigned)port);
    st = mcast_channel_address("news", MCAST_SCOPE_GLOBAL, 1, a, sizeof a, &port);
    check(st == MCAST_OK && strcmp(a, "ff3e::ed75:5737") == 0 && port == 53117, "channel news, ssm: %s %u", a, (unsigned)port);
    st = mcast_channel_address("sensor/42", MCAST_SCOPE_GLOBAL, 0, a, sizeof a, &port);
    check(st == MCAST_OK && strcmp(a, "ff1e:411:977f:7741:5e1:bd8:86e:313b") == 0 && port == 61661, "channel sensor/42: %s %u", a, (unsigned)port);
    st = mcast_channel_address("sensor/42", MCAST_SCOPE_GLOBAL, 1, a, sizeof a, &port);
    check(st == MCAST_OK && strcmp(a, "ff3e::8411:977f") == 0 && port == 61661, "channel sensor/42, ssm: %s %u", a, (unsigned)port);
    st = mcast_channel_address("Gr\xc3\xbc\xc3\x9f" "e \xe2\x98\x83", MCAST_SCOPE_GLOBAL, 0, a, sizeof a, &port);
    check(st == MCAST_OK && strcmp(a, "ff1e:c75f:d652:f9be:c1aa:1f53:5856:6f3c") == 0 && port == 50305, "a UTF-8 channel name: %s %u", a, (unsigned)port);
    st = mcast_channel_address("Gr\xc3\xbc\xc3\x9f" "e \xe2\x98\x83", MCAST_SCOPE_ORG, 1, a, sizeof a, &port);
    check(st == MCAST_OK && strcmp(a, "ff38::c75f:d652") == 0 && port == 50305, "a UTF-8 channel name, organisation, ssm: %s %u", a, (unsigned)port);
    check(mcast_channel_address("", MCAST_SCOPE_GLOBAL, 0, a, sizeof a, &port) == MCAST_ERR_INVALID_ARGUMENT && port == 0,
          "an empty channel name is MCAST_ERR_INVALID_ARGUMENT");
    check(mcast_channel_address("news", 3, 0, a, sizeof a, &port) == MCAST_ERR_INVALID_ARGUMENT, "an unknown scope is MCAST_ERR_INVALID_ARGUMENT");
    check(mcast_channel_address("news", MCAST_SCOPE_GLOBAL, 0, a, 8, &port) == MCAST_ERR_INVALID_ARGUMENT && a[0] == 0,
          "a short address buffer is MCAST_ERR_INVALID_ARGUMENT (and gets an empty string)");
}

/* ------------------------------------------------------------ acknowledgement */

static void test_flush_acked(mcast_ctx *ctx)
{
    mcast_receiver_config rc;
    mcast_receiver_config_init(&rc);
    check(rc.node_id == 0, "mcast_receiver_config.node_id defaults to 0 (random)");
    rc.node_id = 4242;
    mcast_receiver *r = NULL;
    mcast_sender *s = NULL;
    mcast_status st = mcast_receiver_new(ctx, GROUP, (uint16_t)(PORT + 7), IFNAME, &rc, &r);
    check(st == MCAST_OK && mcast_receiver_node_id(r) == 4242, "a receiver with node id 4242");
    st = mcast_sender_new(ctx, GROUP, (uint16_t)(PORT + 7), IFNAME, NULL, &s);
    check(st == MCAST_OK, "a sender for the acknowledged flush");
    if (r && s) {
        char data[3000] = {1};
        check(mcast_send(s, data, sizeof data, NULL) == MCAST_OK, "send before the acknowledged flush");
        uint32_t nodes[2] = {4242, 4343}, acked[2] = {0, 0};
        size_t n = 99;
        st = mcast_flush_acked(s, nodes, 2, 5000, acked, &n);
        check(st == MCAST_OK && n == 1 && acked[0] == 4242, "mcast_flush_acked: 4242 confirmed, 4343 did not (n=%zu)", n);
        check(mcast_flush_acked(s, nodes, 2, 100, NULL, &n) == MCAST_ERR_INVALID_ARGUMENT && n == 0,
              "mcast_flush_acked with a NULL output array is MCAST_ERR_INVALID_ARGUMENT");
    }
    rc.node_id = 0xffffffffu;
    mcast_receiver *bad = NULL;
    check(mcast_receiver_new(ctx, GROUP, (uint16_t)(PORT + 8), IFNAME, &rc, &bad) == MCAST_ERR_INVALID_ARGUMENT && !bad,
          "node id 0xffffffff is refused");
    mcast_sender_free(s);
    mcast_receiver_free(r);
}

/* ------------------------------------------------------------ files to disk */

static void test_file_dir(mcast_ctx *ctx)
{
    char dir[] = "/tmp/mcast-api-dir-XXXXXX";
    check(mkdtemp(dir) != NULL, "a directory for received files");
    mcast_receiver_config rc;
    mcast_receiver_config_init(&rc);
    check(rc.file_dir == NULL, "mcast_receiver_config.file_dir defaults to NULL (files in memory)");
    rc.file_dir = dir;
    mcast_receiver *r = NULL;
    mcast_sender *s = NULL;
    mcast_status st = mcast_receiver_new(ctx, GROUP, (uint16_t)(PORT + 9), IFNAME, &rc, &r);
    check(st == MCAST_OK, "a receiver writing files to %s", dir);
    check(mcast_sender_new(ctx, GROUP, (uint16_t)(PORT + 9), IFNAME, NULL, &s) == MCAST_OK, "a sender for it");
    char src[] = "/tmp/mcast-api-src-XXXXXX";
    int tfd = mkstemp(src);
    uint8_t chunk[1000];
    for (int i = 0; i < 300; i++) {
        memset(chunk, i * 7, sizeof chunk);
        if (write(tfd, chunk, sizeof chunk) != (ssize_t)sizeof chunk) {
            break;
        }
    }
    close(tfd);
    mcast_msg *m = NULL;
    if (r && s && mcast_send_file(s, src, NULL) == MCAST_OK && mcast_recv(r, &m, 10000) == MCAST_OK) {
        size_t len = 99;
        mcast_msg_data(m, &len);
        const char *path = mcast_msg_path(m);
        check(mcast_msg_kind(m) == MCAST_KIND_FILE && len == 0 && path && strncmp(path, dir, strlen(dir)) == 0,
              "a FILE object arrives as a file in the directory (\"%s\", %zu bytes of data)", path ? path : "NULL", len);
        FILE *f = path ? fopen(path, "rb") : NULL;
        int same = f != NULL;
        for (int i = 0; same && i < 300 * 1000; i++) {
            same = fgetc(f) == (uint8_t)((i / 1000) * 7);
        }
        check(same && f && fgetc(f) == EOF, "... with the content sent, all 300 kB of it");
        if (f) {
            fclose(f);
        }
        if (path) {
            unlink(path);
        }
        mcast_msg_free(m);
    } else {
        check(0, "sending and receiving a file with file_dir");
    }
    check(mcast_send(s, "data", 4, NULL) == MCAST_OK && mcast_recv(r, &m, 10000) == MCAST_OK && mcast_msg_path(m) == NULL,
          "DATA objects still arrive in memory (mcast_msg_path NULL)");
    mcast_msg_free(m);
    unlink(src);
    mcast_sender_free(s);
    mcast_receiver_free(r);
    check(rmdir(dir) == 0, "nothing left behind in the directory (no part files)");

    mcast_receiver *bad = NULL;
    rc.file_dir = "/nonexistent/mcast";
    st = mcast_receiver_new(ctx, GROUP, (uint16_t)(PORT + 9), IFNAME, &rc, &bad);
    check(st == MCAST_ERR_IO && !bad && contains(mcast_last_error(), "/nonexistent/mcast"),
          "a missing file_dir is MCAST_ERR_IO: \"%s\"", mcast_last_error());
    rc.file_dir = "";
    check(mcast_receiver_new(ctx, GROUP, (uint16_t)(PORT + 9), IFNAME, &rc, &bad) == MCAST_ERR_INVALID_ARGUMENT,
          "an empty file_dir is refused");
}

/* ------------------------------------------------------------ SSM */

static void test_ssm(mcast_ctx *ctx)
{
    const char *foreign[1] = {"fd00::dead"};
    const char *bad[1] = {"ff3e::1"};
    mcast_receiver *r = NULL, *any = NULL, *x = NULL;
    mcast_sender *s = NULL;
    uint16_t port = (uint16_t)(PORT + 9);
    check(mcast_receiver_new_ssm(ctx, GROUP, port, IFNAME, foreign, 1, NULL, &r) == MCAST_OK && r,
          "mcast_receiver_new_ssm with one source");
    check(mcast_receiver_new(ctx, GROUP, port, NULL, NULL, &any) == MCAST_OK && any,
          "mcast_receiver_new with ifname NULL picks an interface");
    char chosen[MCAST_INTERFACE_NAME_MAX];
    /* The lab host's one candidate (lo never is). */
    check(mcast_receiver_interface(any, chosen, sizeof chosen) == MCAST_OK && strcmp(chosen, IFNAME) == 0,
          "mcast_receiver_interface says which: %s", chosen);
    check(mcast_receiver_new_ssm(ctx, GROUP, port, IFNAME, bad, 1, NULL, &x) == MCAST_ERR_INVALID_ARGUMENT && !x,
          "a multicast address as a source is MCAST_ERR_INVALID_ARGUMENT");
    check(mcast_receiver_new_ssm(ctx, GROUP, port, IFNAME, NULL, 1, NULL, &x) == MCAST_ERR_INVALID_ARGUMENT,
          "NULL sources with n_sources 1 is MCAST_ERR_INVALID_ARGUMENT");
    check(mcast_sender_new(ctx, GROUP, port, IFNAME, NULL, &s) == MCAST_OK, "a sender for the SSM test");
    if (r && any && s) {
        check(mcast_send(s, "ssm", 3, NULL) == MCAST_OK, "send to the SSM group");
        mcast_msg *m = NULL;
        check(mcast_recv(any, &m, 5000) == MCAST_OK && m, "the any-source receiver gets it");
        mcast_msg_free(m);
        m = NULL;
        check(mcast_recv(r, &m, 1000) == MCAST_ERR_TIMEOUT && !m, "the receiver of another source does not");
    }
    mcast_sender_free(s);
    mcast_receiver_free(r);
    mcast_receiver_free(any);
}

/* ------------------------------------------------------------ configs */

static void test_configs(void)
{
    mcast_sender_config sc;
    memset(&sc, 0xab, sizeof sc);
    check(mcast_sender_config_init(&sc) == MCAST_OK, "mcast_sender_config_init");
    check(sc.size == sizeof sc && sc.segment_size == 1400 && sc.block_size == 64 && sc.parity == 16 &&
              sc.auto_parity == 0 && sc.rate_bps == 100000000u && sc.reserved0 == 0 && sc.congestion_control == 1 &&
              sc.rate_min_bps == 64000u && sc.reserved1 == 0 && sc.flow_control == MCAST_FLOW_LEAVE_BEHIND &&
              sc.wait_for_acks_count == 0 && sc.wait_for_acks_nodes[MCAST_WAIT_FOR_ACKS_MAX - 1] == 0,
          "sender defaults (size %zu, segment %u, block %u, parity %u, rate %" PRIu64 ", congestion control %d, "
          "min %" PRIu64 ")",
          sc.size, (unsigned)sc.segment_size, (unsigned)sc.block_size, (unsigned)sc.parity, sc.rate_bps,
          sc.congestion_control, sc.rate_min_bps);

    mcast_receiver_config rc;
    memset(&rc, 0xab, sizeof rc);
    check(mcast_receiver_config_init(&rc) == MCAST_OK && rc.size == sizeof rc && rc.sync_policy == MCAST_SYNC_ALL &&
              rc.sync_window == 256 && rc.unicast_nacks == 0 && rc.silent == 0,
          "receiver defaults (sync all, window 256)");

    mcast_config cc;
    memset(&cc, 0xab, sizeof cc);
    check(mcast_config_init(&cc) == MCAST_OK && cc.size == sizeof cc && cc.hop_limit == 1 && cc.loopback == 1 &&
              cc.recv_buffer == 4u << 20 && cc.send_buffer == 1u << 20,
          "context defaults (hop limit 1, loopback on, 4 MiB / 1 MiB buffers)");
    check(mcast_sender_config_init(NULL) == MCAST_ERR_INVALID_ARGUMENT, "mcast_sender_config_init(NULL)");

    mcast_config zero;
    memset(&zero, 0, sizeof zero);
    mcast_ctx *ctx = (mcast_ctx *)1;
    check(mcast_ctx_new(&zero, &ctx) == MCAST_ERR_INVALID_ARGUMENT && ctx == NULL,
          "an uninitialised config (size 0) is refused and *out is NULL");
    check(contains(mcast_last_error(), "mcast_config_init"), "... and the message says to call mcast_config_init: \"%s\"",
          mcast_last_error());

    /* A program built against an older header: its struct ends earlier. The
     * fields past its size are not read (defaults apply). */
    mcast_config old;
    mcast_config_init(&old);
    old.size = offsetof(mcast_config, recv_buffer);
    old.recv_buffer = 1; /* not part of the "old" struct: ignored */
    check(mcast_ctx_new(&old, &ctx) == MCAST_OK, "a config from an older header (size %zu) is accepted", old.size);
    mcast_ctx_free(ctx);

    /* A program built against a newer header: unknown fields must be 0. */
    struct {
        mcast_config base;
        uint64_t future_field;
    } newer;
    memset(&newer, 0, sizeof newer);
    mcast_config_init_sized(&newer.base, sizeof newer);
    check(newer.base.size == sizeof newer && newer.base.hop_limit == 1, "init of a newer (bigger) struct");
    check(mcast_ctx_new(&newer.base, &ctx) == MCAST_OK, "a newer config whose unknown fields are 0 is accepted");
    mcast_ctx_free(ctx);
    newer.future_field = 7;
    check(mcast_ctx_new(&newer.base, &ctx) == MCAST_ERR_INVALID_ARGUMENT && ctx == NULL,
          "a newer config with a non-zero unknown field is refused: \"%s\"", mcast_last_error());
}

/* ------------------------------------------------------------ keys */

static int all_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (b[i]) {
            return 0;
        }
    }
    return 1;
}

/* Writes len bytes to a new temporary file; returns 0 on success. */
static int write_temp(char *path, const void *data, size_t len)
{
    int fd = mkstemp(path);
    if (fd < 0) {
        return -1;
    }
    int ok = write(fd, data, len) == (ssize_t)len;
    close(fd);
    return ok ? 0 : -1;
}

static void test_keys(void)
{
    uint8_t a[MCAST_KEY_LEN], b[MCAST_KEY_LEN], got[MCAST_KEY_LEN];
    check(MCAST_KEY_LEN == 32, "MCAST_KEY_LEN is 32");
    check(mcast_key_generate(NULL) == MCAST_ERR_INVALID_ARGUMENT && contains(mcast_last_error(), "mcast_key_generate"),
          "mcast_key_generate(NULL) -> MCAST_ERR_INVALID_ARGUMENT: \"%s\"", mcast_last_error());
    check(mcast_key_generate(a) == MCAST_OK && mcast_key_generate(b) == MCAST_OK, "mcast_key_generate twice");
    check(memcmp(a, b, sizeof a) != 0 && !all_zero(a, sizeof a), "... gives two different keys");

    /* A key file as `mcast keygen` writes it: 64 hex digits and a newline. */
    char hex[2 * MCAST_KEY_LEN + 2];
    for (size_t i = 0; i < MCAST_KEY_LEN; i++) {
        snprintf(hex + 2 * i, 3, "%02x", a[i]);
    }
    strcat(hex, "\n");
    char good[] = "/tmp/mcast-api-key-XXXXXX";
    char raw[] = "/tmp/mcast-api-raw-XXXXXX";
    char bad[] = "/tmp/mcast-api-bad-XXXXXX";
    int files = write_temp(good, hex, strlen(hex)) == 0 && write_temp(raw, b, sizeof b) == 0 &&
                write_temp(bad, "not a key\n", 10) == 0;
    check(files, "three key files");
    memset(got, 0xab, sizeof got);
    check(mcast_key_from_file(good, got) == MCAST_OK && memcmp(got, a, sizeof a) == 0,
          "mcast_key_from_file reads a file of 64 hex digits");
    check(mcast_key_from_file(raw, got) == MCAST_OK && memcmp(got, b, sizeof b) == 0,
          "mcast_key_from_file reads a file of 32 raw bytes");
    mcast_status st = mcast_key_from_file(bad, got);
    check(st == MCAST_ERR_INVALID_ARGUMENT && contains(mcast_last_error(), bad) &&
              contains(mcast_last_error(), "64 hexadecimal digits"),
          "a file that holds no key -> MCAST_ERR_INVALID_ARGUMENT: \"%s\"", mcast_last_error());
    check(all_zero(got, sizeof got), "... and the output is zeroed");
    st = mcast_key_from_file("/nonexistent/mcast.key", got);
    check(st == MCAST_ERR_IO && mcast_last_os_error() == ENOENT && contains(mcast_last_error(), "/nonexistent/mcast.key"),
          "a missing key file -> MCAST_ERR_IO, errno ENOENT: \"%s\"", mcast_last_error());
    check(mcast_key_from_file("/tmp", got) == MCAST_ERR_INVALID_ARGUMENT, "a directory is not a key file");
    check(mcast_key_from_file(NULL, got) == MCAST_ERR_INVALID_ARGUMENT && mcast_key_from_file(good, NULL) == MCAST_ERR_INVALID_ARGUMENT,
          "mcast_key_from_file with NULL path or out -> MCAST_ERR_INVALID_ARGUMENT");
    unlink(good);
    unlink(raw);
    unlink(bad);

    mcast_sender_config sc;
    mcast_receiver_config rc;
    mcast_sender_config_init(&sc);
    mcast_receiver_config_init(&rc);
    check(sc.key == NULL && sc.seal_max_age_ms == 120000 && sc.reserved2 == 0 && rc.key == NULL &&
              rc.seal_max_age_ms == 120000 && rc.reserved2 == 0 && MCAST_SEAL_MAX_AGE_DEFAULT_MS == 120000,
          "sender and receiver configs default to no key and seal_max_age_ms 120000 (%" PRIu32 ", %" PRIu32 ")",
          sc.seal_max_age_ms, rc.seal_max_age_ms);
}

/* ------------------------------------------------------------ signing keys */

/* 32 bytes as 64 lowercase hex digits and a newline (a key file). */
static void hex_line(const uint8_t *b, char out[2 * 32 + 2])
{
    for (size_t i = 0; i < 32; i++) {
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    }
    strcat(out, "\n");
}

static void test_signing_keys(void)
{
    uint8_t sec[MCAST_SIGNATURE_KEY_LEN], pub[MCAST_SIGNATURE_KEY_LEN];
    uint8_t sec2[MCAST_SIGNATURE_KEY_LEN], pub2[MCAST_SIGNATURE_KEY_LEN], got[MCAST_SIGNATURE_KEY_LEN];
    check(MCAST_SIGNATURE_KEY_LEN == 32, "MCAST_SIGNATURE_KEY_LEN is 32");
    check(mcast_signing_key_generate(sec, pub) == MCAST_OK && mcast_signing_key_generate(sec2, pub2) == MCAST_OK,
          "mcast_signing_key_generate twice");
    check(memcmp(sec, sec2, sizeof sec) != 0 && memcmp(pub, pub2, sizeof pub) != 0 && memcmp(sec, pub, sizeof sec) != 0 &&
              !all_zero(sec, sizeof sec) && !all_zero(pub, sizeof pub),
          "... gives two different key pairs, public keys unlike their secrets");
    memset(got, 0xab, sizeof got);
    check(mcast_signing_key_public(sec, got) == MCAST_OK && memcmp(got, pub, sizeof pub) == 0,
          "mcast_signing_key_public derives the generated public key");
    memset(got, 0xab, sizeof got);
    check(mcast_signing_key_generate(NULL, got) == MCAST_ERR_INVALID_ARGUMENT && all_zero(got, sizeof got) &&
              contains(mcast_last_error(), "mcast_signing_key_generate") && contains(mcast_last_error(), "secret_out is NULL"),
          "mcast_signing_key_generate(NULL, pub) -> MCAST_ERR_INVALID_ARGUMENT, pub zeroed: \"%s\"", mcast_last_error());
    memset(got, 0xab, sizeof got);
    check(mcast_signing_key_generate(got, NULL) == MCAST_ERR_INVALID_ARGUMENT && all_zero(got, sizeof got),
          "mcast_signing_key_generate(secret, NULL) -> MCAST_ERR_INVALID_ARGUMENT, no secret left behind");
    memset(got, 0xab, sizeof got);
    check(mcast_signing_key_public(NULL, got) == MCAST_ERR_INVALID_ARGUMENT && all_zero(got, sizeof got) &&
              mcast_signing_key_public(sec, NULL) == MCAST_ERR_INVALID_ARGUMENT,
          "mcast_signing_key_public with NULL secret or out -> MCAST_ERR_INVALID_ARGUMENT");

    /* Key files as `mcast keygen --sign FILE` writes them: 64 hex digits and
     * a newline, the secret in FILE and the public key in FILE.pub. */
    char line[2 * MCAST_SIGNATURE_KEY_LEN + 2], line_pub[2 * MCAST_SIGNATURE_KEY_LEN + 2];
    hex_line(sec, line);
    hex_line(pub, line_pub);
    uint8_t not_a_point[MCAST_SIGNATURE_KEY_LEN];
    memset(not_a_point, 0x02, sizeof not_a_point); /* no curve point has this y */
    char bad_hex[2 * MCAST_SIGNATURE_KEY_LEN + 2];
    hex_line(not_a_point, bad_hex);
    char sec_file[] = "/tmp/mcast-api-sign-XXXXXX";
    char pub_file[] = "/tmp/mcast-api-pub-XXXXXX";
    char raw_file[] = "/tmp/mcast-api-pubraw-XXXXXX";
    char bad_file[] = "/tmp/mcast-api-badpt-XXXXXX";
    char junk_file[] = "/tmp/mcast-api-junk-XXXXXX";
    int files = write_temp(sec_file, line, strlen(line)) == 0 && write_temp(pub_file, line_pub, strlen(line_pub)) == 0 &&
                write_temp(raw_file, pub2, sizeof pub2) == 0 && write_temp(bad_file, bad_hex, strlen(bad_hex)) == 0 &&
                write_temp(junk_file, "not a key\n", 10) == 0;
    check(files, "five key files");
    memset(got, 0xab, sizeof got);
    check(mcast_signing_key_from_file(sec_file, got) == MCAST_OK && memcmp(got, sec, sizeof sec) == 0,
          "mcast_signing_key_from_file reads back a generated key written as 64 hex digits");
    memset(got, 0xab, sizeof got);
    check(mcast_public_key_from_file(pub_file, got) == MCAST_OK && memcmp(got, pub, sizeof pub) == 0,
          "mcast_public_key_from_file reads back its public key");
    check(mcast_public_key_from_file(raw_file, got) == MCAST_OK && memcmp(got, pub2, sizeof pub2) == 0,
          "mcast_public_key_from_file reads 32 raw bytes");
    mcast_status st = mcast_public_key_from_file(bad_file, got);
    check(st == MCAST_ERR_INVALID_ARGUMENT && all_zero(got, sizeof got) && contains(mcast_last_error(), bad_file) &&
              contains(mcast_last_error(), "not a valid Ed25519 public key"),
          "a public key file holding no curve point -> MCAST_ERR_INVALID_ARGUMENT, zeroed: \"%s\"", mcast_last_error());
    check(mcast_signing_key_from_file(bad_file, got) == MCAST_OK, "... though any 32 bytes are a signing key");
    st = mcast_signing_key_from_file(junk_file, got);
    check(st == MCAST_ERR_INVALID_ARGUMENT && all_zero(got, sizeof got) && contains(mcast_last_error(), "64 hexadecimal digits"),
          "a signing key file that holds no key -> MCAST_ERR_INVALID_ARGUMENT, zeroed: \"%s\"", mcast_last_error());
    check(mcast_public_key_from_file(junk_file, got) == MCAST_ERR_INVALID_ARGUMENT, "... nor a public key");
    st = mcast_signing_key_from_file("/nonexistent/mcast.sign", got);
    check(st == MCAST_ERR_IO && mcast_last_os_error() == ENOENT && contains(mcast_last_error(), "/nonexistent/mcast.sign"),
          "a missing signing key file -> MCAST_ERR_IO, errno ENOENT: \"%s\"", mcast_last_error());
    st = mcast_public_key_from_file("/nonexistent/mcast.pub", got);
    check(st == MCAST_ERR_IO && mcast_last_os_error() == ENOENT, "a missing public key file -> MCAST_ERR_IO, errno ENOENT");
    check(mcast_signing_key_from_file("/tmp", got) == MCAST_ERR_INVALID_ARGUMENT &&
              mcast_public_key_from_file("/tmp", got) == MCAST_ERR_INVALID_ARGUMENT,
          "a directory is not a key file");
    check(mcast_signing_key_from_file(NULL, got) == MCAST_ERR_INVALID_ARGUMENT &&
              mcast_signing_key_from_file(sec_file, NULL) == MCAST_ERR_INVALID_ARGUMENT &&
              mcast_public_key_from_file(NULL, got) == MCAST_ERR_INVALID_ARGUMENT &&
              mcast_public_key_from_file(pub_file, NULL) == MCAST_ERR_INVALID_ARGUMENT &&
              mcast_public_key_from_file("", got) == MCAST_ERR_INVALID_ARGUMENT,
          "key file functions with NULL or empty path or NULL out -> MCAST_ERR_INVALID_ARGUMENT");
    unlink(sec_file);
    unlink(pub_file);
    unlink(raw_file);
    unlink(bad_file);
    unlink(junk_file);

    check(mcast_msg_signer(NULL, got) == 0 && all_zero(got, sizeof got) && mcast_msg_signer(NULL, NULL) == 0,
          "mcast_msg_signer(NULL) is 0");

    mcast_sender_config sc;
    mcast_receiver_config rc;
    memset(&sc, 0xab, sizeof sc);
    memset(&rc, 0xab, sizeof rc);
    mcast_sender_config_init(&sc);
    mcast_receiver_config_init(&rc);
    check(sc.signing_key == NULL && sc.node_id == 0 && sc.reserved3 == 0 && rc.trusted_signers == NULL &&
              rc.trusted_signers_count == 0,
          "configs default to no signing key, a random node id (0) and no trusted signers");
}

/* ------------------------------------------------------------ arguments */

static void test_arguments(mcast_ctx *ctx)
{
    mcast_sender *s = (mcast_sender *)1;
    mcast_receiver *r = NULL;
    mcast_status st;

    st = mcast_sender_new(NULL, GROUP, PORT, IFNAME, NULL, &s);
    check(st == MCAST_ERR_INVALID_ARGUMENT && s == NULL, "sender_new with a NULL ctx");
    st = mcast_sender_new(ctx, NULL, PORT, IFNAME, NULL, &s);
    check(st == MCAST_ERR_INVALID_ARGUMENT && contains(mcast_last_error(), "group is NULL"), "NULL group");
    st = mcast_sender_new(ctx, GROUP, PORT, NULL, NULL, &s);
    check(st == MCAST_OK && s, "NULL ifname: mcast chooses the interface");
    mcast_sender_free(s);
    s = (mcast_sender *)1;
    st = mcast_sender_new(ctx, GROUP, PORT, IFNAME, NULL, NULL);
    check(st == MCAST_ERR_INVALID_ARGUMENT, "NULL out");
    st = mcast_sender_new(ctx, "ff3e::\xff\xfe", PORT, IFNAME, NULL, &s);
    check(st == MCAST_ERR_INVALID_ARGUMENT && contains(mcast_last_error(), "UTF-8"), "invalid UTF-8 group: \"%s\"",
          mcast_last_error());
    st = mcast_receiver_new(ctx, GROUP, PORT, "eth\xc3", NULL, &r);
    check(st == MCAST_ERR_INVALID_ARGUMENT && contains(mcast_last_error(), "UTF-8"), "invalid UTF-8 ifname");
    st = mcast_sender_new(ctx, "2001:db8::1", PORT, IFNAME, NULL, &s);
    check(st == MCAST_ERR_INVALID_ARGUMENT && contains(mcast_last_error(), "multicast"), "unicast address: \"%s\"",
          mcast_last_error());
    st = mcast_receiver_new(ctx, "not an address", PORT, IFNAME, NULL, &r);
    check(st == MCAST_ERR_INVALID_ARGUMENT && contains(mcast_last_error(), "not an IPv6 address"), "garbage address");
    st = mcast_receiver_new(ctx, "239.1.2.3", PORT, IFNAME, NULL, &r);
    check(st == MCAST_ERR_INVALID_ARGUMENT, "IPv4 address");
    st = mcast_sender_new(ctx, GROUP, 0, IFNAME, NULL, &s);
    check(st == MCAST_ERR_INVALID_ARGUMENT && contains(mcast_last_error(), "port 0"), "port 0");
    st = mcast_receiver_new(ctx, GROUP, PORT, "nosuch0", NULL, &r);
    check(st == MCAST_ERR_NO_SUCH_INTERFACE && r == NULL, "missing interface -> MCAST_ERR_NO_SUCH_INTERFACE: \"%s\"",
          mcast_last_error());

    mcast_sender_config sc;
    mcast_sender_config_init(&sc);
    sc.rate_bps = 10;
    st = mcast_sender_new(ctx, GROUP, PORT, IFNAME, &sc, &s);
    check(st == MCAST_ERR_INVALID_ARGUMENT && contains(mcast_last_error(), "rate"), "rate 10 bit/s refused: \"%s\"",
          mcast_last_error());
    mcast_sender_config_init(&sc);
    sc.backoff_factor = 300;
    check(mcast_sender_new(ctx, GROUP, PORT, IFNAME, &sc, &s) == MCAST_ERR_INVALID_ARGUMENT, "backoff_factor 300 refused");
    mcast_sender_config_init(&sc);
    sc.reserved0 = 1;
    check(mcast_sender_new(ctx, GROUP, PORT, IFNAME, &sc, &s) == MCAST_ERR_INVALID_ARGUMENT, "reserved0 != 0 refused");
    mcast_sender_config_init(&sc);
    sc.reserved1 = 1;
    check(mcast_sender_new(ctx, GROUP, PORT, IFNAME, &sc, &s) == MCAST_ERR_INVALID_ARGUMENT, "reserved1 != 0 refused");
    mcast_sender_config_init(&sc);
    sc.rate_min_bps = sc.rate_bps + 1;
    st = mcast_sender_new(ctx, GROUP, PORT, IFNAME, &sc, &s);
    check(st == MCAST_ERR_INVALID_ARGUMENT && contains(mcast_last_error(), "minimum rate"),
          "rate_min_bps above rate_bps refused: \"%s\"", mcast_last_error());
    sc.congestion_control = 0;
    st = mcast_sender_new(ctx, GROUP, PORT, IFNAME, &sc, &s);
    check(st == MCAST_OK, "... but ignored at a fixed rate (congestion_control 0): %s", mcast_status_str(st));
    mcast_sender_free(s);
    s = NULL;
    mcast_sender_config_init(&sc);
    sc.flow_control = MCAST_FLOW_WAIT_FOR_ACKS;
    st = mcast_sender_new(ctx, GROUP, PORT, IFNAME, &sc, &s);
    check(st == MCAST_ERR_INVALID_ARGUMENT && contains(mcast_last_error(), "wait_for_acks_count 0"),
          "waiting for acknowledgements from nobody refused: \"%s\"", mcast_last_error());
    sc.wait_for_acks_count = MCAST_WAIT_FOR_ACKS_MAX + 1;
    check(mcast_sender_new(ctx, GROUP, PORT, IFNAME, &sc, &s) == MCAST_ERR_INVALID_ARGUMENT,
          "wait_for_acks_count over MCAST_WAIT_FOR_ACKS_MAX refused");
    sc.wait_for_acks_count = 2;
    sc.wait_for_acks_nodes[0] = 7;
    sc.wait_for_acks_nodes[1] = 0;
    st = mcast_sender_new(ctx, GROUP, PORT, IFNAME, &sc, &s);
    check(st == MCAST_ERR_INVALID_ARGUMENT && contains(mcast_last_error(), "reserved"), "node id 0 refused: \"%s\"",
          mcast_last_error());
    sc.flow_control = 5;
    check(mcast_sender_new(ctx, GROUP, PORT, IFNAME, &sc, &s) == MCAST_ERR_INVALID_ARGUMENT, "flow_control 5 refused");
    sc.flow_control = MCAST_FLOW_LEAVE_BEHIND;
    check(mcast_sender_new(ctx, GROUP, PORT, IFNAME, &sc, &s) == MCAST_ERR_INVALID_ARGUMENT,
          "wait_for_acks_count without MCAST_FLOW_WAIT_FOR_ACKS refused");
    sc.flow_control = MCAST_FLOW_WAIT_FOR_ACKS;
    sc.wait_for_acks_nodes[1] = 9;
    st = mcast_sender_new(ctx, GROUP, PORT, IFNAME, &sc, &s);
    check(st == MCAST_OK, "MCAST_FLOW_WAIT_FOR_ACKS with nodes 7 and 9: %s", mcast_status_str(st));
    mcast_sender_free(s);
    s = NULL;
    mcast_receiver_config rc;
    mcast_receiver_config_init(&rc);
    rc.sync_policy = 9;
    check(mcast_receiver_new(ctx, GROUP, PORT, IFNAME, &rc, &r) == MCAST_ERR_INVALID_ARGUMENT, "sync_policy 9 refused");

    /* Wrong and dead handles. */
    st = mcast_sender_new((mcast_ctx *)&sc, GROUP, PORT, IFNAME, NULL, &s);
    check(st == MCAST_ERR_INVALID_ARGUMENT && contains(mcast_last_error(), "not a live mcast_ctx"),
          "a pointer that is not a context: \"%s\"", mcast_last_error());
    check(mcast_send(NULL, "x", 1, NULL) == MCAST_ERR_INVALID_ARGUMENT, "mcast_send(NULL sender)");
    check(mcast_receiver_fd(NULL) == -1, "mcast_receiver_fd(NULL) is -1");
    check(mcast_sender_node_id(NULL) == 0, "mcast_sender_node_id(NULL) is 0");
    size_t len = 99;
    check(mcast_msg_data(NULL, &len) == NULL && len == 0, "mcast_msg_data(NULL) is NULL with length 0");
    check(mcast_msg_sender(NULL) == NULL && mcast_msg_kind(NULL) == MCAST_KIND_ABORTED, "other msg accessors on NULL");
}

/* ------------------------------------------------------------ exchange */

static int msg_is(mcast_msg *m, const void *data, size_t len, const char *info)
{
    size_t dl = 0, il = 0;
    const uint8_t *d = mcast_msg_data(m, &dl);
    const uint8_t *i = mcast_msg_info(m, &il);
    return d && i && dl == len && (len == 0 || memcmp(d, data, len) == 0) && il == strlen(info) &&
           memcmp(i, info, il) == 0;
}

static void test_exchange(mcast_ctx *ctx, mcast_sender *s, mcast_receiver *r)
{
    mcast_msg *m = (mcast_msg *)1;
    int fd = mcast_receiver_fd(r);
    check(fd >= 0, "mcast_receiver_fd is a descriptor (%d)", fd);
    check(!fd_readable(fd, 0), "fd not readable while nothing is queued");
    check(mcast_recv(r, &m, 0) == MCAST_ERR_WOULD_BLOCK && m == NULL, "mcast_recv(timeout 0) -> MCAST_ERR_WOULD_BLOCK");
    double t0 = now_s();
    mcast_status st = mcast_recv(r, &m, 200);
    double dt = now_s() - t0;
    check(st == MCAST_ERR_TIMEOUT && dt >= 0.15 && dt < 5, "mcast_recv(timeout 200 ms) -> MCAST_ERR_TIMEOUT after %.0f ms",
          dt * 1000);
    check(mcast_recv(r, NULL, 0) == MCAST_ERR_INVALID_ARGUMENT, "mcast_recv with NULL out");

    /* Three DATA objects: with info, empty, large. */
    size_t big_len = 300 * 1000;
    uint8_t *big = malloc(big_len);
    for (size_t i = 0; i < big_len; i++) {
        big[i] = (uint8_t)(i * 7 + i / 251);
    }
    uint64_t id1 = 0, id2 = 0, id3 = 0, id4 = 0;
    id1 = 77;
    st = mcast_send_with_info(s, "hello", 5, "greeting", 8, &id1);
    check(st == MCAST_OK && id1 != 77, "send_with_info (id %" PRIu64 ")", id1);
    check(mcast_send(s, NULL, 0, &id2) == MCAST_OK && id2 == id1 + 1, "send of an empty object (NULL, 0)");
    check(mcast_send_timeout(s, big, big_len, 5000, &id3) == MCAST_OK && id3 == id2 + 1, "send_timeout of 300 kB");
    check(mcast_try_send(s, "tiny", 4, &id4) == MCAST_OK && id4 == id3 + 1, "try_send");
    uint64_t bad = 5;
    check(mcast_send(s, NULL, 5, &bad) == MCAST_ERR_INVALID_ARGUMENT && bad == 0, "send(NULL, 5) refused, id set to 0");

    check(fd_readable(fd, 10000), "fd becomes readable when a message is ready");
    const struct {
        uint64_t id;
        const void *data;
        size_t len;
        const char *info;
    } want[] = {{id1, "hello", 5, "greeting"}, {id2, "", 0, ""}, {id3, big, big_len, ""}, {id4, "tiny", 4, ""}};
    for (size_t k = 0; k < 4; k++) {
        st = mcast_recv(r, &m, 10000);
        check(st == MCAST_OK && m != NULL, "message %zu received", k + 1);
        if (st != MCAST_OK) {
            break;
        }
        check(mcast_msg_object_id(m) == want[k].id, "... object id %" PRIu64 " (want %" PRIu64 ")", mcast_msg_object_id(m), want[k].id);
        check(msg_is(m, want[k].data, want[k].len, want[k].info), "... content and info intact (%zu bytes)", want[k].len);
        check(mcast_msg_kind(m) == MCAST_KIND_DATA, "... kind DATA");
        check(mcast_msg_sender_node_id(m) == mcast_sender_node_id(s) && mcast_msg_sender_node_id(m) != 0,
              "... sender node id %" PRIu32, mcast_msg_sender_node_id(m));
        check(mcast_msg_sender(m) && mcast_msg_sender(m)[0] == '[', "... sender address \"%s\"", mcast_msg_sender(m));
        mcast_msg_free(m);
    }
    free(big);
    check(!fd_readable(fd, 0), "fd not readable once everything was taken");
    check(mcast_recv(r, &m, 0) == MCAST_ERR_WOULD_BLOCK, "and mcast_recv(0) says MCAST_ERR_WOULD_BLOCK");

    /* A FILE object. */
    char path[] = "/tmp/mcast-api-test-XXXXXX";
    int tfd = mkstemp(path);
    uint8_t chunk[1000];
    for (int i = 0; i < 100; i++) {
        memset(chunk, i, sizeof chunk);
        if (write(tfd, chunk, sizeof chunk) != (ssize_t)sizeof chunk) {
            break;
        }
    }
    close(tfd);
    uint64_t fid = 0;
    check(mcast_send_file(s, path, &fid) == MCAST_OK && fid == id4 + 1, "send_file of 100 kB");
    st = mcast_recv(r, &m, 10000);
    size_t len = 0, il = 0;
    const uint8_t *d = st == MCAST_OK ? mcast_msg_data(m, &len) : NULL;
    const uint8_t *info = st == MCAST_OK ? mcast_msg_info(m, &il) : NULL;
    int same = d && len == 100000;
    for (size_t i = 0; same && i < len; i++) {
        same = d[i] == (uint8_t)(i / 1000);
    }
    check(same && mcast_msg_kind(m) == MCAST_KIND_FILE && mcast_msg_object_id(m) == fid,
          "file received intact as kind FILE");
    check(info && il == strlen(path + 5) && memcmp(info, path + 5, il) == 0, "... its info is the base name \"%s\"", path + 5);
    mcast_msg_free(m);
    unlink(path);

    check(mcast_send_file(s, "/nonexistent/mcast-file", NULL) == MCAST_ERR_IO && mcast_last_os_error() == ENOENT,
          "send_file of a missing file -> MCAST_ERR_IO, errno ENOENT: \"%s\"", mcast_last_error());
    check(mcast_send_file(s, "/tmp", NULL) == MCAST_ERR_INVALID_ARGUMENT, "send_file of a directory refused");
    check(mcast_send_file(s, NULL, NULL) == MCAST_ERR_INVALID_ARGUMENT, "send_file(NULL)");
    check(mcast_flush(s, 20000) == MCAST_OK, "mcast_flush");

    mcast_sender_stats ss;
    mcast_receiver_stats rs;
    mcast_status sst = mcast_sender_get_stats(s, &ss);
    mcast_status rst = mcast_receiver_get_stats(r, &rs);
    check(sst == MCAST_OK && ss.objects_enqueued >= 5 && ss.datagrams_sent > 200 &&
              ss.bytes_sent > 400000,
          "sender stats: %" PRIu64 " objects, %" PRIu64 " datagrams, %" PRIu64 " bytes", ss.objects_enqueued,
          ss.datagrams_sent, ss.bytes_sent);
    check(sst == MCAST_OK && ss.cc_feedback_received > 0 && ss.cc_clr != 0 && ss.tx_rate_bps >= 64000u &&
              ss.tx_rate_bps <= 100000000u,
          "congestion control: %" PRIu64 " feedback messages, CLR %" PRIu64 ", rate %" PRIu64 " bit/s",
          ss.cc_feedback_received, ss.cc_clr, ss.tx_rate_bps);
    check(rst == MCAST_OK && rs.objects_completed >= 5 && rs.datagrams_received > 200,
          "receiver stats: %" PRIu64 " objects, %" PRIu64 " datagrams", rs.objects_completed, rs.datagrams_received);
    check(mcast_sender_get_stats(s, NULL) == MCAST_ERR_INVALID_ARGUMENT, "stats into NULL refused");
    /* An older, shorter stats struct gets only its fields. */
    uint64_t two[3] = {0, 0, 0xdeadbeef};
    check(mcast_sender_get_stats_sized(s, (mcast_sender_stats *)two, 2 * sizeof(uint64_t)) == MCAST_OK &&
              two[0] > 0 && two[2] == 0xdeadbeef,
          "stats into an older, shorter struct write only its size");

    /* Messages: double free and use after free are caught. */
    mcast_send(s, "again", 5, NULL);
    st = mcast_recv(r, &m, 10000);
    check(st == MCAST_OK, "one more message");
    mcast_msg_free(m);
    mcast_msg_free(m);
    check(contains(mcast_last_error(), "not a live mcast_msg"), "double mcast_msg_free is caught: \"%s\"", mcast_last_error());
    check(mcast_msg_data(m, &len) == NULL && len == 0, "a freed message gives NULL data");
    check(mcast_recv((mcast_receiver *)s, &m, 0) == MCAST_ERR_INVALID_ARGUMENT,
          "a sender passed as a receiver is refused: \"%s\"", mcast_last_error());
    (void)ctx;
}

/* ------------------------------------------------------------ sealed channels */

/* Takes everything r delivers within wait_ms (then 0.5 s more after each
 * item): counts messages, and rejection reports naming node `from` whose
 * reason contains `why`; other rejection reports (of other peers) are only
 * counted. Each report must be a MCAST_KIND_REJECTED message. */
struct drained {
    int messages, rejections, matching, bad_reports;
    char last[512];
};

static struct drained drain(mcast_receiver *r, int wait_ms, uint32_t from, const char *why)
{
    struct drained d;
    memset(&d, 0, sizeof d);
    for (;;) {
        mcast_msg *m = NULL;
        mcast_status st = mcast_recv(r, &m, wait_ms);
        wait_ms = 500;
        if (st == MCAST_OK) {
            d.messages++;
        } else if (st == MCAST_ERR_REJECTED) {
            d.rejections++;
            const char *e = mcast_last_error();
            if (mcast_msg_sender_node_id(m) == from) {
                snprintf(d.last, sizeof d.last, "%s", e);
                d.matching += contains(e, why);
            }
            d.bad_reports += !m || mcast_msg_kind(m) != MCAST_KIND_REJECTED || mcast_msg_object_id(m) != 0 ||
                             !mcast_msg_sender(m) || mcast_msg_sender(m)[0] != '[' || !contains(e, "refusing [");
        } else {
            mcast_msg_free(m);
            break;
        }
        mcast_msg_free(m);
    }
    return d;
}

static void test_sealed(mcast_ctx *ctx)
{
    uint16_t port = (uint16_t)(PORT + 2);
    uint8_t key[MCAST_KEY_LEN], other[MCAST_KEY_LEN];
    mcast_key_generate(key);
    mcast_key_generate(other);
    mcast_receiver_config rc;
    mcast_receiver_config_init(&rc);
    mcast_receiver *same = NULL, *wrong = NULL, *none = NULL;
    rc.key = key;
    check(mcast_receiver_new(ctx, GROUP, port, IFNAME, &rc, &same) == MCAST_OK, "a receiver with the channel's key");
    rc.key = other;
    check(mcast_receiver_new(ctx, GROUP, port, IFNAME, &rc, &wrong) == MCAST_OK, "a receiver with another key");
    check(mcast_receiver_new(ctx, GROUP, port, IFNAME, NULL, &none) == MCAST_OK, "a receiver without a key");
    mcast_sender_config sc;
    mcast_sender_config_init(&sc);
    sc.grtt_initial_us = 10000;
    sc.key = key;
    sc.reserved2 = 1;
    mcast_sender *s = NULL;
    check(mcast_sender_new(ctx, GROUP, port, IFNAME, &sc, &s) == MCAST_ERR_INVALID_ARGUMENT && !s, "reserved2 != 0 refused");
    sc.reserved2 = 0;
    check(mcast_sender_new(ctx, GROUP, port, IFNAME, &sc, &s) == MCAST_OK && s, "a sender with the channel's key");
    memset(key, 0, sizeof key); /* the library took its own copy */
    if (!same || !wrong || !none || !s) {
        mcast_sender_free(s);
        mcast_receiver_free(same);
        mcast_receiver_free(wrong);
        mcast_receiver_free(none);
        return;
    }

    size_t big_len = 100 * 1000;
    uint8_t *big = malloc(big_len);
    for (size_t i = 0; i < big_len; i++) {
        big[i] = (uint8_t)(i * 13 + i / 997);
    }
    check(mcast_send_with_info(s, "sealed hello", 12, "sealed info", 11, NULL) == MCAST_OK &&
              mcast_send(s, big, big_len, NULL) == MCAST_OK,
          "sealed send of a message with info and of 100 kB");
    mcast_msg *m = NULL;
    mcast_status st = mcast_recv(same, &m, 10000);
    check(st == MCAST_OK && msg_is(m, "sealed hello", 12, "sealed info") && mcast_msg_sender_node_id(m) == mcast_sender_node_id(s),
          "the receiver with the key gets the message and its info intact (%s)", mcast_status_str(st));
    mcast_msg_free(m);
    m = NULL;
    st = mcast_recv(same, &m, 10000);
    check(st == MCAST_OK && msg_is(m, big, big_len, ""), "... and the 100 kB object intact (%s)", mcast_status_str(st));
    mcast_msg_free(m);
    free(big);

    uint32_t sender_id = mcast_sender_node_id(s);
    struct drained d = drain(wrong, 10000, sender_id, "different key");
    check(d.matching == 1 && d.messages == 0,
          "the receiver with another key: MCAST_ERR_REJECTED once for the sender, no message (%d reports, %d messages): \"%s\"",
          d.rejections, d.messages, d.last);
    check(d.bad_reports == 0, "... each report a MCAST_KIND_REJECTED message naming a sender, object id 0");
    d = drain(none, 10000, sender_id, "no key");
    check(d.matching == 1 && d.messages == 0,
          "the receiver without a key: MCAST_ERR_REJECTED once for the sender, no message (%d reports, %d messages): \"%s\"",
          d.rejections, d.messages, d.last);
    check(d.bad_reports == 0, "... each report a MCAST_KIND_REJECTED message");

    mcast_receiver_stats rs_same, rs_wrong, rs_none;
    mcast_sender_stats ss;
    check(mcast_receiver_get_stats(same, &rs_same) == MCAST_OK && mcast_receiver_get_stats(wrong, &rs_wrong) == MCAST_OK &&
              mcast_receiver_get_stats(none, &rs_none) == MCAST_OK && mcast_sender_get_stats(s, &ss) == MCAST_OK,
          "stats of the sealed channel");
    check(rs_same.objects_completed == 2 && rs_same.datagrams_unauthenticated == 0 && rs_same.datagrams_seal_mismatch == 0,
          "the receiver with the key: 2 objects, nothing refused");
    check(rs_wrong.datagrams_unauthenticated > 0 && rs_wrong.objects_completed == 0,
          "the receiver with another key counts datagrams_unauthenticated (%" PRIu64 ")", rs_wrong.datagrams_unauthenticated);
    check(rs_none.datagrams_seal_mismatch > 0 && rs_none.objects_completed == 0,
          "the receiver without a key counts datagrams_seal_mismatch (%" PRIu64 ")", rs_none.datagrams_seal_mismatch);
    check(ss.datagrams_unauthenticated == 0 && ss.datagrams_seal_mismatch == 0, "the sender refused no feedback");
    mcast_sender_free(s);
    mcast_receiver_free(same);
    mcast_receiver_free(wrong);
    mcast_receiver_free(none);

    /* A receiver with a key hears a sender without one. */
    port = (uint16_t)(PORT + 3);
    mcast_receiver *keyed = NULL;
    rc.key = other;
    rc.seal_max_age_ms = 0; /* no age limit */
    check(mcast_receiver_new(ctx, GROUP, port, IFNAME, &rc, &keyed) == MCAST_OK, "a receiver with a key and no age limit");
    check(mcast_sender_new(ctx, GROUP, port, IFNAME, NULL, &s) == MCAST_OK, "an unsealed sender");
    if (keyed && s) {
        mcast_send(s, "open", 4, NULL);
        d = drain(keyed, 10000, mcast_sender_node_id(s), "not sealed");
        check(d.matching == 1 && d.messages == 0 && d.bad_reports == 0,
              "the keyed receiver: MCAST_ERR_REJECTED for the unsealed sender, no message: \"%s\"", d.last);
        mcast_receiver_stats rs;
        check(mcast_receiver_get_stats(keyed, &rs) == MCAST_OK && rs.datagrams_seal_mismatch > 0,
              "... counted in datagrams_seal_mismatch");
    }
    mcast_sender_free(s);
    mcast_receiver_free(keyed);
}

/* ------------------------------------------------------------ signed objects */

/* What a receiver that refuses a sender's objects delivers: takes
 * everything r delivers (waiting up to wait_ms for each item until
 * `aborts` abort reports came, then 0.5 s), and counts messages, abort
 * reports (well-formed ones naming node `from` with a "refused: " reason),
 * and rejection reports naming `from` whose reason contains `why`. */
struct refused {
    int messages, aborted, aborted_ok, rejections, matching;
    uint64_t aborted_ids[8];
    char last_abort[512], last_reject[512];
};

static struct refused drain_refused(mcast_receiver *r, int wait_ms, uint32_t from, const char *why, int aborts)
{
    struct refused d;
    memset(&d, 0, sizeof d);
    for (;;) {
        mcast_msg *m = NULL;
        mcast_status st = mcast_recv(r, &m, d.aborted < aborts ? wait_ms : 500);
        const char *e = mcast_last_error();
        if (st == MCAST_OK) {
            d.messages++;
        } else if (st == MCAST_ERR_ABORTED) {
            if (d.aborted < 8) {
                d.aborted_ids[d.aborted] = mcast_msg_object_id(m);
            }
            d.aborted++;
            snprintf(d.last_abort, sizeof d.last_abort, "%s", e);
            d.aborted_ok += m && mcast_msg_kind(m) == MCAST_KIND_ABORTED && mcast_msg_sender_node_id(m) == from &&
                            contains(e, "refused: ") && mcast_msg_signer(m, NULL) == 0;
        } else if (st == MCAST_ERR_REJECTED) {
            d.rejections++;
            if (m && mcast_msg_kind(m) == MCAST_KIND_REJECTED && mcast_msg_sender_node_id(m) == from) {
                snprintf(d.last_reject, sizeof d.last_reject, "%s", e);
                d.matching += contains(e, why);
            }
        } else {
            mcast_msg_free(m);
            break;
        }
        mcast_msg_free(m);
    }
    return d;
}

static void test_signed(mcast_ctx *ctx)
{
    uint16_t port = (uint16_t)(PORT + 4);
    uint8_t sec[MCAST_SIGNATURE_KEY_LEN], pub[MCAST_SIGNATURE_KEY_LEN];
    uint8_t other_sec[MCAST_SIGNATURE_KEY_LEN], other_pub[MCAST_SIGNATURE_KEY_LEN];
    mcast_signing_key_generate(sec, pub);
    mcast_signing_key_generate(other_sec, other_pub);
    mcast_receiver_config rc;
    mcast_sender_config sc;
    mcast_sender *s = NULL;
    mcast_receiver *r = NULL;
    mcast_status st;

    /* Bad configs. */
    mcast_sender_config_init(&sc);
    sc.node_id = 0xffffffffu;
    st = mcast_sender_new(ctx, GROUP, port, IFNAME, &sc, &s);
    check(st == MCAST_ERR_INVALID_ARGUMENT && !s && contains(mcast_last_error(), "0xffffffff"),
          "sender node_id 0xffffffff refused: \"%s\"", mcast_last_error());
    mcast_sender_config_init(&sc);
    sc.reserved3 = 1;
    check(mcast_sender_new(ctx, GROUP, port, IFNAME, &sc, &s) == MCAST_ERR_INVALID_ARGUMENT && !s, "reserved3 != 0 refused");
    mcast_sender_config_init(&sc);
    sc.signing_key = sec;
    sc.segment_size = 100;
    st = mcast_sender_new(ctx, GROUP, port, IFNAME, &sc, &s);
    check(st == MCAST_ERR_INVALID_ARGUMENT && !s && contains(mcast_last_error(), "too small to sign"),
          "a segment_size too small for a signature refused: \"%s\"", mcast_last_error());
    uint8_t keys[3 * MCAST_SIGNATURE_KEY_LEN];
    memcpy(keys, other_pub, MCAST_SIGNATURE_KEY_LEN);
    memcpy(keys + MCAST_SIGNATURE_KEY_LEN, pub, MCAST_SIGNATURE_KEY_LEN);
    memset(keys + 2 * MCAST_SIGNATURE_KEY_LEN, 0x02, MCAST_SIGNATURE_KEY_LEN); /* not a curve point */
    mcast_receiver_config_init(&rc);
    rc.trusted_signers = keys;
    rc.trusted_signers_count = 0;
    st = mcast_receiver_new(ctx, GROUP, port, IFNAME, &rc, &r);
    check(st == MCAST_ERR_INVALID_ARGUMENT && !r, "trusted_signers with trusted_signers_count 0 refused: \"%s\"",
          mcast_last_error());
    rc.trusted_signers = NULL;
    rc.trusted_signers_count = 2;
    check(mcast_receiver_new(ctx, GROUP, port, IFNAME, &rc, &r) == MCAST_ERR_INVALID_ARGUMENT && !r,
          "NULL trusted_signers with trusted_signers_count 2 refused");
    rc.trusted_signers = keys;
    rc.trusted_signers_count = 3;
    st = mcast_receiver_new(ctx, GROUP, port, IFNAME, &rc, &r);
    check(st == MCAST_ERR_INVALID_ARGUMENT && !r && contains(mcast_last_error(), "trusted_signers[2]") &&
              contains(mcast_last_error(), "not a valid Ed25519 public key"),
          "a trusted key that is no curve point refused, naming its index: \"%s\"", mcast_last_error());
    rc.trusted_signers_count = MCAST_TRUSTED_SIGNERS_MAX + 1;
    check(mcast_receiver_new(ctx, GROUP, port, IFNAME, &rc, &r) == MCAST_ERR_INVALID_ARGUMENT && !r,
          "more than MCAST_TRUSTED_SIGNERS_MAX trusted keys refused");

    /* A program built before signing: the fields past its size are not read. */
    mcast_sender_config_init(&sc);
    sc.size = offsetof(mcast_sender_config, signing_key);
    sc.signing_key = sec;
    sc.node_id = 0xffffffffu;
    st = mcast_sender_new(ctx, GROUP, (uint16_t)(PORT + 5), IFNAME, &sc, &s);
    check(st == MCAST_OK && mcast_sender_node_id(s) != 0xffffffffu,
          "a sender config from an older header ignores signing_key and node_id (%s)", mcast_status_str(st));
    mcast_sender_free(s);
    s = NULL;
    mcast_receiver_config_init(&rc);
    rc.size = offsetof(mcast_receiver_config, trusted_signers);
    rc.trusted_signers = keys;
    rc.trusted_signers_count = 3;
    st = mcast_receiver_new(ctx, GROUP, (uint16_t)(PORT + 5), IFNAME, &rc, &r);
    check(st == MCAST_OK, "a receiver config from an older header ignores trusted_signers (%s)", mcast_status_str(st));
    mcast_receiver_free(r);
    r = NULL;

    /* A signed exchange: a receiver trusting the signer (among two keys),
     * one trusting another key, one trusting nobody. */
    mcast_receiver *trusting = NULL, *distrusting = NULL, *plain = NULL;
    mcast_receiver_config_init(&rc);
    rc.trusted_signers = keys;
    rc.trusted_signers_count = 2;
    check(mcast_receiver_new(ctx, GROUP, port, IFNAME, &rc, &trusting) == MCAST_OK, "a receiver trusting the signer's key");
    rc.trusted_signers = other_pub;
    rc.trusted_signers_count = 1;
    check(mcast_receiver_new(ctx, GROUP, port, IFNAME, &rc, &distrusting) == MCAST_OK, "a receiver trusting another key");
    check(mcast_receiver_new(ctx, GROUP, port, IFNAME, NULL, &plain) == MCAST_OK, "a receiver trusting nobody");
    mcast_sender_config_init(&sc);
    sc.grtt_initial_us = 10000;
    sc.signing_key = sec;
    sc.node_id = 0x51515151u;
    st = mcast_sender_new(ctx, GROUP, port, IFNAME, &sc, &s);
    check(st == MCAST_OK && s, "a signing sender with node id 0x51515151 (%s)", mcast_status_str(st));
    memset(sec, 0, sizeof sec); /* the library took its own copy */
    memset(keys, 0, sizeof keys);
    check(mcast_sender_node_id(s) == 0x51515151u, "mcast_sender_node_id is the configured node id (0x%" PRIx32 ")",
          mcast_sender_node_id(s));
    if (!trusting || !distrusting || !plain || !s) {
        mcast_sender_free(s);
        mcast_receiver_free(trusting);
        mcast_receiver_free(distrusting);
        mcast_receiver_free(plain);
        return;
    }

    size_t big_len = 100 * 1000;
    uint8_t *big = malloc(big_len);
    for (size_t i = 0; i < big_len; i++) {
        big[i] = (uint8_t)(i * 11 + i / 499);
    }
    char path[] = "/tmp/mcast-api-signed-XXXXXX";
    int file_ok = write_temp(path, big, 70000) == 0;
    char long_info[1400 - 128 + 1];
    memset(long_info, 'i', sizeof long_info);
    long_info[sizeof long_info - 1] = 0;
    uint64_t ids[4] = {0, 0, 0, 0};
    check(mcast_send_with_info(s, "signed hello", 12, "signed info", 11, &ids[0]) == MCAST_OK &&
              mcast_send(s, big, big_len, &ids[1]) == MCAST_OK && file_ok && mcast_send_file(s, path, &ids[2]) == MCAST_OK,
          "signed sends: a message with info, 100 kB of DATA, a 70 kB FILE");
    uint64_t bad_id = 9;
    st = mcast_send_with_info(s, "x", 1, long_info, sizeof long_info, &bad_id);
    check(st == MCAST_ERR_INVALID_ARGUMENT && bad_id == 0 && contains(mcast_last_error(), "signature"),
          "info of segment_size - 127 bytes refused at a signing sender: \"%s\"", mcast_last_error());
    check(mcast_send_with_info(s, "y", 1, long_info, strlen(long_info), &ids[3]) == MCAST_OK,
          "info of segment_size - 128 (%zu) bytes accepted", strlen(long_info));

    const struct {
        const void *data;
        size_t len;
        const char *info;
        mcast_kind kind;
    } want[4] = {{"signed hello", 12, "signed info", MCAST_KIND_DATA},
                 {big, big_len, "", MCAST_KIND_DATA},
                 {big, 70000, path + 5, MCAST_KIND_FILE},
                 {"y", 1, long_info, MCAST_KIND_DATA}};
    int intact = 0, signed_by = 0, node_ok = 0, unsigned_plain = 0;
    for (int k = 0; k < 4; k++) {
        mcast_msg *m = NULL;
        uint8_t signer[MCAST_SIGNATURE_KEY_LEN];
        st = mcast_recv(trusting, &m, 10000);
        if (st != MCAST_OK) {
            check(0, "the trusting receiver: object %d (%s)", k + 1, mcast_status_str(st));
            mcast_msg_free(m);
            break;
        }
        intact += msg_is(m, want[k].data, want[k].len, want[k].info) && mcast_msg_kind(m) == want[k].kind &&
                  mcast_msg_object_id(m) == ids[k];
        signed_by += mcast_msg_signer(m, signer) == 1 && memcmp(signer, pub, sizeof pub) == 0;
        node_ok += mcast_msg_sender_node_id(m) == 0x51515151u;
        mcast_msg_free(m);
    }
    check(intact == 4, "the trusting receiver gets all 4 signed objects intact, info without signature (%d)", intact);
    check(signed_by == 4, "... each naming its signer, the signing key's public key (mcast_msg_signer, %d)", signed_by);
    check(node_ok == 4, "... from node id 0x51515151 (%d)", node_ok);
    intact = 0;
    for (int k = 0; k < 4; k++) {
        mcast_msg *m = NULL;
        uint8_t signer[MCAST_SIGNATURE_KEY_LEN];
        memset(signer, 0xab, sizeof signer);
        st = mcast_recv(plain, &m, 10000);
        if (st != MCAST_OK) {
            check(0, "the receiver trusting nobody: object %d (%s)", k + 1, mcast_status_str(st));
            mcast_msg_free(m);
            break;
        }
        intact += msg_is(m, want[k].data, want[k].len, want[k].info);
        unsigned_plain += mcast_msg_signer(m, signer) == 0 && all_zero(signer, sizeof signer);
        mcast_msg_free(m);
    }
    check(intact == 4 && unsigned_plain == 4,
          "the receiver trusting nobody gets them too, intact, with no signer (%d, %d)", intact, unsigned_plain);

    struct refused d = drain_refused(distrusting, 10000, 0x51515151u, "does not trust", 4);
    check(d.messages == 0, "the receiver trusting another key delivers none of them (%d)", d.messages);
    check(d.matching == 1, "... reports the sender once with MCAST_ERR_REJECTED (%d of %d reports): \"%s\"", d.matching,
          d.rejections, d.last_reject);
    check(d.aborted == 4 && d.aborted_ok == 4, "... and each object aborted, \"refused: ...\" (%d, %d well-formed): \"%s\"",
          d.aborted, d.aborted_ok, d.last_abort);
    check(d.aborted_ids[0] == ids[0] && d.aborted_ids[1] == ids[1] && d.aborted_ids[2] == ids[2] && d.aborted_ids[3] == ids[3],
          "... in order, naming the objects sent (ids %" PRIu64 "..%" PRIu64 ")", ids[0], ids[3]);

    mcast_receiver_stats rs_t, rs_d, rs_p;
    check(mcast_receiver_get_stats(trusting, &rs_t) == MCAST_OK && mcast_receiver_get_stats(distrusting, &rs_d) == MCAST_OK &&
              mcast_receiver_get_stats(plain, &rs_p) == MCAST_OK,
          "stats of the signed exchange");
    check(rs_t.objects_completed == 4 && rs_t.objects_unverified == 0 && rs_t.signatures_refused == 0,
          "the trusting receiver: 4 objects, nothing refused");
    check(rs_d.objects_unverified == 4 && rs_d.signatures_refused >= 1 && rs_d.objects_completed == 0,
          "the receiver trusting another key: objects_unverified %" PRIu64 ", signatures_refused %" PRIu64,
          rs_d.objects_unverified, rs_d.signatures_refused);
    check(rs_p.objects_unverified == 0 && rs_p.signatures_refused == 0, "the receiver trusting nobody counts nothing");
    /* An older, shorter stats struct gets only its fields. */
    mcast_receiver_stats part;
    memset(&part, 0xab, sizeof part);
    check(mcast_receiver_get_stats_sized(distrusting, &part, offsetof(mcast_receiver_stats, objects_unverified)) == MCAST_OK &&
              part.objects_unverified == 0xababababababababu && part.datagrams_received > 0,
          "receiver stats into an older struct (before objects_unverified) write only its size");
    mcast_sender_free(s);
    s = NULL;
    mcast_receiver_free(distrusting);
    mcast_receiver_free(plain);
    unlink(path);
    free(big);

    /* An unsigned sender, at the trusting receiver. */
    check(mcast_sender_new(ctx, GROUP, port, IFNAME, NULL, &s) == MCAST_OK, "an unsigned sender");
    if (s) {
        check(mcast_send_with_info(s, "plain", 5, "info", 4, NULL) == MCAST_OK && mcast_send(s, "bare", 4, NULL) == MCAST_OK,
              "unsigned sends, with and without info");
        d = drain_refused(trusting, 10000, mcast_sender_node_id(s), "not signed", 2);
        check(d.messages == 0 && d.matching == 1 && d.aborted == 2 && d.aborted_ok == 2,
              "the trusting receiver refuses them: rejected once, both aborted, none delivered (%d, %d, %d): \"%s\"",
              d.messages, d.matching, d.aborted, d.last_reject);
        mcast_receiver_stats rs;
        check(mcast_receiver_get_stats(trusting, &rs) == MCAST_OK && rs.objects_unverified == 2,
              "... counted in objects_unverified (%" PRIu64 ")", rs.objects_unverified);
    }
    mcast_sender_free(s);
    mcast_receiver_free(trusting);
}

/* ------------------------------------------------------------ callback */

struct cb_state {
    pthread_t main_thread;
    mcast_sender *s;
    mcast_receiver *r;
    atomic_int count;
    atomic_int bad;
    atomic_int on_main;
    atomic_int refusals;
    atomic_int first_done;
};

static void on_message(void *user, mcast_status status, mcast_msg *msg)
{
    struct cb_state *cs = user;
    if (pthread_equal(pthread_self(), cs->main_thread)) {
        atomic_fetch_add(&cs->on_main, 1);
    }
    char want[32];
    snprintf(want, sizeof want, "cb-%d", atomic_load(&cs->count));
    if (status != MCAST_OK || !msg_is(msg, want, strlen(want), "")) {
        atomic_fetch_add(&cs->bad, 1);
    }
    if (!atomic_load(&cs->first_done)) {
        /* What a callback may not do: everything that waits for the engine. */
        mcast_msg *m = NULL;
        int refused = 0;
        refused += mcast_send(cs->s, "x", 1, NULL) == MCAST_ERR_WOULD_BLOCK;
        refused += mcast_flush(cs->s, 100) == MCAST_ERR_WOULD_BLOCK;
        refused += mcast_recv(cs->r, &m, 100) == MCAST_ERR_WOULD_BLOCK;
        refused += mcast_receiver_set_callback(cs->r, NULL, NULL) == MCAST_ERR_WOULD_BLOCK;
        refused += contains(mcast_last_error(), "receiver callback");
        /* What it may do. */
        mcast_sender_stats ss;
        refused += mcast_sender_get_stats(cs->s, &ss) == MCAST_OK;
        refused += mcast_recv(cs->r, &m, 0) == MCAST_ERR_WOULD_BLOCK; /* nothing queued */
        mcast_receiver_free(cs->r);                                    /* ignored here */
        refused += mcast_receiver_fd(cs->r) >= 0;                      /* still alive */
        atomic_store(&cs->refusals, refused);
        atomic_store(&cs->first_done, 1);
    }
    mcast_msg_free(msg); /* the callback owns msg */
    atomic_fetch_add(&cs->count, 1);
}

static void test_callback(mcast_sender *s, mcast_receiver *r)
{
    static struct cb_state cs; /* static: atomics start at 0 */
    cs.main_thread = pthread_self();
    cs.s = s;
    cs.r = r;
    check(mcast_receiver_set_callback(r, on_message, &cs) == MCAST_OK, "mcast_receiver_set_callback");
    for (int i = 0; i < 5; i++) {
        char text[32];
        snprintf(text, sizeof text, "cb-%d", i);
        mcast_send(s, text, strlen(text), NULL);
    }
    double t0 = now_s();
    while (atomic_load(&cs.count) < 5 && now_s() - t0 < 15) {
        sleep_ms(10);
    }
    check(atomic_load(&cs.count) == 5, "the callback got all 5 messages (%d)", atomic_load(&cs.count));
    check(atomic_load(&cs.bad) == 0, "... in order, intact, with MCAST_OK");
    check(atomic_load(&cs.on_main) == 0, "... on the engine thread, not the caller's");
    check(atomic_load(&cs.refusals) == 8, "... where waiting calls fail with MCAST_ERR_WOULD_BLOCK and others work (%d of 8)",
          atomic_load(&cs.refusals));
    check(!fd_readable(mcast_receiver_fd(r), 0), "messages given to the callback do not make the fd readable");

    check(mcast_receiver_set_callback(r, NULL, NULL) == MCAST_OK, "callback removed");
    uint64_t id = 0;
    mcast_send(s, "queued", 6, &id);
    mcast_msg *m = NULL;
    check(mcast_recv(r, &m, 10000) == MCAST_OK && msg_is(m, "queued", 6, ""), "after removal, messages are queued again");
    check(atomic_load(&cs.count) == 5, "and the callback is not called any more");
    mcast_msg_free(m);
}

/* ------------------------------------------------------------ threads */

struct sender_arg {
    mcast_sender *s;
    int thread;
    int failures;
};

static void *send_many(void *p)
{
    struct sender_arg *a = p;
    for (int i = 0; i < 25; i++) {
        char text[32];
        snprintf(text, sizeof text, "t%d-%02d", a->thread, i);
        a->failures += mcast_send(a->s, text, strlen(text), NULL) != MCAST_OK;
    }
    return NULL;
}

static void test_threads(mcast_sender *s, mcast_receiver *r)
{
    pthread_t t[4];
    struct sender_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct sender_arg){s, i, 0};
        pthread_create(&t[i], NULL, send_many, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }
    int next[4] = {0, 0, 0, 0}, got = 0, in_order = 1;
    for (int k = 0; k < 100; k++) {
        mcast_msg *m = NULL;
        if (mcast_recv(r, &m, 10000) != MCAST_OK) {
            break;
        }
        size_t len = 0;
        const uint8_t *d = mcast_msg_data(m, &len);
        int th = -1, i = -1;
        char text[32] = {0};
        memcpy(text, d, len < 31 ? len : 31);
        if (sscanf(text, "t%d-%d", &th, &i) == 2 && th >= 0 && th < 4) {
            in_order &= next[th] == i;
            next[th] = i + 1;
            got++;
        }
        mcast_msg_free(m);
    }
    check(args[0].failures + args[1].failures + args[2].failures + args[3].failures == 0, "4 threads sent 25 messages each");
    check(got == 100 && in_order, "all 100 received, each thread's in its order (%d)", got);
}

struct blocked_arg {
    mcast_receiver *r;
    mcast_status status;
    double returned_at;
};

static void *recv_forever(void *p)
{
    struct blocked_arg *a = p;
    mcast_msg *m = NULL;
    a->status = mcast_recv(a->r, &m, -1);
    a->returned_at = now_s();
    mcast_msg_free(m);
    return NULL;
}

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

    test_basics();
    test_channels();
    test_configs();
    test_keys();
    test_signing_keys();

    mcast_ctx *ctx = NULL;
    check(mcast_ctx_new(NULL, &ctx) == MCAST_OK && ctx, "mcast_ctx_new with the defaults");
    test_arguments(ctx);

    mcast_sender *s = NULL;
    mcast_receiver *r = NULL, *r2 = NULL;
    mcast_receiver_config rc;
    mcast_receiver_config_init(&rc);
    rc.sync_policy = MCAST_SYNC_CURRENT;
    mcast_status st = mcast_receiver_new(ctx, GROUP, PORT, IFNAME, &rc, &r);
    check(st == MCAST_OK, "receiver on %s [%s]:%u", IFNAME, GROUP, (unsigned)PORT);
    mcast_sender_config sc;
    mcast_sender_config_init(&sc);
    sc.grtt_initial_us = 10000;
    st = mcast_sender_new(ctx, GROUP, PORT, IFNAME, &sc, &s);
    check(st == MCAST_OK, "sender on the same group");
    check(mcast_receiver_new(ctx, GROUP, PORT + 1, IFNAME, NULL, &r2) == MCAST_OK, "a second receiver on port %u", PORT + 1);
    if (!s || !r || !r2) {
        printf("api_test: cannot go on without sender and receivers\n");
        failed++;
    } else {
        check(mcast_sender_node_id(s) != 0 && mcast_receiver_node_id(r) != 0, "node ids %" PRIu32 ", %" PRIu32,
              mcast_sender_node_id(s), mcast_receiver_node_id(r));
        test_exchange(ctx, s, r);
        test_flush_acked(ctx);
        test_file_dir(ctx);
        test_ssm(ctx);
        test_sealed(ctx);
        test_signed(ctx);
        test_callback(s, r);
        test_threads(s, r);

        /* Freeing the context wakes a thread blocked in mcast_recv. */
        struct blocked_arg ba = {r2, MCAST_OK, 0};
        pthread_t t;
        pthread_create(&t, NULL, recv_forever, &ba);
        sleep_ms(200);
        double t0 = now_s();
        mcast_ctx_free(ctx);
        pthread_join(t, NULL);
        check(ba.status == MCAST_ERR_CLOSED && ba.returned_at - t0 < 5,
              "mcast_ctx_free ends a blocked mcast_recv with MCAST_ERR_CLOSED");
        check(mcast_send(s, "late", 4, NULL) == MCAST_ERR_CLOSED, "senders of a freed context say MCAST_ERR_CLOSED");
        mcast_msg *m = NULL;
        check(mcast_recv(r, &m, 1000) == MCAST_ERR_CLOSED, "receivers too");
        mcast_sender_stats ss;
        check(mcast_sender_get_stats(s, &ss) == MCAST_OK, "stats still work after the context is gone");
        mcast_sender *s2 = NULL;
        check(mcast_sender_new(ctx, GROUP, PORT, IFNAME, NULL, &s2) == MCAST_ERR_INVALID_ARGUMENT,
              "the freed context is not a live handle any more");
        mcast_ctx_free(ctx);
        check(contains(mcast_last_error(), "not a live mcast_ctx"), "double mcast_ctx_free is caught");
        mcast_sender_free(s);
        mcast_sender_free(s);
        check(contains(mcast_last_error(), "not a live mcast_sender"), "double mcast_sender_free is caught");
        mcast_receiver_free(r);
        mcast_receiver_free(r2);
        mcast_receiver_free(r);
        check(contains(mcast_last_error(), "not a live mcast_receiver"), "double mcast_receiver_free is caught");
        ctx = NULL;
    }
    mcast_ctx_free(ctx);

    printf("api_test: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
