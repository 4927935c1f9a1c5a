//! A pure-Rust parser of the VP8 frame's uncompressed data chunk (RFC 6386, section 9.1).

/// The start code that follows the frame tag in every key frame (RFC 6386, section 9.1).
pub const VP8_START_CODE: [u8; 3] = [0x9d, 0x01, 0x2a];

/// Length of an interframe's uncompressed data chunk: the 3-byte frame tag.
pub const VP8_INTERFRAME_HEADER_LEN: usize = 3;

/// Length of a key frame's uncompressed data chunk: frame tag, start code, width and height.
pub const VP8_KEYFRAME_HEADER_LEN: usize = 10;

/// What the uncompressed data chunk at the start of a VP8 frame says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Vp8FrameInfo {
    /// A key frame (intra-only; decodable without earlier frames), as opposed to an interframe.
    pub keyframe: bool,
    /// The 3-bit version number (reconstruction and loop filter variant). 0 to 3 are defined;
    /// 4 to 7 are reserved, and libvpx decodes them like 3, so they are reported, not refused.
    pub version: u8,
    /// Whether the decoded frame is meant to be displayed.
    pub show_frame: bool,
    /// Length in bytes of the first partition (modes and motion vectors), which follows the
    /// uncompressed chunk.
    pub first_partition_size: u32,
    /// Length of the uncompressed chunk: [`VP8_KEYFRAME_HEADER_LEN`] or
    /// [`VP8_INTERFRAME_HEADER_LEN`].
    pub header_len: usize,
    /// A key frame's dimensions and scaling; `None` for interframes.
    pub size: Option<Vp8FrameSize>,
}

/// The dimensions and upscaling hints in a key frame's uncompressed chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Vp8FrameSize {
    /// Width in pixels, 1 to 16383 (14 bits).
    pub width: u16,
    /// Height in pixels, 1 to 16383 (14 bits).
    pub height: u16,
    /// The 2-bit horizontal upscaling hint (0: none, 1: 5/4, 2: 5/3, 3: 2). Decoders ignore it;
    /// the decoded picture is `width` wide.
    pub horizontal_scale: u8,
    /// The 2-bit vertical upscaling hint, as `horizontal_scale`.
    pub vertical_scale: u8,
}

impl Vp8FrameInfo {
    /// A key frame's `(width, height)`; `None` for interframes.
    pub fn dimensions(&self) -> Option<(u32, u32)> {
        self.size.map(|s| (u32::from(s.width), u32::from(s.height)))
    }
}

/// Parses the uncompressed data chunk at the start of a VP8 frame (RFC 6386, section 9.1).
///
/// Returns `None` unless `data` is a well-formed frame start:
/// - at least the 3-byte frame tag;
/// - for a key frame (frame type bit 0), 10 bytes with the start code `9d 01 2a` and a non-zero
///   14-bit width and height (libvpx refuses zero);
/// - a non-zero first partition size (a valid first partition always holds the frame header)
///   that fits, after the uncompressed chunk, within `data`.
///
/// This reads the header only: a frame that passes may still fail to decode. It is the check the
/// [`Decoder`](crate::Decoder) makes before handing data to libvpx, and what a caller can use to
/// tell key frames from interframes without decoding.
///
/// ```
/// // A key frame tag (type 0, version 0, shown, first partition of 2 bytes), the start code,
/// // 640x480 without scaling, then two bytes of first partition.
/// let frame = [0x50, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, 0xaa, 0xbb];
/// let info = sealcall_vpx::vp8_frame_info(&frame).unwrap();
/// assert!(info.keyframe && info.show_frame);
/// assert_eq!(info.first_partition_size, 2);
/// assert_eq!(info.dimensions(), Some((640, 480)));
/// assert!(sealcall_vpx::vp8_frame_info(&frame[..11]).is_none()); // partition cut short
/// ```
pub fn vp8_frame_info(data: &[u8]) -> Option<Vp8FrameInfo> {
    let &[b0, b1, b2, ..] = data else {
        return None;
    };
    let tag = u32::from(b0) | u32::from(b1) << 8 | u32::from(b2) << 16;
    let keyframe = tag & 1 == 0;
    // The masks keep these within u8 range.
    let version = ((tag >> 1) & 0b111) as u8;
    let show_frame = (tag >> 4) & 1 == 1;
    let first_partition_size = tag >> 5;

    let (header_len, size) = if keyframe {
        let &[_, _, _, s0, s1, s2, w0, w1, h0, h1, ..] = data else {
            return None;
        };
        if [s0, s1, s2] != VP8_START_CODE {
            return None;
        }
        let w = u16::from_le_bytes([w0, w1]);
        let h = u16::from_le_bytes([h0, h1]);
        let size = Vp8FrameSize {
            width: w & 0x3fff,
            height: h & 0x3fff,
            horizontal_scale: (w >> 14) as u8,
            vertical_scale: (h >> 14) as u8,
        };
        if size.width == 0 || size.height == 0 {
            return None;
        }
        (VP8_KEYFRAME_HEADER_LEN, Some(size))
    } else {
        (VP8_INTERFRAME_HEADER_LEN, None)
    };

    if first_partition_size == 0 {
        return None;
    }
    // first_partition_size < 2^19, so the sum cannot overflow.
    let needed = header_len + first_partition_size as usize;
    if needed > data.len() {
        return None;
    }
    Some(Vp8FrameInfo {
        keyframe,
        version,
        show_frame,
        first_partition_size,
        header_len,
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame tag with the given fields, little-endian.
    fn tag(keyframe: bool, version: u8, show: bool, part: u32) -> [u8; 3] {
        let v = u32::from(!keyframe) | u32::from(version) << 1 | u32::from(show) << 4 | part << 5;
        let b = v.to_le_bytes();
        [b[0], b[1], b[2]]
    }

    fn keyframe(w: u16, h: u16, part: u32) -> Vec<u8> {
        let mut f = tag(true, 0, true, part).to_vec();
        f.extend_from_slice(&VP8_START_CODE);
        f.extend_from_slice(&w.to_le_bytes());
        f.extend_from_slice(&h.to_le_bytes());
        f.resize(f.len() + part as usize, 0x55);
        f
    }

    #[test]
    fn parses_key_frames_with_scaling_bits() {
        let mut f = keyframe(0x3fff, 1, 4);
        f[7] |= 0b1100_0000; // horizontal scale 3
        f[9] |= 0b0100_0000; // vertical scale 1
        let info = vp8_frame_info(&f).unwrap();
        assert!(info.keyframe);
        assert_eq!(info.header_len, VP8_KEYFRAME_HEADER_LEN);
        let size = info.size.unwrap();
        assert_eq!((size.width, size.height), (16383, 1));
        assert_eq!((size.horizontal_scale, size.vertical_scale), (3, 1));
        assert_eq!(info.dimensions(), Some((16383, 1)));
    }

    #[test]
    fn parses_interframes() {
        let mut f = tag(false, 3, false, 300).to_vec();
        f.resize(3 + 300, 0);
        let info = vp8_frame_info(&f).unwrap();
        assert!(!info.keyframe && !info.show_frame);
        assert_eq!(info.version, 3);
        assert_eq!(info.first_partition_size, 300);
        assert_eq!(info.header_len, VP8_INTERFRAME_HEADER_LEN);
        assert_eq!(info.dimensions(), None);
        // Reserved versions are reported, as libvpx decodes them.
        let mut f = tag(false, 7, true, 1).to_vec();
        f.push(0);
        assert_eq!(vp8_frame_info(&f).unwrap().version, 7);
    }

    #[test]
    fn largest_first_partition_is_parsed() {
        let max = (1 << 19) - 1;
        let mut f = tag(false, 0, true, max).to_vec();
        assert_eq!(f, [0xf1, 0xff, 0xff]);
        f.resize(3 + max as usize, 0);
        assert_eq!(vp8_frame_info(&f).unwrap().first_partition_size, max);
        f.pop();
        assert_eq!(vp8_frame_info(&f), None);
    }

    #[test]
    fn refuses_malformed_headers() {
        assert_eq!(vp8_frame_info(&[]), None);
        assert_eq!(vp8_frame_info(&[0x31]), None);
        assert_eq!(vp8_frame_info(&[0x31, 0x00]), None);
        // An interframe whose first partition is missing, or empty.
        assert_eq!(vp8_frame_info(&tag(false, 0, true, 1)), None);
        assert_eq!(
            vp8_frame_info(&[tag(false, 0, true, 0).as_slice(), &[0; 4]].concat()),
            None
        );
        let good = keyframe(64, 48, 2);
        assert!(vp8_frame_info(&good).is_some());
        // Every truncation of a key frame is refused.
        for len in 0..good.len() {
            assert_eq!(vp8_frame_info(&good[..len]), None, "prefix of {len} bytes");
        }
        // A wrong start code byte.
        for i in 3..6 {
            let mut bad = good.clone();
            bad[i] ^= 0x01;
            assert_eq!(vp8_frame_info(&bad), None);
        }
        // Zero width or height, even with scale bits set.
        assert_eq!(vp8_frame_info(&keyframe(0, 48, 2)), None);
        assert_eq!(vp8_frame_info(&keyframe(64, 0xc000, 2)), None);
        // Empty first partition.
        assert_eq!(vp8_frame_info(&keyframe(64, 48, 0)), None);
    }
}
