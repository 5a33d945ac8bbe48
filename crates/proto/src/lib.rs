//! Generated protobuf and gRPC code for the Rentory services, plus the small conversions
//! every service needs (timestamps).

pub mod identity {
    pub mod v1 {
        tonic::include_proto!("rentory.identity.v1");
    }
}

pub mod kyc {
    pub mod v1 {
        tonic::include_proto!("rentory.kyc.v1");
    }
}

pub mod ai {
    pub mod v1 {
        tonic::include_proto!("rentory.ai.v1");
    }
}

pub mod listings {
    pub mod v1 {
        tonic::include_proto!("rentory.listings.v1");
    }
}

pub mod chat {
    pub mod v1 {
        tonic::include_proto!("rentory.chat.v1");
    }
}

pub mod payments {
    pub mod v1 {
        tonic::include_proto!("rentory.payments.v1");
    }
}

pub mod lease {
    pub mod v1 {
        tonic::include_proto!("rentory.lease.v1");
    }
}

pub mod events {
    pub mod v1 {
        tonic::include_proto!("rentory.events.v1");
    }
}

pub use prost;
pub use prost_types;

/// Converts a `time` instant into a protobuf timestamp.
pub fn timestamp(at: time::OffsetDateTime) -> prost_types::Timestamp {
    let nanos = at.unix_timestamp_nanos();
    prost_types::Timestamp {
        seconds: nanos.div_euclid(1_000_000_000) as i64,
        nanos: nanos.rem_euclid(1_000_000_000) as i32,
    }
}

/// Converts a protobuf timestamp back; `None` when it is out of range.
pub fn offset_date_time(ts: &prost_types::Timestamp) -> Option<time::OffsetDateTime> {
    let nanos = i128::from(ts.seconds) * 1_000_000_000 + i128::from(ts.nanos);
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_including_before_the_epoch() {
        for at in [
            time::macros::datetime!(2026-11-24 08:00:00.123456789 UTC),
            time::macros::datetime!(1969-12-31 23:59:59.5 UTC),
        ] {
            assert_eq!(offset_date_time(&timestamp(at)), Some(at));
        }
    }
}
