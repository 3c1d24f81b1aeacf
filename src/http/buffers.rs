//! Response body buffers, recycled per worker thread. A triage answer is a few kilobytes; allocating
//! and freeing a fresh buffer for it on every request cost about 400 of a request's 35,000
//! instructions (measured with `benches/http/instructions.sh`). A body hands its buffer back when
//! hyper drops it, after writing it out, and what the buffer held is cleared before it is reused.

use axum::body::{Body, Bytes};
use std::cell::RefCell;

/// Buffers kept per thread. Nearly every answer is written out before the next one starts, so a
/// few cover the answers whose client reads slowly.
const KEPT_PER_THREAD: usize = 16;
/// A buffer grown beyond this (a long trace) is freed rather than kept.
const MAX_KEPT_CAPACITY: usize = 64 * 1024;

thread_local! {
    static SPARE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer: a recycled one when this thread has one.
pub(super) fn take() -> Vec<u8> {
    SPARE
        .try_with(|spare| spare.try_borrow_mut().ok()?.pop())
        .ok()
        .flatten()
        .unwrap_or_else(|| Vec::with_capacity(crate::triage::BODY_CAPACITY))
}

/// A response body of `buffer`'s bytes that hands the buffer back once the body is dropped.
pub(super) fn into_body(buffer: Vec<u8>) -> Body {
    Body::from(Bytes::from_owner(Recycled(buffer)))
}

/// Owns a body's buffer and recycles it on drop.
struct Recycled(Vec<u8>);

impl AsRef<[u8]> for Recycled {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Recycled {
    fn drop(&mut self) {
        let mut buffer = std::mem::take(&mut self.0);
        if buffer.capacity() > MAX_KEPT_CAPACITY {
            return;
        }
        buffer.clear();
        // During thread shutdown the pool may be gone; the buffer is then simply freed.
        let _ = SPARE.try_with(|spare| {
            if let Ok(mut spare) = spare.try_borrow_mut()
                && spare.len() < KEPT_PER_THREAD
            {
                spare.push(buffer);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn drain() {
        SPARE.with(|spare| spare.borrow_mut().clear());
    }

    #[tokio::test]
    async fn a_dropped_body_hands_its_buffer_back_empty() {
        drain();
        let mut buffer = take();
        buffer.extend_from_slice(b"{\"answer\":1}");
        let address = buffer.as_ptr();
        let body = into_body(buffer);
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"{\"answer\":1}");
        // The collected bytes still hold the buffer.
        assert_eq!(SPARE.with(|spare| spare.borrow().len()), 0);
        drop(bytes);
        let again = take();
        assert_eq!(again.as_ptr(), address);
        assert!(again.is_empty());
    }

    #[test]
    fn a_grown_buffer_is_freed_and_the_pool_is_bounded() {
        drain();
        drop(into_body(Vec::with_capacity(MAX_KEPT_CAPACITY + 1)));
        assert_eq!(SPARE.with(|spare| spare.borrow().len()), 0);
        for _ in 0..KEPT_PER_THREAD + 3 {
            drop(into_body(Vec::with_capacity(16)));
        }
        assert_eq!(SPARE.with(|spare| spare.borrow().len()), KEPT_PER_THREAD);
    }
}
