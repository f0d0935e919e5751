//! Content-defined chunking (FastCDC's gear hash with normalized chunking) for
//! the parallel gzip writer: a cut depends only on the 64 bytes before it and
//! on its distance from the previous cut, so an edit changes the one or two
//! chunks around it and the cuts after it fall where they fell before.
//!
//! Per chunk: the first `min - 64` bytes are skipped (no cut can fall there),
//! the next 63 only feed the hash; from `min` bytes on, a chunk ends after a
//! byte where `hash & mask == 0`, with a harder mask before `normal` bytes and
//! an easier one after (sizes cluster around the average), and at `max`
//! bytes in any case. The hash is `h = (h << 1) + GEAR[byte]`, so bit `k`
//! depends on the last `k + 1` bytes; masks test the top bits, which depend
//! on the last 64. The gear table comes from a fixed-seed splitmix64 at
//! compile time: the same on every machine and run.

/// Bytes of input the hash depends on.
const WINDOW: usize = 64;

/// The random per-byte values of the gear hash (fixed: boundaries, hence
/// output bytes and member reuse, depend on it).
static GEAR: [u64; 256] = gear_table(0x6b69_6c6e_2d63_6463); // "kiln-cdc"

/// splitmix64 from `seed`, 256 outputs.
const fn gear_table(seed: u64) -> [u64; 256] {
    let mut table = [0u64; 256];
    let mut state = seed;
    let mut i = 0;
    while i < 256 {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        table[i] = z ^ (z >> 31);
        i += 1;
    }
    table
}

/// Chunk size bounds and cut masks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CdcParams {
    /// No chunk is shorter (except the last).
    min: usize,
    /// Below this size the harder mask applies.
    normal: usize,
    /// No chunk is longer.
    max: usize,
    /// Mask before `normal` bytes (more bits: rarer cuts).
    mask_small: u64,
    /// Mask from `normal` bytes on.
    mask_large: u64,
}

/// The layer chunking: min 256 KiB, max 4 MiB, masks of 22 and 18 bits
/// switching at 768 KiB, which averages about 1 MiB (0.96 MiB on random data).
pub(crate) const LAYER_CDC: CdcParams = CdcParams::new(256 << 10, 768 << 10, 4 << 20, 22, 18);

impl CdcParams {
    /// Bounds `min <= normal <= max` (adjusted to hold, `min >= 1`) and the
    /// number of hash bits each mask tests (1..=63).
    pub(crate) const fn new(
        min: usize,
        normal: usize,
        max: usize,
        bits_small: u32,
        bits_large: u32,
    ) -> Self {
        let min = if min == 0 { 1 } else { min };
        let normal = if normal < min { min } else { normal };
        let max = if max < normal { normal } else { max };
        CdcParams {
            min,
            normal,
            max,
            mask_small: top_bits(bits_small),
            mask_large: top_bits(bits_large),
        }
    }

    /// A typical chunk's size (buffer capacity hint).
    pub(crate) fn typical(&self) -> usize {
        (self.normal + self.normal / 2).min(self.max)
    }
}

/// A mask of the top `bits` bits (clamped to 1..=63).
const fn top_bits(bits: u32) -> u64 {
    let bits = if bits == 0 {
        1
    } else if bits > 63 {
        63
    } else {
        bits
    };
    !0u64 << (64 - bits)
}

/// Finds cut points in a stream fed in pieces of any size.
#[derive(Debug, Clone)]
pub(crate) struct Chunker {
    params: CdcParams,
    /// Bytes already in the current chunk.
    len: usize,
    /// Gear hash of the current chunk's bytes so far.
    hash: u64,
}

impl Chunker {
    /// A chunker at the start of a stream.
    pub(crate) fn new(params: CdcParams) -> Self {
        Chunker {
            params,
            len: 0,
            hash: 0,
        }
    }

    /// Feeds `data`, the next bytes of the stream. `Some(n)`: the current chunk
    /// ends after `data[..n]` and the chunker is at the start of the next one
    /// (feed it `data[n..]`); `None`: all of `data` belongs to the current chunk.
    pub(crate) fn next_cut(&mut self, data: &[u8]) -> Option<usize> {
        let p = self.params;
        let skip_end = p.min.saturating_sub(WINDOW);
        let mut i = 0;
        while i < data.len() {
            // `pos` is the position in the chunk of `data[i]`; a cut after it
            // gives a chunk of `pos + 1` bytes.
            let pos = self.len;
            let rest = &data[i..];
            let (end, mask) = if pos < skip_end {
                let n = (skip_end - pos).min(rest.len());
                self.len += n;
                i += n;
                continue;
            } else if pos + 1 < p.min {
                let n = (p.min - 1 - pos).min(rest.len());
                self.hash = roll(self.hash, &rest[..n]);
                self.len += n;
                i += n;
                continue;
            } else if pos + 1 >= p.max {
                self.reset();
                return Some(i + 1);
            } else if pos + 1 < p.normal {
                (p.normal - 1, p.mask_small)
            } else {
                (p.max - 1, p.mask_large)
            };
            let n = (end - pos).min(rest.len());
            if let Some(j) = scan(&mut self.hash, &rest[..n], mask) {
                self.reset();
                return Some(i + j + 1);
            }
            self.len += n;
            i += n;
        }
        None
    }

    /// Starts a new chunk.
    fn reset(&mut self) {
        self.len = 0;
        self.hash = 0;
    }
}

/// Feeds `bytes` into the gear hash `hash`.
#[inline]
fn roll(hash: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(hash, |h, &b| (h << 1).wrapping_add(GEAR[usize::from(b)]))
}

/// Feeds `bytes` into `hash` until `hash & mask == 0`; returns the index of
/// that byte.
#[inline]
fn scan(hash: &mut u64, bytes: &[u8], mask: u64) -> Option<usize> {
    let mut h = *hash;
    for (j, &b) in bytes.iter().enumerate() {
        h = (h << 1).wrapping_add(GEAR[usize::from(b)]);
        if h & mask == 0 {
            *hash = h;
            return Some(j);
        }
    }
    *hash = h;
    None
}

/// Every chunk length of `data` cut by a byte-at-a-time reference of the
/// rules above (for tests of the fast path).
#[cfg(test)]
pub(crate) fn reference_cuts(params: CdcParams, data: &[u8]) -> Vec<usize> {
    let mut cuts = Vec::new();
    let (mut len, mut hash) = (0usize, 0u64);
    for &b in data {
        len += 1;
        if len > params.min.saturating_sub(WINDOW) {
            hash = (hash << 1).wrapping_add(GEAR[usize::from(b)]);
        }
        let mask = if len < params.normal {
            params.mask_small
        } else {
            params.mask_large
        };
        if len >= params.max || (len >= params.min && hash & mask == 0) {
            cuts.push(len);
            (len, hash) = (0, 0);
        }
    }
    if len > 0 {
        cuts.push(len);
    }
    cuts
}
