/*
 * swiftleak_protocol.h: the event stream between the agent (inside the
 * target) and the aggregator (inside swiftleak). This header is the single
 * definition of the wire format; the C agent and the Swift decoder both
 * include it.
 *
 * Transport: a Unix stream socket. The agent connects, sends one sl_hello,
 * then a sequence of frames. swiftleak sends commands back on the same socket,
 * framed the same way.
 *
 * Every frame is an sl_frame_header followed by `size` payload bytes, so a
 * reader can skip a record type it does not know. A frame larger than
 * SL_FRAME_MAX_PAYLOAD, or a known record whose payload is shorter than its
 * struct, is a broken stream: the reader stops with an error.
 *
 * Everything is little-endian (the agent only runs on the host it was built
 * for; the Swift side decodes explicitly as little-endian).
 *
 * Ordering: the agent emits records in the order the events happened in the
 * target. A free is sequenced before the real free runs and an allocation
 * after the real allocator returned, so an address handed out again by
 * another thread can never be seen before its previous free.
 */
#ifndef SWIFTLEAK_PROTOCOL_H
#define SWIFTLEAK_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#define SL_HELLO_MAGIC "SWLKEVT1"      /* 8 bytes, no terminator on the wire */
#define SL_PROTOCOL_VERSION 2u
#define SL_FRAME_MAX_PAYLOAD (1u << 20)
#define SL_MAX_FRAMES 256u            /* deepest stack the agent will send */

/* How the agent came to be in the target. */
enum sl_mode {
    SL_MODE_PRELOAD = 1,   /* LD_PRELOAD by `swiftleak run` */
    SL_MODE_ATTACH = 2,    /* injected by `swiftleak attach`, GOT slots patched */
};

/* First bytes the agent sends after connecting. */
struct sl_hello {
    char magic[8];          /* SL_HELLO_MAGIC */
    uint32_t version;       /* SL_PROTOCOL_VERSION */
    uint32_t hello_size;    /* sizeof(struct sl_hello) of the sender; a reader skips bytes it does not know */
    uint32_t pid;           /* getpid() of the target */
    uint32_t mode;          /* enum sl_mode */
    uint32_t frames_max;    /* stack depth the agent captures */
    uint32_t sample_bytes;  /* 0: every allocation; else mean bytes between samples (sampled mode) */
    uint64_t start_ns;      /* CLOCK_REALTIME when tracing started, ns */
};

struct sl_frame_header {
    uint32_t size;          /* payload bytes that follow this header */
    uint16_t type;          /* enum sl_record_type or enum sl_command_type */
    uint16_t flags;         /* 0; reserved */
};

/* agent -> swiftleak */
enum sl_record_type {
    SL_REC_ALLOC = 1,       /* struct sl_rec_alloc */
    SL_REC_FREE = 2,        /* struct sl_rec_free */
    SL_REC_STACK = 3,       /* struct sl_rec_stack, then `depth` uint64_t return addresses */
    SL_REC_SYNC = 4,        /* struct sl_rec_sync: every event before it has been sent */
    SL_REC_STATUS = 5,      /* struct sl_rec_status: the agent stopped tracing, and why */
    SL_REC_EXITING = 6,     /* struct sl_rec_exiting: the process is exiting, all is sent */
    SL_REC_PYTHON = 7,      /* struct sl_rec_python: what became of CPython's object allocators */
    SL_REC_COLLECTED = 8,   /* struct sl_rec_collected: answer to SL_CMD_COLLECT */
    SL_REC_PAIRS = 9,       /* struct sl_rec_pairs: blocks allocated and freed again, counted, not sent */
    SL_REC_PEAK = 10,       /* struct sl_rec_peak: how high the live totals went with allocations held back */
    SL_REC_RETAG = 11,      /* struct sl_rec_retag: a live block was handed out again without an allocator call */
};

/* A block came into existence. `stack_id` was sent in an SL_REC_STACK first. */
struct sl_rec_alloc {
    uint64_t address;
    uint64_t size;          /* bytes requested by the caller */
    uint32_t stack_id;
    uint32_t reserved;
};

/* A block was released (free, or the old block of a realloc). */
struct sl_rec_free {
    uint64_t address;
};

/* Most blocks die young. The agent holds the newest allocations back for
 * a moment (its pair window, Sources/Agent/pair_window.h); one whose free
 * arrives first never goes on the wire as ALLOC and FREE. Instead, `count`
 * such blocks of `size` bytes from `stack_id` are counted here, once per
 * batch: they were allocated and freed (allocation and free counters,
 * the stack's allocated blocks and bytes), and were never live at a
 * snapshot. A record's place in the stream does not matter, only that it
 * comes before the next SL_REC_SYNC, SL_REC_STATUS or SL_REC_EXITING. */
struct sl_rec_pairs {
    uint32_t stack_id;
    uint32_t reserved;
    uint64_t size;
    uint64_t count;
};

/* CPython keeps freed lists, dicts, tuples and floats on free lists and
 * hands them out again with no allocator call (3.13+ says so through its
 * reference tracer). The block at `address` stays live, with its size, but
 * now belongs to `stack_id` (sent in an SL_REC_STACK first), as tracemalloc
 * moves its trace. A reader counts it as that block freed and allocated
 * again, same address, same size: the totals do not move, the stacks'
 * counts do. A block the reader does not know is left alone (not an
 * unknown free): it was allocated before tracing. */
struct sl_rec_retag {
    uint64_t address;
    uint32_t stack_id;
    uint32_t reserved;
};

/* While the agent held allocations back (some of which then vanished as
 * pairs), the live totals were higher than the records before this one
 * say: the live bytes reached the reader's current bytes plus `bytes`, and
 * the live blocks its current blocks plus `blocks` (each maximum on its
 * own). A reader keeping a peak takes both into it; nothing else changes. */
struct sl_rec_peak {
    uint64_t bytes;
    uint64_t blocks;
};

/* A call stack, interned by the agent: sent once, referenced by id after.
 * ips[0] is the innermost frame outside the agent; ips[i > 0] are return
 * addresses (the symbolizer looks up ip - 1 for those). */
struct sl_rec_stack {
    uint32_t stack_id;
    uint32_t depth;
    /* uint64_t ips[depth]; */
};

/* A Python frame in a stack (CPython 3.11+ targets): the entry has bit 63
 * set, which no user-space address has on x86-64, so a reader that does not
 * know the tag sees an address outside every module. Bits 0-46: the code
 * object's address in the target; bits 47-62: the frame's last instruction
 * offset in 2-byte code units, plus one (0: the frame has not started;
 * SL_PY_FRAME_LASTI_MAX: at or past that offset). Such entries stand where
 * the native _PyEval_EvalFrameDefault frame that ran them was, innermost
 * first, and are part of the stack's identity. */
#define SL_PY_FRAME_TAG (1ull << 63)
#define SL_PY_FRAME_LASTI_SHIFT 47
#define SL_PY_FRAME_LASTI_MAX 0xffffull
#define SL_PY_FRAME_CODE_MASK ((1ull << SL_PY_FRAME_LASTI_SHIFT) - 1)

/* An awaiting caller of a Swift async function: the entry has bit 62 set and
 * bit 63 clear (a Python entry has bit 63 set), bits 0-46 the resume
 * function's address, a function entry, not a return address: it is looked
 * up as is, never minus one. The agent appends them, innermost first, after
 * the synchronous frames of the running task and before the executor's
 * frames (swift_job_run and what called it), following the chain of async
 * contexts (each holds its parent and the parent's resume function). A
 * reader that does not know the tag sees an address outside every module. */
#define SL_ASYNC_FRAME_TAG (1ull << 62)
#define SL_ASYNC_FRAME_ADDRESS_MASK 0x00007fffffffffffull   /* bits 0-46; a literal, so Swift imports it */

/* Answer to SL_CMD_SYNC: everything that happened before the command was
 * read is in the stream before this record. */
struct sl_rec_sync {
    uint64_t token;
    uint64_t lost_events;   /* events the agent could not record so far (0 is the only good value) */
};

/* The process is exiting (preload mode) and everything it did is in the
 * stream. It waits, up to SL_EXIT_WAIT_MS, for SL_CMD_RELEASE: swiftleak
 * needs the process's memory map to symbolize what it has not yet, and a
 * process that is gone has none. */
struct sl_rec_exiting {
    uint64_t lost_events;
};
#define SL_EXIT_WAIT_MS 3000u

/* Why the agent stopped tracing. After it the agent sends nothing more. */
enum sl_status_code {
    SL_STATUS_STOPPED = 1,          /* on request (SL_CMD_STOP): hooks off, agent idle */
    SL_STATUS_OUT_OF_MEMORY = 2,    /* agent's own mmap'd tables are full */
    SL_STATUS_RING_STALLED = 3,     /* a slot never completed; tracing turned off */
    SL_STATUS_UNWINDER_MISSING = 4, /* libunwind.so.8 could not be loaded */
    SL_STATUS_HOOK_FAILED = 5,      /* GOT patching failed (detail: errno) */
};

struct sl_rec_status {
    uint32_t code;          /* enum sl_status_code */
    uint32_t detail;        /* errno or other detail, 0 if none */
    uint64_t lost_events;
};

/* CPython's PyMem and PyObject allocator domains (pymalloc's objects,
 * which malloc never sees) are wrapped from inside the target, with the
 * GIL; SL_REC_PYTHON says how that went, once at session start and again
 * whenever it changes. Processes without CPython send SL_PY_NOT_PYTHON. */
enum sl_python_state {
    SL_PY_NOT_PYTHON = 1,       /* no CPython 3.11+ C API in the process */
    SL_PY_PENDING = 2,          /* waiting for the interpreter to initialise, or for the GIL */
    SL_PY_WRAPPED = 3,          /* every Python object allocated from now on is traced */
    SL_PY_FINALIZING = 4,       /* refused: the interpreter is shutting down */
    SL_PY_NOT_INITIALIZED = 5,  /* refused: attached before Py_Initialize */
    SL_PY_FREE_THREADED = 6,    /* refused: a free-threaded build (no GIL to wrap under) */
    SL_PY_BUSY = 7,             /* refused: an earlier session's wait for the GIL is still pending */
    SL_PY_GC_DISABLED = 8,      /* SL_REC_COLLECTED only: the program turned the collector off */
};

struct sl_rec_python {
    uint32_t state;         /* enum sl_python_state */
    uint32_t minor;         /* CPython 3.minor, 0 when not CPython */
};

/* gc.collect() ran in the target (or did not, and why). Every free it
 * caused is in the stream before this record. */
struct sl_rec_collected {
    uint64_t token;
    int64_t collected;      /* objects the collector found unreachable (gc.collect()'s answer); -1 when it did not run */
    uint32_t state;         /* 0 when it ran, else the enum sl_python_state that kept it from running */
    uint32_t reserved;
};

/* swiftleak -> agent */
enum sl_command_type {
    SL_CMD_SYNC = 101,      /* struct sl_cmd_sync: flush, then answer SL_REC_SYNC */
    SL_CMD_STOP = 102,      /* no payload: unhook, flush, SL_REC_STATUS(STOPPED), close */
    SL_CMD_RELEASE = 103,   /* no payload: answer to SL_REC_EXITING, the process may exit */
    SL_CMD_COLLECT = 104,   /* struct sl_cmd_collect: run CPython's cyclic GC with the GIL, answer SL_REC_COLLECTED */
};

struct sl_cmd_collect {
    uint64_t token;
};

struct sl_cmd_sync {
    uint64_t token;
};

/* Environment of a target launched by `swiftleak run` (LD_PRELOAD mode). */
#define SL_ENV_SOCKET "SWIFTLEAK_SOCKET"   /* path of the Unix socket to connect to */
#define SL_ENV_FRAMES "SWIFTLEAK_FRAMES"   /* stack depth, 1..SL_MAX_FRAMES */
#define SL_ENV_PYTHON "SWIFTLEAK_PYTHON"     /* "off": no Python frames in a CPython target's stacks */
#define SL_ENV_FOLLOW_FORKS "SWIFTLEAK_FOLLOW_FORKS"   /* "1": a fork child starts a session of its own */
#define SL_ENV_ASYNC "SWIFTLEAK_ASYNC"     /* "off": no Swift async callers in the stacks (measures the walk) */
#define SL_ENV_PAIRS "SWIFTLEAK_PAIRS"   /* "off": every allocation and free as its own record (tests of the hooks' order) */
#define SL_ENV_SAMPLE_BYTES "SWIFTLEAK_SAMPLE_BYTES"   /* mean bytes between samples, 1..SL_MAX_SAMPLE_BYTES; unset: exact */
#define SL_MAX_SAMPLE_BYTES 0xffffffffu               /* the hello carries it in 32 bits */

/* Entry point that `swiftleak attach` calls inside the target, after dlopen of
 * the agent, from a thread parked at a safe point:
 *   int swiftleak_agent_attach(const char *socket_path, uint32_t frames, uint64_t sample_bytes);
 * (sample_bytes 0: exact mode; else as SL_ENV_SAMPLE_BYTES)
 * Returns 0 when the hooks are in place and the agent thread is connected,
 * or a positive errno. Calling it again after a detach re-attaches. */
#define SL_AGENT_ATTACH_SYMBOL "swiftleak_agent_attach"

/* The struct layouts are the wire format, and the Swift decoder reads each
 * field at the offset these declarations give it: a change that moves a
 * field or changes a size is a protocol change (bump SL_PROTOCOL_VERSION),
 * never an accident. */
#define SL_WIRE_LAYOUT(cond) _Static_assert(cond, "swiftleak wire layout: " #cond)
SL_WIRE_LAYOUT(sizeof(SL_HELLO_MAGIC) - 1 == sizeof(((struct sl_hello *)0)->magic));
SL_WIRE_LAYOUT(offsetof(struct sl_hello, version) == 8);
SL_WIRE_LAYOUT(offsetof(struct sl_hello, hello_size) == 12);   /* readers need it before the rest */
SL_WIRE_LAYOUT(offsetof(struct sl_hello, start_ns) == 32);
SL_WIRE_LAYOUT(sizeof(struct sl_hello) == 40);
SL_WIRE_LAYOUT(offsetof(struct sl_frame_header, size) == 0);
SL_WIRE_LAYOUT(offsetof(struct sl_frame_header, type) == 4);
SL_WIRE_LAYOUT(sizeof(struct sl_frame_header) == 8);
SL_WIRE_LAYOUT(offsetof(struct sl_rec_alloc, stack_id) == 16);
SL_WIRE_LAYOUT(sizeof(struct sl_rec_alloc) == 24);
SL_WIRE_LAYOUT(sizeof(struct sl_rec_free) == 8);
SL_WIRE_LAYOUT(sizeof(struct sl_rec_stack) == 8);   /* the ips follow, 8-aligned */
SL_WIRE_LAYOUT(sizeof(struct sl_rec_sync) == 16);
SL_WIRE_LAYOUT(sizeof(struct sl_rec_exiting) == 8);
SL_WIRE_LAYOUT(offsetof(struct sl_rec_status, lost_events) == 8);
SL_WIRE_LAYOUT(sizeof(struct sl_rec_status) == 16);
SL_WIRE_LAYOUT(sizeof(struct sl_cmd_sync) == 8);
SL_WIRE_LAYOUT(sizeof(struct sl_rec_python) == 8);
SL_WIRE_LAYOUT(offsetof(struct sl_rec_collected, state) == 16);
SL_WIRE_LAYOUT(sizeof(struct sl_rec_collected) == 24);
SL_WIRE_LAYOUT(sizeof(struct sl_cmd_collect) == 8);
SL_WIRE_LAYOUT(offsetof(struct sl_rec_pairs, size) == 8);
SL_WIRE_LAYOUT(sizeof(struct sl_rec_pairs) == 24);
SL_WIRE_LAYOUT(sizeof(struct sl_rec_peak) == 16);
SL_WIRE_LAYOUT(offsetof(struct sl_rec_retag, stack_id) == 8);
SL_WIRE_LAYOUT(sizeof(struct sl_rec_retag) == 16);
#undef SL_WIRE_LAYOUT

#endif /* SWIFTLEAK_PROTOCOL_H */
