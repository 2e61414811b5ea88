/*
 * rw_mappings.h: the process's readable and writable mappings, as
 * /proc/self/maps listed them at the last scan, for checks on the hook path
 * that a pointer read out of memory (a Swift async context) may be followed.
 */
#ifndef SWIFTLEAK_RW_MAPPINGS_H
#define SWIFTLEAK_RW_MAPPINGS_H

#include <stdint.h>

/* Reads /proc/self/maps into the table now. Not for the hook path (it
 * opens and reads a file); callers serialize (session start, agent thread).
 * 0 or errno. */
int sl_rw_mappings_refresh(void);

/* Agent thread, every loop: scans again when a lookup missed since the last
 * scan, at most every SL_RW_RESCAN_NS. */
void sl_rw_mappings_poll(void);

/* Whether [lo, hi) lies inside one readable, writable mapping of the last
 * scan; if so, *map_lo and *map_hi get that mapping's bounds (a caller with
 * more pointers to check tries them first). A miss asks the agent thread for
 * a new scan (a mapping made since is found after it). Hook-path safe: no
 * system call, no lock, no allocation; a scan in progress makes it answer 0. */
int sl_rw_mapped(uintptr_t lo, uintptr_t hi, uintptr_t *map_lo, uintptr_t *map_hi);

#endif
