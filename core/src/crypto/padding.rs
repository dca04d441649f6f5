//! 长度填充 — size classes, so what is stored does not reveal the exact size of what was sealed.
//!
//! A copied database or vault showed the exact length of every photo: enough to tell which
//! seized or leaked file is which sealed item. Ciphertext is therefore padded up to a *size class*
//! computed by Padmé (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
//! Communication with PURBs", PETS 2019): a length L is rounded up so that only its top
//! ⌊log2 ⌊log2 L⌋⌋ + 1 bits may be non-zero. A class then hides all but O(log log L) bits of the
//! length, and costs at most 1/2^(that many bits) extra: under 3.2 % for anything of 64 KiB or more
//! (64 KiB steps for a 2–4 MB photo, 32 MiB steps for a 1 GB video), against up to 100 % for the
//! next power of two. Below a floor everything is one class. docs/decisions/0011-padded-sizes.md
//! says why this and not fixed steps or powers of two.
//!
//! The true length is always kept inside the authenticated plaintext (the vault stream's trailer,
//! the thumbnail's length prefix, the signed manifest's `size`), never derived from the padding.

/// Vault blobs smaller than this are all stored as this size (one stream segment).
pub const BLOB_FLOOR: u64 = 64 * 1024;
/// Sealed thumbnails (a few to a few tens of KiB) smaller than this share one class.
pub const THUMBNAIL_FLOOR: u64 = 4 * 1024;

/// Padmé: the smallest length ≥ `len` whose bits below the top ⌊log2 ⌊log2 len⌋⌋ + 1 are zero.
/// Saturates at `u64::MAX` (never reached: evidence is bounded far below).
pub fn padme(len: u64) -> u64 {
    if len < 2 {
        return len;
    }
    let e = u64::from(63 - len.leading_zeros()); // ⌊log2 len⌋ ≥ 1
    let s = u64::from(63 - e.leading_zeros()) + 1; // ⌊log2 e⌋ + 1
    let mask = (1u64 << (e - s)) - 1;
    len.checked_add(mask).map_or(u64::MAX, |l| l & !mask)
}

/// The size class of `len` with everything below `floor` in one class.
pub fn size_class(len: u64, floor: u64) -> u64 {
    padme(len).max(floor)
}

/// `bytes` with a 4-byte big-endian length prefix, zero-padded to the size class of the whole
/// (prefix included), for a sealed database value whose ciphertext length must not tell its size.
pub fn pad_value(bytes: &[u8], floor: u64) -> Option<Vec<u8>> {
    let len = u32::try_from(bytes.len()).ok()?;
    let total = usize::try_from(size_class(bytes.len() as u64 + 4, floor)).ok()?;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    out.resize(total, 0);
    Some(out)
}

/// The value [`pad_value`] padded, or `None` when the prefix, the padding or the class is not
/// what `pad_value` writes (so one plaintext has exactly one padded form).
pub fn unpad_value(padded: &[u8], floor: u64) -> Option<&[u8]> {
    let prefix: [u8; 4] = padded.get(..4)?.try_into().ok()?;
    let len = u32::from_be_bytes(prefix) as usize;
    let body = padded.get(4..4 + len)?;
    let canonical =
        size_class(len as u64 + 4, floor) == padded.len() as u64 && padded[4 + len..].iter().all(|&b| b == 0);
    canonical.then_some(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn padme_matches_the_published_examples_and_bounds() {
        // From the paper's definition: 9 → 10 (E=3, S=2: one low bit cleared), powers of two stay.
        assert_eq!(padme(9), 10);
        assert_eq!(padme(1 << 20), 1 << 20);
        // A 2.26 MB photo: 64 KiB steps.
        assert_eq!(padme(2_261_836), 35 * 65_536);
        // 1 GiB + 1: 32 MiB steps.
        assert_eq!(padme((1 << 30) + 1), (1 << 30) + (32 << 20));
        assert_eq!(size_class(10, BLOB_FLOOR), BLOB_FLOOR);
    }

    #[test]
    fn a_padded_value_has_exactly_one_form() {
        let padded = pad_value(b"thumbnail", THUMBNAIL_FLOOR).unwrap();
        assert_eq!(padded.len() as u64, THUMBNAIL_FLOOR);
        assert_eq!(unpad_value(&padded, THUMBNAIL_FLOOR), Some(&b"thumbnail"[..]));
        let mut odd = padded.clone();
        *odd.last_mut().unwrap() = 1;
        assert_eq!(unpad_value(&odd, THUMBNAIL_FLOOR), None, "non-zero padding");
        assert_eq!(unpad_value(&padded[..padded.len() - 1], THUMBNAIL_FLOOR), None, "wrong class");
        assert_eq!(unpad_value(&[0, 0, 0, 9, 1], THUMBNAIL_FLOOR), None, "length past the end");
    }

    proptest! {
        #[test]
        fn padme_never_shrinks_costs_under_twelve_percent_and_is_idempotent(len in 2u64..(1 << 40)) {
            let p = padme(len);
            prop_assert!(p >= len);
            prop_assert!((p - len) as f64 <= len as f64 * 0.125);
            prop_assert_eq!(padme(p), p);
            if len >= BLOB_FLOOR {
                prop_assert!((p - len) as f64 <= len as f64 / 32.0);
            }
        }

        #[test]
        fn lengths_in_one_class_pad_to_the_same_size(a in 0usize..70_000, b in 0usize..70_000) {
            let (pa, pb) = (pad_value(&vec![1; a], THUMBNAIL_FLOOR).unwrap(), pad_value(&vec![2; b], THUMBNAIL_FLOOR).unwrap());
            let same_class = size_class(a as u64 + 4, THUMBNAIL_FLOOR) == size_class(b as u64 + 4, THUMBNAIL_FLOOR);
            prop_assert_eq!(pa.len() == pb.len(), same_class);
        }
    }
}
