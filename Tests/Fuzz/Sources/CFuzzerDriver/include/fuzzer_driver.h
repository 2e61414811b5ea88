/*
 * fuzzer_driver.h: hands a fuzz target's process to libFuzzer.
 *
 * SwiftPM links an executable target with `main` aliased to the target's own
 * entry point, so libFuzzer's `main` is never used: each fuzz target's
 * entry point calls this instead, which runs libFuzzer's driver with the
 * command line (corpus folders, -max_total_time=..., ...).
 */
#ifndef SWIFTLEAK_FUZZER_DRIVER_H
#define SWIFTLEAK_FUZZER_DRIVER_H

#include <stddef.h>
#include <stdint.h>

typedef int (*swiftleak_fuzz_test)(const uint8_t *data, size_t size);

/* Returns libFuzzer's exit status (it exits by itself on a crash). */
int swiftleak_fuzz_main(int argc, char **argv, swiftleak_fuzz_test test);

#endif
