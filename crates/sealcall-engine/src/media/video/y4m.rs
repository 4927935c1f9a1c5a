//! YUV4MPEG2 (`.y4m`) output of decoded video, readable by ffmpeg, mpv and most video tools.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use sealcall_vpx::I420Frame;

use crate::error::{EngineError, Result};

/// Writes decoded frames to a `.y4m` file. The first frame fixes the picture size; a later frame
/// of another size is counted and skipped (a Y4M stream has one size).
pub struct Y4mWriter {
    out: BufWriter<File>,
    path: PathBuf,
    fps: u32,
    size: Option<(u32, u32)>,
    written: u64,
    skipped: u64,
}

impl Y4mWriter {
    /// Creates (or truncates) the file. `fps` goes into the header.
    pub fn create(path: &Path, fps: u32) -> Result<Self> {
        let file = File::create(path).map_err(|e| {
            EngineError::VideoFile(format!("cannot create {}: {e}", path.display()))
        })?;
        Ok(Self {
            out: BufWriter::new(file),
            path: path.to_owned(),
            fps: fps.max(1),
            size: None,
            written: 0,
            skipped: 0,
        })
    }

    fn io(&self, e: std::io::Error) -> EngineError {
        EngineError::VideoFile(format!("writing {}: {e}", self.path.display()))
    }

    /// Appends one frame.
    pub fn write(&mut self, frame: &I420Frame) -> Result<()> {
        let size = (frame.width(), frame.height());
        match self.size {
            None => {
                let header = format!(
                    "YUV4MPEG2 W{} H{} F{}:1 Ip A1:1 C420jpeg\n",
                    size.0, size.1, self.fps
                );
                self.out
                    .write_all(header.as_bytes())
                    .map_err(|e| self.io(e))?;
                self.size = Some(size);
            }
            Some(s) if s != size => {
                self.skipped += 1;
                return Ok(());
            }
            Some(_) => {}
        }
        let r: std::io::Result<()> = (|| {
            self.out.write_all(b"FRAME\n")?;
            self.out.write_all(frame.y())?;
            self.out.write_all(frame.u())?;
            self.out.write_all(frame.v())
        })();
        r.map_err(|e| self.io(e))?;
        self.written += 1;
        Ok(())
    }

    /// Frames written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Frames skipped because their size differed from the first frame's.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Flushes the file.
    pub fn finish(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| self.io(e))
    }
}

/// Reads a `.y4m` file written by [`Y4mWriter`] back into frames (tests and tools).
pub fn read_y4m(path: &Path) -> Result<Vec<I420Frame>> {
    let bytes = std::fs::read(path)
        .map_err(|e| EngineError::VideoFile(format!("cannot read {}: {e}", path.display())))?;
    let bad = |what: &str| EngineError::VideoFile(format!("{}: {what}", path.display()));
    let nl = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| bad("no header"))?;
    let header = std::str::from_utf8(&bytes[..nl]).map_err(|_| bad("header is not text"))?;
    let mut words = header.split(' ');
    if words.next() != Some("YUV4MPEG2") {
        return Err(bad("not a YUV4MPEG2 file"));
    }
    let (mut w, mut h) = (0u32, 0u32);
    for word in words {
        if let Some(v) = word.strip_prefix('W') {
            w = v.parse().map_err(|_| bad("bad width"))?;
        } else if let Some(v) = word.strip_prefix('H') {
            h = v.parse().map_err(|_| bad("bad height"))?;
        }
    }
    let (ys, cs) = (
        w as usize * h as usize,
        w.div_ceil(2) as usize * h.div_ceil(2) as usize,
    );
    let mut frames = Vec::new();
    let mut rest = &bytes[nl + 1..];
    while !rest.is_empty() {
        let nl = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| bad("truncated frame header"))?;
        if !rest.starts_with(b"FRAME") {
            return Err(bad("expected FRAME"));
        }
        rest = &rest[nl + 1..];
        if rest.len() < ys + 2 * cs {
            return Err(bad("truncated frame"));
        }
        let frame = I420Frame::from_planes(
            w,
            h,
            rest[..ys].to_vec(),
            rest[ys..ys + cs].to_vec(),
            rest[ys + cs..ys + 2 * cs].to_vec(),
        )
        .map_err(|e| bad(&e.to_string()))?;
        frames.push(frame);
        rest = &rest[ys + 2 * cs..];
    }
    Ok(frames)
}
