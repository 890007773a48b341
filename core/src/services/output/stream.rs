//! Streaming a result too large to hold straight to stdout.
//!
//! Small results are built in memory and printed as one envelope. A single read statement
//! whose rows pass [`SPILL_THRESHOLD`] bytes (only possible when the caller raised
//! `--max-bytes`) is written as it is read, so memory stays flat: the envelope is started on
//! stdout, rows follow in chunks, and the end says how it finished. In a streamed envelope
//! `ok` comes last, since it is known last; JSON key order carries no meaning.

use std::sync::Mutex;

use super::print::claim_stdout;

/// Bytes of row JSON held in memory before the result is streamed instead.
pub const SPILL_THRESHOLD: usize = 1 << 20;

/// Bytes gathered before each write while streaming.
pub const CHUNK: usize = 64 << 10;

struct State {
    started: bool,
    rows_closed: bool,
    finished: bool,
}

static STATE: Mutex<State> = Mutex::new(State {
    started: false,
    rows_closed: false,
    finished: false,
});

fn write_stdout(bytes: &[u8]) {
    let bytes = super::pretty::stream_chunk(bytes);
    // A closed stdout (e.g. `| head`) ends the reader's interest, not ours to report.
    let _ = super::stdio::write_all(&bytes);
}

/// Starts the envelope with `prefix` (ending in `"rows":[`). False when stdout was already
/// claimed by another envelope.
pub fn begin(prefix: &[u8]) -> bool {
    let Ok(mut state) = STATE.lock() else {
        return false;
    };
    if state.started || !claim_stdout() {
        return false;
    }
    state.started = true;
    write_stdout(prefix);
    super::stdio::stream_reached(super::stdio::STREAM_ROWS_OPEN);
    true
}

/// Writes row bytes of a started stream.
pub fn write(bytes: &[u8]) {
    if let Ok(state) = STATE.lock() {
        if state.started && !state.rows_closed && !state.finished {
            write_stdout(bytes);
        }
    }
}

/// Closes the rows array of a started stream.
pub fn close_rows() {
    if let Ok(mut state) = STATE.lock() {
        if state.started && !state.rows_closed && !state.finished {
            write_stdout(b"]");
            state.rows_closed = true;
            super::stdio::stream_reached(super::stdio::STREAM_ROWS_CLOSED);
        }
    }
}

/// Whether a stream was started.
pub fn started() -> bool {
    STATE.lock().map(|state| state.started).unwrap_or(false)
}

/// Ends a started stream: closes the rows array if still open, then writes `tail` (which
/// completes `data` and adds `meta` or `error`, then `ok`) and a newline. False when no stream
/// was started or it already ended.
pub fn finish(tail: &str) -> bool {
    let Ok(mut state) = STATE.lock() else {
        return false;
    };
    if !state.started || state.finished {
        return false;
    }
    if !state.rows_closed {
        write_stdout(b"]");
        state.rows_closed = true;
        super::stdio::stream_reached(super::stdio::STREAM_ROWS_CLOSED);
    }
    write_stdout(tail.as_bytes());
    write_stdout(b"\n");
    // A streamed envelope ends with `ok`.
    super::stdio::document_printed(tail.ends_with(r#""ok":true}"#));
    state.finished = true;
    true
}
