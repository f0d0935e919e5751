//! One `NETLINK_ROUTE` socket of the calling thread's network namespace,
//! used synchronously: a request is sent and its acknowledgement (or the
//! kernel's error) read back before the next one; dumps are read to their
//! `NLMSG_DONE`.
//!
//! A socket belongs to the namespace its thread was in when it was opened,
//! so the in-namespace half of an attachment opens its own socket on a
//! thread that entered the container's namespace.

use std::io;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR,
    NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

/// Largest datagram the kernel sends on a dump (it caps them at 32 KiB).
const RECEIVE_BUFFER: usize = 64 * 1024;

/// How many times a dump the kernel marked as interrupted (the table changed
/// under it) is started again before its partial answer is used.
const DUMP_RETRIES: usize = 3;

/// A route netlink socket with its sequence counter.
pub(crate) struct Netlink {
    socket: Socket,
    sequence: u32,
    buffer: Vec<u8>,
}

impl Netlink {
    /// Opens a socket in the calling thread's network namespace.
    pub(crate) fn open() -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        Ok(Netlink {
            socket,
            sequence: 0,
            buffer: vec![0; RECEIVE_BUFFER],
        })
    }

    /// Sends `message` with `flags` (plus REQUEST|ACK) and waits for the
    /// kernel's acknowledgement; its error code becomes the `io::Error`.
    pub(crate) fn request(&mut self, message: RouteNetlinkMessage, flags: u16) -> io::Result<()> {
        let sequence = self.send(message, NLM_F_REQUEST | NLM_F_ACK | flags)?;
        loop {
            for reply in self.receive()? {
                if reply.header.sequence_number != sequence {
                    continue;
                }
                match reply.payload {
                    NetlinkPayload::Error(error) => {
                        return match error.code {
                            None => Ok(()),
                            Some(_) => Err(error.to_io()),
                        }
                    }
                    NetlinkPayload::Done(_) => return Ok(()),
                    _ => {}
                }
            }
        }
    }

    /// Sends a `GET` request for one object and returns the kernel's answer
    /// (`Ok(None)` when it answered with an acknowledgement only).
    pub(crate) fn query(
        &mut self,
        message: RouteNetlinkMessage,
    ) -> io::Result<Option<RouteNetlinkMessage>> {
        let sequence = self.send(message, NLM_F_REQUEST)?;
        loop {
            for reply in self.receive()? {
                if reply.header.sequence_number != sequence {
                    continue;
                }
                match reply.payload {
                    NetlinkPayload::InnerMessage(inner) => return Ok(Some(inner)),
                    NetlinkPayload::Error(error) => {
                        return match error.code {
                            None => Ok(None),
                            Some(_) => Err(error.to_io()),
                        }
                    }
                    NetlinkPayload::Done(_) => return Ok(None),
                    _ => {}
                }
            }
        }
    }

    /// Sends `message` as a dump request and collects every answer.
    pub(crate) fn dump(
        &mut self,
        message: RouteNetlinkMessage,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        let mut attempt = 0;
        loop {
            let (answers, interrupted) = self.dump_once(message.clone())?;
            attempt += 1;
            if !interrupted || attempt >= DUMP_RETRIES {
                return Ok(answers);
            }
        }
    }

    /// One dump: its messages and whether the kernel flagged it interrupted.
    fn dump_once(
        &mut self,
        message: RouteNetlinkMessage,
    ) -> io::Result<(Vec<RouteNetlinkMessage>, bool)> {
        let sequence = self.send(message, NLM_F_REQUEST | NLM_F_DUMP)?;
        let mut answers = Vec::new();
        let mut interrupted = false;
        loop {
            for reply in self.receive()? {
                if reply.header.sequence_number != sequence {
                    continue;
                }
                interrupted |= reply.header.flags & NLM_F_DUMP_INTR != 0;
                match reply.payload {
                    NetlinkPayload::InnerMessage(inner) => answers.push(inner),
                    NetlinkPayload::Done(_) => return Ok((answers, interrupted)),
                    NetlinkPayload::Error(error) if error.code.is_some() => {
                        return Err(error.to_io())
                    }
                    _ => {}
                }
            }
        }
    }

    /// Serialises and sends one message; returns its sequence number.
    fn send(&mut self, message: RouteNetlinkMessage, flags: u16) -> io::Result<u32> {
        self.sequence = self.sequence.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = self.sequence;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
        packet.finalize();
        let mut bytes = vec![0; packet.buffer_len()];
        packet.serialize(&mut bytes);
        self.socket.send(&bytes, 0)?;
        Ok(self.sequence)
    }

    /// Reads one datagram and splits it into its messages.
    fn receive(&mut self) -> io::Result<Vec<NetlinkMessage<RouteNetlinkMessage>>> {
        let length = loop {
            match self.socket.recv(&mut &mut self.buffer[..], 0) {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        let mut messages = Vec::new();
        let mut offset = 0;
        while offset < length {
            let bytes = &self.buffer[offset..length];
            let message = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes)
                .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error.to_string()))?;
            let size = message.header.length as usize;
            messages.push(message);
            if size == 0 {
                break;
            }
            offset += (size + 3) & !3;
        }
        Ok(messages)
    }
}
