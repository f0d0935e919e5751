//! What the context knows about one path: its [`Stat`] (the index key) and the
//! public [`Entry`] that selections and checksums are made of.

use crate::Digest;

/// The kind of a context entry. Sockets are left out of contexts altogether.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A regular file: its content is hashed.
    File,
    /// A directory.
    Dir,
    /// A symbolic link: recorded with its target, never followed.
    Symlink,
    /// A named pipe.
    Fifo,
    /// A character device (with its device number).
    CharDevice,
    /// A block device (with its device number).
    BlockDevice,
}

impl EntryKind {
    /// The kind for an `st_mode`, or `None` for sockets and unknown types.
    pub(crate) fn from_mode(mode: u32) -> Option<EntryKind> {
        match mode & libc::S_IFMT {
            libc::S_IFREG => Some(EntryKind::File),
            libc::S_IFDIR => Some(EntryKind::Dir),
            libc::S_IFLNK => Some(EntryKind::Symlink),
            libc::S_IFIFO => Some(EntryKind::Fifo),
            libc::S_IFCHR => Some(EntryKind::CharDevice),
            libc::S_IFBLK => Some(EntryKind::BlockDevice),
            _ => None,
        }
    }

    /// The one-byte tag of the checksum encoding (see [`super::checksum`]).
    pub(crate) fn tag(self) -> u8 {
        match self {
            EntryKind::File => b'f',
            EntryKind::Dir => b'd',
            EntryKind::Symlink => b'l',
            EntryKind::Fifo => b'p',
            EntryKind::CharDevice => b'c',
            EntryKind::BlockDevice => b'b',
        }
    }
}

/// The `lstat` fields that decide whether a stored content hash still holds.
///
/// Any change to any field (a rewrite, `touch`, `chmod`, a replaced inode)
/// means the file is hashed again; equal fields mean the index's hash is reused
/// (subject to the racy-timestamp rule in [`super::index`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stat {
    /// Device of the filesystem.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// Inode change time, nanoseconds since the epoch.
    pub ctime_ns: i64,
    /// Full `st_mode` (type and permission bits).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device number, for device nodes.
    pub rdev: u64,
}

impl Stat {
    /// The stat fields of `libc::stat`.
    pub(crate) fn from_libc(st: &libc::stat) -> Stat {
        Stat {
            dev: st.st_dev,
            ino: st.st_ino,
            size: st.st_size as u64,
            mtime_ns: st.st_mtime * 1_000_000_000 + st.st_mtime_nsec,
            ctime_ns: st.st_ctime * 1_000_000_000 + st.st_ctime_nsec,
            mode: st.st_mode,
            uid: st.st_uid,
            gid: st.st_gid,
            rdev: st.st_rdev,
        }
    }
}

/// One path of the context as COPY/ADD sees it: what the checksum covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Context-relative, `/`-separated, clean; the root is `"."`.
    pub path: String,
    /// What it is.
    pub kind: EntryKind,
    /// Permission bits with setuid, setgid and sticky (`st_mode & 0o7777`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes (files; the target length for symlinks).
    pub size: u64,
    /// Device number (device nodes only, else 0).
    pub rdev: u64,
    /// The symlink's target exactly as stored, never resolved.
    pub link_target: Option<String>,
    /// sha256 of the content (files only, once hashed).
    pub digest: Option<Digest>,
}

/// An entry as the walk found it: the public part plus its full stat.
#[derive(Debug, Clone)]
pub(crate) struct Walked {
    pub entry: Entry,
    pub stat: Stat,
}
