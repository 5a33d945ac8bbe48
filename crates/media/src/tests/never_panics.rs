use proptest::prelude::*;

use crate::fixtures::ALL;
use crate::{Limits, inspect, sniff};

fn fixture() -> impl Strategy<Value = &'static [u8]> {
    prop::sample::select(ALL.iter().map(|f| f.1).collect::<Vec<_>>())
}

/// Outcomes that must hold for any input: no panic, and anything accepted is in limits.
fn inspect_is_total(bytes: &[u8]) {
    let limits = Limits::default();
    if let Ok(info) = inspect(bytes, &limits) {
        assert!(info.width >= 1 && info.width <= limits.max_side);
        assert!(info.height >= 1 && info.height <= limits.max_side);
        assert_eq!(sniff(bytes), Some(info.format));
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        inspect_is_total(&bytes);
    }

    #[test]
    fn arbitrary_bytes_behind_each_magic(
        magic in prop::sample::select(vec![
            &b"\xFF\xD8\xFF"[..],
            b"\x89PNG\r\n\x1a\n",
            b"RIFF\0\0\0\0WEBP",
        ]),
        tail in prop::collection::vec(any::<u8>(), 0..1024),
    ) {
        inspect_is_total(&[magic, &tail].concat());
    }

    #[test]
    fn mutated_fixtures(
        original in fixture(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = original.to_vec();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        inspect_is_total(&bytes);
    }

    #[test]
    fn spliced_fixtures(
        original in fixture(),
        at in any::<prop::sample::Index>(),
        cut in 0usize..64,
        insert in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let start = at.index(original.len());
        let end = (start + cut).min(original.len());
        inspect_is_total(&[&original[..start], &insert, &original[end..]].concat());
    }
}
