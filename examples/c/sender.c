/*
 * sender.c -- send files and messages to a multicast group with libmcast.
 *
 *   sender GROUP PORT IFNAME [-r BITS_PER_SEC] ITEM...
 *
 * ITEM is one of
 *   FILE       send the file as a NORM FILE object (receivers name it by its
 *              base name)
 *   -d FILE    read the file into memory and send it as a NORM DATA object
 *              whose NORM_INFO is its base name
 *   -m TEXT    send TEXT as a DATA object (no NORM_INFO)
 *
 * Then waits until everything was sent and a flush round is over, prints the
 * sender's statistics on stderr and exits 0 (1 on any error).
 *
 * Build: cc -std=c11 sender.c $(pkg-config --cflags --libs mcast)
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mcast.h>

static int fail(const char *what, mcast_status st)
{
    fprintf(stderr, "sender: %s failed: %s (%s)\n", what, mcast_status_str(st), mcast_last_error());
    return 1;
}

/* Reads a whole file into memory; returns NULL on error. */
static void *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) {
            break;
        }
        unsigned char *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    if (!buf || ferror(f)) {
        fprintf(stderr, "sender: cannot read %s\n", path);
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s GROUP PORT IFNAME [-r BITS_PER_SEC] (FILE | -d FILE | -m TEXT)...\n", argv[0]);
        return 2;
    }
    const char *group = argv[1];
    long port = strtol(argv[2], NULL, 10);
    const char *ifname = argv[3];
    int first = 4;

    mcast_sender_config cfg;
    mcast_sender_config_init(&cfg); /* defaults; always before setting fields */
    if (argc > first + 1 && strcmp(argv[first], "-r") == 0) {
        cfg.rate_bps = strtoull(argv[first + 1], NULL, 10);
        first += 2;
    }

    mcast_ctx *ctx = NULL;
    mcast_sender *sender = NULL;
    mcast_status st = mcast_ctx_new(NULL, &ctx);
    if (st != MCAST_OK) {
        return fail("mcast_ctx_new", st);
    }
    st = mcast_sender_new(ctx, group, (uint16_t)port, ifname, &cfg, &sender);
    if (st != MCAST_OK) {
        fail("mcast_sender_new", st);
        mcast_ctx_free(ctx);
        return 1;
    }
    fprintf(stderr, "sender: node %" PRIu32 " sending to [%s]:%ld on %s\n", mcast_sender_node_id(sender), group, port, ifname);

    int rc = 0;
    for (int i = first; i < argc && rc == 0; i++) {
        uint64_t id = 0;
        if (strcmp(argv[i], "-m") == 0 && i + 1 < argc) {
            const char *text = argv[++i];
            st = mcast_send(sender, text, strlen(text), &id);
        } else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) {
            const char *path = argv[++i];
            size_t len = 0;
            void *data = read_file(path, &len);
            if (!data) {
                rc = 1;
                break;
            }
            const char *name = base_name(path);
            /* The data is copied: it can be freed as soon as the call returns. */
            st = mcast_send_with_info(sender, data, len, name, strlen(name), &id);
            free(data);
        } else {
            /* Blocks while the transmit cache is full (back-pressure). */
            st = mcast_send_file(sender, argv[i], &id);
        }
        if (st != MCAST_OK) {
            rc = fail(argv[i], st);
        } else {
            fprintf(stderr, "sender: queued %s as object %" PRIu64 "\n", argv[i], id);
        }
    }

    if (rc == 0) {
        /* Wait until everything is sent and late NACKs were answered. */
        st = mcast_flush(sender, -1);
        if (st != MCAST_OK) {
            rc = fail("mcast_flush", st);
        }
    }

    mcast_sender_stats stats;
    if (mcast_sender_get_stats(sender, &stats) == MCAST_OK) {
        fprintf(stderr,
                "sender: %" PRIu64 " datagrams, %" PRIu64 " bytes, %" PRIu64 " NACKs received, %" PRIu64
                " repairs, %" PRIu64 " parity, %" PRIu64 " objects\n",
                stats.datagrams_sent, stats.bytes_sent, stats.nacks_received, stats.repair_segments_sent,
                stats.parity_segments_sent, stats.objects_sent);
    }
    mcast_sender_free(sender);
    mcast_ctx_free(ctx);
    return rc;
}
