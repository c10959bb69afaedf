// cxx_header.cpp -- mcast.h compiles as C++ (g++ -std=c++17 -Wall -Wextra
// -Wpedantic -Werror) and links: the inline helpers, enums and structs work
// from C++. Prints "cxx_header: ok" and exits 0. Sends nothing.
#include <mcast.h>
#include <mcast.h> // the include guard covers the inline helpers too

#include <cstdio>
#include <cstring>
#include <string>

int main()
{
    std::string want = std::to_string(MCAST_VERSION_MAJOR) + "." + std::to_string(MCAST_VERSION_MINOR) + "." +
                       std::to_string(MCAST_VERSION_PATCH);
    if (want != mcast_version()) {
        std::fprintf(stderr, "cxx_header: version %s, header says %s\n", mcast_version(), want.c_str());
        return 1;
    }
    mcast_config cfg;
    mcast_sender_config scfg;
    mcast_receiver_config rcfg;
    if (mcast_config_init(&cfg) != MCAST_OK || mcast_sender_config_init(&scfg) != MCAST_OK ||
        mcast_receiver_config_init(&rcfg) != MCAST_OK || rcfg.sync_policy != MCAST_SYNC_ALL) {
        std::fprintf(stderr, "cxx_header: config init failed: %s\n", mcast_last_error());
        return 1;
    }
    mcast_ctx *ctx = nullptr;
    mcast_status st = mcast_ctx_new(&cfg, &ctx);
    if (st != MCAST_OK) {
        std::fprintf(stderr, "cxx_header: %s\n", mcast_last_error());
        return 1;
    }
    mcast_sender *s = nullptr;
    st = mcast_sender_new(ctx, "ff3e::1", 5000, "no-such-if9", &scfg, &s);
    bool ok = st == MCAST_ERR_NO_SUCH_INTERFACE && s == nullptr && std::strstr(mcast_last_error(), "no-such-if9");
    mcast_sender_stats stats;
    ok = ok && mcast_sender_get_stats(s, &stats) == MCAST_ERR_INVALID_ARGUMENT;
    mcast_ctx_free(ctx);
    std::printf("cxx_header: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
