//! Tiny real images for tests, here and in other crates (feature `fixtures`).
//!
//! Made once with Pillow 13 from a noisy gradient (so JPEG scans contain stuffed 0xFF
//! bytes): JPEG quality 85 (16x16) and 90 with an EXIF Make and restart markers every 4
//! blocks (64x48); PNG RGB (16x16) and RGBA with a tEXt comment (64x48); WebP lossy
//! quality 80, lossless, and lossy RGBA (VP8X + ALPH, 64x48).

pub const JPEG_16_BASELINE: &[u8] = include_bytes!("../tests/fixtures/jpeg_16_baseline.jpg");
pub const JPEG_16_PROGRESSIVE: &[u8] = include_bytes!("../tests/fixtures/jpeg_16_progressive.jpg");
pub const JPEG_64X48_EXIF_RESTART: &[u8] =
    include_bytes!("../tests/fixtures/jpeg_64x48_exif_restart.jpg");
pub const PNG_16: &[u8] = include_bytes!("../tests/fixtures/png_16.png");
pub const PNG_64X48_TEXT: &[u8] = include_bytes!("../tests/fixtures/png_64x48_text.png");
pub const WEBP_16_LOSSY: &[u8] = include_bytes!("../tests/fixtures/webp_16_lossy.webp");
pub const WEBP_16_LOSSLESS: &[u8] = include_bytes!("../tests/fixtures/webp_16_lossless.webp");
pub const WEBP_64X48_ALPHA: &[u8] = include_bytes!("../tests/fixtures/webp_64x48_alpha.webp");

/// Every fixture with its format, width and height.
pub const ALL: &[(&str, &[u8], crate::ImageFormat, u32, u32)] = {
    use crate::ImageFormat::{Jpeg, Png, WebP};
    &[
        ("jpeg_16_baseline", JPEG_16_BASELINE, Jpeg, 16, 16),
        ("jpeg_16_progressive", JPEG_16_PROGRESSIVE, Jpeg, 16, 16),
        (
            "jpeg_64x48_exif_restart",
            JPEG_64X48_EXIF_RESTART,
            Jpeg,
            64,
            48,
        ),
        ("png_16", PNG_16, Png, 16, 16),
        ("png_64x48_text", PNG_64X48_TEXT, Png, 64, 48),
        ("webp_16_lossy", WEBP_16_LOSSY, WebP, 16, 16),
        ("webp_16_lossless", WEBP_16_LOSSLESS, WebP, 16, 16),
        ("webp_64x48_alpha", WEBP_64X48_ALPHA, WebP, 64, 48),
    ]
};
