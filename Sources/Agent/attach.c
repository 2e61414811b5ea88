/*
 * attach.c: the ATTACH front end. swiftleak dlopen's the agent into a running
 * process (RTLD_NOW|RTLD_LOCAL, so it interposes nothing) and calls
 * swiftleak_agent_attach from a thread parked at a safe point.
 *
 * Also the dlopen hook: libraries loaded later are patched as soon as their
 * dlopen returns (the agent thread's dlpi_adds check catches the rest, such
 * as libc's own NSS loads).
 */
#include "agent.h"
#include "sampling.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <string.h>

void sl_register_atfork(void);

void *(*sl_real_dlopen)(const char *, int);

/* Whether calling the real dlopen from inside the agent behaves exactly as
 * the caller's own call would. dlopen searches the CALLER's DT_RPATH /
 * DT_RUNPATH, expands $ORIGIN relative to the caller and loads into the
 * caller's namespace; with the agent as the caller those would change. In
 * those cases the trampoline below jumps to the real dlopen with the
 * caller's return address untouched instead. */
__attribute__((used)) int sl_dlopen_should_wrap(const char *file, int mode, void *caller)
{
    (void)mode;
    if (!file || strchr(file, '$') || !atomic_load(&sl_sess.tracing))
        return 0;
    Dl_info di;
    struct link_map *lm = NULL;
    if (!dladdr1(caller, &di, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
        return 0;
    Lmid_t ns = LM_ID_BASE;
    if (dlinfo(lm, RTLD_DI_LMID, &ns) != 0 || ns != LM_ID_BASE)
        return 0;
    for (const ElfW(Dyn) *d = lm->l_ld; d && d->d_tag != DT_NULL; d++)
        if (d->d_tag == DT_RPATH || d->d_tag == DT_RUNPATH)
            return 0;
    return 1;
}

__attribute__((used)) void *sl_dlopen_wrapped(const char *file, int mode)
{
    void *h = sl_real_dlopen(file, mode);
    if (h && atomic_load(&sl_sess.tracing)) {
        int e = sl_got_patch_all();
        if (e)
            sl_fail(SL_STATUS_HOOK_FAILED, (uint32_t)e);
    }
    return h;
}

/* sl_hook_dlopen(file, mode): decide with the caller's return address, then
 * either call through the wrapper or tail-jump to the real dlopen. */
__asm__(".text\n"
        ".globl sl_hook_dlopen\n"
        ".hidden sl_hook_dlopen\n"
        ".type sl_hook_dlopen, @function\n"
        "sl_hook_dlopen:\n"
        "  .cfi_startproc\n"
        "  pushq %rdi\n"
        "  .cfi_adjust_cfa_offset 8\n"
        "  pushq %rsi\n"
        "  .cfi_adjust_cfa_offset 8\n"
        "  subq $8, %rsp\n"
        "  .cfi_adjust_cfa_offset 8\n"
        "  movq 24(%rsp), %rdx\n"
        "  call sl_dlopen_should_wrap\n"
        "  addq $8, %rsp\n"
        "  .cfi_adjust_cfa_offset -8\n"
        "  popq %rsi\n"
        "  .cfi_adjust_cfa_offset -8\n"
        "  popq %rdi\n"
        "  .cfi_adjust_cfa_offset -8\n"
        "  testl %eax, %eax\n"
        "  jnz sl_dlopen_wrapped\n"
        "  jmp *sl_real_dlopen(%rip)\n"
        "  .cfi_endproc\n"
        ".size sl_hook_dlopen, .-sl_hook_dlopen\n");

static pthread_mutex_t attach_mu = PTHREAD_MUTEX_INITIALIZER;

static int attach_locked(const char *socket_path, uint32_t frames, uint64_t sample_bytes)
{
    if (!socket_path || !*socket_path || sample_bytes > SL_MAX_SAMPLE_BYTES)
        return EINVAL;
    /* A session that is shutting down (its socket may already be closed)
     * is finished for the caller: wait for its thread below. */
    if (atomic_load(&sl_sess.active) && !atomic_load(&sl_sess.closing))
        return EALREADY;
    /* A previous session's thread has finished or is finishing: reap it. */
    if (sl_sess.thread_joinable) {
        pthread_join(sl_sess.thread, NULL);
        sl_sess.thread_joinable = 0;
    }
    int e = sl_real_resolve_default();
    if (e)
        return e;
    if (!sl_real_dlopen) {
        sl_real_dlopen = (void *(*)(const char *, int))dlsym(RTLD_DEFAULT, "dlopen");
        if (!sl_real_dlopen)
            return ENOENT;
    }
    e = sl_got_init();
    if (e)
        return e;
    sl_register_atfork();
    e = sl_sampling_configure(sample_bytes);
    if (e)
        return e;
    e = sl_session_start(socket_path, frames, SL_MODE_ATTACH);
    if (e)
        return e;
    e = sl_got_patch_all();
    if (e) {
        /* Everything patched is restored already; the agent thread sends
         * HOOK_FAILED and closes. Wait for it so a retry starts clean. */
        sl_fail(SL_STATUS_HOOK_FAILED, (uint32_t)e);
        pthread_join(sl_sess.thread, NULL);
        sl_sess.thread_joinable = 0;
        return e;
    }
    return 0;
}

SL_EXPORT int swiftleak_agent_attach(const char *socket_path, uint32_t frames, uint64_t sample_bytes)
{
    int was = sl_guard;
    sl_guard = 1;
    pthread_mutex_lock(&attach_mu);
    int e = attach_locked(socket_path, frames, sample_bytes);
    pthread_mutex_unlock(&attach_mu);
    sl_guard = was;
    return e;
}
