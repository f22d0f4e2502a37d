//! The metadata log on disk: torn-tail recovery at every byte, damage that must stop the node,
//! snapshots, and the data directory's identity.

use std::fs;
use std::path::{Path, PathBuf};

use strom_metadata::{
    BrokerId, ClusterId, Error, LOG_FILE_NAME, LocalController, META_PROPERTIES_FILE_NAME,
    METADATA_DIR_NAME, MetadataImage, MetadataLog, MetadataOffset, MetadataRecord, Mode,
    RecordBatch, SNAPSHOT_FILE_NAME, TopicRef,
};

use crate::{broker, config, open, open_with_brokers, topic};

fn metadata_dir(dir: &Path) -> PathBuf {
    dir.join(METADATA_DIR_NAME)
}

fn log_path(dir: &Path) -> PathBuf {
    metadata_dir(dir).join(LOG_FILE_NAME)
}

fn replay(dir: &Path) -> MetadataImage {
    MetadataLog::open(&metadata_dir(dir)).unwrap().1
}

/// Frames a payload as the log does: `[length u32][crc32c u32][payload]`.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut res = (payload.len() as u32).to_be_bytes().to_vec();
    res.extend(crc32c::crc32c(payload).to_be_bytes());
    res.extend(payload);
    res
}

#[test]
fn a_torn_last_batch_is_cut_at_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let mut controller = open_with_brokers(dir.path(), &[1]);
    assert!(
        controller
            .create_topics(&[topic("a", 1, 2, 1)], Mode::Apply)
            .unwrap()[0]
            .is_ok()
    );
    let image_before = controller.image();
    let len_before = fs::metadata(log_path(dir.path())).unwrap().len() as usize;
    let mut request = topic("b", 2, 3, 1);
    request
        .configs
        .insert("retention.ms".to_owned(), "1000".to_owned());
    assert!(controller.create_topics(&[request], Mode::Apply).unwrap()[0].is_ok());
    let image_after = controller.image();
    drop(controller);
    let full = fs::read(log_path(dir.path())).unwrap();
    assert!(full.len() > len_before);
    for cut in len_before..full.len() {
        fs::write(log_path(dir.path()), &full[..cut]).unwrap();
        let (log, image, report) = MetadataLog::open(&metadata_dir(dir.path())).unwrap();
        assert_eq!(image, *image_before, "cut at {cut}");
        assert_eq!(
            report.truncated_bytes,
            (cut - len_before) as u64,
            "cut at {cut}"
        );
        assert_eq!(log.size_bytes(), len_before as u64);
        drop(log);
        assert_eq!(
            fs::metadata(log_path(dir.path())).unwrap().len(),
            len_before as u64,
            "the torn tail was not truncated (cut at {cut})"
        );
    }
    fs::write(log_path(dir.path()), &full).unwrap();
    assert_eq!(replay(dir.path()), *image_after);

    // After a truncation the log takes new batches at the right place.
    fs::write(log_path(dir.path()), &full[..full.len() - 1]).unwrap();
    let mut controller = open(dir.path());
    assert_eq!(*controller.image(), *image_before);
    assert!(
        controller
            .create_topics(&[topic("c", 3, 1, 1)], Mode::Apply)
            .unwrap()[0]
            .is_ok()
    );
    let live = controller.image();
    drop(controller);
    let replayed = replay(dir.path());
    assert_eq!(replayed, *live);
    assert!(replayed.topic("b").is_none() && replayed.topic("c").is_some());
}

#[test]
fn a_zero_filled_tail_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let controller = open_with_brokers(dir.path(), &[1]);
    let image = controller.image();
    drop(controller);
    let mut bytes = fs::read(log_path(dir.path())).unwrap();
    let len = bytes.len();
    bytes.extend([0; 100]);
    fs::write(log_path(dir.path()), &bytes).unwrap();
    let (_, replayed, report) = MetadataLog::open(&metadata_dir(dir.path())).unwrap();
    assert_eq!(replayed, *image);
    assert_eq!(report.truncated_bytes, 100);
    assert_eq!(
        fs::metadata(log_path(dir.path())).unwrap().len(),
        len as u64
    );
}

#[test]
fn a_bad_crc_ends_the_log_there() {
    let dir = tempfile::tempdir().unwrap();
    let mut controller = open_with_brokers(dir.path(), &[1]);
    let image_one = controller.image();
    let len_one = fs::metadata(log_path(dir.path())).unwrap().len() as usize;
    controller.register_broker(&broker(2)).unwrap();
    controller.register_broker(&broker(3)).unwrap();
    drop(controller);
    let mut bytes = fs::read(log_path(dir.path())).unwrap();
    bytes[len_one + 12] ^= 0x40;
    fs::write(log_path(dir.path()), &bytes).unwrap();
    let (_, image, report) = MetadataLog::open(&metadata_dir(dir.path())).unwrap();
    assert_eq!(image, *image_one);
    assert_eq!(report.truncated_bytes, (bytes.len() - len_one) as u64);
}

/// Appends `payload`, framed with a valid CRC, to the log of `dir` and checks that opening fails
/// with an error containing `expect` and leaves the file as it was.
#[track_caller]
fn check_damage(payload: &[u8], expect: &str) {
    let dir = tempfile::tempdir().unwrap();
    drop(open_with_brokers(dir.path(), &[1]));
    let mut bytes = fs::read(log_path(dir.path())).unwrap();
    bytes.extend(frame(payload));
    fs::write(log_path(dir.path()), &bytes).unwrap();
    let error = MetadataLog::open(&metadata_dir(dir.path())).unwrap_err();
    assert!(matches!(error, Error::CorruptLog { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains(expect), "{text}");
    assert_eq!(
        fs::read(log_path(dir.path())).unwrap(),
        bytes,
        "damage was truncated"
    );
    let error = LocalController::open(&config(dir.path(), u64::MAX)).unwrap_err();
    assert!(matches!(error, Error::CorruptLog { .. }), "{error:?}");
}

#[test]
fn damage_behind_a_valid_crc_stops_the_open() {
    let gap = RecordBatch {
        base_offset: MetadataOffset(10),
        records: vec![MetadataRecord::RegisterBroker(broker(2))],
    };
    check_damage(&gap.encode(), "batch at offset 10 does not follow offset 2");
    let contradiction = RecordBatch {
        base_offset: MetadataOffset(2),
        records: vec![MetadataRecord::FenceBroker {
            broker_id: BrokerId(7),
        }],
    };
    check_damage(&contradiction.encode(), "broker 7 is not registered");
    let mut future = gap.encode();
    future[0] = 200;
    check_damage(&future, "metadata format version 200 is not supported");
    check_damage(&[0, 0xff, 0xff], "undecodable metadata");
}

/// Runs the same changes on a controller that snapshots often and one that never does.
fn run_changes(controller: &mut LocalController) {
    for id in 1..=3 {
        controller.register_broker(&broker(id)).unwrap();
    }
    for index in 0..12u8 {
        let name = format!("t{index}");
        let res = controller
            .create_topics(&[topic(&name, index + 1, 3, 2)], Mode::Apply)
            .unwrap();
        assert!(res[0].is_ok());
        if index % 3 == 0 {
            assert!(controller.delete_topics(&[TopicRef::Name(name)]).unwrap()[0].is_ok());
        }
    }
    controller.fence_broker(BrokerId(2)).unwrap();
}

#[test]
fn snapshot_plus_tail_equals_full_replay() {
    let snapshotting = tempfile::tempdir().unwrap();
    let plain = tempfile::tempdir().unwrap();
    let mut a = LocalController::open(&config(snapshotting.path(), 600))
        .unwrap()
        .0;
    let mut b = open(plain.path());
    run_changes(&mut a);
    run_changes(&mut b);
    assert_eq!(*a.image(), *b.image());
    let live = b.image();
    drop(a);
    drop(b);
    assert!(
        metadata_dir(snapshotting.path())
            .join(SNAPSHOT_FILE_NAME)
            .exists()
    );
    assert!(!metadata_dir(plain.path()).join(SNAPSHOT_FILE_NAME).exists());
    let snapshot_log_len = fs::metadata(log_path(snapshotting.path())).unwrap().len();
    assert!(
        snapshot_log_len <= 1000,
        "the log was not emptied: {snapshot_log_len} bytes"
    );

    let (_, image, report) = MetadataLog::open(&metadata_dir(snapshotting.path())).unwrap();
    assert_eq!(image, *live);
    let snapshot_end_offset = report.snapshot_end_offset.unwrap();
    assert!(snapshot_end_offset.0 > 0);
    assert_eq!(
        snapshot_end_offset.0 + report.replayed_records,
        live.end_offset().0
    );
    let (_, image, report) = MetadataLog::open(&metadata_dir(plain.path())).unwrap();
    assert_eq!(image, *live);
    assert_eq!(report.snapshot_end_offset, None);

    // A crash between writing a snapshot and emptying the log leaves batches the snapshot
    // covers; replay skips them.
    fs::copy(
        metadata_dir(snapshotting.path()).join(SNAPSHOT_FILE_NAME),
        metadata_dir(plain.path()).join(SNAPSHOT_FILE_NAME),
    )
    .unwrap();
    let (_, image, report) = MetadataLog::open(&metadata_dir(plain.path())).unwrap();
    assert_eq!(image, *live);
    assert_eq!(report.snapshot_end_offset, Some(snapshot_end_offset));

    // A damaged snapshot stops the open.
    let snapshot_path = metadata_dir(plain.path()).join(SNAPSHOT_FILE_NAME);
    let mut bytes = fs::read(&snapshot_path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&snapshot_path, &bytes).unwrap();
    assert!(matches!(
        MetadataLog::open(&metadata_dir(plain.path())),
        Err(Error::CorruptSnapshot { .. })
    ));
}

#[test]
fn the_data_directory_remembers_its_node_and_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let controller = open(dir.path());
    assert_eq!(controller.identity().node_id, BrokerId(1));
    assert_eq!(
        controller.image().cluster_id(),
        Some(&ClusterId("test-cluster".to_owned()))
    );
    // A second controller on the same directory is refused while the first runs.
    assert!(matches!(
        LocalController::open(&config(dir.path(), u64::MAX)),
        Err(Error::DirectoryLocked { .. })
    ));
    drop(controller);

    // A later start with another proposed cluster id keeps the stored one.
    let mut other_cluster = config(dir.path(), u64::MAX);
    other_cluster.new_cluster_id = ClusterId("ignored".to_owned());
    let (controller, _) = LocalController::open(&other_cluster).unwrap();
    assert_eq!(
        controller.identity().cluster_id,
        ClusterId("test-cluster".to_owned())
    );
    drop(controller);

    let mut other_node = config(dir.path(), u64::MAX);
    other_node.node_id = BrokerId(2);
    let error = LocalController::open(&other_node).unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, Error::NodeIdMismatch { .. }));
    assert!(
        text.ends_with("belongs to node 1, but this node is configured as node 2"),
        "{text}"
    );

    let properties = dir.path().join(META_PROPERTIES_FILE_NAME);
    let original = fs::read_to_string(&properties).unwrap();
    fs::write(&properties, original.replace("test-cluster", "elsewhere")).unwrap();
    let error = LocalController::open(&config(dir.path(), u64::MAX)).unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("is for cluster test-cluster, but meta.properties says cluster elsewhere"),
        "{error}"
    );
    for broken in [
        "version=1\nnode.id=1\n",
        "version=2\ncluster.id=a\nnode.id=1\n",
        "junk\n",
        "version=1\ncluster.id=a\nnode.id=x\n",
    ] {
        fs::write(&properties, broken).unwrap();
        assert!(
            matches!(
                LocalController::open(&config(dir.path(), u64::MAX)),
                Err(Error::BadMetaProperties { .. })
            ),
            "{broken:?}"
        );
    }
}
