//! Delimiting a value 64 bytes at a time: one bit per byte for its quotes, backslashes and
//! brackets (AVX2, 32 bytes per comparison, where the processor has it, else SSE2, which every
//! x86-64 processor has, 16 bytes per comparison), the bytes inside strings found from the quotes
//! that are not escaped (by a carry-less multiplication where the processor has one), and the
//! brackets outside strings counted a block at a time.
//!
//! A backslash escapes the byte after it unless it is itself escaped, so in a run of
//! backslashes every second one escapes: [`escaped`] finds the escaped bytes of a block with
//! integer arithmetic (adding a run's start to the run carries past its end, which tells the
//! runs that start at an even position from the others), carrying a run that crosses into the
//! next block.

use std::arch::x86_64::{
    __m128i, __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_or_si256,
    _mm256_set1_epi8, _mm_clmulepi64_si128, _mm_cmpeq_epi8, _mm_cvtsi128_si64, _mm_loadu_si128,
    _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8, _mm_set_epi64x,
};

const BLOCK: usize = 64;
/// The bits at even positions.
const EVEN: u64 = 0x5555_5555_5555_5555;

/// See [`super::delimit`].
pub(super) fn delimit(bytes: &[u8], start: usize) -> Option<usize> {
    // Detected once per process, then a load and a test. Every processor with AVX2 has
    // PCLMULQDQ and POPCNT too; all three are checked all the same.
    if std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("pclmulqdq")
        && std::arch::is_x86_feature_detected!("popcnt")
    {
        // SAFETY: the processor has AVX2, PCLMULQDQ and POPCNT.
        unsafe { delimit_avx2(bytes, start) }
    } else {
        // Counting bits takes longer without a POPCNT instruction, which is not part of the
        // x86-64 baseline: the brackets are walked one by one.
        delimit_with(
            bytes,
            start,
            Masks::of_sse2,
            prefix_xor,
            None::<fn(u64) -> u32>,
        )
    }
}

/// [`delimit_with`] compiled for AVX2, its masks made 32 bytes at a time, its prefix XORs by
/// one carry-less multiplication, and a block's brackets counted rather than walked where the
/// value cannot end in it.
///
/// # Safety
///
/// The processor must have AVX2, PCLMULQDQ and POPCNT.
#[target_feature(enable = "avx2,pclmulqdq,popcnt")]
unsafe fn delimit_avx2(bytes: &[u8], start: usize) -> Option<usize> {
    // SAFETY: this function runs only where the processor has AVX2, PCLMULQDQ and POPCNT.
    delimit_with(
        bytes,
        start,
        |block| unsafe { Masks::of_avx2(block) },
        |bits| unsafe { prefix_xor_clmul(bits) },
        Some(|bits: u64| bits.count_ones()),
    )
}

/// Delimits the value at `start` with `masks` making each block's bits, `prefix_xor` the bytes
/// inside strings from its quotes, and `count_ones`, where counting is cheap, counting a block's
/// brackets.
#[inline(always)]
fn delimit_with(
    bytes: &[u8],
    start: usize,
    masks: impl Fn(&[u8; BLOCK]) -> Masks,
    prefix_xor: impl Fn(u64) -> u64,
    count_ones: Option<impl Fn(u64) -> u32>,
) -> Option<usize> {
    let mut at = start;
    let mut depth = 0_u32;
    // All ones while the block boundary is inside a string.
    let mut in_string = 0_u64;
    // 1 when the first byte of the next block is escaped.
    let mut escape_carry = 0_u64;
    let mut padded = [b' '; BLOCK];
    loop {
        let block: &[u8; BLOCK] = match bytes.get(at..at + BLOCK) {
            Some(block) => block.try_into().ok()?,
            None => {
                // The last bytes, then spaces, which are none of the bytes looked at.
                let rest = bytes.get(at..).filter(|rest| !rest.is_empty())?;
                padded[..rest.len()].copy_from_slice(rest);
                &padded
            }
        };
        let found = masks(block);
        let escaped = if found.backslash | escape_carry != 0 {
            escaped(found.backslash, &mut escape_carry)
        } else {
            0
        };
        // Set from an opening quote up to (not including) its closing quote.
        let inside = prefix_xor(found.quote & !escaped) ^ in_string;
        in_string = ((inside as i64) >> 63) as u64;
        let (opens, closes) = (found.open & !inside, found.close & !inside);
        match &count_ones {
            // Fewer closing brackets in the block than are open before it: the value does not
            // end in this block.
            Some(count) if count(closes) < depth => depth = depth + count(opens) - count(closes),
            // Walked one by one.
            _ => {
                if let Some(end) = closing(opens, closes, &mut depth) {
                    return Some(at + end);
                }
            }
        }
        at += BLOCK;
    }
}

/// Walks a block's brackets in order from `depth`: the index after the one that closes the
/// value, if it is in this block.
fn closing(opens: u64, closes: u64, depth: &mut u32) -> Option<usize> {
    let mut brackets = opens | closes;
    while brackets != 0 {
        let at = brackets.trailing_zeros();
        if opens >> at & 1 == 1 {
            *depth += 1;
        } else {
            *depth = depth.checked_sub(1)?;
            if *depth == 0 {
                return Some(at as usize + 1);
            }
        }
        brackets &= brackets - 1;
    }
    None
}

/// Each bit set, and every bit above it up to the next one set, cleared by that one: bit `i`
/// of the result is the parity of the bits `0..=i` of `bits`.
#[inline(always)]
fn prefix_xor(mut bits: u64) -> u64 {
    bits ^= bits << 1;
    bits ^= bits << 2;
    bits ^= bits << 4;
    bits ^= bits << 8;
    bits ^= bits << 16;
    bits ^= bits << 32;
    bits
}

/// [`prefix_xor`] as one carry-less multiplication by all ones: bit `i` of the product is the
/// XOR of the bits `0..=i`.
///
/// # Safety
///
/// The processor must have PCLMULQDQ.
#[inline]
#[target_feature(enable = "pclmulqdq")]
unsafe fn prefix_xor_clmul(bits: u64) -> u64 {
    let product = _mm_clmulepi64_si128(_mm_set_epi64x(0, bits as i64), _mm_set1_epi8(-1), 0);
    _mm_cvtsi128_si64(product) as u64
}

/// The bytes of a block escaped by a backslash, from its `backslash` bits; `carry` is 1 when the
/// block's first byte is escaped, and is set for the next block.
fn escaped(backslash: u64, carry: &mut u64) -> u64 {
    // A backslash escaped by the previous block is a plain byte.
    let backslash = backslash & !*carry;
    let follows = (backslash << 1) | *carry;
    // The first backslash of each run that starts at an odd position.
    let odd_starts = backslash & !EVEN & !follows;
    // Adding each such start to its run carries to the bit past the run's end; the runs that
    // start at an even position are left as they are.
    let (runs, overflow) = odd_starts.overflowing_add(backslash);
    *carry = u64::from(overflow);
    // Past a run from an even start the odd positions are escaped, past an odd one the even.
    (EVEN ^ (runs << 1)) & follows
}

/// One bit per byte of a block: quotes, backslashes, opening and closing brackets.
struct Masks {
    quote: u64,
    backslash: u64,
    open: u64,
    close: u64,
}

/// The [`Masks`] of `$block`, `$width` bytes per comparison with the intrinsics of one vector
/// type: its load, or, splat, byte comparison and mask (whose bits are `$bits` wide).
macro_rules! masks_of {
    ($block:expr, $width:literal, $vector:ty, $bits:ty,
     $load:ident, $or:ident, $splat:ident, $equal:ident, $movemask:ident) => {{
        let mut masks = Masks {
            quote: 0,
            backslash: 0,
            open: 0,
            close: 0,
        };
        for (index, chunk) in $block.chunks_exact($width).enumerate() {
            let shift = index * $width;
            // SAFETY: the caller's processor has the instructions (SSE2 is part of the x86-64
            // baseline, AVX2 is checked), and the unaligned load reads the bytes of `chunk`.
            unsafe {
                let bytes = $load(chunk.as_ptr().cast::<$vector>());
                // `[` and `{` differ by 0x20 alone, as do `]` and `}`.
                let folded = $or(bytes, $splat(0x20));
                let bits = |v: $vector, byte: u8| {
                    u64::from($movemask($equal(v, $splat(byte as i8))) as $bits) << shift
                };
                masks.quote |= bits(bytes, b'"');
                masks.backslash |= bits(bytes, b'\\');
                masks.open |= bits(folded, b'{');
                masks.close |= bits(folded, b'}');
            }
        }
        masks
    }};
}

impl Masks {
    /// The masks of a block by 16-byte SSE2 comparisons.
    fn of_sse2(block: &[u8; BLOCK]) -> Masks {
        masks_of!(
            block,
            16,
            __m128i,
            u16,
            _mm_loadu_si128,
            _mm_or_si128,
            _mm_set1_epi8,
            _mm_cmpeq_epi8,
            _mm_movemask_epi8
        )
    }

    /// The masks of a block by 32-byte AVX2 comparisons.
    ///
    /// # Safety
    ///
    /// The processor must have AVX2.
    #[target_feature(enable = "avx2")]
    unsafe fn of_avx2(block: &[u8; BLOCK]) -> Masks {
        masks_of!(
            block,
            32,
            __m256i,
            u32,
            _mm256_loadu_si256,
            _mm256_or_si256,
            _mm256_set1_epi8,
            _mm256_cmpeq_epi8,
            _mm256_movemask_epi8
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::skip_raw;
    use super::{delimit, delimit_with, escaped, prefix_xor, prefix_xor_clmul, Masks};

    /// Escaped bytes one at a time.
    fn naive_escaped(bytes: &[u8]) -> Vec<bool> {
        let mut out = vec![false; bytes.len()];
        let mut escaping = false;
        for (at, &b) in bytes.iter().enumerate() {
            out[at] = escaping;
            escaping = !escaping && b == b'\\';
        }
        out
    }

    #[test]
    fn finds_escaped_bytes_across_blocks() {
        let mut next = numbers(0x2545_f491_4f6c_dd1d);
        for _ in 0..2000 {
            let bytes: Vec<u8> = (0..256)
                .map(|_| if next() % 3 == 0 { b'a' } else { b'\\' })
                .collect();
            let mut carry = 0;
            let mut found = Vec::new();
            for block in bytes.chunks(64) {
                let mask = block
                    .iter()
                    .enumerate()
                    .fold(0_u64, |m, (i, &b)| m | (u64::from(b == b'\\') << i));
                let escaped = escaped(mask, &mut carry);
                found.extend((0..64).map(|i| escaped >> i & 1 == 1));
            }
            assert_eq!(found, naive_escaped(&bytes));
        }
    }

    /// A stream of pseudo-random numbers.
    fn numbers(mut state: u64) -> impl FnMut() -> usize {
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 16) as usize
        }
    }

    /// Brackets, commas and strings (with escapes and brackets inside), cut at any length: the
    /// forms of JSON, with backslashes only inside strings.
    fn json_like(next: &mut impl FnMut() -> usize) -> Vec<u8> {
        let mut bytes = vec![b'['];
        let tokens = 1 + next() % 120;
        for _ in 0..tokens {
            match next() % 6 {
                0 => bytes.push(b'['),
                1 => bytes.push(b'{'),
                2 => bytes.push([b']', b'}'][next() % 2]),
                3 => bytes.extend_from_slice(b",1 "),
                _ => {
                    bytes.push(b'"');
                    for _ in 0..next() % 12 {
                        let piece: &[u8] =
                            [&b"a"[..], br"\\", br#"\""#, b"[", b"}", br"\n", b"x y"][next() % 7];
                        bytes.extend_from_slice(piece);
                    }
                    bytes.push(b'"');
                }
            }
        }
        bytes.truncate(1 + next() % bytes.len());
        bytes
    }

    #[test]
    fn masks_by_avx2_and_by_sse2_agree() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        let mut next = numbers(0x1234_5678_9abc_def1);
        let alphabet = b"\"\\[]{}ax{[";
        for _ in 0..20_000 {
            let block: [u8; 64] = std::array::from_fn(|_| alphabet[next() % alphabet.len()]);
            let sse2 = Masks::of_sse2(&block);
            // SAFETY: the processor has AVX2.
            let avx2 = unsafe { Masks::of_avx2(&block) };
            let bits = |m: &Masks| (m.quote, m.backslash, m.open, m.close);
            assert_eq!(
                bits(&sse2),
                bits(&avx2),
                "{:?}",
                String::from_utf8_lossy(&block)
            );
        }
    }

    #[test]
    fn prefix_xor_by_multiplication_agrees() {
        if !std::arch::is_x86_feature_detected!("pclmulqdq") {
            return;
        }
        let mut next = numbers(0x0bad_5eed_1234_4321);
        for _ in 0..20_000 {
            let bits = (next() as u64) << 32 ^ next() as u64;
            // SAFETY: the processor has PCLMULQDQ.
            assert_eq!(
                unsafe { prefix_xor_clmul(bits) },
                prefix_xor(bits),
                "{bits:#x}"
            );
        }
        assert_eq!(unsafe { prefix_xor_clmul(u64::MAX) }, prefix_xor(u64::MAX));
    }

    #[test]
    fn delimits_as_skip_raw_does() {
        let mut next = numbers(0x9e37_79b9_7f4a_7c15);
        let mut delimited = 0;
        for _ in 0..20_000 {
            let bytes = json_like(&mut next);
            let want = skip_raw(&bytes, 0).map(|found| found.end);
            delimited += usize::from(want.is_some());
            let text = String::from_utf8_lossy(&bytes);
            assert_eq!(delimit(&bytes, 0), want, "{text:?}");
            let by_sse2 = delimit_with(
                &bytes,
                0,
                Masks::of_sse2,
                prefix_xor,
                None::<fn(u64) -> u32>,
            );
            assert_eq!(by_sse2, want, "{text:?}");
        }
        assert!(delimited > 2000, "{delimited} delimited");
    }

    #[test]
    fn delimits_from_an_offset_and_past_a_block() {
        let text = format!(r#"{{"a":[1,"{}\"]\\",[["}}"]]],"b":2}}"#, "x".repeat(70));
        let start = text.find('[').expect("array");
        let end = delimit(text.as_bytes(), start).expect("delimited");
        assert_eq!(&text[end..], r#","b":2}"#);
        assert_eq!(delimit(b"[1,[2]", 0), None);
    }
}
