//! The in-place rewrites a leader does on append: base offset and leader epoch leave the
//! CRC-covered bytes alone; log-append time changes them and recomputes the CRC.

use proptest::prelude::*;
use strom_record::{
    DecodeLimits, LeaderEpoch, Offset, Timestamp, TimestampType, ValidatedBatch, verify_crc,
};

use crate::strategy::batch;

/// The CRC-covered region starts at the attributes, byte 21.
const CRC_REGION: usize = 21;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn offset_and_epoch_rewrites_keep_the_crc_region(
        spec in batch(6, true),
        base_offset in 0u64..1 << 50,
        epoch in 0u32..i32::MAX as u32,
    ) {
        let original = spec.build();
        let mut batch = original.clone();
        batch.set_base_offset(Offset(base_offset));
        batch.set_partition_leader_epoch(LeaderEpoch(epoch));
        prop_assert_eq!(&batch.as_bytes()[CRC_REGION..], &original.as_bytes()[CRC_REGION..]);
        prop_assert_eq!(&batch.as_bytes()[..8], &base_offset.to_be_bytes()[..]);
        verify_crc(batch.as_bytes()).unwrap();

        // The header we keep and the header the bytes say agree.
        let reread = ValidatedBatch::new(batch.clone().into_bytes()).unwrap();
        prop_assert_eq!(reread.header(), batch.header());
        prop_assert_eq!(reread.header().partition_leader_epoch, Some(LeaderEpoch(epoch)));

        let shift = |offset: Offset| Offset(offset.0 - spec.config.base_offset.0 + base_offset);
        let expected: Vec<_> = spec
            .expected_records()
            .into_iter()
            .map(|mut record| {
                record.offset = shift(record.offset);
                record
            })
            .collect();
        prop_assert_eq!(reread.records(DecodeLimits::default()).unwrap(), expected);
        prop_assert_eq!(reread.header().last_offset(), shift(spec.last_offset()));
    }

    #[test]
    fn log_append_time_recomputes_the_crc(spec in batch(6, false), now in any::<i64>()) {
        let mut batch = spec.build();
        batch.set_log_append_time(Timestamp(now));
        verify_crc(batch.as_bytes()).unwrap();
        let reread = ValidatedBatch::new(batch.clone().into_bytes()).unwrap();
        prop_assert_eq!(reread.header(), batch.header());
        prop_assert_eq!(reread.header().timestamp_type(), TimestampType::LogAppendTime);
        prop_assert_eq!(reread.header().max_timestamp, Timestamp(now));
        for record in reread.records(DecodeLimits::default()).unwrap() {
            prop_assert_eq!(record.timestamp, Timestamp(now));
        }
    }
}
