//! Token vectors kept between calls on the same thread. A statement's tokens fill a few
//! kilobytes; glibc serves blocks of that size on its slow path (about 1,400 instructions an
//! allocation, measured with callgrind, more than the gate's own checks of a statement), and
//! each call needs two (the whole input's tokens and the statement's parser input). Only empty
//! vectors are kept, never tokens or verdicts, and at most two of at most 1,024 tokens each.

use std::cell::RefCell;

use sqlparser::tokenizer::TokenWithSpan;

/// The smallest vector allocated: room for a typical statement and its whitespace.
const MIN_TOKENS: usize = 64;
/// Larger vectors are freed rather than kept, so one huge input does not pin its memory.
const MAX_KEPT_TOKENS: usize = 1024;
/// The whole input's tokens and one statement's parser input.
const MAX_KEPT: usize = 2;

thread_local! {
    static SPARE: RefCell<Vec<Vec<TokenWithSpan>>> = const { RefCell::new(Vec::new()) };
}

/// An empty vector with room for at least `capacity` tokens.
pub(crate) fn take(capacity: usize) -> Vec<TokenWithSpan> {
    let spare = SPARE
        .try_with(|spare| {
            spare
                .try_borrow_mut()
                .ok()
                .and_then(|mut spare| spare.pop())
        })
        .ok()
        .flatten();
    match spare {
        Some(buffer) if buffer.capacity() >= capacity => buffer,
        // Growing a kept vector would copy its old block for nothing: allocate afresh, with
        // room to spare so the next, slightly longer statement fits too.
        _ => Vec::with_capacity(capacity.max(MIN_TOKENS).next_power_of_two()),
    }
}

/// Empties `buffer` and keeps it for the next [`take`] on this thread, if it is small enough
/// and there is room.
pub(crate) fn give_back(mut buffer: Vec<TokenWithSpan>) {
    buffer.clear();
    if buffer.capacity() == 0 || buffer.capacity() > MAX_KEPT_TOKENS {
        return;
    }
    // During thread teardown the slot may be gone; the vector is then simply freed.
    let _ = SPARE.try_with(|spare| {
        if let Ok(mut spare) = spare.try_borrow_mut() {
            if spare.len() < MAX_KEPT {
                spare.push(buffer);
            }
        }
    });
}
