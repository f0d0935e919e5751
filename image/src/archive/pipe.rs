//! Read-ahead on a worker thread: decompressing and hashing a layer overlap
//! with writing it out.

use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver, Sender};

/// Bytes per chunk handed from the worker to the consumer.
const CHUNK: usize = 1 << 20;
/// Chunks the worker may read ahead of the consumer (bounds memory use).
const DEPTH: usize = 3;

/// Runs `consume` on a reader that yields exactly the bytes of `reader`,
/// which is read (to its end, or until `consume` returns) on a worker thread,
/// [`CHUNK`] bytes at a time. Returns `consume`'s result and `reader`.
/// Errors of `reader` reach `consume` as read errors, in order.
pub(crate) fn read_ahead<R, T>(mut reader: R, consume: impl FnOnce(&mut dyn Read) -> T) -> (T, R)
where
    R: Read + Send,
{
    let (full_tx, full_rx) = mpsc::sync_channel::<io::Result<Vec<u8>>>(DEPTH);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || {
            loop {
                let mut buf = empty_rx.try_recv().unwrap_or_default();
                buf.resize(CHUNK, 0);
                let sent = match fill(&mut reader, &mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        buf.truncate(n);
                        full_tx.send(Ok(buf))
                    }
                    Err(e) => {
                        let _ = full_tx.send(Err(e));
                        break;
                    }
                };
                // The consumer is done (it dropped its end): stop reading.
                if sent.is_err() {
                    break;
                }
            }
            reader
        });
        let mut pipe = PipeReader {
            full: full_rx,
            recycle: empty_tx,
            current: Vec::new(),
            pos: 0,
        };
        let result = consume(&mut pipe);
        drop(pipe);
        let reader = worker
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (result, reader)
    })
}

/// Reads into `buf` until it is full or `reader` ends; returns the count.
fn fill<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The consumer's end: chunks from the worker, handed back when used up.
struct PipeReader {
    full: Receiver<io::Result<Vec<u8>>>,
    recycle: Sender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            // A closed channel means the worker reached the end.
            let next = match self.full.recv() {
                Ok(next) => next?,
                Err(_) => return Ok(0),
            };
            let used = std::mem::replace(&mut self.current, next);
            let _ = self.recycle.send(used);
            self.pos = 0;
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yields_every_byte_in_order_and_returns_the_reader() {
        let data: Vec<u8> = (0..(3 * CHUNK + 12345)).map(|i| (i % 251) as u8).collect();
        let (copied, rest) = read_ahead(&data[..], |r| {
            let mut out = Vec::new();
            r.read_to_end(&mut out).unwrap();
            out
        });
        assert_eq!(copied, data);
        assert!(rest.is_empty());
    }

    #[test]
    fn errors_arrive_after_the_bytes_before_them() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "corrupt gzip"));
                }
                let n = buf.len().min(self.0);
                buf[..n].fill(7);
                self.0 -= n;
                Ok(n)
            }
        }
        let ((got, err), _) = read_ahead(Failing(CHUNK + 10), |r| {
            let mut out = Vec::new();
            let err = r.read_to_end(&mut out).unwrap_err();
            (out.len(), err)
        });
        // The partial chunk before the error is lost with it, never reordered.
        assert!(got == CHUNK || got == CHUNK + 10, "{got}");
        assert_eq!(err.to_string(), "corrupt gzip");
    }

    #[test]
    fn a_consumer_that_stops_early_does_not_hang_the_worker() {
        let data = vec![1u8; 10 * CHUNK];
        let (first, _) = read_ahead(&data[..], |r| {
            let mut b = [0u8; 10];
            r.read_exact(&mut b).unwrap();
            b
        });
        assert_eq!(first, [1; 10]);
    }
}
