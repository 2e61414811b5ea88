// std_cxx: a C++ program whose leaks are allocated inside the standard
// library, built optimized (`-O2 -g`) so the library's code is partly
// inlined into the program and partly called in libstdc++.so. Every session
// keeps, in a registry that is never freed:
//   - a 40-character std::string (one block of 41 bytes, allocated by
//     basic_string's constructor, out of line in libstdc++),
//   - a std::vector<long> grown by push_back to 100 elements (the live block
//     is the last growth's: 128 elements, 1024 bytes),
//   - a std::make_shared<Session> (one block: the control block and the
//     Session together).
// Each allocation site is one line of open_session, marked below.
// Usage: std_cxx SESSIONS
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

struct Session {
    long id;
    char payload[200];
};

struct Entry {
    std::string label;
    std::vector<long> samples;
    std::shared_ptr<Session> session;
};

static const char *const kLabel = "session label, forty characters long....";

__attribute__((noinline)) static Entry open_session(long id) {
    Entry entry;
    entry.label = std::string(kLabel);  // string site
    for (long i = 0; i < 100; i++) {
        entry.samples.push_back(id + i);  // vector site
    }
    entry.session = std::make_shared<Session>();  // shared site
    entry.session->id = id;
    return entry;
}

int main(int argc, char **argv) {
    long sessions = argc > 1 ? std::atol(argv[1]) : 100;
    // Never freed, as in a server that exits without cleaning up.
    auto *registry = new std::vector<Entry>();
    registry->reserve(sessions);
    for (long id = 0; id < sessions; id++) {
        registry->push_back(open_session(id));
    }
    std::printf("leaked %zu sessions\n", registry->size());
    return 0;
}
