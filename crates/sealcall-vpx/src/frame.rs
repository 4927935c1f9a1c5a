//! [`I420Frame`]: a picture in tightly packed I420 (YUV 4:2:0, 8 bits).

use core::fmt;

use crate::error::{Error, Plane};

/// The largest width or height, in pixels, of any frame this crate makes, encodes or decodes.
///
/// VP8 itself allows 16383. The limit bounds memory: a decoder for a 4096x4096 stream holds
/// several reference frames of 25 MB each, and a peer's key frame alone must not be able to make
/// the receiver allocate more than that.
pub const MAX_DIMENSION: u32 = 4096;

/// The luma value of black in the studio range (ITU-R BT.601) VP8 uses: 16, not 0.
pub const BLACK_LUMA: u8 = 16;

/// The chroma value of a grey (colourless) pixel: 128.
pub const NEUTRAL_CHROMA: u8 = 128;

/// A picture in I420: 8-bit YUV with both chroma planes subsampled by two in each direction.
///
/// The planes are tightly packed: the Y plane is `width` bytes a row for `height` rows; the U and
/// V planes are [`chroma_width`](Self::chroma_width) `= (width + 1) / 2` bytes a row for
/// [`chroma_height`](Self::chroma_height) `= (height + 1) / 2` rows. Odd dimensions are
/// supported (the last chroma column or row then covers a single luma column or row), as VP8 and
/// libvpx support them.
///
/// Width and height are each between 1 and [`MAX_DIMENSION`]; the plane lengths always match them
/// (the mutable accessors hand out slices, not the `Vec`s, so they cannot be resized).
///
/// `Debug` prints the dimensions only, never pixel data.
#[derive(Clone, PartialEq, Eq)]
pub struct I420Frame {
    width: u32,
    height: u32,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
}

/// Checks dimensions and returns the Y and chroma plane lengths.
fn plane_lens(width: u32, height: u32) -> Result<(usize, usize), Error> {
    if width == 0 || height == 0 || width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(Error::InvalidDimensions {
            width,
            height,
            max: MAX_DIMENSION,
        });
    }
    // At most 4096 * 4096 = 2^24: no overflow even with a 32-bit usize.
    let luma = width as usize * height as usize;
    let chroma = chroma_len(width) * chroma_len(height);
    Ok((luma, chroma))
}

/// `(n + 1) / 2` without overflow.
fn chroma_len(n: u32) -> usize {
    (n / 2 + n % 2) as usize
}

impl I420Frame {
    /// A black frame: luma [`BLACK_LUMA`] (16, video black), chroma [`NEUTRAL_CHROMA`] (128).
    ///
    /// Fails with [`Error::InvalidDimensions`] unless both dimensions are in
    /// `1..=`[`MAX_DIMENSION`].
    pub fn new(width: u32, height: u32) -> Result<Self, Error> {
        let (luma, chroma) = plane_lens(width, height)?;
        Ok(I420Frame {
            width,
            height,
            y: vec![BLACK_LUMA; luma],
            u: vec![NEUTRAL_CHROMA; chroma],
            v: vec![NEUTRAL_CHROMA; chroma],
        })
    }

    /// A frame from tightly packed planes, which must be exactly `width * height` (Y) and
    /// `chroma_width * chroma_height` (U and V) bytes long.
    ///
    /// Fails with [`Error::InvalidDimensions`] or [`Error::PlaneSize`].
    pub fn from_planes(
        width: u32,
        height: u32,
        y: Vec<u8>,
        u: Vec<u8>,
        v: Vec<u8>,
    ) -> Result<Self, Error> {
        let (luma, chroma) = plane_lens(width, height)?;
        for (plane, expected, actual) in [
            (Plane::Y, luma, y.len()),
            (Plane::U, chroma, u.len()),
            (Plane::V, chroma, v.len()),
        ] {
            if expected != actual {
                return Err(Error::PlaneSize {
                    plane,
                    expected,
                    actual,
                });
            }
        }
        Ok(I420Frame {
            width,
            height,
            y,
            u,
            v,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Width of the U and V planes: `(width + 1) / 2`. Also their row stride.
    pub fn chroma_width(&self) -> u32 {
        self.width / 2 + self.width % 2
    }

    /// Height of the U and V planes: `(height + 1) / 2`.
    pub fn chroma_height(&self) -> u32 {
        self.height / 2 + self.height % 2
    }

    /// The Y plane, `width` bytes a row.
    pub fn y(&self) -> &[u8] {
        &self.y
    }

    /// The U (Cb) plane, [`chroma_width`](Self::chroma_width) bytes a row.
    pub fn u(&self) -> &[u8] {
        &self.u
    }

    /// The V (Cr) plane, [`chroma_width`](Self::chroma_width) bytes a row.
    pub fn v(&self) -> &[u8] {
        &self.v
    }

    /// The Y plane, writable.
    pub fn y_mut(&mut self) -> &mut [u8] {
        &mut self.y
    }

    /// The U plane, writable.
    pub fn u_mut(&mut self) -> &mut [u8] {
        &mut self.u
    }

    /// The V plane, writable.
    pub fn v_mut(&mut self) -> &mut [u8] {
        &mut self.v
    }

    /// All three planes at once, writable (for filling them in one pass).
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        (&mut self.y, &mut self.u, &mut self.v)
    }

    /// Takes the planes out: `(y, u, v)`.
    pub fn into_planes(self) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        (self.y, self.u, self.v)
    }

    /// A 0x0 frame with no planes, only ever filled in by the decoder before anyone sees it.
    pub(crate) fn empty() -> Self {
        I420Frame {
            width: 0,
            height: 0,
            y: Vec::new(),
            u: Vec::new(),
            v: Vec::new(),
        }
    }

    /// Gives the frame new dimensions, keeping the allocations where they are big enough. The
    /// pixel values afterwards are unspecified (the caller overwrites all of them).
    pub(crate) fn reshape(&mut self, width: u32, height: u32) -> Result<(), Error> {
        let (luma, chroma) = plane_lens(width, height)?;
        self.width = width;
        self.height = height;
        self.y.resize(luma, 0);
        self.u.resize(chroma, 0);
        self.v.resize(chroma, 0);
        Ok(())
    }
}

impl fmt::Debug for I420Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("I420Frame")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_is_black_with_packed_planes_for_odd_sizes() {
        let f = I420Frame::new(5, 3).unwrap();
        assert_eq!((f.chroma_width(), f.chroma_height()), (3, 2));
        assert_eq!(f.y(), &[BLACK_LUMA; 15][..]);
        assert_eq!(f.u(), &[NEUTRAL_CHROMA; 6][..]);
        assert_eq!(f.v().len(), 6);
    }

    #[test]
    fn limits_are_enforced() {
        assert!(I420Frame::new(MAX_DIMENSION, MAX_DIMENSION).is_ok());
        for (w, h) in [(0, 1), (1, 0), (MAX_DIMENSION + 1, 2), (2, u32::MAX)] {
            assert_eq!(
                I420Frame::new(w, h).unwrap_err(),
                Error::InvalidDimensions {
                    width: w,
                    height: h,
                    max: MAX_DIMENSION
                }
            );
        }
    }

    #[test]
    fn from_planes_checks_every_plane() {
        assert!(I420Frame::from_planes(3, 3, vec![0; 9], vec![0; 4], vec![0; 4]).is_ok());
        let err = I420Frame::from_planes(3, 3, vec![0; 9], vec![0; 4], vec![0; 3]).unwrap_err();
        assert_eq!(
            err,
            Error::PlaneSize {
                plane: Plane::V,
                expected: 4,
                actual: 3
            }
        );
        let err = I420Frame::from_planes(4, 2, vec![0; 7], vec![0; 2], vec![0; 2]).unwrap_err();
        assert!(matches!(
            err,
            Error::PlaneSize {
                plane: Plane::Y,
                ..
            }
        ));
    }

    #[test]
    fn reshape_resizes_planes() {
        let mut f = I420Frame::empty();
        f.reshape(7, 5).unwrap();
        assert_eq!((f.y().len(), f.u().len(), f.v().len()), (35, 12, 12));
        f.reshape(2, 2).unwrap();
        assert_eq!((f.y().len(), f.u().len(), f.v().len()), (4, 1, 1));
        assert!(f.reshape(0, 2).is_err());
        assert_eq!((f.width(), f.height()), (2, 2));
    }

    #[test]
    fn debug_shows_no_pixels() {
        let f = I420Frame::new(2, 2).unwrap();
        assert_eq!(format!("{f:?}"), "I420Frame { width: 2, height: 2, .. }");
    }
}
