//! Re-encoding listing photos for the public bucket (feature `publish`).
//!
//! A landlord's phone photo carries EXIF with the GPS position where it was taken (often
//! the landlord's home, not the property), camera serial numbers, XMP edit history and
//! comments. Rather than strip known segments and hope nothing else hides in the file, the
//! photo is decoded to pixels and a fresh JPEG is written from them alone, so nothing the
//! uploader sent other than the picture itself can reach the public.
//!
//! [`inspect`] still runs first: the decoders are large parsers of hostile input, and the
//! structural walk and header limits keep what reaches them small and well-formed.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, RgbImage};

use crate::{ImageFormat, Limits, MediaError, inspect};

/// The long edge of published photos unless a caller asks otherwise: sharp on a 2K
/// display, a few hundred KB as JPEG.
pub const DEFAULT_MAX_EDGE: u32 = 2048;

/// Visually close to the original for photos at well under half the bytes of quality 95.
const JPEG_QUALITY: u8 = 82;

/// JPEG cannot express a side longer than this.
const JPEG_MAX_SIDE: u32 = 65_535;

/// Bytes per pixel of the widest buffer the JPEG, PNG and WebP decoders produce
/// (16-bit RGBA PNG), so decoder memory is capped at what [`Limits`] already allow.
const MAX_DECODED_BYTES_PER_PIXEL: u64 = 8;

/// A photo ready for the public bucket: always JPEG, no metadata at all (EXIF, GPS, XMP,
/// ICC, comments are dropped by re-encoding), EXIF orientation applied to the pixels
/// first, the long edge at most `max_edge`.
#[derive(Clone, PartialEq, Eq)]
pub struct PublishedImage {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

impl std::fmt::Debug for PublishedImage {
    // Hundreds of KB of JPEG in a log line help nobody.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishedImage")
            .field("bytes", &self.bytes.len())
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

/// Turns an uploaded JPEG, PNG or WebP into a metadata-free JPEG of at most `max_edge`
/// pixels on its long side (clamped to 1..=65535), upright as the camera meant it.
///
/// Transparent pixels are laid over white, as a listing page would show them. Errors from
/// [`inspect`] come back unchanged; a file that walks cleanly but whose pixels cannot be
/// decoded is [`MediaError::Undecodable`].
///
/// CPU-bound, about 0.4 s for a 12-megapixel photo in release (most of it resizing), so
/// async callers should run it on a blocking thread.
pub fn reencode_for_publication(
    bytes: &[u8],
    limits: &Limits,
    max_edge: u32,
) -> Result<PublishedImage, MediaError> {
    let info = inspect(bytes, limits)?;
    let undecodable = |reason| MediaError::Undecodable {
        format: info.format,
        reason,
    };
    let (pixels, orientation) = decode(bytes, info.format, limits).map_err(|e| {
        undecodable(match e {
            ImageError::Limits(_) => "decoding it would need more memory than allowed",
            ImageError::Unsupported(_) => "it uses a feature the decoder does not support",
            _ => "its pixel data is corrupt",
        })
    })?;

    // Flattened and shrunk before rotating, so the rotation copies the small RGB image
    // rather than the full-size decode; the long edge is the same either way.
    let rgb = flatten_onto_white(pixels);
    let rgb = shrink_to_fit(rgb, max_edge.clamp(1, JPEG_MAX_SIDE));
    let mut upright = DynamicImage::ImageRgb8(rgb);
    upright.apply_orientation(orientation);
    let upright = upright.into_rgb8();

    let (width, height) = upright.dimensions();
    let mut jpeg = Vec::new();
    // A fresh encoder writes only JFIF and the image: nothing from the upload is copied.
    JpegEncoder::new_with_quality(&mut jpeg, JPEG_QUALITY)
        .encode_image(&upright)
        .map_err(|_| undecodable("it could not be re-encoded"))?;
    Ok(PublishedImage {
        bytes: jpeg,
        width,
        height,
    })
}

/// The decoded pixels and the EXIF orientation, with decoder memory held to `limits`.
fn decode(
    bytes: &[u8],
    format: ImageFormat,
    limits: &Limits,
) -> Result<(DynamicImage, Orientation), ImageError> {
    let format = match format {
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::WebP => image::ImageFormat::WebP,
    };
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_image_width = Some(limits.max_side);
    decoder_limits.max_image_height = Some(limits.max_side);
    decoder_limits.max_alloc = Some(
        limits
            .max_pixels
            .saturating_mul(MAX_DECODED_BYTES_PER_PIXEL),
    );

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(decoder_limits.clone());
    let mut decoder = reader.into_decoder()?;
    let orientation = decoder.orientation()?;
    // As `ImageReader::decode` does: the output buffer counts against the allowance, and
    // the decoder gets what is left for its own working memory.
    decoder_limits.reserve(decoder.total_bytes())?;
    decoder.set_limits(decoder_limits)?;
    Ok((DynamicImage::from_decoder(decoder)?, orientation))
}

/// 8-bit RGB, with any alpha composited over white; JPEG has no alpha, and dropping it
/// instead would show whatever colour the transparent pixels happen to hold (often black).
fn flatten_onto_white(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let mut rgb = RgbImage::new(rgba.width(), rgba.height());
    for (out, pixel) in rgb.pixels_mut().zip(rgba.pixels()) {
        let [r, g, b, alpha] = pixel.0;
        out.0 = [r, g, b].map(|channel| over_white(channel, alpha));
    }
    rgb
}

/// `channel * alpha + white * (1 - alpha)`, rounded, in 8-bit fixed point.
fn over_white(channel: u8, alpha: u8) -> u8 {
    let (channel, alpha) = (u16::from(channel), u16::from(alpha));
    // At most 255 * 255 + 127, so no overflow, and the quotient is at most 255.
    let blended = (channel * alpha + 255 * (255 - alpha) + 127) / 255;
    u8::try_from(blended).unwrap_or(u8::MAX)
}

/// Scaled down, keeping the aspect ratio, so the long edge is at most `max_edge`; never
/// scaled up.
fn shrink_to_fit(image: RgbImage, max_edge: u32) -> RgbImage {
    let (width, height) = image.dimensions();
    let long = width.max(height);
    if long <= max_edge {
        return image;
    }
    let scale = |side: u32| {
        // Rounded to nearest; at least one pixel however thin the strip.
        let scaled =
            (u64::from(side) * u64::from(max_edge) + u64::from(long) / 2) / u64::from(long);
        u32::try_from(scaled).unwrap_or(max_edge).max(1)
    };
    // Catmull-Rom keeps photos sharp when downscaling, at about 1.5 times Triangle's cost.
    imageops::resize(&image, scale(width), scale(height), FilterType::CatmullRom)
}

#[cfg(test)]
mod tests;
