//! Reading a received fax file: TIFF (CCITT G3 1-D, G3 2-D, G4, any number
//! of pages, each page its own compression) or PDF. Only tags are read here
//! (pages, TSI, date, resolution, where each strip lies); pixels are decoded
//! by `preview`, on request.
//!
//! A file is accepted only if every page's strips lie inside the file, so a
//! file cut short (a writer that stopped, a copy that failed) is refused
//! with the page and byte where it ends. Text tags are read as raw bytes: a
//! TSI can hold anything a remote machine sent.

use std::io::{Cursor, Read, Seek};

use tiff::decoder::{Decoder, Limits};
use tiff::tags::Tag;

/// Pages beyond this are refused (a fax of more pages is not a fax).
const MAX_PAGES: usize = 5000;

/// Why a file is not a readable fax.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReadError {
    #[error("empty file (0 bytes)")]
    Empty,
    #[error("not a fax: {0}, expected a TIFF or PDF")]
    NotFax(String),
    #[error("TIFF page {page}: {why}")]
    Tiff { page: usize, why: String },
    #[error(
        "TIFF page {page}: strip {strip} ends at byte {end}, beyond the end of the file ({size} bytes): the file is truncated"
    )]
    Truncated {
        page: usize,
        strip: usize,
        end: u64,
        size: u64,
    },
    #[error("PDF: {0}")]
    Pdf(String),
}

/// The kind of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Tiff,
    Pdf,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Tiff => "tiff",
            Format::Pdf => "pdf",
        }
    }
}

/// Where one TIFF page's data lies and how it is coded.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub width: u32,
    pub height: u32,
    /// 1 none, 2 MH, 3 G3 (T.4), 4 G4 (T.6), others unsupported for previews.
    pub compression: u16,
    pub t4_options: u32,
    pub fill_order: u16,
    pub photometric: u16,
    pub rows_per_strip: u32,
    /// (offset, byte count) of every strip.
    pub strips: Vec<(u64, u64)>,
    /// Dots per inch, when the file says.
    pub x_dpi: Option<f64>,
    pub y_dpi: Option<f64>,
}

/// What a fax file says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub format: Format,
    pub pages: u32,
    /// The first page's ImageDescription (HylaFAX: `TSI\nCallID…`), decoded leniently.
    pub description: Option<String>,
    /// The first page's DateTime tag as written (`YYYY:MM:DD HH:MM:SS`, local).
    pub date: Option<String>,
    pub x_dpi: Option<f64>,
    pub y_dpi: Option<f64>,
    /// TIFF only: every page's layout.
    pub tiff_pages: Vec<Page>,
}

/// Reads `bytes` as a fax file.
pub fn read(bytes: &[u8]) -> Result<Facts, ReadError> {
    if bytes.is_empty() {
        return Err(ReadError::Empty);
    }
    if bytes.starts_with(b"II*\0")
        || bytes.starts_with(b"MM\0*")
        || bytes.starts_with(b"II+\0")
        || bytes.starts_with(b"MM\0+")
    {
        return read_tiff(bytes);
    }
    if bytes.starts_with(b"%PDF-") {
        let pages = pdf_page_count(bytes).ok_or_else(|| {
            ReadError::Pdf("no page tree (/Type /Pages with /Count) found".into())
        })?;
        if pages == 0 || pages > MAX_PAGES as u64 {
            return Err(ReadError::Pdf(format!("implausible page count {pages}")));
        }
        return Ok(Facts {
            format: Format::Pdf,
            pages: pages as u32,
            description: None,
            date: None,
            x_dpi: None,
            y_dpi: None,
            tiff_pages: Vec::new(),
        });
    }
    Err(ReadError::NotFax(sniff(bytes)))
}

/// What a file that is no fax seems to be, for the reason shown to a person.
fn sniff(b: &[u8]) -> String {
    let what = if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "a JPEG image"
    } else if b.starts_with(b"\x89PNG") {
        "a PNG image"
    } else if b.starts_with(b"GIF8") {
        "a GIF image"
    } else if b.starts_with(b"PK\x03\x04") {
        "a ZIP archive (or office document)"
    } else if b
        .iter()
        .take(512)
        .all(|c| c.is_ascii_graphic() || c.is_ascii_whitespace())
    {
        "text"
    } else {
        "unknown data"
    };
    let head: String = b.iter().take(8).map(|c| format!("{c:02x}")).collect();
    format!("{what} (starts with {head})")
}

fn tiff_err(page: usize) -> impl Fn(tiff::TiffError) -> ReadError {
    move |e| ReadError::Tiff {
        page,
        why: e.to_string(),
    }
}

fn read_tiff(bytes: &[u8]) -> Result<Facts, ReadError> {
    let size = bytes.len() as u64;
    let mut limits = Limits::default();
    limits.ifd_value_size = 4 * 1024 * 1024;
    let mut dec = Decoder::new(Cursor::new(bytes))
        .map_err(tiff_err(1))?
        .with_limits(limits);
    let description = raw_ascii(&mut dec, Tag::ImageDescription);
    let date = raw_ascii(&mut dec, Tag::DateTime);
    let mut pages = Vec::new();
    loop {
        let n = pages.len() + 1;
        let page = page_layout(&mut dec).map_err(tiff_err(n))?;
        for (i, (off, cnt)) in page.strips.iter().enumerate() {
            let end = off.saturating_add(*cnt);
            if end > size {
                return Err(ReadError::Truncated {
                    page: n,
                    strip: i + 1,
                    end,
                    size,
                });
            }
        }
        if page.strips.is_empty() {
            return Err(ReadError::Tiff {
                page: n,
                why: "no image data (no strips)".into(),
            });
        }
        pages.push(page);
        if !dec.more_images() {
            break;
        }
        if pages.len() >= MAX_PAGES {
            return Err(ReadError::Tiff {
                page: n,
                why: format!("more than {MAX_PAGES} pages"),
            });
        }
        dec.next_image().map_err(tiff_err(n + 1))?;
    }
    let (x_dpi, y_dpi) = (pages[0].x_dpi, pages[0].y_dpi);
    Ok(Facts {
        format: Format::Tiff,
        pages: pages.len() as u32,
        description,
        date,
        x_dpi,
        y_dpi,
        tiff_pages: pages,
    })
}

fn page_layout<R: Read + Seek>(dec: &mut Decoder<R>) -> tiff::TiffResult<Page> {
    let (width, height) = dec.dimensions()?;
    let unit: u16 = dec.find_tag_unsigned(Tag::ResolutionUnit)?.unwrap_or(2);
    let scale = if unit == 3 { 2.54 } else { 1.0 };
    let xres = dec.find_tag(Tag::XResolution)?.and_then(rational);
    let yres = dec.find_tag(Tag::YResolution)?.and_then(rational);
    let offs = dec.get_tag_u64_vec(Tag::StripOffsets)?;
    let cnts = dec.get_tag_u64_vec(Tag::StripByteCounts)?;
    Ok(Page {
        width,
        height,
        compression: dec.find_tag_unsigned(Tag::Compression)?.unwrap_or(1),
        t4_options: dec.find_tag_unsigned(Tag::Unknown(292))?.unwrap_or(0),
        fill_order: dec.find_tag_unsigned(Tag::FillOrder)?.unwrap_or(1),
        photometric: dec
            .find_tag_unsigned(Tag::PhotometricInterpretation)?
            .unwrap_or(0),
        rows_per_strip: dec
            .find_tag_unsigned(Tag::RowsPerStrip)?
            .unwrap_or(u32::MAX)
            .max(1),
        strips: offs.into_iter().zip(cnts).collect(),
        x_dpi: xres.map(|x| x * scale),
        y_dpi: yres.map(|y| y * scale),
    })
}

/// A RATIONAL (or integer) tag as a number; the tiff crate's `into_f64` refuses rationals.
fn rational(v: tiff::decoder::ifd::Value) -> Option<f64> {
    use tiff::decoder::ifd::Value::*;
    match v {
        Rational(n, d) if d != 0 => Some(f64::from(n) / f64::from(d)),
        Float(f) => Some(f64::from(f)),
        Double(f) => Some(f),
        Short(n) => Some(f64::from(n)),
        Unsigned(n) => Some(f64::from(n)),
        _ => None,
    }
}

/// An ASCII tag as raw bytes up to the first NUL, decoded leniently: a
/// remote machine's TSI may hold any bytes, and must never stop intake.
fn raw_ascii<R: Read + Seek>(dec: &mut Decoder<R>, tag: Tag) -> Option<String> {
    let mut ifd = dec.image_ifd();
    let e = ifd.find_entry(tag)?;
    let n = usize::try_from(e.count())
        .ok()
        .filter(|&n| n <= 64 * 1024)?;
    let mut buf = vec![0u8; n];
    ifd.find_tag_bytes(tag, &mut buf, 0).ok()??;
    if let Some(p) = buf.iter().position(|&b| b == 0) {
        buf.truncate(p);
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

fn find_all<'a>(hay: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    hay.windows(needle.len())
        .enumerate()
        .filter(move |(_, w)| *w == needle)
        .map(|(i, _)| i)
}

fn is_delim(b: u8) -> bool {
    b.is_ascii_whitespace() || b"()<>[]{}/%".contains(&b)
}

/// Bounds of the dictionary (`<< … >>`, balanced) enclosing `pos`.
fn enclosing_dict(b: &[u8], pos: usize) -> Option<(usize, usize)> {
    let (mut i, mut depth) = (pos, 0i32);
    let start = loop {
        if i < 2 {
            return None;
        }
        i -= 1;
        if &b[i - 1..=i] == b">>" {
            depth += 1;
            i -= 1;
        } else if &b[i - 1..=i] == b"<<" {
            if depth == 0 {
                break i - 1;
            }
            depth -= 1;
            i -= 1;
        }
    };
    let (mut j, mut depth) = (start + 2, 0i32);
    while j + 1 < b.len() {
        if &b[j..j + 2] == b"<<" {
            depth += 1;
            j += 2;
        } else if &b[j..j + 2] == b">>" {
            if depth == 0 {
                return Some((start, j + 2));
            }
            depth -= 1;
            j += 2;
        } else {
            j += 1;
        }
    }
    None
}

fn name_then_int(d: &[u8], name: &[u8]) -> Option<u64> {
    for p in find_all(d, name) {
        let after = p + name.len();
        if after < d.len() && !is_delim(d[after]) {
            continue;
        }
        let rest = &d[after..];
        let s = rest.iter().position(|c| !c.is_ascii_whitespace())?;
        let n: String = rest[s..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .map(|&c| c as char)
            .collect();
        if let Ok(v) = n.parse() {
            return Some(v);
        }
    }
    None
}

fn has_type(d: &[u8], ty: &[u8]) -> bool {
    find_all(d, b"/Type").any(|p| {
        let r = &d[p + 5..];
        let s = r
            .iter()
            .position(|c| !c.is_ascii_whitespace())
            .unwrap_or(r.len());
        r[s..].starts_with(ty) && r.get(s + ty.len()).is_none_or(|&c| is_delim(c))
    })
}

/// The page count of a PDF: the `/Count` of the root `/Pages` node (one
/// without `/Parent`), looking into Flate object streams too; with
/// incremental updates the last root wins. Encrypted PDFs are not handled.
pub fn pdf_page_count(b: &[u8]) -> Option<u64> {
    let mut bodies: Vec<Vec<u8>> = Vec::new();
    for p in find_all(b, b"/ObjStm") {
        let Some((_, end)) = enclosing_dict(b, p) else {
            continue;
        };
        let Some(s) = find_all(&b[end..], b"stream").next() else {
            continue;
        };
        let mut s = end + s + 6;
        if b.get(s) == Some(&b'\r') {
            s += 1;
        }
        if b.get(s) == Some(&b'\n') {
            s += 1;
        }
        let Some(e) = find_all(&b[s..], b"endstream").next() else {
            continue;
        };
        let mut out = Vec::new();
        let inflated = flate2::read::ZlibDecoder::new(&b[s..s + e])
            .take(64 * 1024 * 1024)
            .read_to_end(&mut out);
        if inflated.is_ok() || !out.is_empty() {
            bodies.push(out);
        }
    }
    let mut best = None;
    for body in std::iter::once(b).chain(bodies.iter().map(Vec::as_slice)) {
        for p in find_all(body, b"/Type") {
            let Some((s, e)) = enclosing_dict(body, p) else {
                continue;
            };
            let d = &body[s..e];
            if has_type(d, b"/Pages")
                && find_all(d, b"/Parent").next().is_none()
                && let Some(c) = name_then_int(d, b"/Count")
            {
                best = Some(c);
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_foreign_files_are_named() {
        assert_eq!(read(b""), Err(ReadError::Empty));
        let e = read(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F']).unwrap_err();
        assert!(e.to_string().contains("JPEG"), "{e}");
        let e = read(b"hello fax").unwrap_err();
        assert!(e.to_string().contains("text"), "{e}");
        let e = read(b"II*\0\x08\0\0\0").unwrap_err();
        assert!(matches!(e, ReadError::Tiff { page: 1, .. }), "{e}");
    }

    #[test]
    fn pdf_pages_from_the_root_page_tree() {
        let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
            2 0 obj << /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >> endobj\n\
            3 0 obj << /Type /Page /Parent 2 0 R >> endobj\n\
            4 0 obj << /Type /Page /Parent 2 0 R >> endobj\n%%EOF";
        let f = read(pdf).unwrap();
        assert_eq!((f.format, f.pages), (Format::Pdf, 2));
        assert!(read(b"%PDF-1.4\n%%EOF").is_err());
    }
}
