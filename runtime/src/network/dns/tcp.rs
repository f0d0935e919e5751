//! The TCP side of [`super::Responder`] (a child module of `server`, so it
//! shares the responder's private state): accepting connections and reading
//! length-prefixed queries from them as they arrive, without blocking.

use std::io::{ErrorKind, Read};
use std::time::Instant;

use super::{write_framed, Asker, Connection, Outcome, Responder, MAX_TCP_CONNECTIONS, TCP_IDLE};

/// The most bytes read from one connection per readable event.
const READ_CHUNK: usize = 4096;

impl Responder {
    /// Accepts waiting connections, up to [`MAX_TCP_CONNECTIONS`] open.
    pub(super) fn accept(&mut self) {
        while self.connections.len() < MAX_TCP_CONNECTIONS {
            let stream = match self.tcp.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            self.next_serial += 1;
            self.connections.push(Connection {
                serial: self.next_serial,
                stream,
                buffer: Vec::new(),
                eof: false,
                deadline: Instant::now() + TCP_IDLE,
            });
        }
    }

    /// Reads what connection `index` has sent and answers each complete
    /// query in it; closes it at end of stream or on error.
    pub(super) fn read_connection(&mut self, index: usize) {
        let mut chunk = [0u8; READ_CHUNK];
        let connection = &mut self.connections[index];
        let open = match connection.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                connection.buffer.extend_from_slice(&chunk[..n]);
                connection.deadline = Instant::now() + TCP_IDLE;
                true
            }
            Err(e) => matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted),
        };
        let serial = connection.serial;
        while let Some(query) = self.next_frame(index) {
            if !self.answer_tcp(serial, &query) {
                return;
            }
        }
        if !open {
            self.end_of_stream(serial);
        }
    }

    /// Takes the first complete query out of connection `index`'s buffer.
    fn next_frame(&mut self, index: usize) -> Option<Vec<u8>> {
        let buffer = &mut self.connections.get_mut(index)?.buffer;
        let len = u16::from_be_bytes([*buffer.first()?, *buffer.get(1)?]) as usize;
        if buffer.len() < 2 + len {
            return None;
        }
        let query = buffer[2..2 + len].to_vec();
        buffer.drain(..2 + len);
        Some(query)
    }

    /// Answers one query of connection `serial`; false when the connection
    /// was closed meanwhile.
    fn answer_tcp(&mut self, serial: u64, query: &[u8]) -> bool {
        match self.decide(query) {
            Outcome::Reply(reply) => {
                let Some(index) = self.connections.iter().position(|c| c.serial == serial) else {
                    return false;
                };
                if !write_framed(&mut self.connections[index].stream, &reply) {
                    self.close(serial);
                    return false;
                }
                true
            }
            Outcome::Forward => {
                self.forward(query, Asker::Tcp(serial));
                self.connections.iter().any(|c| c.serial == serial)
            }
            Outcome::Drop => {
                self.close(serial);
                false
            }
        }
    }

    /// The asker has sent all it will: the connection closes now, or once
    /// its forwarded questions are answered (until then it is not polled,
    /// since a stream at its end is always readable).
    pub(super) fn end_of_stream(&mut self, serial: u64) {
        if self.waiting(serial) {
            if let Some(c) = self.connections.iter_mut().find(|c| c.serial == serial) {
                c.eof = true;
            }
        } else {
            self.close(serial);
        }
    }

    /// Whether a forwarded question of connection `serial` is pending.
    pub(super) fn waiting(&self, serial: u64) -> bool {
        self.pending.values().any(|p| p.asker == Asker::Tcp(serial))
    }

    /// Closes connection `serial` (its forwarded questions are answered
    /// nowhere when their reply comes).
    pub(super) fn close(&mut self, serial: u64) {
        self.connections.retain(|c| c.serial != serial);
    }
}
