/*
 * mainexit: a process whose main thread leaves with pthread_exit while a
 * worker thread serves. /proc/PID then describes the exited main thread: its
 * status says Z and its maps read empty, yet the process runs on. Ground truth:
 *   - every unit of work leaks exactly one block of 3001 bytes, allocated by
 *     make_ticket() in libmainexit-tickets.so (next to this program), which
 *     the worker dlopens after the main thread has exited.
 *
 * Usage:
 *   mainexit      the main thread starts the worker and calls pthread_exit;
 *                 the worker waits until the main thread is a zombie, loads
 *                 the library, prints "ready", then reads commands from stdin:
 *                   "work N"  leak N blocks, print "done N"
 *                   "quit"    print "leaked N blocks of 3001 bytes", exit 0
 *   The readiness line is the handshake tests synchronise on (no sleeps).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pid_t process_id;
/* Found from argv[0] by the main thread: /proc/self/exe dies with it. */
static char library_path[PATH_MAX];
static void *(*make_ticket)(void);

__attribute__((noinline)) static void *serve_unit(void) {
    return make_ticket();
}

/* The main thread's state letter, from /proc/PID/stat ('?' when unreadable). */
static char main_thread_state(void) {
    char path[64], text[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)process_id);
    FILE *file = fopen(path, "r");
    if (!file) return '?';
    size_t n = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    text[n] = 0;
    char *close = strrchr(text, ')');
    return close && close[1] == ' ' ? close[2] : '?';
}

/* pthread_exit returns nothing to wait on: poll /proc until the kernel shows
   the main thread as a zombie, for at most 10 s. */
static int wait_for_main_thread_exit(void) {
    struct timespec pause = {0, 1000000};
    for (int i = 0; i < 10000; i++) {
        if (main_thread_state() == 'Z') return 0;
        nanosleep(&pause, NULL);
    }
    return -1;
}

static void *worker(void *unused) {
    (void)unused;
    if (wait_for_main_thread_exit() != 0) {
        fprintf(stderr, "mainexit: the main thread did not exit within 10 s\n");
        exit(1);
    }
    void *library = dlopen(library_path, RTLD_NOW);
    make_ticket = library ? (void *(*)(void))dlsym(library, "make_ticket") : NULL;
    if (!make_ticket) {
        fprintf(stderr, "mainexit: cannot load %s: %s\n", library_path, dlerror());
        exit(1);
    }
    printf("ready\n");
    fflush(stdout);
    static void **kept;
    size_t leaked = 0;
    char line[128];
    while (fgets(line, sizeof line, stdin)) {
        unsigned units;
        if (sscanf(line, "work %u", &units) == 1) {
            kept = realloc(kept, (leaked + units) * sizeof *kept);
            for (unsigned i = 0; i < units; i++) kept[leaked++] = serve_unit();
            printf("done %u\n", units);
            fflush(stdout);
        } else if (strncmp(line, "quit", 4) == 0) {
            break;
        }
    }
    printf("leaked %zu blocks of 3001 bytes\n", leaked);
    fflush(stdout);
    exit(0);
}

int main(int argc, char **argv) {
    (void)argc;
    process_id = getpid();
    char program[PATH_MAX];
    snprintf(program, sizeof program, "%s", argv[0]);
    snprintf(library_path, sizeof library_path, "%s/libmainexit-tickets.so", dirname(program));
    pthread_t thread;
    if (pthread_create(&thread, NULL, worker, NULL) != 0) return 1;
    pthread_exit(NULL);
}
