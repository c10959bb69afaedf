/*
 * receiver.c -- receive objects from a multicast group with libmcast,
 * blocking in mcast_recv.
 *
 *   receiver GROUP PORT IFNAME [-n COUNT] [-o DIR] [-t SECONDS]
 *
 * Prints one line per object on stdout. With -o, writes each object to
 * DIR/NAME, NAME being its NORM_INFO if that is a plain file name, else
 * "object-ID". Exits 0 after COUNT objects (default: 1), 1 if SECONDS
 * (default 60) pass first or on any error. An aborted object is reported
 * on stderr and does not count.
 *
 * Build: cc -std=c11 receiver.c $(pkg-config --cflags --libs mcast)
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mcast.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* NORM_INFO as a safe file name, or "object-ID". */
static void file_name(const mcast_msg *msg, char *out, size_t cap)
{
    size_t len = 0;
    const uint8_t *info = mcast_msg_info(msg, &len);
    int ok = len > 0 && len < cap && !(len == 1 && info[0] == '.') && !(len == 2 && info[0] == '.' && info[1] == '.');
    for (size_t i = 0; ok && i < len; i++) {
        char c = (char)info[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    }
    if (ok) {
        memcpy(out, info, len);
        out[len] = '\0';
    } else {
        snprintf(out, cap, "object-%" PRIu64, mcast_msg_object_id(msg));
    }
}

static int save(const char *dir, const mcast_msg *msg)
{
    char name[256], path[4096];
    file_name(msg, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len = 0;
    const uint8_t *data = mcast_msg_data(msg, &len);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s GROUP PORT IFNAME [-n COUNT] [-o DIR] [-t SECONDS]\n", argv[0]);
        return 2;
    }
    long port = strtol(argv[2], NULL, 10);
    long count = 1;
    const char *dir = NULL;
    double timeout = 60;
    for (int i = 4; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-n") == 0) {
            count = strtol(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "-o") == 0) {
            dir = argv[i + 1];
        } else if (strcmp(argv[i], "-t") == 0) {
            timeout = strtod(argv[i + 1], NULL);
        }
    }

    mcast_ctx *ctx = NULL;
    mcast_receiver *rx = NULL;
    mcast_status st = mcast_ctx_new(NULL, &ctx);
    if (st == MCAST_OK) {
        st = mcast_receiver_new(ctx, argv[1], (uint16_t)port, argv[3], NULL, &rx);
    }
    if (st != MCAST_OK) {
        fprintf(stderr, "receiver: %s\n", mcast_last_error());
        mcast_ctx_free(ctx);
        return 1;
    }

    int rc = 0;
    long got = 0;
    double deadline = now_s() + timeout;
    while (got < count) {
        int left_ms = (int)((deadline - now_s()) * 1000);
        mcast_msg *msg = NULL;
        st = mcast_recv(rx, &msg, left_ms > 0 ? left_ms : 0);
        if (st == MCAST_OK) {
            size_t len = 0, info_len = 0;
            mcast_msg_data(msg, &len);
            const uint8_t *info = mcast_msg_info(msg, &info_len);
            printf("object %" PRIu64 " from %s: %zu bytes, info \"%.*s\"\n", mcast_msg_object_id(msg),
                   mcast_msg_sender(msg), len, (int)info_len, (const char *)info);
            fflush(stdout);
            if (dir && save(dir, msg) != 0) {
                rc = 1;
            }
            got++;
        } else if (st == MCAST_ERR_ABORTED || st == MCAST_ERR_REJECTED) {
            /* ABORTED: msg names the object that will never come. REJECTED:
             * a source whose datagrams are dropped (a sealed channel's key is
             * missing or differs); said once per source. Either way, go on. */
            fprintf(stderr, "receiver: %s\n", mcast_last_error());
        } else {
            fprintf(stderr, "receiver: after %ld of %ld objects: %s\n", got, count, mcast_last_error());
            rc = 1;
        }
        mcast_msg_free(msg); /* NULL is fine */
        if (rc) {
            break;
        }
    }

    mcast_receiver_stats stats;
    if (mcast_receiver_get_stats(rx, &stats) == MCAST_OK) {
        fprintf(stderr, "receiver: %" PRIu64 " datagrams, %" PRIu64 " NACKs sent, %" PRIu64 " objects\n",
                stats.datagrams_received, stats.nacks_sent, stats.objects_completed);
    }
    mcast_receiver_free(rx);
    mcast_ctx_free(ctx);
    return rc;
}
