//! WebP: a RIFF container whose size field accounts for the whole file, `WEBP`, and chunks
//! that tile the rest exactly (simple lossy VP8, simple lossless VP8L, or extended VP8X).

use crate::cursor::Cursor;
use crate::markup::contains_markup;
use crate::{ImageFormat, ImageInfo, Limits, MediaError};

/// VP8X flag: the file is an animation made of ANMF frames.
const ANIMATION_FLAG: u8 = 0x02;

fn malformed(reason: &'static str) -> MediaError {
    MediaError::Malformed {
        format: ImageFormat::WebP,
        reason,
    }
}

struct Chunk<'a> {
    fourcc: [u8; 4],
    data: &'a [u8],
}

fn next_chunk<'a>(cursor: &mut Cursor<'a>) -> Result<Chunk<'a>, MediaError> {
    let fourcc = cursor.array().ok_or(malformed("truncated chunk header"))?;
    let len = cursor.u32_le().ok_or(malformed("truncated chunk header"))?;
    let data = usize::try_from(len)
        .ok()
        .and_then(|len| cursor.take(len))
        .ok_or(malformed("chunk runs past the end of the file"))?;
    // RIFF chunks are padded to an even length.
    if len % 2 == 1 {
        cursor
            .skip(1)
            .ok_or(malformed("missing chunk padding byte"))?;
    }
    Ok(Chunk { fourcc, data })
}

pub(crate) fn inspect(bytes: &[u8], limits: &Limits) -> Result<ImageInfo, MediaError> {
    let mut cursor = Cursor::new(bytes);
    if cursor.array() != Some(*b"RIFF") {
        return Err(malformed("does not start with RIFF"));
    }
    let riff_size = cursor.u32_le().ok_or(malformed("truncated RIFF header"))?;
    let declared_len = u64::from(riff_size) + 8;
    let actual_len = bytes.len() as u64;
    if declared_len < actual_len {
        return Err(MediaError::TrailingData {
            format: ImageFormat::WebP,
            len: (actual_len - declared_len) as usize,
        });
    }
    if declared_len > actual_len {
        return Err(malformed("RIFF size is larger than the file"));
    }
    if cursor.array() != Some(*b"WEBP") {
        return Err(malformed("RIFF form type is not WEBP"));
    }

    let first = next_chunk(&mut cursor)?;
    let (width, height) = match &first.fourcc {
        b"VP8X" => canvas_size(first.data)?,
        b"VP8 " => vp8_size(first.data)?,
        b"VP8L" => vp8l_size(first.data)?,
        _ => return Err(malformed("first chunk is not VP8, VP8L or VP8X")),
    };
    // Before walking the rest: a huge canvas is refused on its header alone.
    limits.check(width, height)?;

    if &first.fourcc == b"VP8X" {
        let animated = first
            .data
            .first()
            .is_some_and(|flags| flags & ANIMATION_FLAG != 0);
        walk_extended(&mut cursor, animated, limits)?;
    } else if cursor.remaining() > 0 {
        // The simple format is exactly one image chunk; metadata needs VP8X.
        return Err(malformed("chunks after the image in a simple-format file"));
    }
    Ok(ImageInfo {
        format: ImageFormat::WebP,
        width,
        height,
    })
}

/// Walks the chunks after VP8X to the end of the file.
fn walk_extended(
    cursor: &mut Cursor<'_>,
    animated: bool,
    limits: &Limits,
) -> Result<(), MediaError> {
    let mut bitstreams = 0usize;
    let mut frames = 0usize;
    while cursor.remaining() > 0 {
        let chunk = next_chunk(cursor)?;
        match &chunk.fourcc {
            b"VP8 " | b"VP8L" => {
                let (width, height) = if &chunk.fourcc == b"VP8 " {
                    vp8_size(chunk.data)?
                } else {
                    vp8l_size(chunk.data)?
                };
                limits.check(width, height)?;
                bitstreams += 1;
            }
            b"ANMF" => frames += 1,
            b"ALPH" => {}
            b"VP8X" => return Err(malformed("second VP8X chunk")),
            _ if contains_markup(chunk.data) => {
                return Err(MediaError::EmbeddedMarkup {
                    format: ImageFormat::WebP,
                });
            }
            _ => {}
        }
    }
    let well_formed = if animated {
        bitstreams == 0 && frames > 0
    } else {
        bitstreams == 1 && frames == 0
    };
    if !well_formed {
        return Err(malformed("image chunks do not match the VP8X flags"));
    }
    Ok(())
}

fn u24_le(bytes: [u8; 3]) -> u32 {
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], 0])
}

/// Canvas size from a VP8X chunk: flags, 3 reserved bytes, then width-1 and height-1 in
/// 24 bits each.
fn canvas_size(data: &[u8]) -> Result<(u32, u32), MediaError> {
    let mut vp8x = Cursor::new(data);
    let (Some(_flags_and_reserved), Some(width), Some(height), 0) = (
        vp8x.array::<4>(),
        vp8x.array::<3>(),
        vp8x.array::<3>(),
        vp8x.remaining(),
    ) else {
        return Err(malformed("VP8X chunk is not 10 bytes"));
    };
    Ok((u24_le(width) + 1, u24_le(height) + 1))
}

/// Frame size from a lossy bitstream's key-frame header.
fn vp8_size(data: &[u8]) -> Result<(u32, u32), MediaError> {
    let mut vp8 = Cursor::new(data);
    let (Some(tag), Some(start_code), Some(width), Some(height)) = (
        vp8.array::<3>(),
        vp8.array::<3>(),
        vp8.array::<2>(),
        vp8.array::<2>(),
    ) else {
        return Err(malformed("VP8 chunk too short"));
    };
    let is_key_frame = tag[0] & 1 == 0;
    if !is_key_frame || start_code != [0x9D, 0x01, 0x2A] {
        return Err(malformed("VP8 chunk does not start with a key frame"));
    }
    // The top two bits of each are a scaling hint, not part of the size.
    let side = |bytes: [u8; 2]| u32::from(u16::from_le_bytes(bytes) & 0x3FFF);
    Ok((side(width), side(height)))
}

/// Image size from a lossless bitstream header: signature 0x2F, then width-1 and height-1
/// in 14 bits each, an alpha bit and a 3-bit version that must be 0.
fn vp8l_size(data: &[u8]) -> Result<(u32, u32), MediaError> {
    let mut vp8l = Cursor::new(data);
    let (Some(0x2F), Some(bits)) = (vp8l.u8(), vp8l.u32_le()) else {
        return Err(malformed("VP8L chunk lacks its signature"));
    };
    if bits >> 29 != 0 {
        return Err(malformed("VP8L version is not 0"));
    }
    Ok(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
}
