//! Damaged redb files: every operation on a file with random bytes flipped or cut off ends in
//! a value or an error, never a panic that escapes the storage layer; a read-only open never
//! changes the file; the integrity check at open finds damage inside stored values.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy_primitives::Bytes;
use snapsync_db::{
    Bodies, Database, DbError, Headers, Integrity, RedbDatabase, RedbOptions, TABLE_NAMES,
    TableRead,
};
use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    path::Path,
};

const ENTRIES: u64 = 3_000;

fn value(key: u64) -> Bytes {
    Bytes::from(key.to_be_bytes().repeat(12))
}

/// A closed database file with `ENTRIES` headers and a few bodies, committed in three steps.
fn original(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("original.redb");
    let db = RedbDatabase::open(&path, RedbOptions::default()).unwrap();
    for step in 0..3 {
        let mut txn = db.write().unwrap();
        let keys = step * ENTRIES / 3..(step + 1) * ENTRIES / 3;
        txn.append_sorted::<Headers, _, _, _>(keys.map(|key| (key, value(key)))).unwrap();
        txn.put::<Bodies>(&step, &value(step)).unwrap();
        txn.commit().unwrap();
    }
    path
}

/// A small deterministic generator (SplitMix64), so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        usize::try_from(self.next() % bound as u64).unwrap()
    }
}

/// `bytes` with damage of kind `seed % 3`: 2 flipped bits, 20 random bytes, or a truncation.
fn damage(bytes: &[u8], seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut out = bytes.to_vec();
    match seed % 3 {
        0 => {
            for _ in 0..2 {
                let at = rng.below(out.len());
                out[at] ^= 1 << rng.below(8);
            }
        }
        1 => {
            for _ in 0..20 {
                let at = rng.below(out.len());
                out[at] = u8::try_from(rng.next() & 0xff).unwrap();
            }
        }
        _ => out.truncate(rng.below(out.len())),
    }
    out
}

/// Reads every table of `db` to its end: the entries read and how many values were wrong.
fn read_everything(db: &RedbDatabase) -> Result<(u64, u64), DbError> {
    let view = db.view()?;
    let (mut entries, mut wrong) = (0, 0);
    for entry in view.range::<Headers>(..)? {
        let (number, header) = entry?;
        wrong += u64::from(header != value(number));
        entries += 1;
    }
    for name in TABLE_NAMES {
        entries += db.begin_read()?.len(name)?;
    }
    Ok((entries, wrong))
}

/// Opens `path` (read-only or not, checked or not) and reads it all, asserting that no panic
/// escapes: the entries and wrong values read, or the error it ended in.
fn probe(path: &Path, read_only: bool, check_integrity: bool) -> Result<(u64, u64), DbError> {
    let options = RedbOptions { check_integrity, cache_size: 1 << 20, ..RedbOptions::default() };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let db = if read_only {
            RedbDatabase::open_read_only(path, options)?
        } else {
            RedbDatabase::open(path, options)?
        };
        read_everything(&db)
    }));
    match outcome {
        Ok(result) => result,
        Err(_) => panic!("a panic escaped the storage layer on {}", path.display()),
    }
}

#[test]
fn damaged_files_give_errors_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(original(dir.path())).unwrap();
    let (mut errors, mut corrupted, mut silently_wrong) = (0, 0, 0);
    let seeds = 60;
    for seed in 0..seeds {
        let damaged = damage(&bytes, seed);
        for (read_only, check) in [(true, true), (true, false), (false, true), (false, false)] {
            let path = dir.path().join(format!("damaged-{seed}-{read_only}-{check}.redb"));
            std::fs::write(&path, &damaged).unwrap();
            let before = std::fs::read(&path).unwrap();
            match probe(&path, read_only, check) {
                Ok((_, 0)) => {}
                Ok((_, wrong)) => {
                    // Only the checksum walk can tell a damaged value from a stored one.
                    assert!(!check, "seed {seed}: {wrong} wrong values read despite the check");
                    silently_wrong += 1;
                }
                Err(error) => {
                    errors += 1;
                    corrupted += usize::from(error.is_corruption());
                }
            }
            if read_only {
                assert_eq!(std::fs::read(&path).unwrap(), before, "seed {seed}: the file changed");
            }
        }
    }
    eprintln!(
        "{seeds} damaged files, 4 opens each: {errors} errors ({corrupted} corruption), \
         {silently_wrong} unchecked opens read wrong values"
    );
    assert!(errors > 0, "no damage was ever noticed: the probe cannot fail");
}

#[test]
fn the_integrity_check_finds_a_flipped_bit_inside_a_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = original(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    // A value's bytes, as written: the last header's value appears once in the file.
    let needle = value(ENTRIES - 1);
    let at = bytes.windows(needle.len()).position(|window| window == &needle[..]).unwrap();
    bytes[at + 3] ^= 0x10;
    std::fs::write(&path, &bytes).unwrap();

    let unchecked = RedbDatabase::open_read_only(&path, RedbOptions::default()).unwrap();
    let stored = unchecked.view().unwrap().get::<Headers>(&(ENTRIES - 1)).unwrap().unwrap();
    assert_ne!(stored, needle, "without the check the damaged value reads back as it is");
    drop(unchecked);

    let options = RedbOptions { check_integrity: true, ..RedbOptions::default() };
    let error = RedbDatabase::open_read_only(&path, options.clone()).unwrap_err();
    assert!(error.is_corruption(), "{error}");
    assert!(error.to_string().contains("database corrupted"), "{error}");
    let error = RedbDatabase::open(&path, options).unwrap_err();
    assert!(error.is_corruption(), "{error}");
}

#[test]
fn read_only_opens_check_a_clean_file_and_refuse_writes_and_empty_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = original(dir.path());
    let before = std::fs::read(&path).unwrap();
    let options = RedbOptions { check_integrity: true, ..RedbOptions::default() };
    let db = RedbDatabase::open_read_only(&path, options.clone()).unwrap();
    assert_eq!(db.integrity(), Some(Integrity::Clean));
    assert_eq!(read_everything(&db).unwrap(), (ENTRIES + 3 + ENTRIES, 0));
    assert!(matches!(db.write(), Err(DbError::ReadOnly { .. })));
    drop(db);
    assert_eq!(std::fs::read(&path).unwrap(), before, "a read-only open changed the file");

    let empty = dir.path().join("empty.redb");
    std::fs::write(&empty, b"").unwrap();
    let error = RedbDatabase::open_read_only(&empty, options.clone()).unwrap_err();
    assert!(error.to_string().contains("empty.redb"), "{error}");
    assert!(error.to_string().contains("empty"), "{error}");
    assert_eq!(std::fs::read(&empty).unwrap(), b"", "the empty file was written");
    let missing = dir.path().join("missing.redb");
    assert!(RedbDatabase::open_read_only(&missing, options).is_err());
    assert!(!missing.exists());
}
