//! JPEG: SOI, marker segments walked by their lengths, entropy-coded data after each SOS
//! (progressive files have several), and EOI at the end.

use crate::cursor::Cursor;
use crate::markup::contains_markup;
use crate::{ImageFormat, ImageInfo, Limits, MediaError};

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const APP2: u8 = 0xE2;

/// Encoders and some camera firmware pad after EOI with a few 0x00 or 0xFF bytes; such
/// padding cannot carry another file, anything else can.
const MAX_PADDING: usize = 1024;

/// Phones append secondary images (Ultra HDR gain maps, depth maps) after the primary EOI,
/// declared by an MPF segment. A handful is plenty; a long chain is not a photo.
const MAX_SECONDARY_IMAGES: usize = 4;

fn malformed(reason: &'static str) -> MediaError {
    MediaError::Malformed {
        format: ImageFormat::Jpeg,
        reason,
    }
}

/// What the walk of one SOI..EOI image learned.
struct Walked {
    width: u32,
    height: u32,
    /// An APP2 "MPF" segment says more images follow this one's EOI.
    multi_picture: bool,
}

pub(crate) fn inspect(bytes: &[u8], limits: &Limits) -> Result<ImageInfo, MediaError> {
    let mut cursor = Cursor::new(bytes);
    let primary = walk_image(&mut cursor, limits)?;
    if primary.multi_picture {
        let mut secondary = 0;
        while cursor.rest().starts_with(&[0xFF, SOI]) && secondary < MAX_SECONDARY_IMAGES {
            walk_image(&mut cursor, limits)?;
            secondary += 1;
        }
    }
    let rest = cursor.rest();
    let is_padding = rest.len() <= MAX_PADDING && rest.iter().all(|&b| b == 0x00 || b == 0xFF);
    if !is_padding {
        return Err(MediaError::TrailingData {
            format: ImageFormat::Jpeg,
            len: rest.len(),
        });
    }
    Ok(ImageInfo {
        format: ImageFormat::Jpeg,
        width: primary.width,
        height: primary.height,
    })
}

fn walk_image(cursor: &mut Cursor<'_>, limits: &Limits) -> Result<Walked, MediaError> {
    if cursor.array() != Some([0xFF, SOI]) {
        return Err(malformed("does not start with SOI"));
    }
    let mut frame = None;
    let mut scans = 0usize;
    let mut multi_picture = false;
    loop {
        let marker = next_marker(cursor)?;
        match marker {
            EOI => break,
            SOI => return Err(malformed("SOI inside the image")),
            0xD0..=0xD7 | 0x01 => return Err(malformed("standalone marker outside a scan")),
            _ => {}
        }
        let len = cursor
            .u16_be()
            .ok_or(malformed("truncated segment length"))?;
        let data = usize::from(len)
            .checked_sub(2)
            .and_then(|body| cursor.take(body))
            .ok_or(malformed("segment length is wrong or runs past the end"))?;
        if contains_markup(data) {
            return Err(MediaError::EmbeddedMarkup {
                format: ImageFormat::Jpeg,
            });
        }
        match marker {
            // Baseline, extended sequential and progressive Huffman: what every decoder reads.
            0xC0..=0xC2 => {
                if frame.is_some() {
                    return Err(malformed("second frame header"));
                }
                let (width, height) = read_frame_header(data)?;
                // Before walking the scans: a huge frame is refused on its header alone.
                limits.check(width, height)?;
                frame = Some((width, height));
            }
            0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err(MediaError::UnsupportedVariant {
                    format: ImageFormat::Jpeg,
                    what: "lossless, hierarchical or arithmetic-coded JPEG",
                });
            }
            SOS => {
                if frame.is_none() {
                    return Err(malformed("scan before the frame header"));
                }
                scans += 1;
                skip_entropy_coded_data(cursor)?;
            }
            APP2 if data.starts_with(b"MPF\0") => multi_picture = true,
            _ => {}
        }
    }
    let Some((width, height)) = frame else {
        return Err(malformed("no frame header"));
    };
    if scans == 0 {
        return Err(malformed("no scan"));
    }
    Ok(Walked {
        width,
        height,
        multi_picture,
    })
}

/// Reads 0xFF, any fill 0xFF bytes, and returns the marker code after them.
fn next_marker(cursor: &mut Cursor<'_>) -> Result<u8, MediaError> {
    if cursor.u8() != Some(0xFF) {
        return Err(malformed("expected a marker"));
    }
    loop {
        match cursor.u8() {
            Some(0xFF) => continue,
            Some(0x00) => return Err(malformed("stuffed zero outside a scan")),
            Some(code) => return Ok(code),
            None => return Err(malformed("truncated before EOI")),
        }
    }
}

/// Width and height from a SOF segment body.
fn read_frame_header(data: &[u8]) -> Result<(u32, u32), MediaError> {
    let mut sof = Cursor::new(data);
    let (Some(precision), Some(height), Some(width), Some(components)) =
        (sof.u8(), sof.u16_be(), sof.u16_be(), sof.u8())
    else {
        return Err(malformed("frame header too short"));
    };
    if !matches!(precision, 8 | 12) {
        return Err(malformed("frame header has an invalid sample precision"));
    }
    if !(1..=4).contains(&components) || sof.remaining() != 3 * usize::from(components) {
        return Err(malformed(
            "frame header component count does not match its length",
        ));
    }
    Ok((u32::from(width), u32::from(height)))
}

/// Moves the cursor to the marker that ends a scan's entropy-coded data.
///
/// Inside the data 0xFF is always followed by 0x00 (a stuffed 0xFF byte) or RST0..RST7;
/// any other code is the next marker, which is left for the segment walk.
fn skip_entropy_coded_data(cursor: &mut Cursor<'_>) -> Result<(), MediaError> {
    loop {
        let ff = cursor
            .rest()
            .iter()
            .position(|&b| b == 0xFF)
            .ok_or(malformed("scan data runs to the end without EOI"))?;
        cursor.skip(ff).ok_or(malformed("truncated scan data"))?;
        match cursor.rest().get(1) {
            None => return Err(malformed("truncated scan data")),
            Some(0x00 | 0xD0..=0xD7) => {
                cursor.skip(2).ok_or(malformed("truncated scan data"))?;
            }
            // A fill byte before the marker: step over it and look again.
            Some(0xFF) => {
                cursor.skip(1).ok_or(malformed("truncated scan data"))?;
            }
            Some(_) => return Ok(()),
        }
    }
}
