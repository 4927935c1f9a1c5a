//! The replay window: RFC 3711 section 3.3.2 semantics over SFrame counters.
//!
//! The window remembers the newest authenticated counter and a bitmap of the
//! [`REPLAY_WINDOW`] counters before it. A frame is checked before it is opened and the window
//! is updated only after the frame authenticated, so a forged frame never moves it.

use crate::error::{Error, Result};

/// Number of counters the replay window tracks behind the newest one.
pub const REPLAY_WINDOW: u64 = 128;

/// A sliding replay window for one stream under one key.
#[derive(Debug, Clone, Default)]
pub struct ReplayWindow {
    /// Newest authenticated counter, if any frame authenticated yet.
    newest: Option<u64>,
    /// Bit `i` set: counter `newest - i` was received.
    seen: u128,
}

impl ReplayWindow {
    /// An empty window.
    pub const fn new() -> Self {
        Self {
            newest: None,
            seen: 0,
        }
    }

    /// The newest authenticated counter.
    pub fn newest(&self) -> Option<u64> {
        self.newest
    }

    /// Whether a frame with counter `ctr` may be opened: not seen and not older than the window.
    /// Does not change the window.
    pub fn check(&self, ctr: u64) -> Result<()> {
        let Some(newest) = self.newest else {
            return Ok(());
        };
        if ctr > newest {
            return Ok(());
        }
        let age = newest - ctr;
        if age >= REPLAY_WINDOW {
            return Err(Error::TooOld { ctr, newest });
        }
        if self.seen & (1u128 << age) != 0 {
            return Err(Error::Replayed { ctr });
        }
        Ok(())
    }

    /// Records an authenticated counter. Call only after [`check`](Self::check) passed and the
    /// frame authenticated.
    pub fn accept(&mut self, ctr: u64) {
        match self.newest {
            None => {
                self.newest = Some(ctr);
                self.seen = 1;
            }
            Some(newest) if ctr > newest => {
                let shift = ctr - newest;
                self.seen = if shift >= REPLAY_WINDOW {
                    0
                } else {
                    self.seen << shift
                };
                self.seen |= 1;
                self.newest = Some(ctr);
            }
            Some(newest) => {
                let age = newest - ctr;
                if age < REPLAY_WINDOW {
                    self.seen |= 1u128 << age;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3711_semantics() {
        let mut w = ReplayWindow::new();
        assert!(w.check(5).is_ok());
        w.accept(5);
        assert_eq!(w.check(5), Err(Error::Replayed { ctr: 5 }));
        assert!(w.check(3).is_ok());
        w.accept(3);
        assert_eq!(w.check(3), Err(Error::Replayed { ctr: 3 }));
        w.accept(5 + REPLAY_WINDOW);
        assert_eq!(
            w.check(5),
            Err(Error::TooOld {
                ctr: 5,
                newest: 5 + REPLAY_WINDOW
            })
        );
        assert!(w.check(6).is_ok());
        w.accept(u64::MAX);
        assert_eq!(w.check(u64::MAX), Err(Error::Replayed { ctr: u64::MAX }));
    }
}
