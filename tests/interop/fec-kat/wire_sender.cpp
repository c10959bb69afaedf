// Sends three DATA objects from a real libnorm sender (FEC ID 5, k = 8,
// p = 4, 100-byte segments, auto parity 4) so the on-wire FEC behaviour can
// be captured: parity symbol ids in short blocks, parity payload lengths and
// the parity bytes themselves. Run only inside a private network namespace
// (wire_capture.sh sets one up).
//
// Usage: wire_sender <interface> <group> <port>
#include <normApi.h>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s <iface> <group> <port>\n", argv[0]);
        return 2;
    }
    NormInstanceHandle inst = NormCreateInstance(false);
    NormSessionHandle s = NormCreateSession(inst, argv[2], (UINT16)atoi(argv[3]), 1);
    if (NORM_SESSION_INVALID == s) return 1;
    NormSetMulticastInterface(s, argv[1]);
    // The capture socket is bound to the same port in the same namespace.
    NormSetRxPortReuse(s, true);
    NormSetTxRate(s, 2.0e6);
    NormSetGrttEstimate(s, 0.01);
    NormSetAutoParity(s, 4);
    if (!NormStartSender(s, 7, 1024 * 1024, 100, 8, 4)) return 1;

    // Object sizes chosen for: two short blocks of 6 with a 37-byte runt
    // (1137 = 11 x 100 + 37, split 6 + 6 by RFC 5052 partitioning), one
    // exactly full block (800), and a single 50-byte segment (parity
    // shorter than the segment size).
    const unsigned sizes[] = {1137, 800, 50};
    std::vector<std::vector<char>> bufs;
    uint32_t x = 0x12345678;
    for (unsigned sz : sizes) {
        std::vector<char> b(sz);
        for (auto& c : b) {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5;
            c = (char)(x >> 24);
        }
        bufs.push_back(b);
    }
    for (auto& b : bufs) NormDataEnqueue(s, b.data(), (unsigned)b.size());

    unsigned sent = 0;
    NormEvent ev;
    while (sent < 3 && NormGetNextEvent(inst, &ev, true)) {
        if (NORM_TX_OBJECT_SENT == ev.type) sent++;
    }
    sleep(1);
    NormStopSender(s);
    NormDestroySession(s);
    NormDestroyInstance(inst);
    return 0;
}
