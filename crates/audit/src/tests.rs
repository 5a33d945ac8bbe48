#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

use super::*;

fn entry(n: u128) -> AuditEntry {
    AuditEntry {
        id: Uuid::from_u128(n),
        subject_id: Uuid::from_u128(1000 + n),
        actor_id: Uuid::from_u128(2000),
        actor_role: "ADMIN".into(),
        ip_address: Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7))),
        request_id: Some(format!("req-{n}")),
        from_status: Some("PENDING".into()),
        to_status: "APPROVED".into(),
        reason: None,
        at: datetime!(2026-11-24 08:00:00.123456 UTC),
        user_agent: None,
        content_sha256: None,
    }
}

/// `chain(GENESIS, canonical(entry(1)))`, computed independently (Python's hashlib over the
/// documented version 1 layout) before version 2 was added.
const V1_ENTRY_1_HASH: &str = "5fa4c4385e079b6f8e17242e07895615c842d39039ff9ed1e684970832b5596d";

fn build(entries: Vec<AuditEntry>) -> Vec<ChainedEntry> {
    let mut prev = GENESIS;
    entries
        .into_iter()
        .map(|e| {
            let row = ChainedEntry::seal(&prev, e);
            prev = row.hash.as_slice().try_into().unwrap();
            row
        })
        .collect()
}

#[test]
fn an_empty_chain_and_an_untouched_chain_verify() {
    assert_eq!(verify(&[]), Ok(()));
    let rows = build((1..=5).map(entry).collect());
    assert_eq!(verify(&rows), Ok(()));
    assert_eq!(rows[0].prev_hash, GENESIS.to_vec());
    for pair in rows.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
}

#[test]
fn chain_is_sha256_of_prev_hash_then_canonical() {
    // SHA-256 of 32 zero bytes followed by "abc", computed independently (Python hashlib).
    assert_eq!(
        to_hex(&chain(&GENESIS, b"abc")),
        "365aa7d8f7f9402c4b9434502b4cc89ddb09fe50d7cd95b493b834c62d5a5370"
    );
    assert_ne!(chain(&GENESIS, b"abc"), chain(&GENESIS, b"abd"));
    assert_ne!(chain(&GENESIS, b"abc"), chain(&[1u8; 32], b"abc"));
}

#[test]
fn canonical_separates_null_from_empty_and_field_boundaries() {
    let base = entry(1);
    let null_reason = AuditEntry {
        reason: None,
        ..base.clone()
    };
    let empty_reason = AuditEntry {
        reason: Some(String::new()),
        ..base.clone()
    };
    assert_ne!(canonical(&null_reason), canonical(&empty_reason));

    // Moving characters from one text field to its neighbour changes the encoding.
    let a = AuditEntry {
        from_status: Some("PENDINGA".into()),
        to_status: "PPROVED".into(),
        ..base.clone()
    };
    let b = AuditEntry {
        from_status: Some("PENDING".into()),
        to_status: "APPROVED".into(),
        ..base
    };
    assert_ne!(canonical(&a), canonical(&b));
}

#[test]
fn canonical_layout_is_stable() {
    let bytes = canonical(&entry(1));
    assert!(bytes.starts_with(&[0, 0, 0, 16]));
    assert_eq!(&bytes[4..20], b"rentory-audit/v1");
    // The first field is "id", present, 16 bytes of UUID.
    assert_eq!(&bytes[20..26], &[0, 0, 0, 2, b'i', b'd']);
    assert_eq!(bytes[26], 1);
    assert_eq!(&bytes[27..31], &[0, 0, 0, 16]);
    assert_eq!(&bytes[31..47], Uuid::from_u128(1).as_bytes());
}

#[test]
fn rows_with_version_2_fields_are_encoded_as_version_2() {
    let v1 = canonical(&entry(1));
    let with_agent = AuditEntry {
        user_agent: Some("okhttp/4.12".into()),
        ..entry(1)
    };
    let with_hash = AuditEntry {
        content_sha256: Some("ab".repeat(32)),
        ..entry(1)
    };
    for v2 in [canonical(&with_agent), canonical(&with_hash)] {
        assert_eq!(&v2[4..20], b"rentory-audit/v2");
        // Version 1's fields follow unchanged, then the two new ones.
        assert_eq!(&v2[20..v1.len()], &v1[20..]);
        assert!(v2.len() > v1.len());
    }
    assert_ne!(canonical(&with_agent), canonical(&with_hash));
    // An empty user agent is still a value, and differs from none.
    let empty_agent = AuditEntry {
        user_agent: Some(String::new()),
        ..entry(1)
    };
    assert_ne!(canonical(&empty_agent), v1);
}

#[test]
fn version_1_bytes_are_what_they_were() {
    // Fixed before version 2 existed: KYC and payment chains written then must still verify.
    let digest = chain(&GENESIS, &canonical(&entry(1)));
    assert_eq!(
        to_hex(&digest),
        V1_ENTRY_1_HASH,
        "the version 1 encoding changed"
    );
}

#[test]
fn time_is_hashed_at_microsecond_precision_in_utc() {
    let at = datetime!(2026-11-24 08:00:00.123456789 UTC);
    let truncated = truncate_to_micros(at);
    assert_eq!(truncated, datetime!(2026-11-24 08:00:00.123456 UTC));
    let a = AuditEntry { at, ..entry(1) };
    let b = AuditEntry {
        at: truncated,
        ..entry(1)
    };
    assert_eq!(canonical(&a), canonical(&b));
    // The same instant in another offset is the same row.
    let c = AuditEntry {
        at: truncated.to_offset(time::macros::offset!(+1)),
        ..entry(1)
    };
    assert_eq!(canonical(&b), canonical(&c));
    // Before the epoch, flooring still holds.
    let early = datetime!(1969-12-31 23:59:59.9999995 UTC);
    assert_eq!(
        truncate_to_micros(early),
        datetime!(1969-12-31 23:59:59.999999 UTC)
    );
}

#[test]
fn ipv6_is_hashed_in_its_canonical_text_form() {
    let long: IpAddr = "2001:0db8:0000:0000:0000:0000:0000:0001".parse().unwrap();
    let short = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
    let a = AuditEntry {
        ip_address: Some(long),
        ..entry(1)
    };
    let b = AuditEntry {
        ip_address: Some(short),
        ..entry(1)
    };
    assert_eq!(canonical(&a), canonical(&b));
}

#[test]
fn an_edited_row_is_named_with_wrong_hash() {
    let mut rows = build((1..=4).map(entry).collect());
    rows[2].entry.reason = Some("edited".into());
    assert_eq!(
        verify(&rows),
        Err(Broken {
            row_id: Uuid::from_u128(3),
            position: 2,
            kind: BrokenKind::WrongHash
        })
    );
}

#[test]
fn a_removed_or_reordered_row_breaks_the_link_of_the_next() {
    let rows = build((1..=4).map(entry).collect());
    let mut removed = rows.clone();
    removed.remove(1);
    let broken = verify(&removed).unwrap_err();
    assert_eq!(broken.row_id, Uuid::from_u128(3));
    assert_eq!(broken.kind, BrokenKind::WrongPrevHash);

    let mut swapped = rows;
    swapped.swap(1, 2);
    let broken = verify(&swapped).unwrap_err();
    assert_eq!(broken.row_id, Uuid::from_u128(3));
    assert_eq!(broken.kind, BrokenKind::WrongPrevHash);
}

#[test]
fn a_row_rehashed_after_an_edit_breaks_the_next_link() {
    // Whoever edits a row and recomputes its hash still breaks the following row.
    let mut rows = build((1..=3).map(entry).collect());
    rows[0].entry.to_status = "REJECTED".into();
    let prev: Hash = rows[0].prev_hash.as_slice().try_into().unwrap();
    rows[0].hash = chain(&prev, &canonical(&rows[0].entry)).to_vec();
    let broken = verify(&rows).unwrap_err();
    assert_eq!(
        (broken.position, broken.kind),
        (1, BrokenKind::WrongPrevHash)
    );
}

#[test]
fn wrong_length_hashes_are_reported_not_panicked_on() {
    let mut rows = build((1..=2).map(entry).collect());
    rows[0].hash.truncate(5);
    assert_eq!(verify(&rows).unwrap_err().kind, BrokenKind::WrongHash);
    let mut rows = build((1..=2).map(entry).collect());
    rows[0].prev_hash = vec![0; 31];
    assert_eq!(verify(&rows).unwrap_err().kind, BrokenKind::WrongPrevHash);
}

// ---- property: any edit of any field of any row is detected, and that row is named ----

fn arb_text() -> impl Strategy<Value = String> {
    "\\PC{0,12}"
}

fn arb_ip() -> impl Strategy<Value = Option<IpAddr>> {
    prop_oneof![
        Just(None),
        any::<[u8; 4]>().prop_map(|o| Some(IpAddr::V4(Ipv4Addr::from(o)))),
        any::<[u8; 16]>().prop_map(|o| Some(IpAddr::V6(Ipv6Addr::from(o)))),
    ]
}

fn arb_time() -> impl Strategy<Value = OffsetDateTime> {
    // 1990 ..= 2100, at microsecond precision like the database.
    (631_152_000_000_000i64..4_102_444_800_000_000i64).prop_map(|micros| {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).unwrap()
    })
}

prop_compose! {
    fn arb_entry()(
        subject in any::<u128>(),
        actor in any::<u128>(),
        actor_role in arb_text(),
        ip_address in arb_ip(),
        request_id in proptest::option::of(arb_text()),
        from_status in proptest::option::of(arb_text()),
        to_status in arb_text(),
        reason in proptest::option::of(arb_text()),
        at in arb_time(),
        user_agent in proptest::option::of(arb_text()),
        content_sha256 in proptest::option::of(arb_text()),
    ) -> AuditEntry {
        AuditEntry {
            id: Uuid::nil(), // made unique per chain below
            subject_id: Uuid::from_u128(subject),
            actor_id: Uuid::from_u128(actor),
            actor_role, ip_address, request_id, from_status, to_status, reason, at,
            user_agent, content_sha256,
        }
    }
}

const FIELDS: usize = 14;

/// Changes field number `field` of `row` to a different value, derived from `seed`.
fn edit(row: &mut ChainedEntry, field: usize, seed: u64) {
    let flip = |bytes: &mut Vec<u8>| {
        if bytes.is_empty() {
            bytes.push(1);
        } else {
            let at = (seed as usize) % bytes.len();
            bytes[at] ^= 1 << (seed % 8);
        }
    };
    let text = |s: &mut String| s.push(char::from(b'a' + (seed % 26) as u8));
    let opt_text = |s: &mut Option<String>| match s {
        Some(_) if seed.is_multiple_of(2) => *s = None,
        Some(v) => v.push('x'),
        None => *s = Some(String::new()),
    };
    let e = &mut row.entry;
    match field {
        0 => e.id = Uuid::from_u128(e.id.as_u128() ^ (1u128 << (seed % 128))),
        1 => e.subject_id = Uuid::from_u128(e.subject_id.as_u128() ^ (1u128 << (seed % 128))),
        2 => e.actor_id = Uuid::from_u128(e.actor_id.as_u128() ^ (1u128 << (seed % 128))),
        3 => text(&mut e.actor_role),
        4 => {
            e.ip_address = match e.ip_address {
                None => Some(IpAddr::V4(Ipv4Addr::from(seed as u32))),
                Some(IpAddr::V4(v4)) => Some(IpAddr::V4(Ipv4Addr::from(u32::from(v4) ^ 1))),
                Some(IpAddr::V6(_)) => None,
            }
        }
        5 => opt_text(&mut e.request_id),
        6 => opt_text(&mut e.from_status),
        7 => text(&mut e.to_status),
        8 => opt_text(&mut e.reason),
        9 => e.at += time::Duration::microseconds(1 + (seed % 1_000_000) as i64),
        10 => opt_text(&mut e.user_agent),
        11 => opt_text(&mut e.content_sha256),
        12 => flip(&mut row.prev_hash),
        _ => flip(&mut row.hash),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_edit_names_the_edited_row(
        entries in proptest::collection::vec(arb_entry(), 1..8),
        row_pick in any::<proptest::sample::Index>(),
        field in 0..FIELDS,
        seed in any::<u64>(),
    ) {
        let entries = entries
            .into_iter()
            .enumerate()
            .map(|(i, e)| AuditEntry { id: Uuid::from_u128(i as u128 + 1), ..e })
            .collect();
        let mut rows = build(entries);
        prop_assert_eq!(verify(&rows), Ok(()));

        let k = row_pick.index(rows.len());
        let before = rows[k].clone();
        edit(&mut rows[k], field, seed);
        prop_assert_ne!(&before, &rows[k], "the edit must change something");

        let broken = verify(&rows).expect_err("an edit must be detected");
        prop_assert_eq!(broken.position, k);
        prop_assert_eq!(broken.row_id, rows[k].entry.id);
        let expected = if field == 12 { BrokenKind::WrongPrevHash } else { BrokenKind::WrongHash };
        prop_assert_eq!(broken.kind, expected);
    }
}
