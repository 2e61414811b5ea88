/*
 * unwind_modules.h: the fast unwinder's table of loaded modules: for each,
 * its code span and where its .eh_frame_hdr lookup table is.
 *
 * The table is append-only and an entry is immutable once published, so the
 * hook path reads it without a lock while the agent thread catches up with
 * dlopen/dlclose (entries of modules that may have gone are marked dead, and
 * a table that fills up is replaced, the old one left mapped for readers
 * still in it).
 */
#ifndef SWIFTLEAK_UNWIND_MODULES_H
#define SWIFTLEAK_UNWIND_MODULES_H

#include <stddef.h>
#include <stdint.h>

struct sl_unwind_module {
    uintptr_t text_lo, text_hi;   /* span of the executable PT_LOADs */
    uintptr_t seg_lo, seg_hi;     /* the PT_LOAD holding .eh_frame_hdr: all reads stay here */
    uintptr_t hdr;                /* .eh_frame_hdr */
    uintptr_t table;              /* its sorted (initial_loc, fde) sdata4 pairs */
    uint32_t count;
    _Atomic uint32_t dead;        /* set when the module may have gone (dlclose) */
    uintptr_t base;               /* dlpi_addr, to recognise it on a rescan */
    const void *phdr;
};

/* The live module whose code holds ip, or NULL. Hook-path safe. */
const struct sl_unwind_module *sl_modules_find(uintptr_t ip);
/* Whether a table has been built. */
int sl_modules_ready(void);
/* Whether a module was unloaded since the table was last brought up to
 * date. Takes the loader lock (dl_iterate_phdr), as libunwind does. */
int sl_modules_unloaded_since_scan(void);
/* Whether a module was loaded or unloaded since then. Loader lock too. */
int sl_modules_changed(void);
/* Bring the table up to date with dlopen/dlclose. When modules were
 * unloaded, `forget_unloaded` runs after their entries are retired and
 * before the scan is published (sl_modules_unloaded_since_scan turns false).
 * Callers serialize; not for the hook path. 0 or ENOMEM. */
int sl_modules_rescan(void (*forget_unloaded)(void));

/* Zeroed private pages, or NULL. */
void *sl_map_zero(size_t n);

#endif
