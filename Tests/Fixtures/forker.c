/*
 * forker: a pre-fork server in miniature, for `swiftleak run --follow-forks`.
 *
 *   forker WORKERS [nested|_exit]
 *
 * The parent leaks 7 blocks of 777 bytes (parent_leak), then forks WORKERS
 * workers. Worker i (0-based) leaks 25 * (i + 1) blocks of 3000 + i bytes
 * (worker_leak), frees everything else it allocates, prints
 * "worker I pid P leaked N blocks of S bytes" and exits 0. With "nested",
 * worker 0 first forks a grandchild that leaks 5 blocks of 5555 bytes
 * (grandchild_leak) and prints "grandchild pid P leaked 5 blocks of 5555 bytes".
 * With "_exit", children leave with _exit(0), skipping atexit and destructors
 * (as Python's multiprocessing workers do with os._exit).
 * The parent waits for every worker, prints "parent done" and exits 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void *kept[1024];   /* global: the leaks stay reachable, never optimized away */
int nkept;

static void parent_leak(void)
{
    for (int i = 0; i < 7; i++)
        kept[nkept++] = malloc(777);
}

static void churn(int rounds)
{
    for (int i = 0; i < rounds; i++) {
        char *p = malloc(64 + (size_t)i);
        memset(p, i, 64);
        free(p);
    }
}

static void worker_leak(int blocks, size_t size)
{
    for (int i = 0; i < blocks; i++) {
        char *p = malloc(size);
        memset(p, 1, size);
        kept[nkept++] = p;
    }
}

static void grandchild_leak(void)
{
    for (int i = 0; i < 5; i++)
        kept[nkept++] = malloc(5555);
}

static int quick_exit_children;

static pid_t spawn(void (*body)(int), int arg)
{
    fflush(NULL);   /* nothing buffered is printed twice */
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        body(arg);
        fflush(NULL);
        if (quick_exit_children)
            _exit(0);
        exit(0);
    }
    return pid;
}

static int wait_for(pid_t pid)
{
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "forker: child %d failed\n", (int)pid);
        return 1;
    }
    return 0;
}

static void grandchild(int unused)
{
    (void)unused;
    churn(100);
    grandchild_leak();
    printf("grandchild pid %d leaked 5 blocks of 5555 bytes\n", (int)getpid());
}

static int nested;

static void worker(int index)
{
    int failed = 0;
    if (nested && index == 0)
        failed = wait_for(spawn(grandchild, 0));
    churn(200);
    int blocks = 25 * (index + 1);
    size_t size = 3000 + (size_t)index;
    worker_leak(blocks, size);
    printf("worker %d pid %d leaked %d blocks of %zu bytes\n", index, (int)getpid(), blocks, size);
    if (failed)
        exit(1);
}

int main(int argc, char **argv)
{
    int workers = argc > 1 ? atoi(argv[1]) : 0;
    nested = argc > 2 && strcmp(argv[2], "nested") == 0;
    quick_exit_children = argc > 2 && strcmp(argv[2], "_exit") == 0;
    if (workers < 1 || workers > 16 || (argc > 2 && !nested && !quick_exit_children) || argc > 3) {
        fprintf(stderr, "usage: forker WORKERS(1-16) [nested|_exit]\n");
        return 2;
    }
    parent_leak();
    pid_t pids[16];
    for (int i = 0; i < workers; i++)
        pids[i] = spawn(worker, i);
    int failed = 0;
    for (int i = 0; i < workers; i++)
        failed |= wait_for(pids[i]);
    printf("parent done\n");
    return failed;
}
