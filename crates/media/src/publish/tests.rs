use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{ImageEncoder, Rgb, Rgba, RgbaImage};
use proptest::prelude::*;

use super::*;
use crate::fixtures::ALL;
use crate::tests::{after_soi, jpeg_segment, png_chunk};
use crate::{ImageInfo, MediaErrorKind};

const GPS_SECRET: &[u8] = b"GPS-SECRET-48.8584";

fn publish(bytes: &[u8]) -> Result<PublishedImage, MediaError> {
    reencode_for_publication(bytes, &Limits::default(), DEFAULT_MAX_EDGE)
}

fn published(bytes: &[u8]) -> PublishedImage {
    publish(bytes).unwrap_or_else(|e| panic!("{e}"))
}

fn decoded(jpeg: &[u8]) -> RgbImage {
    image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_rgb8()
}

/// Left half red, right half blue, so a rotation shows where the halves went.
fn red_blue(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, _| {
        if x < width / 2 {
            Rgb([255, 0, 0])
        } else {
            Rgb([0, 0, 255])
        }
    })
}

fn jpeg_of(image: &RgbImage) -> Vec<u8> {
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(image)
        .unwrap_or_else(|e| panic!("{e}"));
    jpeg
}

fn png_of(image: &RgbaImage) -> Vec<u8> {
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgba8,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    png
}

/// One little-endian TIFF IFD starting at `at` (offsets count from the TIFF header):
/// entries are (tag, type, count, value bytes); values over 4 bytes go after the IFD.
fn tiff_ifd(at: usize, entries: &[(u16, u16, u32, Vec<u8>)]) -> Vec<u8> {
    let data_start = at + 2 + 12 * entries.len() + 4;
    let mut ifd = (entries.len() as u16).to_le_bytes().to_vec();
    let mut data = Vec::new();
    for (tag, kind, count, value) in entries {
        ifd.extend_from_slice(&tag.to_le_bytes());
        ifd.extend_from_slice(&kind.to_le_bytes());
        ifd.extend_from_slice(&count.to_le_bytes());
        if value.len() <= 4 {
            let mut inline = value.clone();
            inline.resize(4, 0);
            ifd.extend_from_slice(&inline);
        } else {
            ifd.extend_from_slice(&((data_start + data.len()) as u32).to_le_bytes());
            data.extend_from_slice(value);
        }
    }
    ifd.extend_from_slice(&0u32.to_le_bytes());
    [ifd, data].concat()
}

/// Three EXIF RATIONALs: degrees, minutes, seconds.
fn dms(degrees: u32, minutes: u32, seconds: u32) -> Vec<u8> {
    [(degrees, 1u32), (minutes, 1), (seconds, 100)]
        .iter()
        .flat_map(|(n, d)| [n.to_le_bytes(), d.to_le_bytes()].concat())
        .collect()
}

/// An APP1 "Exif" segment as a phone writes it: an orientation, and a GPS IFD with the
/// Eiffel Tower's position and [`GPS_SECRET`] as its area information.
fn exif_app1(orientation: u16) -> Vec<u8> {
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const ASCII: u16 = 2;
    const RATIONAL: u16 = 5;
    const UNDEFINED: u16 = 7;
    let ifd0_len = 2 + 12 * 2 + 4;
    let gps_at = 8 + ifd0_len;
    let ifd0 = tiff_ifd(
        8,
        &[
            (0x0112, SHORT, 1, orientation.to_le_bytes().to_vec()),
            (0x8825, LONG, 1, (gps_at as u32).to_le_bytes().to_vec()),
        ],
    );
    assert_eq!(ifd0.len(), ifd0_len);
    let area = [&b"ASCII\0\0\0"[..], GPS_SECRET].concat();
    let gps = tiff_ifd(
        gps_at,
        &[
            (0x0001, ASCII, 2, b"N\0".to_vec()),
            (0x0002, RATIONAL, 3, dms(48, 51, 2964)),
            (0x0003, ASCII, 2, b"E\0".to_vec()),
            (0x0004, RATIONAL, 3, dms(2, 17, 4032)),
            (0x001C, UNDEFINED, area.len() as u32, area),
        ],
    );
    let tiff = [&b"II*\0\x08\0\0\0"[..], &ifd0, &gps].concat();
    jpeg_segment(0xE1, &[&b"Exif\0\0"[..], &tiff].concat())
}

/// The marker codes of the segments before the first scan.
fn header_markers(jpeg: &[u8]) -> Vec<u8> {
    let mut markers = Vec::new();
    let mut at = 2;
    while let [0xFF, marker, hi, lo, ..] = jpeg[at..] {
        markers.push(marker);
        if marker == 0xDA {
            break;
        }
        at += 2 + usize::from(u16::from_be_bytes([hi, lo]));
    }
    markers
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Checks that the output is a JPEG that passes our own inspection with its stated size.
fn assert_publishable(out: &PublishedImage) {
    assert_eq!(
        inspect(&out.bytes, &Limits::default()),
        Ok(ImageInfo {
            format: ImageFormat::Jpeg,
            width: out.width,
            height: out.height,
        })
    );
}

#[test]
fn exif_and_gps_are_gone_from_the_published_jpeg() {
    let original = after_soi(&jpeg_of(&red_blue(40, 20)), &exif_app1(1));
    // The test input really carries what must be removed, and is an acceptable upload.
    assert!(contains(&original, GPS_SECRET));
    assert!(header_markers(&original).contains(&0xE1));
    assert!(inspect(&original, &Limits::default()).is_ok());

    let out = published(&original);
    assert_publishable(&out);
    assert_eq!((out.width, out.height), (40, 20));
    assert!(!contains(&out.bytes, GPS_SECRET));
    assert!(!contains(&out.bytes, b"Exif"));
    // JFIF (APP0), tables, frame and scan; no APP1..APP15 (EXIF, XMP, ICC) and no COM.
    let markers = header_markers(&out.bytes);
    assert!(
        markers
            .iter()
            .all(|m| matches!(m, 0xE0 | 0xDB | 0xC4 | 0xC0 | 0xC2 | 0xDA | 0xDD)),
        "{markers:02X?}"
    );
}

#[test]
fn exif_orientation_is_applied_to_the_pixels() {
    // 6: the camera was turned clockwise, so the picture is turned 90 degrees clockwise
    // to show it: the left (red) half ends up on top.
    let original = after_soi(&jpeg_of(&red_blue(40, 20)), &exif_app1(6));
    let out = published(&original);
    assert_eq!((out.width, out.height), (20, 40));
    let pixels = decoded(&out.bytes);
    let top = pixels.get_pixel(10, 5).0;
    let bottom = pixels.get_pixel(10, 34).0;
    assert!(top[0] > 200 && top[2] < 60, "top {top:?}");
    assert!(bottom[2] > 200 && bottom[0] < 60, "bottom {bottom:?}");
}

#[test]
fn a_large_photo_is_shrunk_to_the_long_edge_keeping_its_aspect() {
    let wide = RgbaImage::from_fn(3000, 1000, |x, y| {
        Rgba([(x % 256) as u8, (y % 256) as u8, 128, 255])
    });
    let out = published(&png_of(&wide));
    assert_publishable(&out);
    assert_eq!((out.width, out.height), (2048, 683));

    let tall = RgbImage::from_fn(900, 2700, |_, y| Rgb([(y % 256) as u8, 0, 0]));
    let out = reencode_for_publication(&jpeg_of(&tall), &Limits::default(), 1000)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((out.width, out.height), (333, 1000));
}

#[test]
fn a_small_photo_is_not_enlarged() {
    let out = reencode_for_publication(&jpeg_of(&red_blue(40, 20)), &Limits::default(), 4096)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((out.width, out.height), (40, 20));
}

#[test]
fn a_nonsense_max_edge_is_clamped_to_at_least_a_pixel() {
    let out = reencode_for_publication(&jpeg_of(&red_blue(40, 20)), &Limits::default(), 0)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((out.width, out.height), (1, 1));
}

#[test]
fn transparency_is_laid_over_white() {
    // Transparent black is what most editors leave behind a cut-out.
    let image = RgbaImage::from_fn(32, 16, |x, _| {
        if x < 16 {
            Rgba([0, 0, 0, 0])
        } else {
            Rgba([255, 0, 0, 128])
        }
    });
    let out = published(&png_of(&image));
    assert_publishable(&out);
    let pixels = decoded(&out.bytes);
    let clear = pixels.get_pixel(4, 8).0;
    let half_red = pixels.get_pixel(28, 8).0;
    assert!(clear.iter().all(|&c| c > 245), "transparent: {clear:?}");
    assert!(
        half_red[0] > 245 && (110..150).contains(&half_red[1]),
        "half red: {half_red:?}"
    );
}

#[test]
fn over_white_is_exact_at_the_ends_and_rounds_between() {
    assert_eq!(over_white(0, 0), 255);
    assert_eq!(over_white(17, 255), 17);
    assert_eq!(over_white(255, 255), 255);
    assert_eq!(over_white(0, 128), 127);
    assert_eq!(over_white(255, 1), 255);
}

#[test]
fn webp_input_is_published_as_jpeg() {
    let image = RgbaImage::from_fn(48, 32, |x, y| Rgba([x as u8 * 5, y as u8 * 7, 90, 255]));
    let mut webp = Vec::new();
    WebPEncoder::new_lossless(&mut webp)
        .encode(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgba8,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        inspect(&webp, &Limits::default()).map(|i| i.format),
        Ok(ImageFormat::WebP)
    );
    let out = published(&webp);
    assert_publishable(&out);
    assert_eq!((out.width, out.height), (48, 32));
}

#[test]
fn every_fixture_is_published_at_its_size() {
    for &(name, bytes, _, width, height) in ALL {
        let out = publish(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_publishable(&out);
        assert_eq!((out.width, out.height), (width, height), "{name}");
    }
}

#[test]
fn what_inspect_refuses_is_refused_before_decoding() {
    let jpeg = jpeg_of(&red_blue(40, 20));
    for (what, bytes) in [
        ("empty", &b""[..]),
        ("garbage", b"this is not an image at all"),
        ("JPEG magic then garbage", b"\xFF\xD8\xFF\xE0garbage"),
        ("truncated JPEG", &jpeg[..jpeg.len() / 2]),
        ("JPEG without EOI", &jpeg[..jpeg.len() - 2]),
    ] {
        let err = publish(bytes).err();
        assert_eq!(
            err.as_ref().map(MediaError::kind),
            Some(MediaErrorKind::UnsupportedMedia),
            "{what}: {err:?}"
        );
    }
    let huge = Limits {
        max_side: 30,
        max_pixels: 10_000,
    };
    assert!(matches!(
        reencode_for_publication(&jpeg, &huge, DEFAULT_MAX_EDGE),
        Err(MediaError::TooLarge { .. })
    ));
}

#[test]
fn a_well_formed_file_with_corrupt_pixel_data_is_undecodable_and_422() {
    // The structure walks cleanly (the CRC is right), but the IDAT is not zlib data.
    let ihdr = [
        &16u32.to_be_bytes()[..],
        &16u32.to_be_bytes(),
        &[8, 2, 0, 0, 0],
    ]
    .concat();
    let png = [
        &b"\x89PNG\r\n\x1a\n"[..],
        &png_chunk(b"IHDR", &ihdr),
        &png_chunk(b"IDAT", b"definitely not deflate data"),
        &png_chunk(b"IEND", b""),
    ]
    .concat();
    assert!(inspect(&png, &Limits::default()).is_ok());
    let err = publish(&png).err();
    assert!(
        matches!(
            err,
            Some(MediaError::Undecodable {
                format: ImageFormat::Png,
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(err.map(|e| e.kind()), Some(MediaErrorKind::Undecodable));
}

proptest! {
    // Decoding is far slower than inspecting; a few hundred cases still cover every
    // fixture many times over.
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn mutated_fixtures_never_panic(
        original in prop::sample::select(ALL.iter().map(|f| f.1).collect::<Vec<_>>()),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = original.to_vec();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Ok(out) = publish(&bytes) {
            assert_publishable(&out);
        }
    }
}

/// A camera-sized photo (4000x3000, 12 MP, held sideways per EXIF) takes the real path:
/// decoded within the default limits, shrunk, turned upright, its metadata gone. (Its
/// timings, 8 s -> 0.8 s in the dev profile with the codec opt-levels, were measured by
/// hand; timings do not belong in tests.)
#[test]
fn a_twelve_megapixel_camera_photo_comes_out_upright_and_bounded() {
    // Smooth gradients with noise, like a photo: compresses to a few MB.
    let mut seed = 0x2545_F491_u32;
    let photo = RgbImage::from_fn(4000, 3000, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let noise = (seed % 24) as u8;
        Rgb([
            (x / 16 % 232) as u8 + noise,
            (y / 12 % 232) as u8 + noise,
            ((x + y) / 28 % 232) as u8 + noise,
        ])
    });
    let jpeg = after_soi(&jpeg_of(&photo), &exif_app1(6));
    let limits = Limits::default();
    let out = reencode_for_publication(&jpeg, &limits, DEFAULT_MAX_EDGE)
        .unwrap_or_else(|e| panic!("{e}"));
    // Orientation 6: the 4000-wide landscape frame is a 3000-wide portrait, shrunk to 2048.
    assert_eq!((out.width, out.height), (1536, 2048));
    let info = inspect(&out.bytes, &limits).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((info.width, info.height), (1536, 2048));
    assert!(!out.bytes.windows(4).any(|w| w == b"Exif"));
}
