//! BLAKE3 of many short messages at once, one message per SIMD lane.
//!
//! Planning hashes every job's request body (a few hundred bytes). The
//! blake3 crate hashes one message at a time, and a message shorter than
//! one 1 KiB chunk gets no parallelism: each 64-byte block waits for the
//! previous one. Here up to 16 messages are compressed side by side, lane
//! `l` of every state word belonging to message `l`, which is how BLAKE3
//! itself hashes the chunks of one long input. The result is the standard
//! BLAKE3 hash (the tests compare it with the blake3 crate on every
//! length up to two chunks): job hashes, and so every results file's
//! identity, are unchanged.
//!
//! Messages of more than one chunk go to the blake3 crate.

/// BLAKE3's initialization vector (SHA-256's).
const IV: [u32; 8] = [
    0x6A09_E667,
    0xBB67_AE85,
    0x3C6E_F372,
    0xA54F_F53A,
    0x510E_527F,
    0x9B05_688C,
    0x1F83_D9AB,
    0x5BE0_CD19,
];

/// Which message word each round reads, in G order (the spec's
/// permutation applied round after round).
const SCHEDULE: [[usize; 16]; 7] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8],
    [3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1],
    [10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6],
    [12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4],
    [9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7],
    [11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13],
];

const CHUNK_START: u32 = 1;
const CHUNK_END: u32 = 2;
const ROOT: u32 = 8;
const BLOCK: usize = 64;
const CHUNK: usize = 1024;

/// The BLAKE3 hash of each message, in order.
pub(crate) fn hash_many(messages: &[&[u8]]) -> Vec<blake3::Hash> {
    let mut out = vec![blake3::Hash::from_bytes([0; 32]); messages.len()];
    // Lanes take one-chunk messages; the rest are hashed one by one.
    let mut short = Vec::with_capacity(messages.len());
    for (i, m) in messages.iter().enumerate() {
        if m.len() <= CHUNK {
            short.push(i);
        } else {
            out[i] = blake3::hash(m);
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            for batch in short.chunks(16) {
                // SAFETY: the CPU has AVX-512F (checked just above).
                unsafe { batch_avx512(messages, batch, &mut out) };
            }
            return out;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            for batch in short.chunks(8) {
                // SAFETY: the CPU has AVX2 (checked just above).
                unsafe { batch_avx2(messages, batch, &mut out) };
            }
            return out;
        }
    }
    for i in short {
        out[i] = blake3::hash(messages[i]);
    }
    out
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn batch_avx512(messages: &[&[u8]], batch: &[usize], out: &mut [blake3::Hash]) {
    batch_lanes::<16>(messages, batch, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn batch_avx2(messages: &[&[u8]], batch: &[usize], out: &mut [blake3::Hash]) {
    batch_lanes::<8>(messages, batch, out);
}

/// Hashes the (at most `L`, each at most one chunk) messages `batch`
/// names, one per lane; unused lanes hash nothing and are discarded.
#[inline(always)]
fn batch_lanes<const L: usize>(messages: &[&[u8]], batch: &[usize], out: &mut [blake3::Hash]) {
    let msg = |l: usize| batch.get(l).map_or(&[][..], |&i| messages[i]);
    // Blocks per lane: an empty message is one empty block.
    let blocks: [usize; L] = std::array::from_fn(|l| msg(l).len().div_ceil(BLOCK).max(1));
    let most = blocks.iter().copied().max().unwrap_or(1);
    let mut cv: [[u32; L]; 8] = std::array::from_fn(|w| [IV[w]; L]);
    for b in 0..most {
        let mut m = [[0u32; L]; 16];
        let mut block_len = [0u32; L];
        let mut flags = [0u32; L];
        for l in 0..L {
            let bytes = msg(l);
            let start = (b * BLOCK).min(bytes.len());
            let block = &bytes[start..(start + BLOCK).min(bytes.len())];
            // Whole blocks are read in place; the last one is zero-padded.
            let mut padded = [0u8; BLOCK];
            let full: &[u8] = if block.len() == BLOCK {
                block
            } else {
                padded[..block.len()].copy_from_slice(block);
                &padded
            };
            for (w, word) in full.chunks_exact(4).enumerate() {
                m[w][l] = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
            }
            block_len[l] = block.len() as u32;
            flags[l] = if b == 0 { CHUNK_START } else { 0 }
                | if b + 1 == blocks[l] { CHUNK_END | ROOT } else { 0 };
        }
        let next = compress(&cv, &m, block_len, flags);
        // A lane whose message has ended keeps its result.
        for w in 0..8 {
            for l in 0..L {
                if b < blocks[l] {
                    cv[w][l] = next[w][l];
                }
            }
        }
    }
    for (l, &i) in batch.iter().enumerate() {
        let mut bytes = [0u8; 32];
        for w in 0..8 {
            bytes[4 * w..4 * w + 4].copy_from_slice(&cv[w][l].to_le_bytes());
        }
        out[i] = blake3::Hash::from_bytes(bytes);
    }
}

/// The compression function on `L` lanes, for the only chunk of a
/// message (chunk counter 0), returning the new chaining values (the
/// hash itself after a `ROOT` block).
#[inline(always)]
fn compress<const L: usize>(
    cv: &[[u32; L]; 8],
    m: &[[u32; L]; 16],
    block_len: [u32; L],
    flags: [u32; L],
) -> [[u32; L]; 8] {
    let mut v = [
        cv[0], cv[1], cv[2], cv[3], cv[4], cv[5], cv[6], cv[7], [IV[0]; L], [IV[1]; L], [IV[2]; L],
        [IV[3]; L], [0; L], [0; L], block_len, flags,
    ];
    for s in &SCHEDULE {
        g(&mut v, [0, 4, 8, 12], m[s[0]], m[s[1]]);
        g(&mut v, [1, 5, 9, 13], m[s[2]], m[s[3]]);
        g(&mut v, [2, 6, 10, 14], m[s[4]], m[s[5]]);
        g(&mut v, [3, 7, 11, 15], m[s[6]], m[s[7]]);
        g(&mut v, [0, 5, 10, 15], m[s[8]], m[s[9]]);
        g(&mut v, [1, 6, 11, 12], m[s[10]], m[s[11]]);
        g(&mut v, [2, 7, 8, 13], m[s[12]], m[s[13]]);
        g(&mut v, [3, 4, 9, 14], m[s[14]], m[s[15]]);
    }
    std::array::from_fn(|w| xor(v[w], v[w + 8]))
}

/// The quarter-round G on four state words, lane by lane.
#[inline(always)]
fn g<const L: usize>(v: &mut [[u32; L]; 16], [a, b, c, d]: [usize; 4], x: [u32; L], y: [u32; L]) {
    v[a] = add(add(v[a], v[b]), x);
    v[d] = rotr(xor(v[d], v[a]), 16);
    v[c] = add(v[c], v[d]);
    v[b] = rotr(xor(v[b], v[c]), 12);
    v[a] = add(add(v[a], v[b]), y);
    v[d] = rotr(xor(v[d], v[a]), 8);
    v[c] = add(v[c], v[d]);
    v[b] = rotr(xor(v[b], v[c]), 7);
}

#[inline(always)]
fn add<const L: usize>(a: [u32; L], b: [u32; L]) -> [u32; L] {
    std::array::from_fn(|l| a[l].wrapping_add(b[l]))
}

#[inline(always)]
fn xor<const L: usize>(a: [u32; L], b: [u32; L]) -> [u32; L] {
    std::array::from_fn(|l| a[l] ^ b[l])
}

#[inline(always)]
fn rotr<const L: usize>(a: [u32; L], n: u32) -> [u32; L] {
    std::array::from_fn(|l| a[l].rotate_right(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes that are not all alike, so a misplaced word shows.
    fn message(len: usize, seed: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 + seed * 7 + (i >> 8)) as u8).collect()
    }

    #[test]
    fn every_length_hashes_as_the_blake3_crate_does() {
        let all: Vec<Vec<u8>> = (0..=2 * CHUNK + 3).map(|n| message(n, n)).collect();
        let refs: Vec<&[u8]> = all.iter().map(Vec::as_slice).collect();
        let got = hash_many(&refs);
        for (m, h) in all.iter().zip(&got) {
            assert_eq!(*h, blake3::hash(m), "length {}", m.len());
        }
    }

    #[test]
    fn batches_of_any_size_and_mixed_lengths_agree() {
        for count in [0, 1, 7, 8, 9, 15, 16, 17, 33] {
            let all: Vec<Vec<u8>> =
                (0..count).map(|i| message([0, 5, 64, 65, 300, 1024, 1025][i % 7], i)).collect();
            let refs: Vec<&[u8]> = all.iter().map(Vec::as_slice).collect();
            let want: Vec<blake3::Hash> = all.iter().map(|m| blake3::hash(m)).collect();
            assert_eq!(hash_many(&refs), want, "{count} messages");
        }
    }

    #[test]
    fn the_portable_lanes_agree_too() {
        // Whatever the CPU, the generic code runs: full and part batches.
        for count in [3, 4] {
            let all: Vec<Vec<u8>> = (0..count).map(|i| message(300 * i + 3, i)).collect();
            let refs: Vec<&[u8]> = all.iter().map(Vec::as_slice).collect();
            let batch: Vec<usize> = (0..count).collect();
            let mut out = vec![blake3::Hash::from_bytes([0; 32]); count];
            batch_lanes::<4>(&refs, &batch, &mut out);
            for (m, h) in all.iter().zip(&out) {
                assert_eq!(*h, blake3::hash(m));
            }
            // The AVX2 width, on any CPU.
            let mut out = vec![blake3::Hash::from_bytes([0; 32]); count];
            batch_lanes::<8>(&refs, &batch, &mut out);
            for (m, h) in all.iter().zip(&out) {
                assert_eq!(*h, blake3::hash(m));
            }
        }
    }
}
