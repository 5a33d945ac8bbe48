use super::{after_ihdr, after_soi, jpeg_segment, png_chunk};
use crate::fixtures::{
    ALL, JPEG_16_BASELINE, JPEG_16_PROGRESSIVE, PNG_16, WEBP_16_LOSSLESS, WEBP_16_LOSSY,
    WEBP_64X48_ALPHA,
};
use crate::{ImageFormat, Limits, MediaError, MediaErrorKind, inspect};

fn check(bytes: &[u8]) -> Result<crate::ImageInfo, MediaError> {
    inspect(bytes, &Limits::default())
}

fn assert_unsupported(bytes: &[u8], what: &str) -> MediaError {
    match check(bytes) {
        Err(e) if e.kind() == MediaErrorKind::UnsupportedMedia => e,
        other => panic!("{what}: expected a 415 error, got {other:?}"),
    }
}

const ZIP: &[u8] =
    b"PK\x03\x04\x14\0\0\0\x08\0payload.php<?php system($_GET['c']);PK\x05\x06\0\0\0\0\x01\0\x01\0";

/// A PNG of the given size whose body is just IHDR and IEND: no pixels at all.
fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    let ihdr = [
        &width.to_be_bytes()[..],
        &height.to_be_bytes(),
        &[8, 2, 0, 0, 0],
    ]
    .concat();
    [
        &b"\x89PNG\r\n\x1a\n"[..],
        &png_chunk(b"IHDR", &ihdr),
        &png_chunk(b"IDAT", b"\x78\x9c\x03\0\0\0\0\x01"),
        &png_chunk(b"IEND", b""),
    ]
    .concat()
}

/// The offset of the SOF0/SOF2 segment's height field in a fixture.
fn sof_size_offset(jpeg: &[u8]) -> usize {
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0] || w == [0xFF, 0xC2])
        .unwrap_or_else(|| panic!("fixture has no SOF"));
    sof + 5
}

#[test]
fn every_truncation_of_every_fixture_is_refused() {
    for &(name, bytes, ..) in ALL {
        for cut in 0..bytes.len() {
            assert_unsupported(&bytes[..cut], &format!("{name} cut at {cut}"));
        }
    }
}

#[test]
fn png_with_a_zip_appended_is_refused_as_trailing_data() {
    let polyglot = [PNG_16, ZIP].concat();
    assert_eq!(
        check(&polyglot),
        Err(MediaError::TrailingData {
            format: ImageFormat::Png,
            len: ZIP.len()
        })
    );
}

#[test]
fn png_with_a_single_byte_after_iend_is_refused() {
    assert!(matches!(
        check(&[PNG_16, b"\0"].concat()),
        Err(MediaError::TrailingData { len: 1, .. })
    ));
}

#[test]
fn jpeg_with_a_zip_appended_is_refused_as_trailing_data() {
    for jpeg in [JPEG_16_BASELINE, JPEG_16_PROGRESSIVE] {
        let err = assert_unsupported(&[jpeg, ZIP].concat(), "jpeg + zip");
        assert!(matches!(err, MediaError::TrailingData { .. }), "{err:?}");
    }
}

#[test]
fn jpeg_with_a_little_padding_after_eoi_is_accepted_but_not_a_lot() {
    assert!(check(&[JPEG_16_BASELINE, &[0u8; 16]].concat()).is_ok());
    assert!(check(&[JPEG_16_BASELINE, &[0xFF; 3]].concat()).is_ok());
    let err = check(&[JPEG_16_BASELINE, &[0u8; 4096]].concat()).err();
    assert!(
        matches!(err, Some(MediaError::TrailingData { .. })),
        "{err:?}"
    );
}

#[test]
fn jpeg_with_secondary_images_is_accepted_only_when_mpf_declares_them() {
    let mpf = jpeg_segment(0xE2, b"MPF\0II*\0\x08\0\0\0");
    let with_gain_map = [&after_soi(JPEG_16_BASELINE, &mpf)[..], JPEG_16_PROGRESSIVE].concat();
    assert_eq!(check(&with_gain_map).map(|i| i.width), Ok(16));

    let undeclared = [JPEG_16_BASELINE, JPEG_16_PROGRESSIVE].concat();
    assert!(matches!(
        check(&undeclared),
        Err(MediaError::TrailingData { .. })
    ));

    let broken_secondary = [
        &after_soi(JPEG_16_BASELINE, &mpf)[..],
        &JPEG_16_BASELINE[..100],
    ]
    .concat();
    assert_unsupported(&broken_secondary, "truncated secondary image");
}

#[test]
fn other_formats_are_unsupported() {
    let gif = b"GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xff\xff\xff!\xf9\x04\x01\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02D\x01\0;";
    let pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";
    let html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>";
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>";
    let bmp = b"BM\x3a\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0";
    for (name, bytes) in [
        ("gif", &gif[..]),
        ("pdf", pdf),
        ("html named .jpg", html),
        ("svg", svg),
        ("bmp", bmp),
        ("zip", ZIP),
        ("empty", b""),
    ] {
        assert_eq!(check(bytes), Err(MediaError::UnsupportedFormat), "{name}");
    }
}

#[test]
fn webp_with_a_wrong_riff_size_is_refused() {
    let size = u32::from_le_bytes([
        WEBP_16_LOSSY[4],
        WEBP_16_LOSSY[5],
        WEBP_16_LOSSY[6],
        WEBP_16_LOSSY[7],
    ]);
    for wrong in [size - 2, size + 2, 0, u32::MAX] {
        let mut bytes = WEBP_16_LOSSY.to_vec();
        bytes[4..8].copy_from_slice(&wrong.to_le_bytes());
        assert_unsupported(&bytes, &format!("RIFF size {wrong}"));
    }
}

#[test]
fn webp_with_data_appended_is_refused_even_when_the_riff_size_covers_it() {
    let appended = [WEBP_16_LOSSY, ZIP].concat();
    assert!(matches!(
        check(&appended),
        Err(MediaError::TrailingData { .. })
    ));

    // The wrapped form: the RIFF size is raised to swallow the ZIP, so the chunk walk
    // must catch it.
    for webp in [WEBP_16_LOSSY, WEBP_16_LOSSLESS, WEBP_64X48_ALPHA] {
        let mut wrapped = [webp, ZIP].concat();
        let riff_size = (wrapped.len() - 8) as u32;
        wrapped[4..8].copy_from_slice(&riff_size.to_le_bytes());
        assert_unsupported(&wrapped, "webp wrapping a zip");
    }
}

#[test]
fn webp_simple_format_with_an_extra_chunk_is_refused() {
    let mut bytes = [WEBP_16_LOSSY, b"EXIF\x02\0\0\0ab"].concat();
    let riff_size = (bytes.len() - 8) as u32;
    bytes[4..8].copy_from_slice(&riff_size.to_le_bytes());
    assert!(matches!(check(&bytes), Err(MediaError::Malformed { .. })));
}

#[test]
fn huge_png_header_with_a_tiny_body_is_over_the_limit_not_decoded() {
    let bytes = png_header_only(100_000, 100_000);
    assert!(bytes.len() < 100);
    let err = check(&bytes).err();
    assert!(
        matches!(err, Some(MediaError::TooLarge { width: 100_000, .. })),
        "{err:?}"
    );
    assert_eq!(err.map(|e| e.kind().http_status()), Some(422));

    // Refused on the header alone, even when nothing valid follows it.
    let header_then_garbage = [&bytes[..33], b"\xde\xad\xbe\xef"].concat();
    assert!(matches!(
        check(&header_then_garbage),
        Err(MediaError::TooLarge { .. })
    ));
}

#[test]
fn png_header_only_of_a_sane_size_is_accepted() {
    assert!(check(&png_header_only(16, 16)).is_ok());
}

#[test]
fn zero_width_png_is_unprocessable() {
    assert_eq!(
        check(&png_header_only(0, 16)),
        Err(MediaError::ZeroDimension {
            width: 0,
            height: 16
        })
    );
}

#[test]
fn huge_jpeg_frame_header_is_over_the_limit() {
    let mut bytes = JPEG_16_BASELINE.to_vec();
    let at = sof_size_offset(&bytes);
    bytes[at..at + 4].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
    assert!(matches!(
        check(&bytes),
        Err(MediaError::TooLarge {
            width: 65535,
            height: 65535,
            ..
        })
    ));
    bytes[at..at + 2].copy_from_slice(&[0, 0]);
    assert!(matches!(
        check(&bytes),
        Err(MediaError::ZeroDimension { height: 0, .. })
    ));
}

#[test]
fn huge_webp_canvas_is_over_the_limit() {
    let mut bytes = WEBP_64X48_ALPHA.to_vec();
    // VP8X payload starts at 20; the canvas width-1 and height-1 follow 4 flag bytes.
    bytes[24..30].copy_from_slice(&[0xFF; 6]);
    assert!(matches!(
        check(&bytes),
        Err(MediaError::TooLarge {
            width: 16_777_216,
            ..
        })
    ));
}

#[test]
fn png_with_a_bad_crc_is_malformed() {
    let mut bytes = PNG_16.to_vec();
    bytes[29] ^= 0x01;
    assert!(matches!(check(&bytes), Err(MediaError::Malformed { .. })));
}

#[test]
fn png_with_an_unknown_critical_chunk_is_refused() {
    let bytes = after_ihdr(PNG_16, &png_chunk(b"ZZZZ", b"x"));
    assert!(matches!(
        check(&bytes),
        Err(MediaError::UnsupportedVariant { .. })
    ));
    let ancillary = after_ihdr(PNG_16, &png_chunk(b"zzZz", b"harmless"));
    assert!(check(&ancillary).is_ok());
}

#[test]
fn markup_in_png_text_is_refused() {
    let text = png_chunk(b"tEXt", b"Comment\0<script>fetch('//evil')</script>");
    assert_eq!(
        check(&after_ihdr(PNG_16, &text)),
        Err(MediaError::EmbeddedMarkup {
            format: ImageFormat::Png
        })
    );
    let plain = png_chunk(b"tEXt", b"Comment\0taken at 12 Allen Avenue");
    assert!(check(&after_ihdr(PNG_16, &plain)).is_ok());
}

#[test]
fn markup_in_a_jpeg_comment_far_from_the_header_is_refused() {
    let mut comment = vec![b' '; 4000];
    comment.extend_from_slice(b"<?php eval($_POST['x']); ?>");
    let bytes = after_soi(JPEG_16_BASELINE, &jpeg_segment(0xFE, &comment));
    assert_eq!(
        check(&bytes),
        Err(MediaError::EmbeddedMarkup {
            format: ImageFormat::Jpeg
        })
    );
}

#[test]
fn markup_in_webp_metadata_is_refused() {
    let xmp = b"XMP \x0e\0\0\0<html><b>x</b>";
    let mut bytes = [WEBP_64X48_ALPHA, xmp].concat();
    let riff_size = (bytes.len() - 8) as u32;
    bytes[4..8].copy_from_slice(&riff_size.to_le_bytes());
    assert!(matches!(
        check(&bytes),
        Err(MediaError::EmbeddedMarkup { .. })
    ));
}

#[test]
fn arithmetic_coded_jpeg_is_an_unsupported_variant() {
    let mut bytes = JPEG_16_BASELINE.to_vec();
    let at = sof_size_offset(&bytes);
    bytes[at - 4] = 0xC9;
    assert!(matches!(
        check(&bytes),
        Err(MediaError::UnsupportedVariant { .. })
    ));
}

#[test]
fn jpeg_without_eoi_or_with_a_marker_inside_the_scan_is_malformed() {
    let no_eoi = &JPEG_16_BASELINE[..JPEG_16_BASELINE.len() - 2];
    assert!(matches!(check(no_eoi), Err(MediaError::Malformed { .. })));

    // An SOI where the scan data ends makes the walk see a nested image.
    let mut nested = JPEG_16_BASELINE.to_vec();
    let end = nested.len();
    nested[end - 1] = 0xD8;
    assert!(matches!(check(&nested), Err(MediaError::Malformed { .. })));
}
