// rust_sessions: a Rust program with a known leak, for swiftleak's tests.
// Built optimized (`rustc -O -g`), so the standard library's allocation path
// (vec! -> RawVec -> __rust_alloc -> malloc) is partly inlined into the
// program. Every request opens a session holding a 1000-byte buffer; the
// sessions are never closed, so the buffers stay live in a HashMap. The
// allocation site is the `vec!` line in open_session.
// Usage: rust_sessions SESSIONS
use std::collections::HashMap;
use std::env;

pub const BUFFER_BYTES: usize = 1000;

struct Session {
    id: u64,
    buffer: Vec<u8>,
}

#[inline(never)]
fn open_session(id: u64) -> Session {
    let buffer = vec![1u8; BUFFER_BYTES]; // the leak site
    Session { id, buffer }
}

#[inline(never)]
fn handle_request(sessions: &mut HashMap<u64, Session>, id: u64) {
    let session = open_session(id);
    sessions.insert(session.id, session);
}

fn main() {
    let requests: u64 = env::args().nth(1).and_then(|arg| arg.parse().ok()).unwrap_or(100);
    let mut sessions = HashMap::new();
    for id in 0..requests {
        handle_request(&mut sessions, id);
    }
    let bytes: usize = sessions.values().map(|session| session.buffer.len()).sum();
    println!("leaked {} sessions of {} bytes", sessions.len(), bytes / sessions.len().max(1));
    // Leaked for real: the map is never dropped, as in a server that exits
    // without cleaning up.
    std::mem::forget(sessions);
}
