// Polymorphic C++ objects kept in a global list, in rounds driven over
// stdin: "work N" adds N shapes::Circle and 2N shapes::Square and answers
// "done N"; "quit" exits 0. Prints "ready" first. `swiftleak types` must
// name them from their vtable pointers.
#include <cstdio>
#include <cstring>
#include <vector>

namespace shapes {
struct Shape {
    virtual ~Shape() {}
    virtual double area() const = 0;
};
struct Circle : Shape {
    double r;
    explicit Circle(double r) : r(r) {}
    double area() const override { return 3.14159 * r * r; }
};
struct Square : Shape {
    double side;
    explicit Square(double side) : side(side) {}
    double area() const override { return side * side; }
};
}  // namespace shapes

static std::vector<shapes::Shape *> all;

int main() {
    all.reserve(1 << 20);  // never grows during the test: blocks change by the shapes alone
    std::printf("ready\n");
    std::fflush(stdout);
    char line[64];
    while (std::fgets(line, sizeof line, stdin)) {
        if (std::strncmp(line, "quit", 4) == 0) break;
        int n = 0;
        if (std::sscanf(line, "work %d", &n) != 1) continue;
        for (int i = 0; i < n; i++) {
            all.push_back(new shapes::Circle(i));
            all.push_back(new shapes::Square(i));
            all.push_back(new shapes::Square(i + 1));
        }
        std::printf("done %d\n", n);
        std::fflush(stdout);
    }
    return 0;
}
