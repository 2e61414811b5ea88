// inline_cxx: leaks through helpers that -O2 inlines, so the symbolizer must
// expand inline levels to name the program's lines. Prints the load address
// of its executable ("base 0x..."), leaks, prints "leaked N", exits 0.
//   - a malloc'd Record in make_record, inlined into keep_record, into handle;
//   - a new int[] in make_counters, inlined into count, into handle;
//   - a std::string in make_name, inlined into remember, into handle.
// handle is a real call from main. Each site's line carries a SITE marker
// the test looks up.
#include <dlfcn.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

struct Record {
    char bytes[48];
};

enum { kUnits = 5000 };
// Not static: the optimizer must keep every store, hence every allocation.
Record *records[kUnits];
int *counters[kUnits];
std::string *names[kUnits];

static inline __attribute__((always_inline)) Record *make_record(int i) {
    auto *record = static_cast<Record *>(std::malloc(sizeof(Record)));  // SITE make_record
    std::memset(record, i & 0xff, sizeof *record);
    return record;
}

static inline __attribute__((always_inline)) void keep_record(int i) {
    records[i] = make_record(i);  // SITE keep_record
}

static inline __attribute__((always_inline)) int *make_counters(int i) {
    int *values = new int[8];  // SITE make_counters
    values[0] = i;
    return values;
}

static inline __attribute__((always_inline)) void count(int i) {
    counters[i] = make_counters(i);  // SITE count
}

static inline __attribute__((always_inline)) std::string *make_name(char c) {
    return new std::string(100, c);  // SITE make_name
}

static inline __attribute__((always_inline)) void remember(int i) {
    names[i] = make_name(static_cast<char>('a' + i % 26));  // SITE remember
}

__attribute__((noinline)) void handle(int i) {
    keep_record(i);  // SITE handle keep_record
    count(i);  // SITE handle count
    remember(i);  // SITE handle remember
}

int main() {
    Dl_info info;
    if (dladdr(reinterpret_cast<void *>(&handle), &info) == 0) return 1;
    std::printf("base %p\n", info.dli_fbase);
    for (int i = 0; i < kUnits; i++) handle(i);  // SITE main
    std::printf("leaked %d\n", kUnits);
    return 0;
}
