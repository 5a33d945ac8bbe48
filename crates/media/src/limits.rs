use crate::MediaError;

/// The largest image accepted, checked from the header before anything is decoded, so a
/// small file declaring a huge canvas cannot make a downstream decoder allocate gigabytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Longest accepted width or height, in pixels.
    pub max_side: u32,
    /// Largest accepted width x height.
    pub max_pixels: u64,
}

impl Default for Limits {
    /// Roomy enough for a 40-megapixel phone camera, tight enough that an RGBA decode
    /// stays under about 160 MB.
    fn default() -> Self {
        Self {
            max_side: 8000,
            max_pixels: 40_000_000,
        }
    }
}

impl Limits {
    pub(crate) fn check(&self, width: u32, height: u32) -> Result<(), MediaError> {
        if width == 0 || height == 0 {
            return Err(MediaError::ZeroDimension { width, height });
        }
        let pixels = u64::from(width) * u64::from(height);
        if width > self.max_side || height > self.max_side || pixels > self.max_pixels {
            return Err(MediaError::TooLarge {
                width,
                height,
                limits: *self,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MediaErrorKind;

    #[test]
    fn default_limits_accept_up_to_the_edges() {
        let limits = Limits::default();
        assert_eq!(limits.check(1, 1), Ok(()));
        assert_eq!(limits.check(8000, 5000), Ok(()));
    }

    #[test]
    fn over_a_side_or_the_pixel_count_is_unprocessable() {
        let limits = Limits::default();
        for (w, h) in [(8001, 1), (1, 8001), (7000, 7000), (u32::MAX, u32::MAX)] {
            let err = limits.check(w, h).err();
            assert!(matches!(err, Some(MediaError::TooLarge { .. })), "{w}x{h}");
            assert_eq!(err.map(|e| e.kind()), Some(MediaErrorKind::Unprocessable));
        }
    }

    #[test]
    fn zero_sides_are_unprocessable() {
        for (w, h) in [(0, 10), (10, 0), (0, 0)] {
            let err = Limits::default().check(w, h).err();
            assert_eq!(
                err,
                Some(MediaError::ZeroDimension {
                    width: w,
                    height: h
                })
            );
            assert_eq!(err.map(|e| e.kind().http_status()), Some(422));
        }
    }
}
