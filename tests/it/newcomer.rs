//! What a new user tripped on (issue 12, section 3): each stumble, replayed
//! against the binary.

use std::path::Path;

use crate::support::{reelflow, settings};

/// The repository's example manifests, copied into a scratch directory.
fn examples() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests"), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_missing_key_names_the_variable_to_set() {
    let dir = examples();
    let mut transcript = String::new();
    for args in [&["validate", "onboarding/manifest.yaml"][..], &["plan", "two-accounts/us.yaml"]] {
        let out = reelflow(dir.path(), args, &[]);
        assert_eq!(out.code, 8, "{}", out.stderr);
        transcript.push_str(&format!("$ reelflow {}\n{}\n", args.join(" "), out.transcript()));
    }
    assert!(transcript.contains("HEYGEN_API_KEY is not set"), "{transcript}");
    assert!(transcript.contains("set HEYGEN_API_KEY_US_TEAM"), "{transcript}");
    assert!(transcript.contains("--offline"), "{transcript}");
    settings().bind(|| insta::assert_snapshot!("newcomer_missing_key", transcript));
}
