//! Page previews: one TIFF page decoded (CCITT G3 1-D, G3 2-D, G4, or
//! uncompressed) and written as a 1-bit PNG.
//!
//! Each strip is decoded on its own (libtiff codes strips independently),
//! bits are reversed first for FillOrder 2 (HylaFAX's default), damaged lines
//! are recovered where possible and missing rows are painted white so the
//! page keeps its height. Normal-resolution pages (about 204×98 dpi) have
//! every row doubled so they are not squashed.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use hayro_ccitt::{DecodeSettings, DecoderContext, EncodingMode, decode};

use super::read::Page;

/// Why a page cannot be previewed.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("page {page} does not exist (the fax has {pages} page(s))")]
    NoPage { page: u32, pages: u32 },
    #[error(
        "page {page}: compression {compression} cannot be previewed (G3, G4 and uncompressed can)"
    )]
    Unsupported { page: u32, compression: u16 },
    #[error("PDF faxes have no preview: fax.ghostscript is empty")]
    Pdf,
    #[error("PDF page {page}: ghostscript ({gs}) failed: {why}")]
    Ghostscript { gs: String, page: u32, why: String },
    #[error("page {page}: {width}×{height} is too large to preview")]
    TooLarge { page: u32, width: u32, height: u32 },
    #[error("cannot write the PNG: {0}")]
    Png(String),
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {why}")]
    Read {
        path: std::path::PathBuf,
        why: String,
    },
}

/// The PNG of page `page` (1-based) of the fax file `file`, made once and
/// kept in `cfg.previews` under `key` (the file's hash): a second look
/// reads the kept image. TIFF pages are decoded here, PDF pages rendered by
/// ghostscript.
pub fn cached(
    cfg: &crate::config::FaxConfig,
    file: &Path,
    key: &str,
    page: u32,
) -> Result<std::path::PathBuf, PreviewError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PreviewError::Io { path, source }
    };
    let kept = cfg.previews.join(format!("{key}-p{page}.png"));
    if kept.exists() {
        return Ok(kept);
    }
    let bytes = std::fs::read(file).map_err(io(file))?;
    let facts = super::read::read(&bytes).map_err(|e| PreviewError::Read {
        path: file.to_path_buf(),
        why: e.to_string(),
    })?;
    std::fs::create_dir_all(&cfg.previews).map_err(io(&cfg.previews))?;
    if facts.format == super::read::Format::Pdf {
        let tmp = cfg
            .previews
            .join(format!(".{key}-p{page}.{}.tmp", std::process::id()));
        render_pdf(
            &cfg.ghostscript,
            file,
            page,
            facts.pages,
            cfg.pdf_preview_dpi,
            &tmp,
        )?;
        std::fs::rename(&tmp, &kept).map_err(io(&kept))?;
    } else {
        let mut png = Vec::new();
        render(&bytes, &facts.tiff_pages, page, &mut png)?;
        super::spool::write_atomically(&kept, &png)
            .map_err(|e| PreviewError::Png(e.to_string()))?;
    }
    Ok(kept)
}

/// Rows of a 1-bit image, MSB first, 1 = white (PNG grayscale).
struct Rows {
    width: u32,
    bits: Vec<u8>,
}

impl Rows {
    fn stride(&self) -> usize {
        self.width.div_ceil(8) as usize
    }

    fn white_row(&mut self) {
        let n = self.bits.len() + self.stride();
        self.bits.resize(n, 0xFF);
    }
}

impl hayro_ccitt::Decoder for Rows {
    fn push_row(&mut self, changes: &[u32]) {
        let start = self.bits.len();
        self.white_row();
        let row = &mut self.bits[start..];
        // The row starts white: [c0,c1) is black, [c2,c3) is black, …
        for pair in changes.chunks(2) {
            let a = pair[0].min(self.width);
            let b = pair.get(1).copied().unwrap_or(self.width).min(self.width);
            for x in a..b {
                row[(x / 8) as usize] &= !(0x80 >> (x % 8));
            }
        }
    }
}

/// Decodes page `page` (1-based) of the TIFF `bytes` with layouts `pages` and
/// writes it as PNG to `out`.
pub fn render(
    bytes: &[u8],
    pages: &[Page],
    page: u32,
    out: impl Write,
) -> Result<(), PreviewError> {
    let n = pages.len() as u32;
    let p = page
        .checked_sub(1)
        .and_then(|i| pages.get(i as usize))
        .ok_or(PreviewError::NoPage { page, pages: n })?;
    if u64::from(p.width) * u64::from(p.height) > 200_000_000 {
        return Err(PreviewError::TooLarge {
            page,
            width: p.width,
            height: p.height,
        });
    }
    if !matches!(p.compression, 1..=4) {
        return Err(PreviewError::Unsupported {
            page,
            compression: p.compression,
        });
    }
    let mut img = Rows {
        width: p.width,
        bits: Vec::with_capacity(p.width.div_ceil(8) as usize * p.height as usize),
    };
    let mut row0 = 0u32;
    for (off, cnt) in &p.strips {
        if row0 >= p.height {
            break;
        }
        let rows = p.rows_per_strip.min(p.height - row0);
        // `read` checked that every strip lies inside the file.
        let slice = bytes
            .get(*off as usize..(*off + *cnt) as usize)
            .unwrap_or_default();
        let mut data = slice.to_vec();
        if p.fill_order == 2 {
            for b in &mut data {
                *b = b.reverse_bits();
            }
        }
        let before = img.bits.len();
        if p.compression == 1 {
            // Uncompressed: 0 = white for min-is-white; PNG wants 1 = white.
            let n = (img.stride() * rows as usize).min(data.len());
            img.bits.extend(data[..n].iter().map(|b| !b));
        } else {
            let (encoding, eol, aligned) = match p.compression {
                2 => (EncodingMode::Group3_1D, false, true),
                3 if p.t4_options & 1 != 0 => {
                    (EncodingMode::Group3_2D, true, p.t4_options & 4 != 0)
                }
                3 => (EncodingMode::Group3_1D, true, p.t4_options & 4 != 0),
                _ => (EncodingMode::Group4, false, false),
            };
            let settings = DecodeSettings {
                columns: p.width,
                rows,
                end_of_block: true,
                end_of_line: eol,
                rows_are_byte_aligned: aligned,
                encoding,
                strict: false,
            };
            let mut ctx = DecoderContext::new(settings);
            // Damaged data: the rows decoded so far are kept, the rest is white.
            let _ = decode(&data, &mut img, &mut ctx);
        }
        let want = before + img.stride() * rows as usize;
        img.bits.truncate(want);
        while img.bits.len() < want {
            img.white_row();
        }
        row0 += rows;
    }
    while img.bits.len() < img.stride() * p.height as usize {
        img.white_row();
    }
    if p.photometric == 1 {
        for b in &mut img.bits {
            *b = !*b;
        }
    }
    let double = matches!((p.x_dpi, p.y_dpi), (Some(x), Some(y)) if y * 1.5 < x);
    let stride = img.stride();
    let height = if double { p.height * 2 } else { p.height };
    let png_err = |e: png::EncodingError| PreviewError::Png(e.to_string());
    let mut enc = png::Encoder::new(out, p.width, height);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::One);
    let mut wr = enc.write_header().map_err(png_err)?;
    if double {
        let mut v = Vec::with_capacity(img.bits.len() * 2);
        for r in img.bits.chunks(stride) {
            v.extend_from_slice(r);
            v.extend_from_slice(r);
        }
        wr.write_image_data(&v).map_err(png_err)?;
    } else {
        wr.write_image_data(&img.bits).map_err(png_err)?;
    }
    wr.finish().map_err(png_err)
}

/// Renders page `page` (1-based, checked against `pages`) of the PDF `file`
/// to the PNG `out` with ghostscript (`-dSAFER`, 1-bit), at `dpi`.
pub fn render_pdf(
    gs: &str,
    file: &Path,
    page: u32,
    pages: u32,
    dpi: u32,
    out: &Path,
) -> Result<(), PreviewError> {
    if gs.is_empty() {
        return Err(PreviewError::Pdf);
    }
    if page == 0 || page > pages {
        return Err(PreviewError::NoPage { page, pages });
    }
    let fail = |why: String| PreviewError::Ghostscript {
        gs: gs.to_string(),
        page,
        why,
    };
    let res = Command::new(gs)
        .args(["-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pngmono"])
        .arg(format!("-r{dpi}"))
        .arg(format!("-dFirstPage={page}"))
        .arg(format!("-dLastPage={page}"))
        .arg(format!("-sOutputFile={}", out.display()))
        .arg(file)
        .output()
        .map_err(|e| fail(e.to_string()))?;
    if !res.status.success() || !out.exists() {
        let err = String::from_utf8_lossy(&res.stderr);
        return Err(fail(err.lines().next().unwrap_or("no output").to_string()));
    }
    Ok(())
}
