// Known-answer vector generator for mcast's RS8 (FEC encoding ID 5) code.
//
// Drives the *real* libnorm Reed-Solomon encoder/decoder classes so that the
// vectors are independent of our Rust implementation. Debian's libnorm-dev
// ships no internal headers, and libnorm.so hides these classes, but the
// static archive libnorm.a exports them; we declare them here with the same
// virtual interface and member layout as libnorm's include/normEncoder.h and
// include/normEncoderRS8.h (checked against the archive's disassembly:
// NormEncoderRS8 is vptr + 3 x uint32 + pointer = 32 bytes) and link against
// libnorm.a + libprotokit.a.
//
// Output (stdout), one record per case:
//   case <k> <p> <block_len> <seg_len> <seed>
//   <hex of parity segment 0>
//   ...
//   <hex of parity segment p-1>
// Data segments are not stored: both sides regenerate them from the seed with
// the SplitMix64 stream described at fill_block().
//
// For each case we also run libnorm's decoder on an erasure pattern (as many
// leading data segments as there is parity) with parity placed at vector
// positions block_len + i, and abort if it fails to reproduce the data. That
// confirms the receiver-side layout the Rust decoder assumes.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

typedef uint16_t UINT16;
typedef uint8_t UINT8;

class NormEncoder {
  public:
    virtual ~NormEncoder();
    virtual bool Init(unsigned int numData, unsigned int numParity, UINT16 vectorSize) = 0;
    virtual void Destroy() = 0;
    virtual void Encode(unsigned int segmentId, const char* dataVector, char** parityVectorList) = 0;
};

class NormDecoder {
  public:
    virtual ~NormDecoder();
    virtual bool Init(unsigned int numData, unsigned int numParity, UINT16 vectorSize) = 0;
    virtual void Destroy() = 0;
    virtual int Decode(char** vectorList, unsigned int numData, unsigned int erasureCount,
                       unsigned int* erasureLocs) = 0;
};

class NormEncoderRS8 : public NormEncoder {
  public:
    NormEncoderRS8();
    ~NormEncoderRS8();
    virtual bool Init(unsigned int numData, unsigned int numParity, UINT16 vectorSize);
    virtual void Destroy();
    virtual void Encode(unsigned int segmentId, const char* dataVector, char** parityVectorList);

  private:
    // Layout must match libnorm exactly since libnorm's constructor fills it.
    unsigned int ndata;
    unsigned int npar;
    unsigned int vector_size;
    UINT8* enc_matrix;
};

class NormDecoderRS8 : public NormDecoder {
  public:
    NormDecoderRS8();
    virtual ~NormDecoderRS8();
    virtual bool Init(unsigned int numData, unsigned int numParity, UINT16 vectorSize);
    virtual void Destroy();
    virtual int Decode(char** vectorList, unsigned int numData, unsigned int erasureCount,
                       unsigned int* erasureLocs);

  private:
    unsigned int ndata;
    unsigned int npar;
    UINT16 vector_size;
    UINT8* enc_matrix;
    UINT8* dec_matrix;
    unsigned int* parity_loc;
    unsigned int* inv_ndxc;
    unsigned int* inv_ndxr;
    unsigned int* inv_pivt;
    UINT8* inv_id_row;
    UINT8* inv_temp_row;
};

// SplitMix64; the Rust test uses the same generator.
static uint64_t splitmix64(uint64_t& state) {
    state += 0x9E3779B97F4A7C15ULL;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// Segment j, byte b is bits 32..39 of the (j * len + b)-th output of
// SplitMix64 seeded with `seed`.
static std::vector<std::vector<char>> fill_block(unsigned b, unsigned len, uint64_t seed) {
    std::vector<std::vector<char>> data(b, std::vector<char>(len));
    uint64_t st = seed;
    for (unsigned j = 0; j < b; j++)
        for (unsigned i = 0; i < len; i++) data[j][i] = (char)(uint8_t)(splitmix64(st) >> 32);
    return data;
}

static void run_case(unsigned k, unsigned p, unsigned b, unsigned len, uint64_t seed) {
    std::vector<std::vector<char>> data = fill_block(b, len, seed);
    std::vector<std::vector<char>> parity(p, std::vector<char>(len, 0));
    std::vector<char*> parityPtrs(p);
    for (unsigned i = 0; i < p; i++) parityPtrs[i] = parity[i].data();

    // Same calls libnorm's sender makes: Init with the max block length k,
    // then Encode(segmentId, ...) once per data segment actually present.
    NormEncoderRS8 enc;
    if (!enc.Init(k, p, (UINT16)len)) {
        fprintf(stderr, "encoder Init(%u,%u,%u) failed\n", k, p, len);
        exit(1);
    }
    for (unsigned j = 0; j < b; j++) enc.Encode(j, data[j].data(), parityPtrs.data());

    printf("case %u %u %u %u %llu\n", k, p, b, len, (unsigned long long)seed);
    for (unsigned i = 0; i < p; i++) {
        for (unsigned x = 0; x < len; x++) printf("%02x", (unsigned)(uint8_t)parity[i][x]);
        printf("\n");
    }

    // Receiver cross-check with libnorm's decoder: vector list is the block's
    // data segments then its parity segments; erase the first min(p, b) data
    // segments (zeroed, as libnorm's receiver does before decoding).
    unsigned e = p < b ? p : b;
    if (e == 0) return;
    std::vector<std::vector<char>> work(b + p);
    std::vector<char*> vec(b + p);
    std::vector<unsigned int> locs;
    for (unsigned j = 0; j < b; j++) {
        work[j] = data[j];
        if (j < e) {
            memset(work[j].data(), 0, len);
            locs.push_back(j);
        }
    }
    for (unsigned i = 0; i < p; i++) work[b + i] = parity[i];
    for (unsigned x = 0; x < b + p; x++) vec[x] = work[x].data();
    NormDecoderRS8 dec;
    if (!dec.Init(k, p, (UINT16)len)) {
        fprintf(stderr, "decoder Init failed\n");
        exit(1);
    }
    dec.Decode(vec.data(), b, (unsigned)locs.size(), locs.data());
    for (unsigned j = 0; j < e; j++) {
        if (0 != memcmp(work[j].data(), data[j].data(), len)) {
            fprintf(stderr, "libnorm decode mismatch k=%u p=%u b=%u len=%u seg=%u\n", k, p, b, len, j);
            exit(1);
        }
    }
}

int main() {
    struct Case {
        unsigned k, p, b, len;
    };
    // Full and short blocks over the shapes the brief calls out, plus the
    // extremes of the k + p <= 255 range. Lengths cover 1 byte, odd sizes
    // that exercise SIMD tails, and a typical 1400-byte segment.
    static const Case cases[] = {
        {1, 1, 1, 1},      {1, 1, 1, 7},       {1, 1, 1, 1400},  {4, 2, 4, 1},
        {4, 2, 4, 16},     {4, 2, 3, 100},     {4, 2, 1, 33},    {16, 4, 16, 33},
        {16, 4, 16, 1400}, {16, 4, 10, 1400},  {16, 4, 10, 17},  {16, 4, 1, 64},
        {64, 16, 64, 1400}, {64, 16, 37, 64},  {64, 16, 64, 1},  {200, 55, 200, 200},
        {200, 55, 3, 128}, {200, 55, 199, 31}, {128, 127, 128, 32}, {254, 1, 254, 16},
        {1, 254, 1, 8},    {20, 0, 20, 10},    {8, 8, 8, 1024},  {32, 32, 17, 255},
    };
    printf("# RS8 (FEC ID 5) parity from libnorm NormEncoderRS8; see kat.cpp for format\n");
    uint64_t seed = 1;
    for (const Case& c : cases) run_case(c.k, c.p, c.b, c.len, seed++ * 0x1000193ULL);
    return 0;
}
