//! The parse of a nextest process's arguments, kept beside the test binary.
//!
//! `cargo nextest run` starts one process per test, each with the same
//! variables and config files and the arguments `--exact NAME --nocapture`.
//! In the unoptimized profile test binaries are built in, clap builds and
//! checks the whole grammar in every one of them (`debug_asserts` included):
//! about a third of a no-op test's process. So the first such process stores
//! its parse, less the name, in `.<binary>.ducktape-args.json` next to the
//! binary, and the others read it back and put their own name in. Only the
//! options that differ from their defaults are stored; reading one back
//! costs what it holds, not the whole grammar.
//!
//! An entry is used only when everything the parse read is as it was: the
//! binary (device, inode, size, mtime: a rebuild changes them), the flags
//! beside the name, the project and home directories, every `DUCKTAPE_*`
//! variable, and the bytes of every config file the parse looked for (present
//! or not) and of a `--globals` file. Only successful parses are stored, so an
//! error is always clap's own. The cache is an optimization: a file that
//! cannot be read, parsed or written, or that another user could have
//! written, is ignored.

use super::{explicit_config_file, Options, Parsed};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::ffi::OsString;
use std::hash::{Hash, Hasher};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Bumped when what an entry holds changes meaning.
const FORMAT: &str = "ducktape-args 2";

/// Larger than any entry this writes (about 2 KB): a bigger file is not one.
const MAX_ENTRY: u64 = 1 << 20;

/// The flags that may stand beside the one test name (what nextest and
/// IDEs send).
const SHAPE_FLAGS: [&str; 4] = ["--exact", "--nocapture", "--ignored", "--include-ignored"];

/// One stored parse: written with its options as a JSON object of those
/// that differ from [`Options::default`], read back as a [`Parsed`] (whose
/// options deserialize the missing ones as their defaults).
#[derive(Serialize, Deserialize)]
struct Entry<P> {
    key: String,
    /// Each file the parse read or looked for, with its length and hash
    /// (`None`: absent or unreadable).
    files: Vec<(PathBuf, Option<(u64, u64)>)>,
    parsed: P,
}

/// Parses as `parse` does, through the cache when `argv` is one test name
/// and flags from [`SHAPE_FLAGS`].
pub(super) fn parse(
    argv: &[OsString],
    vars: &[(String, String)],
    project: &Path,
    home: Option<&Path>,
    parse: impl FnOnce() -> Result<Parsed, super::CliError>,
) -> Result<Parsed, super::CliError> {
    let cache = std::env::current_exe()
        .ok()
        .and_then(|exe| Cache::new(&exe, argv, vars, project, home));
    match cache {
        Some(cache) => cache.parse(parse),
        None => parse(),
    }
}

/// The cache of one binary, for one process's inputs.
pub(super) struct Cache {
    path: PathBuf,
    key: String,
    name: String,
    /// Config files the parse looks for, present or not.
    config_files: Vec<PathBuf>,
}

impl Cache {
    /// `None` when `argv` is not of the cached shape or the binary cannot
    /// be identified.
    pub(super) fn new(
        exe: &Path,
        argv: &[OsString],
        vars: &[(String, String)],
        project: &Path,
        home: Option<&Path>,
    ) -> Option<Cache> {
        let (name, flags) = shape(argv)?;
        let meta = std::fs::metadata(exe).ok()?;
        let mut ducktape_vars: Vec<&(String, String)> = vars
            .iter()
            .filter(|(k, _)| k.starts_with("DUCKTAPE_"))
            .collect();
        ducktape_vars.sort();
        let binary = [
            meta.dev(),
            meta.ino(),
            meta.len(),
            meta.mtime() as u64,
            meta.mtime_nsec() as u64,
        ];
        let mut key = Key::default();
        key.part(FORMAT);
        binary.iter().for_each(|n| key.part(&n.to_string()));
        key.list(flags.iter().copied());
        key.part(project.to_str()?);
        match home {
            Some(h) => key.list([h.to_str()?]),
            None => key.list([]),
        }
        key.list(
            ducktape_vars
                .iter()
                .flat_map(|(k, v)| [k.as_str(), v.as_str()]),
        );
        let file_name = exe.file_name()?.to_str()?;
        let path = exe.with_file_name(format!(".{file_name}.ducktape-args.json"));
        let mut config_files = vec![project.join(".ducktape/config")];
        config_files.extend(home.map(|h| h.join(".ducktape/config")));
        let cli: Vec<OsString> = argv.iter().skip(1).cloned().collect();
        config_files.extend(explicit_config_file(&cli, vars).map(|(p, _)| p));
        Some(Cache {
            path,
            key: key.0,
            name,
            config_files,
        })
    }

    /// The stored parse with this process's name, or `parse`'s (stored).
    pub(super) fn parse(
        &self,
        parse: impl FnOnce() -> Result<Parsed, super::CliError>,
    ) -> Result<Parsed, super::CliError> {
        if let Some(mut parsed) = self.load() {
            parsed.options.filters = vec![self.name.clone()];
            return Ok(parsed);
        }
        // Before the parse reads them: a file edited meanwhile then differs
        // from its stored fingerprint, and the next process parses again.
        let seen: Vec<_> = self
            .config_files
            .iter()
            .map(|p| (p.clone(), fingerprint(p)))
            .collect();
        let parsed = parse()?;
        self.store(&parsed, seen);
        Ok(parsed)
    }

    /// The stored parse, if its key and files match.
    pub(super) fn load(&self) -> Option<Parsed> {
        use std::os::unix::fs::OpenOptionsExt as _;
        // Not blocking on a FIFO, not following a link: whatever sits at the
        // path, only a regular file of ours is read.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
            .open(&self.path)
            .ok()?;
        let meta = file.metadata().ok()?;
        // SAFETY: geteuid cannot fail.
        let euid = unsafe { libc::geteuid() };
        let ours = meta.uid() == euid && meta.mode() & 0o022 == 0;
        if !ours || !meta.is_file() || meta.len() > MAX_ENTRY {
            return None;
        }
        let text = std::io::read_to_string(file).ok()?;
        let entry: Entry<Parsed> = serde_json::from_str(&text).ok()?;
        let unchanged = entry.key == self.key
            && entry
                .files
                .iter()
                .all(|(path, seen)| fingerprint(path) == *seen);
        unchanged.then_some(entry.parsed)
    }

    /// Stores `parsed` (without the name) atomically, with the config files
    /// as they were before the parse; failures are ignored.
    fn store(&self, parsed: &Parsed, mut files: Vec<(PathBuf, Option<(u64, u64)>)>) {
        if parsed.options.filters != [self.name.as_str()] {
            return;
        }
        if let Some(path) = globals_file(parsed) {
            // Its path is known only now: store it only if what it holds is
            // what the parse read, so an edit in between is not kept.
            let bytes = std::fs::read(&path).ok();
            let now = bytes
                .as_deref()
                .and_then(|b| serde_json::from_slice::<Value>(b).ok());
            if now.as_ref() != Some(&parsed.globals) {
                return;
            }
            files.push((path, bytes.as_deref().map(fingerprint_of)));
        }
        let mut parsed = parsed.clone();
        parsed.options.filters.clear();
        let (Ok(mut parsed), Ok(Value::Object(defaults))) = (
            serde_json::to_value(&parsed),
            serde_json::to_value(Options::default()),
        ) else {
            return;
        };
        if let Some(Value::Object(options)) = parsed.get_mut("options") {
            options.retain(|k, v| defaults.get(k) != Some(v));
        }
        let entry = Entry {
            key: self.key.clone(),
            files,
            parsed,
        };
        let Ok(text) = serde_json::to_string(&entry) else {
            return;
        };
        if write_private(&self.path, text.as_bytes()).is_ok() {
            remove_orphans(&self.path);
        }
    }
}

/// An entry's key: parts that hold no NUL (none of a path, variable or
/// argument can), each ended by one, a list led by its length, so that
/// different inputs never make the same key. Built by hand: serializing it
/// with serde_json was ~0.15 ms of the unoptimized process's start.
#[derive(Default)]
struct Key(String);

impl Key {
    fn part(&mut self, text: &str) {
        self.0.push_str(text);
        self.0.push('\0');
    }

    fn list<'a>(&mut self, items: impl IntoIterator<Item = &'a str>) {
        let at = self.0.len();
        let mut n = 0;
        for item in items {
            self.part(item);
            n += 1;
        }
        self.0.insert_str(at, &format!("{n}\0"));
    }
}

/// The test name and the sorted flags, when `argv` (program first) is one
/// name and flags from [`SHAPE_FLAGS`]; a suite file (`.yml`) is not a name.
fn shape(argv: &[OsString]) -> Option<(String, Vec<&str>)> {
    let mut name = None;
    let mut flags = Vec::new();
    for arg in argv.iter().skip(1) {
        let arg = arg.to_str()?;
        if SHAPE_FLAGS.contains(&arg) {
            flags.push(arg);
            continue;
        }
        let suite_file = arg.ends_with(".yml") || arg.ends_with(".yaml");
        if arg.starts_with('-') || suite_file || name.replace(arg.to_string()).is_some() {
            return None;
        }
    }
    flags.sort_unstable();
    flags.dedup();
    Some((name?, flags))
}

/// The file `--globals` named, if it named one rather than holding JSON.
fn globals_file(parsed: &Parsed) -> Option<PathBuf> {
    let value = parsed.options.globals.as_deref()?;
    let trimmed = value.trim_start();
    (!trimmed.starts_with('{') && !trimmed.starts_with('[')).then(|| PathBuf::from(value))
}

/// A file's length and a hash of its bytes; `None` if it cannot be read.
fn fingerprint(path: &Path) -> Option<(u64, u64)> {
    std::fs::read(path).ok().as_deref().map(fingerprint_of)
}

fn fingerprint_of(bytes: &[u8]) -> (u64, u64) {
    let mut h = std::hash::DefaultHasher::new();
    bytes.hash(&mut h);
    (bytes.len() as u64, h.finish())
}

/// Where process `pid` writes an entry before renaming it to `entry`:
/// `<entry>.<pid>.tmp` ([`remove_orphans`] reads the pid back).
fn temp_path(entry: &Path, pid: u32) -> PathBuf {
    let mut name = entry.as_os_str().to_owned();
    name.push(format!(".{pid}.tmp"));
    PathBuf::from(name)
}

/// Removes the temporary files that writers killed before their rename
/// left beside `entry` ([`temp_path`]s of processes that are gone).
/// Run after a store, which is rare: the first process of a run.
fn remove_orphans(entry: &Path) {
    let (Some(dir), Some(name)) = (entry.parent(), entry.file_name().and_then(|n| n.to_str()))
    else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!("{name}.");
    for e in entries.flatten() {
        let file_name = e.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .and_then(|pid| pid.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        // SAFETY: signal 0 only asks whether the process exists.
        let gone = unsafe { libc::kill(pid, 0) } == -1
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Writes `bytes` to a private temporary file beside `path` and renames it
/// there, so a reader sees a whole entry or the one before.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let tmp = temp_path(path, std::process::id());
    let result = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// An `f64` stored as its bits: JSON's decimal form need not come back as
/// the same number.
pub(super) mod f64_bits {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(value.to_bits())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        u64::deserialize(d).map(f64::from_bits)
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_from;
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    /// A fake binary, a project and a home, in one temporary directory.
    struct World {
        dir: tempfile::TempDir,
        vars: Vec<(String, String)>,
    }

    impl World {
        fn new() -> World {
            let dir = tempfile::tempdir().unwrap();
            for sub in ["bin", "project/.ducktape", "home"] {
                std::fs::create_dir_all(dir.path().join(sub)).unwrap();
            }
            std::fs::write(dir.path().join("bin/systest-0123"), b"binary").unwrap();
            std::fs::write(
                dir.path().join("project/.ducktape/config"),
                "--deflake 3\n--exclude 'a b' c\n",
            )
            .unwrap();
            let vars = [
                ("DUCKTAPE_REPEAT", "2"),
                ("DUCKTAPE_REGRESSION_THRESHOLD", "0.1"),
                ("NEXTEST_TEST_GLOBAL_SLOT", "7"),
            ];
            World {
                dir,
                vars: vars
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            }
        }

        fn path(&self, rel: &str) -> PathBuf {
            self.dir.path().join(rel)
        }

        fn argv(args: &[&str]) -> Vec<OsString> {
            std::iter::once("systest")
                .chain(args.iter().copied())
                .map(OsString::from)
                .collect()
        }

        fn cache(&self, args: &[&str]) -> Option<Cache> {
            let (project, home) = (self.path("project"), self.path("home"));
            Cache::new(
                &self.path("bin/systest-0123"),
                &World::argv(args),
                &self.vars,
                &project,
                Some(&home),
            )
        }

        /// The parse through the cache, and whether it came from there.
        fn parse(&self, args: &[&str]) -> (Parsed, bool) {
            let cache = self.cache(args).expect("a cached shape");
            let hit = cache.load().is_some();
            let parsed = cache.parse(|| self.fresh(args)).unwrap();
            (parsed, hit)
        }

        fn fresh(&self, args: &[&str]) -> Result<Parsed, super::super::CliError> {
            let (project, home) = (self.path("project"), self.path("home"));
            parse_from(&World::argv(args), &self.vars, &project, Some(&home))
        }
    }

    #[test]
    fn a_later_process_gets_the_same_parse_with_its_own_name() {
        let w = World::new();
        let (first, hit) = w.parse(&["--exact", "m::a", "--nocapture"]);
        assert!(!hit);
        assert_eq!(first.options.filters, ["m::a"]);
        let args = ["m::b=1,c=2", "--nocapture", "--exact"];
        let (second, hit) = w.parse(&args);
        assert!(hit, "the second process reads the first one's parse");
        let fresh = w.fresh(&args).unwrap();
        assert_eq!(format!("{second:?}"), format!("{fresh:?}"));
        assert_eq!(second.options.filters, ["m::b=1,c=2"]);
        assert_eq!((second.options.deflake, second.options.repeat), (3, 2));
        assert_eq!(second.options.regression_threshold, 0.1);
        assert_eq!(
            second.origin("--repeat").as_deref(),
            Some("DUCKTAPE_REPEAT=2")
        );
        // Variables that are not ducktape's (nextest's slots) do not matter.
        let mut other = World { ..w };
        other.vars[2].1 = "8".into();
        assert!(other.parse(&["--exact", "m::c", "--nocapture"]).1);
    }

    #[test]
    fn the_defaults_are_what_parsing_nothing_gives() {
        // An entry leaves out the options equal to `Options::default()`:
        // were a default to drift from clap's, a cached parse would differ
        // from a fresh one.
        let dir = tempfile::tempdir().unwrap();
        let parsed = parse_from(&World::argv(&[]), &[], dir.path(), None).unwrap();
        assert_eq!(
            serde_json::to_value(&parsed.options).unwrap(),
            serde_json::to_value(Options::default()).unwrap()
        );
    }

    #[test]
    fn an_entry_keeps_only_the_options_that_are_not_defaults() {
        let w = World::new();
        w.parse(&["--exact", "m::a"]);
        let cache = w.cache(&["--exact", "m::a"]).unwrap();
        let text = std::fs::read_to_string(&cache.path).unwrap();
        let entry: Entry<Value> = serde_json::from_str(&text).unwrap();
        let mut kept: Vec<&str> = entry.parsed["options"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        kept.sort_unstable();
        // The config file's, the variables' and --exact; not the name.
        assert_eq!(
            kept,
            [
                "deflake",
                "exact",
                "exclude",
                "regression_threshold",
                "repeat"
            ]
        );
        // Read back whole: every other option is its default.
        let (hit, fresh) = (w.parse(&["--exact", "m::a"]), w.fresh(&["--exact", "m::a"]));
        assert!(hit.1);
        assert_eq!(format!("{:?}", hit.0), format!("{:?}", fresh.unwrap()));
    }

    #[test]
    fn keys_of_different_inputs_differ() {
        let w = World::new();
        let key = |args: &[&str], vars: &[(&str, &str)]| {
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Cache::new(
                &w.path("bin/systest-0123"),
                &World::argv(args),
                &vars,
                &w.path("project"),
                None,
            )
            .unwrap()
            .key
        };
        let keys = [
            key(&["m::a"], &[]),
            key(&["m::a", "--exact"], &[]),
            key(&["m::a"], &[("DUCKTAPE_A", "")]),
            key(&["m::a"], &[("DUCKTAPE_A", "1")]),
            key(&["m::a"], &[("DUCKTAPE_A", ""), ("DUCKTAPE_B", "")]),
            key(&["m::a"], &[("DUCKTAPE_AB", "")]),
        ];
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // The test name is not part of it.
        assert_eq!(key(&["m::b"], &[]), keys[0]);
    }

    #[test]
    fn a_changed_input_is_parsed_again() {
        let mut w = World::new();
        let args = ["--exact", "m::a", "--nocapture"];
        let check = |w: &World, what: &str| {
            let (parsed, hit) = w.parse(&args);
            assert!(!hit, "{what}: the stored parse must not be used");
            assert_eq!(
                format!("{parsed:?}"),
                format!("{:?}", w.fresh(&args).unwrap())
            );
            assert!(w.parse(&args).1, "{what}: stored again");
        };
        w.parse(&args);
        w.vars[0].1 = "4".into();
        check(&w, "a DUCKTAPE_ variable's value");
        w.vars.push(("DUCKTAPE_DEBUG".into(), "1".into()));
        check(&w, "a new DUCKTAPE_ variable");
        std::fs::write(w.path("project/.ducktape/config"), "--deflake 5\n").unwrap();
        check(&w, "the project's config file");
        std::fs::create_dir_all(w.path("home/.ducktape")).unwrap();
        std::fs::write(w.path("home/.ducktape/config"), "--history 2\n").unwrap();
        check(&w, "a new config file in the home directory");
        let globals = w.path("globals.json");
        std::fs::write(&globals, r#"{"a": 1}"#).unwrap();
        w.vars
            .push(("DUCKTAPE_GLOBALS".into(), globals.display().to_string()));
        check(&w, "--globals");
        std::fs::write(&globals, r#"{"a": 2}"#).unwrap();
        check(&w, "the --globals file's contents");
        assert_eq!(w.parse(&args).0.globals["a"], 2);
        std::fs::write(w.path("bin/systest-0123"), b"rebuilt binary").unwrap();
        check(&w, "a rebuilt binary");
        let (parsed, hit) = w.parse(&["--exact", "m::a"]);
        assert!(!hit && !parsed.options.nocapture, "other flags");
    }

    #[test]
    fn only_one_name_among_the_libtest_flags_nextest_sends_is_cached() {
        let w = World::new();
        for args in [
            &["--exact"][..],
            &["m::a", "m::b"],
            &["--exact", "m::a", "--subset", "1"],
            &["--exact", "tests/ci.yml"],
            &["--list", "--format", "terse"],
            &["--exact", "m::a", "--help"],
        ] {
            assert!(w.cache(args).is_none(), "{args:?}");
        }
        assert!(w.cache(&["m::a", "--include-ignored"]).is_some());
    }

    #[test]
    fn a_damaged_or_foreign_entry_is_ignored_and_replaced() {
        let w = World::new();
        let args = ["--exact", "m::a", "--nocapture"];
        w.parse(&args);
        let entry = w.path("bin/.systest-0123.ducktape-args.json");
        let text = std::fs::read(&entry).unwrap();
        std::fs::write(&entry, &text[..text.len() / 2]).unwrap();
        assert!(!w.parse(&args).1, "a torn entry");
        assert!(w.parse(&args).1, "rewritten whole");
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(!w.parse(&args).1, "an entry others can write");
        assert_eq!(
            std::fs::metadata(&entry).unwrap().permissions().mode() & 0o777,
            0o600
        );
        std::fs::write(&entry, b"{\"key\": 1}").unwrap();
        assert!(!w.parse(&args).1, "not an entry");
    }

    #[test]
    fn an_entry_that_cannot_be_read_or_written_still_parses() {
        let w = World::new();
        // A directory where the entry goes: neither readable as one nor
        // replaceable (even by root, unlike a read-only directory).
        let entry = w.path("bin/.systest-0123.ducktape-args.json");
        std::fs::create_dir_all(entry.join("x")).unwrap();
        let args = ["--exact", "m::a", "--nocapture"];
        for _ in 0..2 {
            let (parsed, hit) = w.parse(&args);
            assert!(!hit);
            assert_eq!(parsed.options.filters, ["m::a"]);
        }
        let left: Vec<_> = std::fs::read_dir(w.path("bin"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 2, "no temporary file is left: {left:?}");
    }

    #[test]
    fn a_file_edited_while_the_parse_runs_is_not_stored_as_seen() {
        let w = World::new();
        let args = ["--exact", "m::a", "--nocapture"];
        // The parse reads the config, then it is edited before the store.
        let parsed = w
            .cache(&args)
            .unwrap()
            .parse(|| {
                let p = w.fresh(&args);
                std::fs::write(w.path("project/.ducktape/config"), "--deflake 7\n").unwrap();
                p
            })
            .unwrap();
        assert_eq!(parsed.options.deflake, 3);
        let (parsed, hit) = w.parse(&args);
        assert!(!hit, "stored with the config as it was before the parse");
        assert_eq!(parsed.options.deflake, 7);
        // The same for a --globals file.
        let mut w = World::new();
        let globals = w.path("globals.json");
        std::fs::write(&globals, r#"{"v": 1}"#).unwrap();
        w.vars
            .push(("DUCKTAPE_GLOBALS".into(), globals.display().to_string()));
        w.cache(&args)
            .unwrap()
            .parse(|| {
                let p = w.fresh(&args);
                std::fs::write(&globals, r#"{"v": 22}"#).unwrap();
                p
            })
            .unwrap();
        let (parsed, hit) = w.parse(&args);
        assert!(!hit, "not stored: the file changed after the parse read it");
        assert_eq!(parsed.globals["v"], 22);
        assert!(w.parse(&args).1);
    }

    #[test]
    fn a_fifo_or_a_link_at_the_entry_is_not_read() {
        let w = World::new();
        let entry = w.path("bin/.systest-0123.ducktape-args.json");
        let c = std::ffi::CString::new(entry.to_str().unwrap()).unwrap();
        // SAFETY: a valid path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let (tx, rx) = std::sync::mpsc::channel();
        let w2 = World { ..w };
        let handle = std::thread::spawn(move || {
            let (parsed, hit) = w2.parse(&["--exact", "m::a", "--nocapture"]);
            tx.send((parsed.options.filters, hit)).unwrap();
            w2
        });
        let got = rx.recv_timeout(std::time::Duration::from_secs(10));
        let (filters, hit) = got.expect("a FIFO at the entry's path must not block the parse");
        assert_eq!((filters, hit), (vec!["m::a".to_string()], false));
        let w = handle.join().unwrap();
        // A link to an entry is not followed.
        std::fs::remove_file(&entry).unwrap();
        let args = ["--exact", "m::a", "--nocapture"];
        w.parse(&args);
        let real = w.path("real.json");
        std::fs::rename(&entry, &real).unwrap();
        std::os::unix::fs::symlink(&real, &entry).unwrap();
        assert!(!w.parse(&args).1);
    }

    #[test]
    fn a_store_removes_what_killed_writers_left() {
        let w = World::new();
        let entry = w.path("bin/.systest-0123.ducktape-args.json");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        let orphan = PathBuf::from(format!("{}.{gone}.tmp", entry.display()));
        let live = PathBuf::from(format!("{}.1.tmp", entry.display())); // init: alive
        std::fs::write(&orphan, b"half").unwrap();
        std::fs::write(&live, b"in progress").unwrap();
        w.parse(&["--exact", "m::a", "--nocapture"]);
        assert!(
            !orphan.exists(),
            "a dead writer's temporary file is removed"
        );
        assert!(live.exists(), "a live writer's is not");
    }

    #[test]
    fn errors_are_not_stored() {
        let mut w = World::new();
        w.vars[0].1 = "0".into();
        let args = ["--exact", "m::a", "--nocapture"];
        let cache = w.cache(&args).unwrap();
        let err = cache.parse(|| w.fresh(&args)).unwrap_err();
        assert!(err.to_string().contains("DUCKTAPE_REPEAT=0"), "{err}");
        assert!(cache.load().is_none());
        assert!(cache.parse(|| w.fresh(&args)).is_err());
    }
}
