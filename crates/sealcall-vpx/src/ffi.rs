//! The FFI boundary to libvpx: the crate's only `unsafe` code.
//!
//! Everything above this module is safe Rust that validates its inputs first; this module turns
//! those validated values into libvpx calls and copies libvpx's output into Rust-owned memory
//! before returning. The rules it keeps, and why each `unsafe` block is sound:
//!
//! - **Own prototypes, integer statuses.** The libvpx functions are declared here rather than
//!   taken from `env-libvpx-sys`, whose bindings return `vpx_codec_err_t` as a Rust enum. libvpx
//!   does not keep to that enum: its VP8 decoder returns `-1` from `vpx_codec_decode` when a
//!   resolution change fails to allocate (`vp8/vp8_dx_iface.c`), and a Rust enum holding a value
//!   outside its variants is undefined behaviour. A C enum is passed as an `int`-sized integer,
//!   so `c_uint` is ABI-compatible and every value is valid. The types (`vpx_codec_ctx_t`,
//!   `vpx_image_t`, ...) and constants still come from the pre-generated bindings, which
//!   `env-libvpx-sys` picks by the version pkg-config reports for the installed headers.
//! - **The context is opaque.** A `vpx_codec_ctx_t` lives in a `Box<MaybeUninit<..>>` (stable
//!   address, and no validity requirement on its bytes, since libvpx also stores raw status codes
//!   in its `err` field) and Rust only ever passes its pointer to libvpx.
//! - **Enum-typed fields libvpx writes are read as integers** (`vpx_image_t::fmt`,
//!   `vpx_codec_cx_pkt_t::kind`), through `offset_of!`, never as the Rust enum.
//! - **Only initialised fields are read.** libvpx builds output packets on the stack and leaves
//!   parts of them unset (the per-layer arrays), so packets are read field by field, never copied
//!   whole.
//! - **Borrowed output is copied at once.** Packets and decoded images point into buffers libvpx
//!   owns until the next call on the context; they are copied out within the same `&mut self`
//!   method, so no other call can intervene.
//! - **Sizes are checked before they are trusted**: strides against row widths, image
//!   dimensions against the key frame header already vetted, lengths against `c_uint`.
//! - **Single-threaded use.** libvpx contexts have no thread affinity but are not reentrant; the
//!   wrappers are `Send` and every call takes `&mut self`, so they are never used concurrently.
//!
//! ABI: `VPX_ENCODER_ABI_VERSION`/`VPX_DECODER_ABI_VERSION` from the bindings are passed to the
//! init functions, which refuse a library of another ABI (for the encoder this is checked before
//! libvpx writes its default configuration into Rust memory); and the shared library's soname
//! (`libvpx.so.7` for Debian 12's 1.12) changes whenever the ABI does.

use core::ffi::{c_int, c_long, c_uint, c_ulong, c_void};
use core::mem::{MaybeUninit, offset_of};
use core::ptr;

use vpx_sys as sys;

use crate::error::{CodecStatus, Error};
use crate::frame::I420Frame;

/// A `vpx_codec_err_t` as the C ABI returns it.
type Status = c_uint;

// SAFETY: these prototypes match libvpx 1.12's public headers (vpx/vpx_codec.h,
// vpx/vpx_encoder.h, vpx/vpx_decoder.h, vpx/vp8cx.h, vpx/vp8dx.h) argument for argument, with
// `vpx_codec_err_t` returns declared as `c_uint` (see the module docs) and the typedefs spelled
// out: `vpx_codec_flags_t` and `vpx_enc_frame_flags_t` are `long`, `vpx_codec_pts_t` is
// `int64_t`. The two `safe` ones take no arguments and return a pointer to a static interface
// table, so they have no preconditions.
unsafe extern "C" {
    safe fn vpx_codec_vp8_cx() -> *mut sys::vpx_codec_iface_t;
    safe fn vpx_codec_vp8_dx() -> *mut sys::vpx_codec_iface_t;
    fn vpx_codec_enc_config_default(
        iface: *mut sys::vpx_codec_iface_t,
        cfg: *mut sys::vpx_codec_enc_cfg_t,
        usage: c_uint,
    ) -> Status;
    fn vpx_codec_enc_init_ver(
        ctx: *mut sys::vpx_codec_ctx_t,
        iface: *mut sys::vpx_codec_iface_t,
        cfg: *const sys::vpx_codec_enc_cfg_t,
        flags: c_long,
        ver: c_int,
    ) -> Status;
    fn vpx_codec_enc_config_set(
        ctx: *mut sys::vpx_codec_ctx_t,
        cfg: *const sys::vpx_codec_enc_cfg_t,
    ) -> Status;
    fn vpx_codec_encode(
        ctx: *mut sys::vpx_codec_ctx_t,
        img: *const sys::vpx_image_t,
        pts: i64,
        duration: c_ulong,
        flags: c_long,
        deadline: c_ulong,
    ) -> Status;
    fn vpx_codec_get_cx_data(
        ctx: *mut sys::vpx_codec_ctx_t,
        iter: *mut sys::vpx_codec_iter_t,
    ) -> *const sys::vpx_codec_cx_pkt_t;
    fn vpx_codec_dec_init_ver(
        ctx: *mut sys::vpx_codec_ctx_t,
        iface: *mut sys::vpx_codec_iface_t,
        cfg: *const sys::vpx_codec_dec_cfg_t,
        flags: c_long,
        ver: c_int,
    ) -> Status;
    fn vpx_codec_decode(
        ctx: *mut sys::vpx_codec_ctx_t,
        data: *const u8,
        data_sz: c_uint,
        user_priv: *mut c_void,
        deadline: c_long,
    ) -> Status;
    fn vpx_codec_get_frame(
        ctx: *mut sys::vpx_codec_ctx_t,
        iter: *mut sys::vpx_codec_iter_t,
    ) -> *mut sys::vpx_image_t;
    fn vpx_codec_control_(ctx: *mut sys::vpx_codec_ctx_t, ctrl_id: c_int, ...) -> Status;
    fn vpx_codec_destroy(ctx: *mut sys::vpx_codec_ctx_t) -> Status;
}

/// `Ok` for `VPX_CODEC_OK`, else [`Error::Codec`] naming `operation`.
fn check(status: Status, operation: &'static str) -> Result<(), Error> {
    if status == 0 {
        Ok(())
    } else {
        Err(Error::Codec {
            operation,
            status: CodecStatus::from_raw(status),
        })
    }
}

/// Storage for one `vpx_codec_ctx_t`: heap-allocated so its address never changes, and
/// `MaybeUninit` so Rust asserts nothing about the bytes libvpx keeps there.
struct Context(Box<MaybeUninit<sys::vpx_codec_ctx_t>>);

impl Context {
    fn new() -> Self {
        Context(Box::new(MaybeUninit::zeroed()))
    }

    fn as_mut_ptr(&mut self) -> *mut sys::vpx_codec_ctx_t {
        self.0.as_mut_ptr()
    }
}

/// Numbers for the VP8 encoder, already validated by [`crate::EncoderConfig::validate`] and
/// chosen by `encoder.rs`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EncoderParams {
    pub width: u32,
    pub height: u32,
    pub threads: u32,
    /// Timebase denominator: timestamps are in units of `1 / timebase_den` seconds.
    pub timebase_den: u32,
    pub bitrate_kbps: u32,
    pub min_quantizer: u32,
    pub max_quantizer: u32,
    pub undershoot_pct: u32,
    pub overshoot_pct: u32,
    pub buffer_ms: u32,
    pub buffer_initial_ms: u32,
    pub buffer_optimal_ms: u32,
    pub keyframe_max_interval: u32,
    /// `VP8E_SET_CPUUSED`; negative for a fixed speed.
    pub cpu_used: i32,
    pub screen_content_mode: u32,
    pub static_threshold: u32,
    pub noise_sensitivity: u32,
    pub max_intra_bitrate_pct: u32,
}

/// One compressed frame as libvpx reported it, already copied into Rust memory.
pub(crate) struct RawPacket {
    pub data: Vec<u8>,
    pub pts: i64,
    pub keyframe: bool,
}

/// An initialised VP8 encoder context.
pub(crate) struct RawEncoder {
    ctx: Context,
    /// The configuration libvpx accepted, changed and set again for bitrate changes.
    cfg: sys::vpx_codec_enc_cfg_t,
}

// SAFETY: libvpx encoder contexts hold no thread-local state and may move between threads; they
// only must not be used from two threads at once, and every use goes through `&mut self`.
unsafe impl Send for RawEncoder {}

impl RawEncoder {
    pub(crate) fn new(p: &EncoderParams) -> Result<Self, Error> {
        let iface = vpx_codec_vp8_cx();
        if iface.is_null() {
            return Err(Error::Codec {
                operation: "vpx_codec_vp8_cx",
                status: CodecStatus::Incapable,
            });
        }
        let mut ctx = Context::new();
        // The library must have the encoder ABI of the bindings before it may write a
        // `vpx_codec_enc_cfg_t` into Rust memory: `vpx_codec_enc_config_default` does not check
        // it, `vpx_codec_enc_init_ver` does, first of all. Called without a configuration it
        // stops at that check (ABI_MISMATCH) or at the missing configuration (INVALID_PARAM),
        // having set up nothing.
        // SAFETY: `ctx` is zeroed storage nothing else uses, `iface` is the VP8 encoder, and a
        // null configuration is refused before anything is read or allocated
        // (vpx/src/vpx_encoder.c).
        let status = unsafe {
            vpx_codec_enc_init_ver(
                ctx.as_mut_ptr(),
                iface,
                ptr::null(),
                0,
                sys::VPX_ENCODER_ABI_VERSION as c_int,
            )
        };
        if status != sys::vpx_codec_err_t::VPX_CODEC_INVALID_PARAM as Status {
            check(status, "vpx_codec_enc_init_ver (ABI check)")?;
            return Err(Error::Codec {
                operation: "vpx_codec_enc_init_ver (ABI check)",
                status: CodecStatus::Error,
            });
        }

        let mut cfg = MaybeUninit::<sys::vpx_codec_enc_cfg_t>::uninit();
        // SAFETY: `iface` is libvpx's VP8 encoder interface and `cfg` points to writable storage
        // for one `vpx_codec_enc_cfg_t`, which the call fills in whole on success. The library's
        // struct has the bindings' layout: its encoder ABI version, which libvpx bumps with any
        // change to the encoder structs, matched just above.
        let status = unsafe { vpx_codec_enc_config_default(iface, cfg.as_mut_ptr(), 0) };
        check(status, "vpx_codec_enc_config_default")?;
        // SAFETY: on success libvpx copied its complete default configuration into `cfg`
        // (`*cfg = iface->enc.cfg_maps->cfg` in vpx/src/vpx_encoder.c); every enum field in that
        // static default holds a defined variant (VPX_BITS_8, VPX_RC_ONE_PASS, VPX_VBR,
        // VPX_KF_AUTO), and the other fields are integers and null pointers.
        let mut cfg = unsafe { cfg.assume_init() };

        cfg.g_w = p.width;
        cfg.g_h = p.height;
        cfg.g_threads = p.threads;
        cfg.g_timebase = sys::vpx_rational {
            num: 1,
            den: p.timebase_den as c_int,
        };
        cfg.g_error_resilient = sys::VPX_ERROR_RESILIENT_DEFAULT;
        cfg.g_pass = sys::vpx_enc_pass::VPX_RC_ONE_PASS;
        cfg.g_lag_in_frames = 0;
        cfg.rc_dropframe_thresh = 0;
        cfg.rc_resize_allowed = 0;
        cfg.rc_end_usage = sys::vpx_rc_mode::VPX_CBR;
        cfg.rc_target_bitrate = p.bitrate_kbps;
        cfg.rc_min_quantizer = p.min_quantizer;
        cfg.rc_max_quantizer = p.max_quantizer;
        cfg.rc_undershoot_pct = p.undershoot_pct;
        cfg.rc_overshoot_pct = p.overshoot_pct;
        cfg.rc_buf_sz = p.buffer_ms;
        cfg.rc_buf_initial_sz = p.buffer_initial_ms;
        cfg.rc_buf_optimal_sz = p.buffer_optimal_ms;
        cfg.kf_mode = sys::vpx_kf_mode::VPX_KF_AUTO;
        cfg.kf_min_dist = 0;
        cfg.kf_max_dist = p.keyframe_max_interval;

        // SAFETY: `ctx` is storage for a context that nothing else uses (the ABI probe above
        // initialised nothing in it); `cfg` is a
        // complete configuration that libvpx copies during the call (vp8e_init keeps its own copy
        // and repoints `ctx->config.enc` at it), so it need not outlive the call. On failure
        // libvpx destroys what it set up itself, and `ctx` is then dropped without
        // `vpx_codec_destroy`.
        let status = unsafe {
            vpx_codec_enc_init_ver(
                ctx.as_mut_ptr(),
                iface,
                &cfg,
                0,
                sys::VPX_ENCODER_ABI_VERSION as c_int,
            )
        };
        check(status, "vpx_codec_enc_init_ver")?;
        let mut encoder = RawEncoder { ctx, cfg };

        use sys::vp8e_enc_control_id as id;
        encoder.control_int(id::VP8E_SET_CPUUSED, p.cpu_used)?;
        encoder.control_uint(id::VP8E_SET_SCREEN_CONTENT_MODE, p.screen_content_mode)?;
        encoder.control_uint(id::VP8E_SET_STATIC_THRESHOLD, p.static_threshold)?;
        encoder.control_uint(id::VP8E_SET_NOISE_SENSITIVITY, p.noise_sensitivity)?;
        encoder.control_uint(id::VP8E_SET_MAX_INTRA_BITRATE_PCT, p.max_intra_bitrate_pct)?;
        encoder.control_int(
            id::VP8E_SET_TOKEN_PARTITIONS,
            sys::vp8e_token_partitions::VP8_ONE_TOKENPARTITION as c_int,
        )?;
        Ok(encoder)
    }

    /// A control whose argument is an `int` (vp8cx.h: `VPX_CTRL_USE_TYPE(id, int)`).
    fn control_int(&mut self, id: sys::vp8e_enc_control_id, value: c_int) -> Result<(), Error> {
        // SAFETY: the context is initialised, and the one variadic argument has the type the
        // control reads with `va_arg` (`int`), which the callers keep to.
        let status = unsafe { vpx_codec_control_(self.ctx.as_mut_ptr(), id as c_int, value) };
        check(status, "vpx_codec_control")
    }

    /// A control whose argument is an `unsigned int`.
    fn control_uint(&mut self, id: sys::vp8e_enc_control_id, value: c_uint) -> Result<(), Error> {
        // SAFETY: as `control_int`, for controls that read an `unsigned int`.
        let status = unsafe { vpx_codec_control_(self.ctx.as_mut_ptr(), id as c_int, value) };
        check(status, "vpx_codec_control")
    }

    /// Changes the target bitrate mid-stream (`vpx_codec_enc_config_set`).
    pub(crate) fn set_bitrate(&mut self, kbps: u32) -> Result<(), Error> {
        let mut cfg = self.cfg;
        cfg.rc_target_bitrate = kbps;
        // SAFETY: the context is initialised and `cfg` is the configuration it accepted with
        // one integer changed; libvpx validates it and copies it (vp8e_set_config).
        let status = unsafe { vpx_codec_enc_config_set(self.ctx.as_mut_ptr(), &cfg) };
        check(status, "vpx_codec_enc_config_set")?;
        self.cfg = cfg;
        Ok(())
    }

    /// Encodes one frame and appends every compressed frame libvpx then has to `out`.
    ///
    /// The caller has checked that `frame` matches the configured dimensions.
    pub(crate) fn encode(
        &mut self,
        frame: &I420Frame,
        pts: i64,
        duration: c_ulong,
        force_keyframe: bool,
        out: &mut Vec<RawPacket>,
    ) -> Result<(), Error> {
        let chroma_stride = frame.chroma_width() as c_int;
        let image = sys::vpx_image_t {
            fmt: sys::vpx_img_fmt::VPX_IMG_FMT_I420,
            cs: sys::vpx_color_space::VPX_CS_BT_601,
            range: sys::vpx_color_range::VPX_CR_STUDIO_RANGE,
            w: frame.width(),
            h: frame.height(),
            bit_depth: 8,
            d_w: frame.width(),
            d_h: frame.height(),
            r_w: frame.width(),
            r_h: frame.height(),
            x_chroma_shift: 1,
            y_chroma_shift: 1,
            // libvpx takes `const vpx_image_t *` and only reads through these pointers.
            planes: [
                frame.y().as_ptr().cast_mut(),
                frame.u().as_ptr().cast_mut(),
                frame.v().as_ptr().cast_mut(),
                ptr::null_mut(),
            ],
            stride: [frame.width() as c_int, chroma_stride, chroma_stride, 0],
            bps: 12,
            user_priv: ptr::null_mut(),
            img_data: ptr::null_mut(),
            img_data_owner: 0,
            self_allocd: 0,
            fb_priv: ptr::null_mut(),
        };
        let flags = if force_keyframe {
            sys::VPX_EFLAG_FORCE_KF as c_long
        } else {
            0
        };
        // SAFETY: the context is initialised. `image` describes `frame`'s planes exactly: Y is
        // `d_h` rows of `d_w` bytes at stride `d_w`; U and V are `(d_h + 1) / 2` rows of
        // `(d_w + 1) / 2` bytes at that stride, which is what libvpx reads (image2yuvconfig in
        // vp8/vp8_cx_iface.c, then vp8_copy_and_extend_frame copying into its own lookahead
        // buffer); `I420Frame` guarantees those lengths. libvpx only reads the planes, and only
        // during this call (lag is 0, so the copy is made before it returns); `frame` is
        // borrowed for all of it. `pts` and `duration` are bounded by the caller so libvpx's
        // timestamp arithmetic cannot overflow.
        let status = unsafe {
            vpx_codec_encode(
                self.ctx.as_mut_ptr(),
                &image,
                pts,
                duration,
                flags,
                c_ulong::from(sys::VPX_DL_REALTIME),
            )
        };
        check(status, "vpx_codec_encode")?;
        self.drain_packets(out)
    }

    /// Copies out every packet `vpx_codec_get_cx_data` has; keeps only frame packets.
    fn drain_packets(&mut self, out: &mut Vec<RawPacket>) -> Result<(), Error> {
        type Frame = sys::vpx_codec_cx_pkt__bindgen_ty_1__bindgen_ty_1;
        // The frame member of the packet's data union: a `repr(C)` union's fields start at its
        // own start.
        let frame_at = offset_of!(sys::vpx_codec_cx_pkt_t, data);
        let mut iter: sys::vpx_codec_iter_t = ptr::null();
        loop {
            // SAFETY: the context is initialised and `iter` is the iterator libvpx started (null)
            // and advances; the packets stay valid until the next encode call, which cannot come
            // before this method returns.
            let pkt = unsafe { vpx_codec_get_cx_data(self.ctx.as_mut_ptr(), &mut iter) };
            if pkt.is_null() {
                return Ok(());
            }
            let kind_ptr = pkt
                .wrapping_byte_add(offset_of!(sys::vpx_codec_cx_pkt_t, kind))
                .cast::<u32>();
            // SAFETY: `pkt` points to a packet libvpx filled in, whose `kind` (a C enum, so a
            // 32-bit integer, set for every packet) lies at this offset; read as an integer.
            let kind = unsafe { kind_ptr.read() };
            if kind != sys::vpx_codec_cx_pkt_kind::VPX_CODEC_CX_FRAME_PKT as u32 {
                continue;
            }
            let frame = pkt.wrapping_byte_add(frame_at).cast::<Frame>();
            let buf_ptr = frame
                .wrapping_byte_add(offset_of!(Frame, buf))
                .cast::<*mut c_void>();
            let sz_ptr = frame
                .wrapping_byte_add(offset_of!(Frame, sz))
                .cast::<sys::size_t>();
            let pts_ptr = frame
                .wrapping_byte_add(offset_of!(Frame, pts))
                .cast::<i64>();
            let flags_ptr = frame
                .wrapping_byte_add(offset_of!(Frame, flags))
                .cast::<u32>();
            // SAFETY: for a frame packet libvpx sets `buf`, `sz`, `pts` and `flags` (vp8e_encode
            // in vp8/vp8_cx_iface.c); each is read alone, as its own integer or pointer type,
            // through a pointer to that field of the packet. (Likewise the next three reads.)
            let buf = unsafe { buf_ptr.read() };
            // SAFETY: see above.
            let sz = unsafe { sz_ptr.read() };
            // SAFETY: see above.
            let pts = unsafe { pts_ptr.read() };
            // SAFETY: see above.
            let flags = unsafe { flags_ptr.read() };

            let len = usize::try_from(sz).map_err(|_| Error::Codec {
                operation: "vpx_codec_get_cx_data",
                status: CodecStatus::Error,
            })?;
            let data = if len == 0 {
                Vec::new()
            } else {
                if buf.is_null() || isize::try_from(len).is_err() {
                    return Err(Error::Codec {
                        operation: "vpx_codec_get_cx_data",
                        status: CodecStatus::Error,
                    });
                }
                // SAFETY: libvpx's frame packet points to `sz` bytes of compressed data in its
                // output buffer (non-null, checked, and `sz` fits `isize`), valid and unchanged
                // until the next call on the context; they are copied before that.
                unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), len) }.to_vec()
            };
            out.push(RawPacket {
                data,
                pts,
                keyframe: flags & sys::VPX_FRAME_IS_KEY != 0,
            });
        }
    }
}

impl Drop for RawEncoder {
    fn drop(&mut self) {
        // SAFETY: the context was initialised (a `RawEncoder` only exists after a successful
        // init) and is destroyed once, here; nothing uses it afterwards.
        unsafe { vpx_codec_destroy(self.ctx.as_mut_ptr()) };
    }
}

/// An initialised VP8 decoder context.
pub(crate) struct RawDecoder {
    ctx: Context,
}

// SAFETY: as for `RawEncoder`: no thread affinity, and every use goes through `&mut self`.
unsafe impl Send for RawDecoder {}

impl RawDecoder {
    pub(crate) fn new() -> Result<Self, Error> {
        let iface = vpx_codec_vp8_dx();
        if iface.is_null() {
            return Err(Error::Codec {
                operation: "vpx_codec_vp8_dx",
                status: CodecStatus::Incapable,
            });
        }
        // One thread: the decoder's row threading buys little at call resolutions and has been
        // the less exercised path.
        let cfg = sys::vpx_codec_dec_cfg_t {
            threads: 1,
            w: 0,
            h: 0,
        };
        let mut ctx = Context::new();
        // SAFETY: `ctx` is zeroed storage nothing else uses; `cfg` is complete and copied by
        // libvpx during the call (vp8_init_ctx keeps its own copy). No flags: no postprocessing,
        // no error concealment, no input fragments. On failure libvpx cleans up after itself.
        let status = unsafe {
            vpx_codec_dec_init_ver(
                ctx.as_mut_ptr(),
                iface,
                &cfg,
                0,
                sys::VPX_DECODER_ABI_VERSION as c_int,
            )
        };
        check(status, "vpx_codec_dec_init_ver")?;
        Ok(RawDecoder { ctx })
    }

    /// Decodes one compressed frame. The caller has vetted its header (and, for a key frame, its
    /// dimensions) with [`crate::vp8_frame_info`].
    pub(crate) fn decode(&mut self, data: &[u8]) -> Result<(), Error> {
        let len = c_uint::try_from(data.len()).map_err(|_| Error::InputTooLarge {
            len: data.len(),
            max: c_uint::MAX as usize,
        })?;
        if len == 0 {
            return Err(Error::InvalidBitstream);
        }
        // SAFETY: the context is initialised; `data` is valid for reads of `len` bytes (non-empty,
        // so non-null, as libvpx requires) for the whole call, and libvpx does not keep the
        // pointer once it returns without input fragments enabled.
        let status = unsafe {
            vpx_codec_decode(
                self.ctx.as_mut_ptr(),
                data.as_ptr(),
                len,
                ptr::null_mut(),
                0,
            )
        };
        check(status, "vpx_codec_decode")
    }

    /// Whether the frame libvpx last decoded is marked corrupt (`VP8D_GET_FRAME_CORRUPTED`): its
    /// data ran out early, or it predicts from a frame that failed to decode.
    pub(crate) fn frame_corrupted(&mut self) -> Result<bool, Error> {
        let mut corrupted: c_int = 0;
        // SAFETY: the context is initialised, and this control reads one `int *` argument
        // (vp8dx.h: `VPX_CTRL_USE_TYPE(VP8D_GET_FRAME_CORRUPTED, int *)`) and writes an `int`
        // through it; `corrupted` is a live local.
        let status = unsafe {
            vpx_codec_control_(
                self.ctx.as_mut_ptr(),
                sys::vp8_dec_control_id::VP8D_GET_FRAME_CORRUPTED as c_int,
                &mut corrupted as *mut c_int,
            )
        };
        check(status, "vpx_codec_control(VP8D_GET_FRAME_CORRUPTED)")?;
        Ok(corrupted != 0)
    }

    /// Takes the decoded picture, if libvpx has one (returning whether it had), and copies it
    /// into `out` after checking it is an 8-bit I420 image of exactly `width` x `height`.
    ///
    /// With `out` `None` the picture is only drained. On error `out` is unchanged.
    pub(crate) fn take_frame(
        &mut self,
        width: u32,
        height: u32,
        out: Option<&mut I420Frame>,
    ) -> Result<bool, Error> {
        let mut iter: sys::vpx_codec_iter_t = ptr::null();
        // SAFETY: the context is initialised and `iter` starts null as libvpx requires. The image
        // returned belongs to the decoder and stays valid until the next decode call, which
        // cannot happen before this method returns (`&mut self`).
        let img = unsafe { vpx_codec_get_frame(self.ctx.as_mut_ptr(), &mut iter) };
        if img.is_null() {
            return Ok(false);
        }
        let Some(out) = out else {
            return Ok(true);
        };
        let fmt_ptr = img
            .wrapping_byte_add(offset_of!(sys::vpx_image_t, fmt))
            .cast::<u32>();
        // SAFETY: `img` points to the decoder's `vpx_image_t`, fully set by yuvconfig2image
        // (vp8/vp8_dx_iface.c); `fmt` is a C enum, read as the 32-bit integer it is.
        let fmt = unsafe { fmt_ptr.read() };
        // SAFETY: `img` is the decoder's live image (above); `d_w` and the fields read next are
        // plain integers, pointers and arrays of them, each read alone through the raw pointer
        // without forming a reference. (Likewise the next six reads.)
        let d_w = unsafe { (*img).d_w };
        // SAFETY: see above.
        let d_h = unsafe { (*img).d_h };
        // SAFETY: see above.
        let bit_depth = unsafe { (*img).bit_depth };
        // SAFETY: see above.
        let x_shift = unsafe { (*img).x_chroma_shift };
        // SAFETY: see above.
        let y_shift = unsafe { (*img).y_chroma_shift };
        // SAFETY: see above.
        let planes = unsafe { (*img).planes };
        // SAFETY: see above.
        let strides = unsafe { (*img).stride };

        if fmt != sys::vpx_img_fmt::VPX_IMG_FMT_I420 as u32 {
            return Err(Error::UnexpectedImage("not I420"));
        }
        if bit_depth != 8 || x_shift != 1 || y_shift != 1 {
            return Err(Error::UnexpectedImage("not 8-bit 4:2:0"));
        }
        if d_w != width || d_h != height {
            return Err(Error::UnexpectedImage(
                "dimensions differ from the key frame header",
            ));
        }
        let cw = (width / 2 + width % 2) as usize;
        let ch = (height / 2 + height % 2) as usize;
        let layout = [
            (planes[0], strides[0], width as usize, height as usize),
            (planes[1], strides[1], cw, ch),
            (planes[2], strides[2], cw, ch),
        ];
        for &(plane, stride, cols, _) in &layout {
            if plane.is_null() {
                return Err(Error::UnexpectedImage("null plane"));
            }
            match usize::try_from(stride) {
                Ok(stride) if stride >= cols => {}
                _ => return Err(Error::UnexpectedImage("stride narrower than a row")),
            }
        }

        out.reshape(width, height)?;
        let (y, u, v) = out.planes_mut();
        for ((plane, stride, cols, rows), dst) in layout.into_iter().zip([y, u, v]) {
            // Checked non-negative above.
            let stride = stride as usize;
            for (row, dst_row) in dst.chunks_exact_mut(cols).take(rows).enumerate() {
                let src = plane.wrapping_add(row * stride);
                // SAFETY: libvpx's image contract: plane 0 holds `d_h` rows and planes 1 and 2
                // hold `(d_h + 1) >> 1` rows, each `stride` bytes apart and at least `d_w` (resp.
                // `(d_w + 1) >> 1`) bytes long, valid until the next decode call. (VP8 allocates
                // its frame buffers for the size rounded up to 16 plus a 32-pixel border, so
                // this holds with room to spare.) `row < rows`, `cols <= stride` (checked), and
                // `row * stride` stays inside that allocation, so it cannot overflow.
                let src = unsafe { core::slice::from_raw_parts(src, cols) };
                dst_row.copy_from_slice(src);
            }
        }
        Ok(true)
    }
}

impl Drop for RawDecoder {
    fn drop(&mut self) {
        // SAFETY: the context was initialised (a `RawDecoder` only exists after a successful
        // init) and is destroyed once, here.
        unsafe { vpx_codec_destroy(self.ctx.as_mut_ptr()) };
    }
}
