/*
 * epoll_receiver.c -- receive from a multicast group in the application's
 * own epoll loop: the receiver's file descriptor (mcast_receiver_fd) sits
 * next to a signalfd for SIGINT/SIGTERM, and mcast_recv(..., 0) never
 * blocks.
 *
 *   epoll_receiver GROUP PORT IFNAME [-n COUNT] [-o DIR] [-t SECONDS]
 *
 * Same options and output as receiver.c. Exits 0 after COUNT objects, 1 on
 * timeout or error, 130 on SIGINT/SIGTERM (after freeing everything).
 *
 * Build: cc -std=c11 epoll_receiver.c $(pkg-config --cflags --libs mcast)
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <mcast.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int save(const char *dir, const mcast_msg *msg)
{
    char name[256], path[4096];
    size_t len = 0;
    const uint8_t *info = mcast_msg_info(msg, &len);
    int ok = len > 0 && len < sizeof name && !(len <= 2 && info[0] == '.' && info[len - 1] == '.');
    for (size_t i = 0; ok && i < len; i++) {
        char c = (char)info[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    }
    if (ok) {
        memcpy(name, info, len);
        name[len] = '\0';
    } else {
        snprintf(name, sizeof name, "object-%" PRIu64, mcast_msg_object_id(msg));
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
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

    /* SIGINT/SIGTERM arrive as readable data on a signalfd. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigprocmask(SIG_BLOCK, &sigs, NULL); /* before mcast_ctx_new: its thread inherits the mask */
    int sfd = signalfd(-1, &sigs, 0);

    mcast_ctx *ctx = NULL;
    mcast_receiver *rx = NULL;
    mcast_status st = mcast_ctx_new(NULL, &ctx);
    if (st == MCAST_OK) {
        st = mcast_receiver_new(ctx, argv[1], (uint16_t)port, argv[3], NULL, &rx);
    }
    if (st != MCAST_OK || sfd < 0) {
        fprintf(stderr, "epoll_receiver: %s\n", st != MCAST_OK ? mcast_last_error() : "signalfd failed");
        mcast_ctx_free(ctx);
        return 1;
    }

    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.fd = mcast_receiver_fd(rx); /* only wait on it: never read or close it */
    epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
    ev.data.fd = sfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);

    int rc = -1;
    long got = 0;
    double deadline = now_s() + timeout;
    while (rc < 0) {
        int left_ms = (int)((deadline - now_s()) * 1000);
        if (left_ms <= 0) {
            fprintf(stderr, "epoll_receiver: timed out after %ld of %ld objects\n", got, count);
            rc = 1;
            break;
        }
        struct epoll_event events[2];
        int n = epoll_wait(ep, events, 2, left_ms);
        for (int i = 0; i < n && rc < 0; i++) {
            if (events[i].data.fd == sfd) {
                fprintf(stderr, "epoll_receiver: signal: stopping after %ld objects\n", got);
                rc = 130;
                break;
            }
            /* The receiver's fd is readable: take everything that is ready. */
            for (;;) {
                mcast_msg *msg = NULL;
                st = mcast_recv(rx, &msg, 0);
                if (st == MCAST_ERR_WOULD_BLOCK) {
                    break;
                }
                if (st == MCAST_OK) {
                    size_t len = 0;
                    mcast_msg_data(msg, &len);
                    printf("object %" PRIu64 " from %s: %zu bytes\n", mcast_msg_object_id(msg), mcast_msg_sender(msg), len);
                    fflush(stdout);
                    if (dir && save(dir, msg) != 0) {
                        rc = 1;
                    }
                    if (++got == count && rc < 0) {
                        rc = 0;
                    }
                } else if (st == MCAST_ERR_ABORTED || st == MCAST_ERR_REJECTED) {
                    fprintf(stderr, "epoll_receiver: %s\n", mcast_last_error());
                } else {
                    fprintf(stderr, "epoll_receiver: %s\n", mcast_last_error());
                    rc = 1;
                }
                mcast_msg_free(msg);
                if (rc >= 0) {
                    break;
                }
            }
        }
    }

    close(ep);
    close(sfd);
    mcast_receiver_free(rx);
    mcast_ctx_free(ctx);
    return rc;
}
