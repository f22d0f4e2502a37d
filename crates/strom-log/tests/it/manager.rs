//! The log manager: logs found again on restart across several dirs, the directory lock, creating
//! and deleting logs.

use strom_log::{Error, LogConfig, LogManager, TopicPartition};
use strom_record::{Compression, Timestamp};

use crate::fixture::{o, sized_batch, small_config};

const NOW: Timestamp = Timestamp(1_700_000_000_000);

#[test]
fn logs_are_found_again_across_dirs() {
    let root = tempfile::tempdir().unwrap();
    let dirs = vec![root.path().join("a"), root.path().join("b")];
    let mut manager = LogManager::open(&dirs, &small_config(), NOW).unwrap();
    for partition in 0..4 {
        let log = manager
            .create_log(
                &TopicPartition::new("orders", partition),
                small_config(),
                NOW,
            )
            .unwrap();
        for _ in 0..=partition {
            log.append(sized_batch(2, 10, NOW, Compression::None), NOW)
                .unwrap();
        }
    }
    assert!(matches!(
        manager.create_log(&TopicPartition::new("orders", 0), small_config(), NOW),
        Err(Error::LogExists { .. })
    ));
    // Logs spread over both dirs.
    for dir in &dirs {
        assert_eq!(
            std::fs::read_dir(dir)
                .unwrap()
                .filter(|e| e.as_ref().unwrap().path().is_dir())
                .count(),
            2
        );
    }
    // A second manager cannot open the same dirs.
    assert!(matches!(
        LogManager::open(&dirs, &small_config(), NOW),
        Err(Error::DirectoryLocked { .. })
    ));
    manager.close(NOW).unwrap();

    let mut manager = LogManager::open(&dirs, &LogConfig::default(), NOW).unwrap();
    let mut partitions: Vec<_> = manager.partitions().cloned().collect();
    partitions.sort();
    assert_eq!(
        partitions,
        (0..4)
            .map(|p| TopicPartition::new("orders", p))
            .collect::<Vec<_>>()
    );
    for partition in 0..4u32 {
        let log = manager
            .get(&TopicPartition::new("orders", partition))
            .unwrap();
        assert_eq!(log.log_end_offset(), o(2 * (u64::from(partition) + 1)));
        assert!(log.recovery_report().clean_shutdown);
    }
    manager
        .delete_log(&TopicPartition::new("orders", 1))
        .unwrap();
    assert!(manager.get(&TopicPartition::new("orders", 1)).is_none());
    assert!(matches!(
        manager.delete_log(&TopicPartition::new("orders", 1)),
        Err(Error::UnknownLog { .. })
    ));
    manager.enforce_retention(NOW).unwrap();
    manager.compact(NOW).unwrap();
    manager.flush_tick(NOW).unwrap();
    drop(manager); // unclean

    let manager = LogManager::open(&dirs, &LogConfig::default(), NOW).unwrap();
    assert_eq!(manager.partitions().count(), 3);
    let log = manager.get(&TopicPartition::new("orders", 3)).unwrap();
    assert!(!log.recovery_report().clean_shutdown);
    assert_eq!(log.log_end_offset(), o(8));
}

#[test]
fn interrupted_deletions_are_finished_on_open() {
    let root = tempfile::tempdir().unwrap();
    let dirs = vec![root.path().to_owned()];
    std::fs::create_dir_all(root.path().join("orders-0.deleted")).unwrap();
    std::fs::create_dir_all(root.path().join("not a partition")).unwrap();
    let manager = LogManager::open(&dirs, &small_config(), NOW).unwrap();
    assert_eq!(manager.partitions().count(), 0);
    assert!(!root.path().join("orders-0.deleted").exists());
}
