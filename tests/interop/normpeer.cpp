// normpeer -- a small NORM (RFC 5740) peer over NRL's libnorm C API, used by
// the mcast interop tests.  Option names match the mcast CLI.
//
//   normpeer send --group ADDR --port PORT --interface IF [--rate BITS_PER_SEC]
//                 [--segment BYTES] [--block N] [--parity N] [--auto-parity N]
//                 [--data] [--node-id ID] [--grtt SECS] [--robust N]
//                 [--linger SECS] [--buffer BYTES] [--debug N] FILE...
//   normpeer recv --group ADDR --port PORT --interface IF --out DIR
//                 [--count N] [--timeout SECS] [--node-id ID] [--buffer BYTES]
//                 [--sync current|all] [--socket-buffer BYTES] [--debug N]
//
// send: every FILE becomes one NORM FILE object (or, with --data, one DATA
//       object read into memory) whose NORM_INFO is the file's base name.
//       No acking nodes / watermarks: the sender transmits, waits for
//       NORM_TX_QUEUE_EMPTY and NORM_TX_FLUSH_COMPLETED, then lingers for late
//       repairs (any further tx activity restarts the linger) and exits 0.
// recv: writes every completed DATA or FILE object to DIR/NAME, NAME being
//       the sanitized NORM_INFO (fallback "object-N").  Exits 0 after --count
//       objects; exits 1 with a message if --timeout (total seconds, default
//       60) expires first.  Without --count it receives until the timeout and
//       then exits 0.  --socket-buffer sets the UDP receive socket buffer
//       (NormSetRxSocketBuffer, SO_RCVBUF, capped by net.core.rmem_max);
//       without it the kernel default (rmem_default, ~200 KB) overflows at
//       100+ Mbit/s and the receiver loses far more than any injected loss.
//
// Build: tests/interop/build.sh (g++ -O2 normpeer.cpp -lnorm).

#include <normApi.h>

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <string>
#include <vector>

static const char* g_prog = "normpeer";

static void die(const char* fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: error: ", g_prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void note(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", g_prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static double now_s()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(FILE* f)
{
    fprintf(f,
        "usage:\n"
        "  normpeer send --group ADDR --port PORT --interface IF [--rate BITS_PER_SEC]\n"
        "                [--segment BYTES] [--block N] [--parity N] [--auto-parity N]\n"
        "                [--data] [--node-id ID] [--grtt SECS] [--robust N]\n"
        "                [--linger SECS] [--buffer BYTES] [--debug N] FILE...\n"
        "  normpeer recv --group ADDR --port PORT --interface IF --out DIR\n"
        "                [--count N] [--timeout SECS] [--node-id ID] [--buffer BYTES]\n"
        "                [--sync current|all] [--socket-buffer BYTES] [--debug N]\n"
        "defaults: --rate 100000000 --segment 1400 --block 64 --parity 16 --auto-parity 0\n"
        "          --grtt 0.01 --robust 20 --linger 1.0 --buffer 67108864 --timeout 60\n"
        "          --node-id random\n");
}

struct Opts {
    std::string mode;
    std::string group;
    long port = -1;
    std::string iface;
    double rate = 100e6;
    long segment = 1400;
    long block = 64;
    long parity = 16;
    long autoParity = 0;
    bool data = false;
    bool haveNodeId = false;
    unsigned long nodeId = 0;
    double grtt = 0.01;
    long robust = 20;
    double linger = 1.0;
    long buffer = 64L * 1024 * 1024;
    long debug = -1;
    std::string out;
    long count = 0;
    double timeout = 60.0;
    bool syncAll = false;
    long socketBuffer = 0;  // 0: kernel default
    std::vector<std::string> files;
};

static long parse_long(const char* opt, const char* s, long lo, long hi)
{
    char* end = nullptr;
    errno = 0;
    long v = strtol(s, &end, 0);
    if (errno || end == s || *end != '\0' || v < lo || v > hi)
        die("invalid value '%s' for %s (expected an integer in %ld..%ld)", s, opt, lo, hi);
    return v;
}

static double parse_double(const char* opt, const char* s, double lo, double hi)
{
    char* end = nullptr;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !(v >= lo && v <= hi))
        die("invalid value '%s' for %s (expected a number in %g..%g)", s, opt, lo, hi);
    return v;
}

static Opts parse_args(int argc, char** argv)
{
    Opts o;
    if (argc < 2) {
        usage(stderr);
        exit(2);
    }
    o.mode = argv[1];
    if (o.mode == "-h" || o.mode == "--help") {
        usage(stdout);
        exit(0);
    }
    if (o.mode != "send" && o.mode != "recv") {
        usage(stderr);
        die("unknown mode '%s' (expected send or recv)", argv[1]);
    }
    bool send = o.mode == "send";
    for (int i = 2; i < argc; i++) {
        std::string a = argv[i];
        std::string val;
        bool inlineVal = false;
        size_t eq = a.find('=');
        if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
            val = a.substr(eq + 1);
            a = a.substr(0, eq);
            inlineVal = true;
        }
        auto need = [&](void) -> const char* {
            if (inlineVal) return strdup(val.c_str());
            if (i + 1 >= argc) die("option %s needs a value", a.c_str());
            return argv[++i];
        };
        const char* opt = a.c_str();
        if (a == "--group") o.group = need();
        else if (a == "--port") o.port = parse_long(opt, need(), 1, 65535);
        else if (a == "--interface") o.iface = need();
        else if (a == "--node-id") {
            o.nodeId = (unsigned long)parse_long(opt, need(), 1, 0xfffffffeL);
            o.haveNodeId = true;
        }
        else if (a == "--buffer") o.buffer = parse_long(opt, need(), 65536, 0x7fffffffL);
        else if (a == "--debug") o.debug = parse_long(opt, need(), 0, 12);
        else if (send && a == "--rate") o.rate = parse_double(opt, need(), 1000, 100e9);
        else if (send && a == "--segment") o.segment = parse_long(opt, need(), 64, 8972);
        else if (send && a == "--block") o.block = parse_long(opt, need(), 1, 255);
        else if (send && a == "--parity") o.parity = parse_long(opt, need(), 0, 254);
        else if (send && a == "--auto-parity") o.autoParity = parse_long(opt, need(), 0, 254);
        else if (send && a == "--data" && !inlineVal) o.data = true;
        else if (send && a == "--grtt") o.grtt = parse_double(opt, need(), 1e-6, 10);
        else if (send && a == "--robust") o.robust = parse_long(opt, need(), -1, 1000);
        else if (send && a == "--linger") o.linger = parse_double(opt, need(), 0, 3600);
        else if (!send && a == "--out") o.out = need();
        else if (!send && a == "--count") o.count = parse_long(opt, need(), 0, 1000000);
        else if (!send && a == "--sync") {
            std::string v = need();
            if (v == "all") o.syncAll = true;
            else if (v == "current") o.syncAll = false;
            else die("--sync must be 'current' or 'all'");
        }
        else if (!send && a == "--socket-buffer") o.socketBuffer = parse_long(opt, need(), 4096, 0x7fffffffL);
        else if (!send && a == "--timeout") o.timeout = parse_double(opt, need(), 0.001, 1e6);
        else if (a == "-h" || a == "--help") {
            usage(stdout);
            exit(0);
        }
        else if (a == "--") {
            for (i++; i < argc; i++) o.files.push_back(argv[i]);
        }
        else if (a.rfind("-", 0) == 0 && a.size() > 1) die("unknown option '%s' for %s", argv[i], o.mode.c_str());
        else if (send) o.files.push_back(argv[i]);
        else die("unexpected argument '%s' for recv", argv[i]);
    }
    if (o.group.empty()) die("--group is required");
    if (o.port < 0) die("--port is required");
    if (o.iface.empty()) die("--interface is required");
    if (send) {
        if (o.files.empty()) die("send needs at least one FILE");
        if (o.block + o.parity > 255) die("--block + --parity must be <= 255 (8-bit Reed-Solomon)");
        if (o.autoParity > o.parity) die("--auto-parity (%ld) must not exceed --parity (%ld)", o.autoParity, o.parity);
    } else {
        if (o.out.empty()) die("recv needs --out DIR");
    }
    return o;
}

static NormNodeId random_node_id()
{
    NormNodeId id = 0;
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd >= 0) {
        if (read(fd, &id, sizeof(id)) != (ssize_t)sizeof(id)) id = 0;
        close(fd);
    }
    if (id == 0) id = (NormNodeId)(getpid() * 2654435761u) ^ (NormNodeId)time(nullptr);
    if (id == 0 || id == 0xffffffffu) id = 0x6d636173; // "mcas"
    return id;
}

static std::string base_name(const std::string& path)
{
    std::string p = path;
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    size_t s = p.rfind('/');
    return s == std::string::npos ? p : p.substr(s + 1);
}

// NORM_INFO -> safe file name: no '/', no '..', no control chars, not empty.
static std::string sanitize_name(const std::string& raw, unsigned long fallbackIndex)
{
    std::string n = raw;
    while (!n.empty() && n.back() == '\0') n.pop_back(); // tolerate C-string infos
    for (char& c : n) {
        unsigned char u = (unsigned char)c;
        if (c == '/' || c == '\\' || u < 0x20 || u == 0x7f) c = '_';
    }
    size_t p;
    while ((p = n.find("..")) != std::string::npos) n.replace(p, 2, "__");
    if (n.empty() || n == "." || n.size() > 255) {
        char buf[64];
        snprintf(buf, sizeof(buf), "object-%lu", fallbackIndex);
        n = buf;
    }
    return n;
}

static NormInstanceHandle make_instance(const Opts& o)
{
    if (o.debug >= 0) NormSetDebugLevel((unsigned)o.debug);
    NormInstanceHandle inst = NormCreateInstance();
    if (inst == NORM_INSTANCE_INVALID) die("NormCreateInstance failed");
    return inst;
}

static NormSessionHandle make_session(NormInstanceHandle inst, const Opts& o, NormNodeId id)
{
    NormSessionHandle s = NormCreateSession(inst, o.group.c_str(), (UINT16)o.port, id);
    if (s == NORM_SESSION_INVALID)
        die("NormCreateSession(%s, %ld) failed (bad group address?)", o.group.c_str(), o.port);
    if (NormIsUnicastAddress(o.group.c_str()))
        note("warning: %s is not a multicast address", o.group.c_str());
    if (!NormSetMulticastInterface(s, o.iface.c_str()))
        die("NormSetMulticastInterface(%s) failed", o.iface.c_str());
    // Lets a sender and receivers share one host/namespace.
    NormSetRxPortReuse(s, true);
    NormSetMulticastLoopback(s, false);
    return s;
}

// Wait up to `timeout` seconds for the next NORM event; false on timeout.
static bool next_event(NormInstanceHandle inst, NormEvent* ev, double timeout)
{
    if (NormGetNextEvent(inst, ev, false)) return true;
    struct pollfd pfd;
    pfd.fd = NormGetDescriptor(inst);
    pfd.events = POLLIN;
    int ms = timeout <= 0 ? 0 : (int)(timeout * 1000.0) + 1;
    int r = poll(&pfd, 1, ms);
    if (r < 0 && errno != EINTR) die("poll: %s", strerror(errno));
    if (r <= 0) return false;
    return NormGetNextEvent(inst, ev, false);
}

static const char* event_name(NormEventType t)
{
    switch (t) {
        case NORM_TX_QUEUE_VACANCY: return "TX_QUEUE_VACANCY";
        case NORM_TX_QUEUE_EMPTY: return "TX_QUEUE_EMPTY";
        case NORM_TX_FLUSH_COMPLETED: return "TX_FLUSH_COMPLETED";
        case NORM_TX_WATERMARK_COMPLETED: return "TX_WATERMARK_COMPLETED";
        case NORM_TX_CMD_SENT: return "TX_CMD_SENT";
        case NORM_TX_OBJECT_SENT: return "TX_OBJECT_SENT";
        case NORM_TX_OBJECT_PURGED: return "TX_OBJECT_PURGED";
        case NORM_TX_RATE_CHANGED: return "TX_RATE_CHANGED";
        case NORM_LOCAL_SENDER_CLOSED: return "LOCAL_SENDER_CLOSED";
        case NORM_REMOTE_SENDER_NEW: return "REMOTE_SENDER_NEW";
        case NORM_REMOTE_SENDER_RESET: return "REMOTE_SENDER_RESET";
        case NORM_REMOTE_SENDER_ADDRESS: return "REMOTE_SENDER_ADDRESS";
        case NORM_REMOTE_SENDER_ACTIVE: return "REMOTE_SENDER_ACTIVE";
        case NORM_REMOTE_SENDER_INACTIVE: return "REMOTE_SENDER_INACTIVE";
        case NORM_REMOTE_SENDER_PURGED: return "REMOTE_SENDER_PURGED";
        case NORM_RX_CMD_NEW: return "RX_CMD_NEW";
        case NORM_RX_OBJECT_NEW: return "RX_OBJECT_NEW";
        case NORM_RX_OBJECT_INFO: return "RX_OBJECT_INFO";
        case NORM_RX_OBJECT_UPDATED: return "RX_OBJECT_UPDATED";
        case NORM_RX_OBJECT_COMPLETED: return "RX_OBJECT_COMPLETED";
        case NORM_RX_OBJECT_ABORTED: return "RX_OBJECT_ABORTED";
        case NORM_RX_ACK_REQUEST: return "RX_ACK_REQUEST";
        case NORM_GRTT_UPDATED: return "GRTT_UPDATED";
        case NORM_CC_ACTIVE: return "CC_ACTIVE";
        case NORM_CC_INACTIVE: return "CC_INACTIVE";
        case NORM_ACKING_NODE_NEW: return "ACKING_NODE_NEW";
        case NORM_SEND_ERROR: return "SEND_ERROR";
        case NORM_USER_TIMEOUT: return "USER_TIMEOUT";
        default: return "EVENT_INVALID";
    }
}

static bool verbose()
{
    const char* v = getenv("NORMPEER_VERBOSE");
    return v && *v && strcmp(v, "0") != 0;
}

// ------------------------------------------------------------------ send

static bool read_file(const std::string& path, std::vector<char>& buf)
{
    FILE* f = fopen(path.c_str(), "rb");
    if (!f) return false;
    buf.clear();
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) buf.insert(buf.end(), tmp, tmp + n);
    bool ok = !ferror(f);
    fclose(f);
    return ok;
}

static int do_send(const Opts& o)
{
    // Check all inputs before touching the network.
    for (const std::string& f : o.files) {
        struct stat st;
        if (stat(f.c_str(), &st) != 0) die("cannot read %s: %s", f.c_str(), strerror(errno));
        if (!S_ISREG(st.st_mode)) die("%s is not a regular file", f.c_str());
        if (o.data && st.st_size > 0xffffffffLL) die("%s is too large for a DATA object", f.c_str());
        if (access(f.c_str(), R_OK) != 0) die("cannot read %s: %s", f.c_str(), strerror(errno));
    }

    NormNodeId id = o.haveNodeId ? (NormNodeId)o.nodeId : random_node_id();
    NormInstanceHandle inst = make_instance(o);
    NormSessionHandle s = make_session(inst, o, id);

    NormSetTxRate(s, o.rate);
    NormSetGrttEstimate(s, o.grtt);
    NormSetTxRobustFactor(s, (int)o.robust);
    NormSessionId instanceId = NormGetRandomSessionId();
    if (!NormStartSender(s, instanceId, (UINT32)o.buffer, (UINT16)o.segment, (UINT16)o.block,
                         (UINT16)o.parity))
        die("NormStartSender failed (group %s port %ld interface %s)", o.group.c_str(), o.port,
            o.iface.c_str());
    NormSetAutoParity(s, (unsigned char)o.autoParity);
    note("send: group %s port %ld interface %s node-id %u rate %.0f bit/s segment %ld block %ld "
         "parity %ld auto-parity %ld, %zu %s object(s)",
         o.group.c_str(), o.port, o.iface.c_str(), (unsigned)id, o.rate, o.segment, o.block,
         o.parity, o.autoParity, o.files.size(), o.data ? "DATA" : "FILE");

    std::vector<std::vector<char>> bufs(o.files.size()); // DATA objects live until exit
    size_t next = 0;
    bool queueEmpty = false, flushed = false;
    double lingerUntil = -1;
    double t0 = now_s();
    bool vb = verbose();

    auto enqueue_more = [&]() {
        while (next < o.files.size()) {
            const std::string& path = o.files[next];
            std::string info = base_name(path);
            NormObjectHandle h;
            if (o.data) {
                if (bufs[next].empty() && !read_file(path, bufs[next]) )
                    die("cannot read %s: %s", path.c_str(), strerror(errno));
                // An empty vector has no data(); hand libnorm a valid pointer.
                static const char empty[1] = {0};
                const char* p = bufs[next].empty() ? empty : bufs[next].data();
                h = NormDataEnqueue(s, p, (UINT32)bufs[next].size(), info.data(),
                                    (unsigned)info.size());
            } else {
                h = NormFileEnqueue(s, path.c_str(), info.data(), (unsigned)info.size());
            }
            if (h == NORM_OBJECT_INVALID) {
                if (o.data || access(path.c_str(), R_OK) == 0) return; // queue full: retry on vacancy
                die("NormFileEnqueue(%s) failed", path.c_str());
            }
            note("enqueued %s (%s)", path.c_str(), info.c_str());
            next++;
            queueEmpty = flushed = false;
        }
    };
    enqueue_more();
    int stuck = 0;

    for (;;) {
        double wait = 1.0;
        if (lingerUntil > 0) {
            wait = lingerUntil - now_s();
            if (wait <= 0) break;
        }
        NormEvent ev;
        if (!next_event(inst, &ev, wait)) {
            if (next < o.files.size()) {
                // Still waiting for queue room; try again, give up eventually.
                enqueue_more();
                if (next < o.files.size() && ++stuck > 120)
                    die("could not enqueue %s: tx queue stays full (or enqueue keeps failing)",
                        o.files[next].c_str());
            }
            continue;
        }
        if (vb) note("event %s", event_name(ev.type));
        switch (ev.type) {
            case NORM_TX_QUEUE_VACANCY:
                enqueue_more();
                break;
            case NORM_TX_QUEUE_EMPTY:
                enqueue_more();
                if (next == o.files.size()) queueEmpty = true;
                if (lingerUntil > 0) lingerUntil = now_s() + o.linger; // repairs happening
                break;
            case NORM_TX_FLUSH_COMPLETED:
                if (next == o.files.size() && queueEmpty) {
                    if (!flushed) note("flush completed after %.2f s; lingering %.1f s for repairs",
                                       now_s() - t0, o.linger);
                    flushed = true;
                    lingerUntil = now_s() + o.linger;
                }
                break;
            case NORM_TX_OBJECT_SENT:
                if (lingerUntil > 0) lingerUntil = now_s() + o.linger;
                break;
            case NORM_SEND_ERROR:
                die("NORM_SEND_ERROR: sending to %s port %ld on %s failed", o.group.c_str(), o.port,
                    o.iface.c_str());
            case NORM_LOCAL_SENDER_CLOSED:
                die("local sender closed unexpectedly");
            default:
                break;
        }
    }
    note("send: done in %.2f s", now_s() - t0);
    NormStopSender(s);
    NormDestroySession(s);
    NormDestroyInstance(inst);
    return 0;
}

// ------------------------------------------------------------------ recv

static bool write_all(const std::string& path, const char* p, size_t n)
{
    std::string tmp = path + ".part";
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return false;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            close(fd);
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    if (close(fd) != 0) return false;
    return rename(tmp.c_str(), path.c_str()) == 0;
}

static void remove_tree_files(const std::string& dir)
{
    DIR* d = opendir(dir.c_str());
    if (!d) return;
    struct dirent* e;
    while ((e = readdir(d)) != nullptr) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        unlink((dir + "/" + e->d_name).c_str());
    }
    closedir(d);
    rmdir(dir.c_str());
}

static int do_recv(const Opts& o)
{
    if (mkdir(o.out.c_str(), 0755) != 0 && errno != EEXIST)
        die("cannot create --out %s: %s", o.out.c_str(), strerror(errno));
    struct stat st;
    if (stat(o.out.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) die("--out %s is not a directory", o.out.c_str());
    // Cache directory on the same file system so completed files can be renamed.
    char cbuf[64];
    snprintf(cbuf, sizeof(cbuf), "/.normpeer-cache-%d", (int)getpid());
    std::string cache = o.out + cbuf;
    if (mkdir(cache.c_str(), 0700) != 0 && errno != EEXIST)
        die("cannot create cache directory %s: %s", cache.c_str(), strerror(errno));

    NormNodeId id = o.haveNodeId ? (NormNodeId)o.nodeId : random_node_id();
    NormInstanceHandle inst = make_instance(o);
    if (!NormSetCacheDirectory(inst, (cache + "/").c_str())) die("NormSetCacheDirectory(%s) failed", cache.c_str());
    NormSessionHandle s = make_session(inst, o, id);
    // NORM_SYNC_CURRENT is libnorm's default.  NORM_SYNC_ALL (--sync all) made
    // receivers NACK for objects before the first one, and libnorm 1.5.9's
    // sender then sometimes crashed (SIGSEGV in its bitmask code).
    NormSetDefaultSyncPolicy(s, o.syncAll ? NORM_SYNC_ALL : NORM_SYNC_CURRENT);
    if (!NormStartReceiver(s, (UINT32)o.buffer))
        die("NormStartReceiver failed (group %s port %ld interface %s)", o.group.c_str(), o.port,
            o.iface.c_str());
    // libnorm applies this to its open receive socket(s): call after the start.
    if (o.socketBuffer > 0 && !NormSetRxSocketBuffer(s, (unsigned int)o.socketBuffer))
        die("NormSetRxSocketBuffer(%ld) failed", o.socketBuffer);
    note("recv: group %s port %ld interface %s node-id %u out %s count %ld timeout %.1f s%s",
         o.group.c_str(), o.port, o.iface.c_str(), (unsigned)id, o.out.c_str(), o.count, o.timeout,
         o.socketBuffer > 0 ? " (socket buffer set)" : "");

    double t0 = now_s(), deadline = t0 + o.timeout;
    long done = 0, aborted = 0;
    unsigned long seq = 0;
    bool vb = verbose();
    int rc = 0;
    for (;;) {
        if (o.count > 0 && done >= o.count) break;
        double wait = deadline - now_s();
        if (wait <= 0) {
            if (o.count > 0) {
                fprintf(stderr, "%s: error: timeout after %.1f s: received %ld of %ld object(s)%s\n",
                        g_prog, o.timeout, done, o.count,
                        aborted ? " (some objects were aborted by libnorm)" : "");
                rc = 1;
            }
            break;
        }
        NormEvent ev;
        if (!next_event(inst, &ev, wait)) continue;
        if (vb) note("event %s", event_name(ev.type));
        switch (ev.type) {
            case NORM_REMOTE_SENDER_NEW: {
                note("new remote sender node-id %u", (unsigned)NormNodeGetId(ev.sender));
                break;
            }
            case NORM_RX_OBJECT_NEW: {
                NormObjectType t = NormObjectGetType(ev.object);
                if (t == NORM_OBJECT_STREAM) {
                    note("ignoring a STREAM object");
                    NormObjectCancel(ev.object);
                }
                break;
            }
            case NORM_RX_OBJECT_COMPLETED: {
                seq++;
                NormObjectType t = NormObjectGetType(ev.object);
                std::string info;
                UINT16 ilen = NormObjectGetInfoLength(ev.object);
                if (ilen > 0) {
                    info.resize(ilen);
                    ilen = NormObjectGetInfo(ev.object, &info[0], ilen);
                    info.resize(ilen);
                }
                std::string name = sanitize_name(info, seq);
                std::string path = o.out + "/" + name;
                long long size = (long long)NormObjectGetSize(ev.object);
                if (t == NORM_OBJECT_DATA) {
                    const char* p = NormDataAccessData(ev.object);
                    if (!p && size > 0) die("completed DATA object %s has no data", name.c_str());
                    if (!write_all(path, p, (size_t)size))
                        die("cannot write %s: %s", path.c_str(), strerror(errno));
                } else if (t == NORM_OBJECT_FILE) {
                    if (!NormFileRename(ev.object, path.c_str())) {
                        char fname[4096] = {0};
                        NormFileGetName(ev.object, fname, sizeof(fname) - 1);
                        die("NormFileRename(%s -> %s) failed", fname, path.c_str());
                    }
                } else {
                    note("ignoring completed object of type %d", (int)t);
                    break;
                }
                done++;
                printf("received %s %s (%lld bytes) -> %s\n", t == NORM_OBJECT_DATA ? "DATA" : "FILE",
                       name.c_str(), size, path.c_str());
                fflush(stdout);
                break;
            }
            case NORM_RX_OBJECT_ABORTED:
                aborted++;
                note("warning: libnorm aborted an object (%lld bytes pending)",
                     (long long)NormObjectGetBytesPending(ev.object));
                break;
            default:
                break;
        }
    }
    note("recv: %ld object(s) in %.2f s", done, now_s() - t0);
    NormStopReceiver(s);
    NormDestroySession(s);
    NormDestroyInstance(inst);
    remove_tree_files(cache);
    return rc;
}

int main(int argc, char** argv)
{
    setvbuf(stderr, nullptr, _IOLBF, 0);
    Opts o = parse_args(argc, argv);
    return o.mode == "send" ? do_send(o) : do_recv(o);
}
