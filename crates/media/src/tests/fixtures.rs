use crate::fixtures::ALL;
use crate::{ImageInfo, Limits, check_declared, inspect, sniff};

#[test]
fn every_fixture_is_accepted_with_its_format_and_size() {
    for &(name, bytes, format, width, height) in ALL {
        assert_eq!(
            inspect(bytes, &Limits::default()),
            Ok(ImageInfo {
                format,
                width,
                height
            }),
            "{name}"
        );
        assert_eq!(sniff(&bytes[..crate::SNIFF_LEN]), Some(format), "{name}");
        assert_eq!(check_declared(format.mime(), format), Ok(()), "{name}");
    }
}

#[test]
fn our_header_reading_agrees_with_the_imagesize_crate() {
    for &(name, bytes, _, width, height) in ALL {
        let size = imagesize::blob_size(bytes);
        assert!(
            matches!(size, Ok(s) if s.width == width as usize && s.height == height as usize),
            "{name}: {size:?}"
        );
    }
}

#[test]
fn limits_are_applied_to_real_images() {
    let tight = Limits {
        max_side: 32,
        max_pixels: 10_000,
    };
    for &(name, bytes, _, width, height) in ALL {
        let result = inspect(bytes, &tight);
        if width <= 32 && height <= 32 {
            assert!(result.is_ok(), "{name}");
        } else {
            let err = result.err();
            assert!(
                matches!(err, Some(crate::MediaError::TooLarge { .. })),
                "{name}: {err:?}"
            );
        }
    }
}
