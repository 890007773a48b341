//! The threads that carry `plenum mcp`'s stdio: one reads stdin, one writes the replies.
//!
//! Tokio's own stdin and `tokio::fs::File` run every read and every write on the blocking
//! pool (`spawn_blocking`): under load that was a thread hand-off per message each way, a
//! large share of the server's CPU in futex calls and context switches (docs/PERFORMANCE.md,
//! "Stdio on threads of their own"). Here a thread of its own sits in each blocking call: the
//! reader reads up to [`READ_BYTES`] at a time and queues what it read, the writer writes
//! everything queued in one go. Neither touches the descriptors' flags: stdin stays blocking,
//! as the process that started the server shares it.

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::{mpsc, oneshot};

use super::log;

/// A line waiting for the writer, with whoever waits to hear it was written.
pub type Outgoing = (Vec<u8>, Option<oneshot::Sender<io::Result<()>>>);

/// The most one read of stdin takes.
const READ_BYTES: usize = 64 << 10;
/// Chunks read ahead of the transport, at most: the reader waits when the session does not
/// keep up, so a client that floods stdin does not grow the server's memory.
const CHUNKS_AHEAD: usize = 4;
/// Replies written in one go, at most.
const MAX_BATCH: usize = 256;
/// Replies up to this size are gathered into one write; a larger one is written on its own
/// rather than copied.
const GATHER_BYTES: usize = 64 << 10;

/// Reads from a blocking reader on a thread of its own, as an [`AsyncRead`]. End of input and
/// a read error reach the reader in order, after everything read before them.
pub struct ThreadReader {
    chunks: mpsc::Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    /// How much of `chunk` was handed out.
    at: usize,
}

impl ThreadReader {
    /// Starts the thread that reads `input`. The thread ends at end of input, after a read
    /// error, or at its next read once this reader is dropped.
    pub fn spawn<R: Read + Send + 'static>(input: R) -> io::Result<Self> {
        let (sender, chunks) = mpsc::channel(CHUNKS_AHEAD);
        std::thread::Builder::new()
            .name("plenum-stdin".into())
            .spawn(move || read_chunks(input, &sender))?;
        Ok(ThreadReader {
            chunks,
            chunk: Vec::new(),
            at: 0,
        })
    }
}

fn read_chunks<R: Read>(mut input: R, sender: &mpsc::Sender<io::Result<Vec<u8>>>) {
    let mut buffer = vec![0u8; READ_BYTES];
    loop {
        let chunk = match input.read(&mut buffer) {
            // End of input: dropping the sender is what the reader sees as the end.
            Ok(0) => return,
            // A copy of what was read, not the whole buffer: a message is usually small.
            Ok(read) => Ok(buffer[..read].to_vec()),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => Err(error),
        };
        let failed = chunk.is_err();
        if sender.blocking_send(chunk).is_err() || failed {
            return;
        }
    }
}

impl AsyncRead for ThreadReader {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.at >= this.chunk.len() {
            match this.chunks.poll_recv(context) {
                Poll::Pending => return Poll::Pending,
                // Nothing filled: end of input.
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Err(error)),
                Poll::Ready(Some(Ok(chunk))) => {
                    this.chunk = chunk;
                    this.at = 0;
                }
            }
        }
        let rest = &this.chunk[this.at..];
        let take = rest.len().min(buf.remaining());
        buf.put_slice(&rest[..take]);
        this.at += take;
        Poll::Ready(Ok(()))
    }
}

/// Starts the thread that writes what `queue` brings to `writer`; the receiver it returns
/// completes (with an error: its sender is dropped) when the thread has ended, after the
/// queue closed and what was in it was written, or after a write failed.
pub fn spawn_writer<W: Write + Send + 'static>(
    writer: W,
    queue: mpsc::UnboundedReceiver<Outgoing>,
) -> io::Result<oneshot::Receiver<()>> {
    let (ended, finished) = oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("plenum-stdout".into())
        .spawn(move || {
            write_lines(writer, queue);
            drop(ended);
        })?;
    Ok(finished)
}

/// Writes each line that comes, with the ones queued behind it in the same write, and then
/// tells whoever waits on them how it went: a send completes only after its bytes were
/// written (or failed).
fn write_lines<W: Write>(mut writer: W, mut queue: mpsc::UnboundedReceiver<Outgoing>) {
    let mut batch: Vec<Outgoing> = Vec::new();
    let mut gathered: Vec<u8> = Vec::new();
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let result = write_batch(&mut writer, &batch, &mut gathered).and_then(|()| writer.flush());
        for (_, done) in batch.drain(..) {
            if let Some(done) = done {
                let _ = done.send(
                    result
                        .as_ref()
                        .map(|_| ())
                        .map_err(|error| io::Error::new(error.kind(), error.to_string())),
                );
            }
        }
        if result.is_err() {
            log("stdout is closed; no more replies can be sent");
            return;
        }
    }
    let _ = writer.flush();
}

/// Writes the lines of `batch` in as few writes as their sizes allow.
fn write_batch<W: Write>(
    writer: &mut W,
    batch: &[Outgoing],
    gathered: &mut Vec<u8>,
) -> io::Result<()> {
    if let [(bytes, _)] = batch {
        return writer.write_all(bytes);
    }
    gathered.clear();
    for (bytes, _) in batch {
        if !gathered.is_empty() && gathered.len() + bytes.len() > GATHER_BYTES {
            writer.write_all(gathered)?;
            gathered.clear();
        }
        if bytes.len() > GATHER_BYTES {
            writer.write_all(bytes)?;
        } else {
            gathered.extend_from_slice(bytes);
        }
    }
    if !gathered.is_empty() {
        writer.write_all(gathered)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tokio::io::AsyncReadExt;

    /// Hands out its input a few bytes at a time, then fails once if asked to.
    struct Trickle {
        input: Vec<u8>,
        fail: bool,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.input.is_empty() {
                if std::mem::take(&mut self.fail) {
                    return Err(io::Error::other("broken"));
                }
                return Ok(0);
            }
            let take = self.input.len().min(buf.len()).min(3);
            buf[..take].copy_from_slice(&self.input[..take]);
            self.input.drain(..take);
            Ok(take)
        }
    }

    #[tokio::test]
    async fn the_reader_hands_over_everything_then_the_end_or_the_error() {
        let mut reader = ThreadReader::spawn(Trickle {
            input: b"hello, world\n".to_vec(),
            fail: false,
        })
        .unwrap_or_else(|error| panic!("{error}"));
        let mut all = Vec::new();
        let read = reader.read_to_end(&mut all).await;
        assert_eq!(read.ok(), Some(13));
        assert_eq!(all, b"hello, world\n");

        let mut reader = ThreadReader::spawn(Trickle {
            input: b"abc".to_vec(),
            fail: true,
        })
        .unwrap_or_else(|error| panic!("{error}"));
        let mut all = Vec::new();
        let read = reader.read_to_end(&mut all).await;
        assert_eq!(all, b"abc");
        assert_eq!(
            read.err().map(|error| error.to_string()),
            Some("broken".into())
        );
    }

    /// A writer shared with the test, that can be made to fail.
    #[derive(Clone, Default)]
    struct Shared {
        written: Arc<Mutex<Vec<u8>>>,
        writes: Arc<Mutex<usize>>,
        broken: bool,
    }

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.broken {
                return Err(io::Error::from(io::ErrorKind::BrokenPipe));
            }
            if let (Ok(mut written), Ok(mut writes)) = (self.written.lock(), self.writes.lock()) {
                written.extend_from_slice(buf);
                *writes += 1;
            }
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn queued_lines_are_written_together_in_order_and_each_send_hears_how_it_went() {
        let writer = Shared::default();
        let (sender, queue) = mpsc::unbounded_channel();
        let mut waiting = Vec::new();
        let big = vec![b'x'; GATHER_BYTES + 1];
        // Queued before the thread starts: one batch.
        for index in 0..10u8 {
            let (done, written) = oneshot::channel();
            let line = if index == 5 {
                big.clone()
            } else {
                vec![b'0' + index, b'\n']
            };
            let _ = sender.send((line, Some(done)));
            waiting.push(written);
        }
        let finished =
            spawn_writer(writer.clone(), queue).unwrap_or_else(|error| panic!("{error}"));
        for written in waiting {
            assert!(matches!(written.await, Ok(Ok(()))));
        }
        drop(sender);
        assert!(finished.await.is_err());
        let written = writer.written.lock().map(|w| w.clone()).unwrap_or_default();
        let mut expected = b"0\n1\n2\n3\n4\n".to_vec();
        expected.extend_from_slice(&big);
        expected.extend_from_slice(b"6\n7\n8\n9\n");
        assert_eq!(written, expected);
        // Before the large line, the large line, after it.
        assert_eq!(writer.writes.lock().map(|w| *w).unwrap_or_default(), 3);

        let (sender, queue) = mpsc::unbounded_channel();
        let (done, written) = oneshot::channel();
        let _ = sender.send((b"lost\n".to_vec(), Some(done)));
        let finished = spawn_writer(
            Shared {
                broken: true,
                ..Shared::default()
            },
            queue,
        )
        .unwrap_or_else(|error| panic!("{error}"));
        assert!(matches!(written.await, Ok(Err(_))));
        // The thread stops at the failure, with the queue still open.
        assert!(finished.await.is_err());
        drop(sender);
    }
}
