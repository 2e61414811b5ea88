// exceptions: throws C++ exceptions through several frames and catches them.
// Its output must be the same with and without swiftleak: the agent must not
// replace the program's unwinder.
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

__attribute__((noinline)) static int level3(int i) {
    auto owned = std::make_unique<std::vector<int>>(100, i);
    if (i % 3 == 0) throw std::runtime_error("level3 failed for " + std::to_string(i));
    return (*owned)[0];
}

__attribute__((noinline)) static int level2(int i) {
    std::string label = "level2-" + std::to_string(i);
    return level3(i) + static_cast<int>(label.size());
}

__attribute__((noinline)) static int level1(int i) {
    try {
        return level2(i);
    } catch (const std::logic_error &) {
        return -1;  // never: level3 throws runtime_error
    }
}

int main() {
    long sum = 0;
    int caught = 0;
    for (int i = 0; i < 3000; i++) {
        try {
            sum += level1(i);
        } catch (const std::runtime_error &error) {
            caught++;
            if (i < 7) std::printf("caught: %s\n", error.what());
        }
    }
    std::printf("caught %d exceptions, sum %ld\n", caught, sum);
    return caught == 1000 ? 0 : 1;
}
