//! Copying files and directories between this machine and a node.
//!
//! A file is streamed through `cat` on an exec channel, a directory through
//! `tar` on both ends; permissions and modification times are kept. Like
//! `cp -a` (what the local account does): when the destination is an
//! existing directory the copy goes inside it, under the source's name.

use super::{quote, SshAccount};
use crate::remote::RemoteError;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt as _;
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
        &format!("stat -L -c '%F|%a|%Y' -- {}", quote(src)),
        None,
        &mut out,
    )?;
    let stat = String::from_utf8_lossy(&out).trim().to_string();
    let mut parts = stat.split('|');
    let (kind, mode, mtime) = (
        parts.next().unwrap_or_default(),
        parts.next().and_then(|m| u32::from_str_radix(m, 8).ok()),
        parts.next().and_then(|t| t.parse::<u64>().ok()),
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
        a.run_ok(&op, &format!("cat -- {}", quote(src)), None, &mut f)?;
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
