//! PNG: signature, IHDR first, every chunk walked by its length with its CRC checked, and
//! nothing after IEND.

use crate::cursor::Cursor;
use crate::format::PNG_SIGNATURE;
use crate::markup::contains_markup;
use crate::{ImageFormat, ImageInfo, Limits, MediaError};

/// Chunk lengths are limited to 2^31 - 1 by the PNG specification.
const MAX_CHUNK_LEN: u32 = 0x7FFF_FFFF;

fn malformed(reason: &'static str) -> MediaError {
    MediaError::Malformed {
        format: ImageFormat::Png,
        reason,
    }
}

struct Chunk<'a> {
    kind: [u8; 4],
    data: &'a [u8],
}

impl Chunk<'_> {
    /// Critical chunks (upper-case first letter) must be understood to render the image.
    fn is_critical(&self) -> bool {
        self.kind[0].is_ascii_uppercase()
    }

    /// Chunks whose bytes are compressed image data rather than metadata.
    fn is_pixel_data(&self) -> bool {
        matches!(&self.kind, b"IDAT" | b"fdAT")
    }
}

fn next_chunk<'a>(cursor: &mut Cursor<'a>) -> Result<Chunk<'a>, MediaError> {
    let len = cursor.u32_be().ok_or(malformed("truncated chunk header"))?;
    if len > MAX_CHUNK_LEN {
        return Err(malformed("chunk length over 2^31 - 1"));
    }
    let kind: [u8; 4] = cursor.array().ok_or(malformed("truncated chunk header"))?;
    if !kind.iter().all(u8::is_ascii_alphabetic) {
        return Err(malformed("chunk type is not four letters"));
    }
    let data = cursor
        .take(len as usize)
        .ok_or(malformed("chunk runs past the end of the file"))?;
    let stored_crc = cursor.u32_be().ok_or(malformed("truncated chunk CRC"))?;
    if crc32(&[&kind[..], data]) != stored_crc {
        return Err(malformed("chunk CRC does not match"));
    }
    Ok(Chunk { kind, data })
}

/// Width and height from IHDR, after checking its fixed fields.
fn read_header(chunk: &Chunk<'_>) -> Result<(u32, u32), MediaError> {
    if &chunk.kind != b"IHDR" {
        return Err(malformed("first chunk is not IHDR"));
    }
    let mut ihdr = Cursor::new(chunk.data);
    let (Some(width), Some(height), Some(fields), 0) = (
        ihdr.u32_be(),
        ihdr.u32_be(),
        ihdr.array::<5>(),
        ihdr.remaining(),
    ) else {
        return Err(malformed("IHDR is not 13 bytes"));
    };
    let [bit_depth, colour_type, compression, filter, interlace] = fields;
    let depth_ok = match colour_type {
        0 => matches!(bit_depth, 1 | 2 | 4 | 8 | 16),
        3 => matches!(bit_depth, 1 | 2 | 4 | 8),
        2 | 4 | 6 => matches!(bit_depth, 8 | 16),
        _ => false,
    };
    if !depth_ok || compression != 0 || filter != 0 || interlace > 1 {
        return Err(malformed(
            "IHDR has an invalid colour type, depth or method",
        ));
    }
    if width > MAX_CHUNK_LEN || height > MAX_CHUNK_LEN {
        return Err(malformed("IHDR dimension over 2^31 - 1"));
    }
    Ok((width, height))
}

pub(crate) fn inspect(bytes: &[u8], limits: &Limits) -> Result<ImageInfo, MediaError> {
    let mut cursor = Cursor::new(bytes);
    if cursor.take(PNG_SIGNATURE.len()) != Some(&PNG_SIGNATURE[..]) {
        return Err(malformed("bad signature"));
    }
    let (width, height) = read_header(&next_chunk(&mut cursor)?)?;
    // Before walking the rest: a huge canvas is refused on its header alone.
    limits.check(width, height)?;

    let mut seen_image_data = false;
    loop {
        let chunk = next_chunk(&mut cursor)?;
        match &chunk.kind {
            b"IEND" => break,
            b"IHDR" => return Err(malformed("second IHDR")),
            b"IDAT" => seen_image_data = true,
            b"PLTE" => {}
            _ if chunk.is_critical() => {
                return Err(MediaError::UnsupportedVariant {
                    format: ImageFormat::Png,
                    what: "unknown critical chunk",
                });
            }
            _ if !chunk.is_pixel_data() && contains_markup(chunk.data) => {
                return Err(MediaError::EmbeddedMarkup {
                    format: ImageFormat::Png,
                });
            }
            _ => {}
        }
    }
    if !seen_image_data {
        return Err(malformed("no IDAT chunk"));
    }
    if cursor.remaining() > 0 {
        return Err(MediaError::TrailingData {
            format: ImageFormat::Png,
            len: cursor.remaining(),
        });
    }
    Ok(ImageInfo {
        format: ImageFormat::Png,
        width,
        height,
    })
}

/// CRC-32 (ISO-HDLC, the one PNG and zlib use) over the concatenation of `parts`.
pub(crate) fn crc32(parts: &[&[u8]]) -> u32 {
    let mut crc = !0u32;
    for &byte in parts.iter().flat_map(|part| part.iter()) {
        crc = CRC_TABLE[((crc ^ u32::from(byte)) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_reference_value() {
        // The standard check value for CRC-32/ISO-HDLC.
        assert_eq!(crc32(&[b"123456789"]), 0xCBF4_3926);
        assert_eq!(crc32(&[b"1234", b"56789"]), 0xCBF4_3926);
    }
}
