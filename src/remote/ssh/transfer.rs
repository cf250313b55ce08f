//! Copying files and directories between this machine and a node.
//!
//! A file is streamed through `cat` on an exec channel (a large one in two
//! parts side by side, through `dd` on sessions of their own), a directory
//! through `tar` on both ends; permissions and modification times are kept. Like
//! `cp -a` (what the local account does): when the destination is an
//! existing directory the copy goes inside it, under the source's name.

use super::{quote, SshAccount};
use crate::remote::RemoteError;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Copies local `src` to `dest` (absolute, on the node).
pub(super) fn copy_to(a: &SshAccount, src: &Path, dest: &Path) -> Result<(), RemoteError> {
    let op = format!(
        "copy {} to {}:{}",
        src.display(),
        a.inner.target.node,
        dest.display()
    );
    let local = |e: io::Error| a.inner.io_err(&op, e);
    let meta = fs::metadata(src).map_err(local)?;
    let name = file_name(src).map_err(local)?;
    // `d` is the path the copy gets: inside `dest` if that is a directory.
    let pick = format!(
        "d={}; if [ -d \"$d\" ]; then d=\"$d\"/{}; fi",
        quote(dest),
        super::quote_str(&name)
    );
    if meta.is_dir() {
        let mut tar = local_tar(&["-C"], src, &["-cf", "-", "."], true).map_err(local)?;
        let mut out = tar
            .child
            .stdout
            .take()
            .ok_or_else(|| local(io::Error::other("no pipe")))?;
        let cmd = format!("{pick}\nmkdir -p -- \"$d\" && tar -C \"$d\" -xpf -");
        let ran = a.run_ok(&op, &cmd, Some(&mut out), &mut io::sink());
        drop(out);
        let local_status = tar.finish();
        ran?;
        local_status.map_err(local)?;
    } else if meta.len() >= SPLIT_MIN {
        copy_to_split(a, &op, src, &pick, &meta)?;
    } else {
        let mut f = fs::File::open(src).map_err(local)?;
        let mode = meta.permissions().mode() & 0o7777;
        let mtime = touch_time(meta.modified().ok());
        let cmd = format!(
            "{pick}\nmkdir -p -- \"$(dirname -- \"$d\")\" && cat > \"$d\" && chmod {mode:o} \"$d\"{}",
            mtime
                .map(|t| format!(" && touch -m -d @{t} \"$d\""))
                .unwrap_or_default()
        );
        a.run_ok(&op, &cmd, Some(&mut f), &mut io::sink())?;
    }
    Ok(())
}

/// Copies `src` (absolute, on the node) to local `dest`.
pub(super) fn copy_from(a: &SshAccount, src: &Path, dest: &Path) -> Result<(), RemoteError> {
    let op = format!(
        "copy {}:{} to {}",
        a.inner.target.node,
        src.display(),
        dest.display()
    );
    let local = |e: io::Error| a.inner.io_err(&op, e);
    let mut out = Vec::new();
    a.run_ok(
        &op,
        &format!("stat -L -c '%F|%a|%Y|%s' -- {}", quote(src)),
        None,
        &mut out,
    )?;
    let stat = String::from_utf8_lossy(&out).trim().to_string();
    let mut parts = stat.split('|');
    let (kind, mode, mtime, size) = (
        parts.next().unwrap_or_default(),
        parts.next().and_then(|m| u32::from_str_radix(m, 8).ok()),
        parts.next().and_then(|t| t.parse::<u64>().ok()),
        parts
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0),
    );
    let name = file_name(src).map_err(local)?;
    let target: PathBuf = if dest.is_dir() {
        dest.join(name)
    } else {
        dest.to_path_buf()
    };
    if kind == "directory" {
        fs::create_dir_all(&target).map_err(local)?;
        let mut tar = local_tar(&["-C"], &target, &["-xpf", "-"], false).map_err(local)?;
        let mut stdin = tar
            .child
            .stdin
            .take()
            .ok_or_else(|| local(io::Error::other("no pipe")))?;
        let ran = a.run_ok(
            &op,
            &format!("tar -C {} -cf - .", quote(src)),
            None,
            &mut stdin,
        );
        drop(stdin);
        let local_status = tar.finish();
        ran?;
        local_status.map_err(local)?;
    } else {
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(local)?;
        }
        let mut f = fs::File::create(&target).map_err(local)?;
        if kind == "regular file" && size >= SPLIT_MIN {
            copy_from_split(a, &op, src, &f, size)?;
        } else {
            a.run_ok(&op, &format!("cat -- {}", quote(src)), None, &mut f)?;
        }
        if let Some(mode) = mode {
            f.set_permissions(fs::Permissions::from_mode(mode))
                .map_err(local)?;
        }
        if let Some(t) = mtime {
            let _ = f.set_modified(UNIX_EPOCH + Duration::from_secs(t));
        }
    }
    Ok(())
}

/// Files at least this large move in [`STREAMS`] parts side by side, each
/// on its own session: one stream is bound by one core's worth of cipher
/// and channel work on each end.
const SPLIT_MIN: u64 = 32 << 20;
/// Parts a large file moves in.
const STREAMS: u64 = 2;

/// The byte ranges of a file of `size` bytes, one per stream.
fn ranges(size: u64) -> Vec<(u64, u64)> {
    let part = size.div_ceil(STREAMS);
    (0..STREAMS)
        .map(|i| (i * part, part.min(size.saturating_sub(i * part))))
        .filter(|&(_, len)| len > 0)
        .collect()
}

/// Runs `part(offset, len)` for every range on its own thread; the first
/// error wins.
fn each_range(
    size: u64,
    part: impl Fn(u64, u64) -> Result<(), RemoteError> + Sync,
) -> Result<(), RemoteError> {
    let results: Vec<Result<(), RemoteError>> = std::thread::scope(|s| {
        let handles: Vec<_> = ranges(size)
            .into_iter()
            .map(|(off, len)| {
                let part = &part;
                s.spawn(move || part(off, len))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    results.into_iter().collect()
}

/// [`copy_to`] of a large regular file: the destination is chosen and
/// emptied first, then every part is written in place by `dd`, then mode
/// and modification time are set.
fn copy_to_split(
    a: &SshAccount,
    op: &str,
    src: &Path,
    pick: &str,
    meta: &fs::Metadata,
) -> Result<(), RemoteError> {
    let mut chosen = Vec::new();
    let create =
        format!("{pick}\nmkdir -p -- \"$(dirname -- \"$d\")\" && : > \"$d\" && printf '%s' \"$d\"");
    a.run_ok(op, &create, None, &mut chosen)?;
    let dest = super::quote_str(&String::from_utf8_lossy(&chosen));
    let file = fs::File::open(src).map_err(|e| a.inner.io_err(op, e))?;
    each_range(meta.len(), |off, len| {
        let mut part = Range {
            file: &file,
            pos: off,
            end: off + len,
        };
        // Each read from the pipe is written as it came (no `fullblock`):
        // with 1 MiB blocks the two `dd`s took twice the CPU (`perf record
        // -a`), writing a megabyte at a time into one file under its lock.
        let cmd =
            format!("dd of={dest} bs=128K seek={off} oflag=seek_bytes conv=notrunc status=none");
        a.run_ok(op, &cmd, Some(&mut part), &mut io::sink())
            .map(drop)
    })?;
    let mode = meta.permissions().mode() & 0o7777;
    let touch = touch_time(meta.modified().ok())
        .map(|t| format!(" && touch -m -d @{t} {dest}"))
        .unwrap_or_default();
    a.run_ok(
        op,
        &format!("chmod {mode:o} {dest}{touch}"),
        None,
        &mut io::sink(),
    )?;
    Ok(())
}

/// [`copy_from`] of a large regular file of `size` bytes into `file`:
/// every part is read by `dd` and written in place.
fn copy_from_split(
    a: &SshAccount,
    op: &str,
    src: &Path,
    file: &fs::File,
    size: u64,
) -> Result<(), RemoteError> {
    file.set_len(size).map_err(|e| a.inner.io_err(op, e))?;
    each_range(size, |off, len| {
        let mut part = Range {
            file,
            pos: off,
            end: off + len,
        };
        let cmd = format!(
            "dd if={} bs=1M skip={off} count={len} iflag=skip_bytes,count_bytes status=none",
            quote(src)
        );
        a.run_ok(op, &cmd, None, &mut part)?;
        if part.pos != part.end {
            // The file shrank while it was copied.
            let short = io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{} changed size while it was copied", src.display()),
            );
            return Err(a.inner.io_err(op, short));
        }
        Ok(())
    })
}

/// One byte range of a file, read or written in place.
struct Range<'a> {
    file: &'a fs::File,
    pos: u64,
    end: u64,
}

impl Read for Range<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min((self.end - self.pos) as usize);
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Write for Range<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = (self.end - self.pos) as usize;
        if room < buf.len() {
            return Err(io::Error::other("more data than the file's size"));
        }
        self.file.write_all_at(buf, self.pos)?;
        self.pos += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn file_name(p: &Path) -> io::Result<String> {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} has no file name to copy", p.display()),
            )
        })
}

/// `secs.nanos` for `touch -d @…`.
fn touch_time(t: Option<SystemTime>) -> Option<String> {
    let d = t?.duration_since(UNIX_EPOCH).ok()?;
    Some(format!("{}.{:09}", d.as_secs(), d.subsec_nanos()))
}

/// A local `tar` whose stderr is collected by a thread (so it can never
/// block on a full pipe).
struct LocalTar {
    child: Child,
    stderr: Option<std::thread::JoinHandle<String>>,
}

fn local_tar(pre: &[&str], dir: &Path, post: &[&str], reads: bool) -> io::Result<LocalTar> {
    let mut c = Command::new("tar");
    c.args(pre).arg(dir).args(post).stderr(Stdio::piped());
    if reads {
        c.stdin(Stdio::null()).stdout(Stdio::piped());
    } else {
        c.stdin(Stdio::piped()).stdout(Stdio::null());
    }
    let mut child = c.spawn()?;
    let stderr = child.stderr.take().map(|mut e| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = e.read_to_string(&mut s);
            s
        })
    });
    Ok(LocalTar { child, stderr })
}

impl LocalTar {
    fn finish(mut self) -> io::Result<()> {
        let status = self.child.wait()?;
        let msg = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "local tar failed ({status}): {}",
                msg.trim()
            )))
        }
    }
}
