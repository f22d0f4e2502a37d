//! Replays the fuzz corpus (`fuzz/corpus/decode_request/`) through the same check the fuzz
//! target runs, and checks that the golden seeds in it still decode.

use strom_protocol::fuzzing::check_request_frame;

use crate::golden::{GOLDEN_FRAMES, golden_frame};

fn corpus_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/decode_request")
}

#[test]
fn corpus_replays_without_panics() {
    let dir = corpus_dir();
    let mut seeds = 0;
    let mut decoded = 0;
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        seeds += 1;
        if check_request_frame(&data).is_ok() {
            decoded += 1;
        }
    }
    assert!(
        seeds >= GOLDEN_FRAMES.len(),
        "only {seeds} seeds in {}",
        dir.display()
    );
    assert!(
        decoded >= GOLDEN_FRAMES.len(),
        "only {decoded} of {seeds} seeds decode"
    );
}

#[test]
fn golden_frames_are_in_the_corpus() {
    for name in GOLDEN_FRAMES {
        let path = corpus_dir().join(name.trim_end_matches(".hex"));
        let seed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(seed, golden_frame(name), "{name}");
        check_request_frame(&seed).unwrap();
    }
}
