//! Writing rendered slices to files: plain, gzip or zstd (CloudWatch S3 exports are gzip
//! objects of lines whose prefix the renderers already wrote). CloudWatch subscription
//! deliveries are written by [`cloudwatch_json`](super::cloudwatch_json).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::cloudwatch_json::write_unit_json;
use super::layout::Unit;
use super::plan::{Env, Plan};
use super::render::Emitter;
use super::Compression;

pub(crate) enum Out {
    Plain(BufWriter<File>),
    Gz(flate2::write::GzEncoder<BufWriter<File>>),
    Zst(zstd::stream::write::Encoder<'static, BufWriter<File>>),
}

impl Out {
    pub(crate) fn create(path: &Path, c: Compression) -> io::Result<Out> {
        let w = BufWriter::with_capacity(1 << 20, File::create(path)?);
        Ok(match c {
            Compression::None => Out::Plain(w),
            Compression::Gzip => Out::Gz(flate2::write::GzEncoder::new(
                w,
                flate2::Compression::default(),
            )),
            Compression::Zstd => Out::Zst(zstd::stream::write::Encoder::new(w, 3)?),
        })
    }
    pub(crate) fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        match self {
            Out::Plain(w) => w.write_all(b),
            Out::Gz(w) => w.write_all(b),
            Out::Zst(w) => w.write_all(b),
        }
    }
    pub(crate) fn finish(self) -> io::Result<()> {
        let mut w = match self {
            Out::Plain(w) => w,
            Out::Gz(w) => w.finish()?,
            Out::Zst(w) => w.finish()?,
        };
        w.flush()
    }
}

/// Renders and writes one unit; returns (lines, uncompressed bytes).
pub(crate) fn write_unit(
    env: &Env,
    plan: &Plan,
    unit: &Unit,
    out: &Path,
    c: Compression,
) -> io::Result<(u64, u64)> {
    if env.cwj {
        return write_unit_json(env, plan, unit, out);
    }
    let mut outs: Vec<Out> = unit
        .paths
        .iter()
        .map(|p| Out::create(&out.join(p), c))
        .collect::<io::Result<_>>()?;
    let mut em = Emitter::new(env);
    let (mut lines, mut bytes) = (0, 0);
    for i in unit.slices.clone() {
        em.clear();
        em.emit(i, &plan.slices[i]);
        lines += em.lines;
        bytes += em.bytes();
        for (o, buf) in outs.iter_mut().zip(&em.lanes) {
            o.write_all(buf)?;
        }
    }
    for o in outs {
        o.finish()?;
    }
    Ok((lines, bytes))
}
