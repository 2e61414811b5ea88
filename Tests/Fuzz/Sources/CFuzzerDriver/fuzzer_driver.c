#include "fuzzer_driver.h"

/* libFuzzer's documented entry for programs that own `main`. */
int LLVMFuzzerRunDriver(int *argc, char ***argv, swiftleak_fuzz_test test);

int swiftleak_fuzz_main(int argc, char **argv, swiftleak_fuzz_test test)
{
    return LLVMFuzzerRunDriver(&argc, &argv, test);
}
