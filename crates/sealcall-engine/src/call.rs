//! The call state machine, sans-IO.
//!
//! Inputs are user commands, server messages, media progress and timer ticks, each with an
//! explicit `now` (a [`Duration`] since any origin the driver picks); outputs are [`Action`]s:
//! messages to send, events to show, and media to start or stop. The machine never reads a
//! clock, touches a socket or spawns a task, so every path — glare, cancel during ringing,
//! remote hang-up, answered on another device, timeouts, server loss — is tested
//! deterministically with a virtual clock.
//!
//! ```text
//!  Idle ──call──► Placing ──InviteSent──► Outgoing ──CallAccepted──► Connecting ──media up──► Connected
//!   │                                                                   ▲                       │
//!   └──IncomingCall──► Incoming ──accept──► (CallAccepted) ─────────────┘                       │
//!  every state ──decline/cancel/hang-up/CallEnded/CallFailed/timeout/server loss──► Ended ──► Idle
//! ```

use core::time::Duration;

use sealcall_policy::{DecisionSummary, Outcome, Side, UserId};
use sealcall_signaling::{
    CallId, ClientMessage, DeviceId, EndReason, FailReason, IdentityKey, ServerMessage,
    TurnCredentials,
};

use crate::error::{EngineError, Result};

/// Timeouts the machine enforces itself (the server has its own ring timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallTimers {
    /// How long an outgoing call may wait for the server to confirm the invite.
    pub invite_timeout: Duration,
    /// How long an outgoing or incoming call may ring.
    pub ring_timeout: Duration,
    /// How long an answered call may take to connect media (and, for E2EE, the handshake).
    pub connect_timeout: Duration,
}

impl Default for CallTimers {
    fn default() -> Self {
        Self {
            invite_timeout: Duration::from_secs(10),
            ring_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(20),
        }
    }
}

/// What the user asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Call someone.
    Call(UserId),
    /// Answer the ringing call.
    Accept,
    /// Decline the ringing call.
    Decline,
    /// Give up on the outgoing call before it is answered.
    Cancel,
    /// End the answered call.
    Hangup,
}

/// How the media of an answered call is protected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaMode {
    /// End-to-end encrypted: run the handshake; no frame leaves before its keys exist.
    EndToEnd,
    /// Hop-by-hop DTLS-SRTP only, with the reasons to show.
    Standard {
        /// User-facing reasons, for this party's point of view.
        reasons: Vec<String>,
    },
}

/// Why a call ended, as the machine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// This user hung up, cancelled or declined.
    Local,
    /// The server ended it (the other person hung up, declined, was busy, answered elsewhere…).
    Remote(EndReason),
    /// The invite did not start a call.
    Failed(FailReason),
    /// Refused by policy: the messages say why.
    Refused(Vec<String>),
    /// A timer of this machine ran out (`what` says which).
    Timeout(&'static str),
    /// The connection to the server was lost before the call was connected.
    ServerLost,
    /// Media or the end-to-end handshake failed, or the media connection was lost.
    MediaFailed(String),
}

/// The call as the machine knows it after the server assigned an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    /// Server-assigned id.
    pub call_id: CallId,
    /// The other person.
    pub peer: UserId,
    /// This party's side.
    pub side: Side,
    /// Relay credentials for this call.
    pub turn: Option<TurnCredentials>,
}

/// Everything needed to start a call's media once it is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaStart {
    /// The call.
    pub call_id: CallId,
    /// This party's side: the caller creates the WebRTC offer and starts the handshake.
    pub side: Side,
    /// The other person.
    pub peer: UserId,
    /// The other device.
    pub peer_device: DeviceId,
    /// The other device's identity key from the directory (pinned in the handshake).
    pub peer_identity: IdentityKey,
    /// Protection of the media.
    pub mode: MediaMode,
    /// Relay credentials.
    pub turn: Option<TurnCredentials>,
}

/// Events for the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    /// An outgoing call is being placed.
    Placing {
        /// Who is called.
        callee: UserId,
    },
    /// The outgoing call rings on `devices` devices.
    Ringing {
        /// The call.
        call_id: CallId,
        /// Devices ringing so far.
        devices: u32,
    },
    /// Someone is calling.
    Incoming {
        /// The call.
        call_id: CallId,
        /// The caller.
        caller: UserId,
        /// The caller's display name.
        display_name: String,
        /// Whether the call would be end-to-end encrypted, provisionally.
        decision: DecisionSummary,
    },
    /// Answered; media is being set up.
    Connecting {
        /// The call.
        call_id: CallId,
        /// How media will be protected.
        mode: MediaMode,
    },
    /// Media flows.
    Connected {
        /// The call.
        call_id: CallId,
        /// Whether the call is end-to-end encrypted.
        end_to_end: bool,
    },
    /// The signaling connection was lost during a connected call; media continues.
    SignalingLost {
        /// The call.
        call_id: CallId,
    },
    /// The call ended.
    Ended {
        /// The call, if the server had assigned one.
        call_id: Option<CallId>,
        /// Why.
        reason: Ended,
    },
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this message to the server.
    Send(ClientMessage),
    /// Show this event.
    Event(CallEvent),
    /// Start the call's media (and, in an E2EE call, the handshake).
    StartMedia(Box<MediaStart>),
    /// Stop the call's media and erase its keys.
    StopMedia(CallId),
}

/// Progress reported by the media driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaProgress {
    /// Transport connected, the handshake verified (in every call) and the mode settled from
    /// the two signed intents: frames flow.
    Ready {
        /// Whether the settled call is end-to-end encrypted (the two signed intents, not the
        /// server's decision).
        end_to_end: bool,
    },
    /// Transport or handshake failed.
    Failed(String),
}

/// The machine's state, for display and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// No call.
    Idle,
    /// Invite sent; waiting for the server to assign an id.
    Placing {
        /// Who is called.
        callee: UserId,
        /// When the invite was sent.
        since: Duration,
        /// The user cancelled before the id arrived.
        cancel_requested: bool,
    },
    /// The outgoing call rings.
    Outgoing {
        /// The call.
        call: CallInfo,
        /// When it started ringing.
        since: Duration,
    },
    /// An incoming call rings.
    Incoming {
        /// The call.
        call: CallInfo,
        /// When it started ringing.
        since: Duration,
        /// Waiting for the server to confirm this device's accept.
        accepting: bool,
    },
    /// Answered; media and handshake are being set up.
    Connecting {
        /// The call.
        call: CallInfo,
        /// How media is protected.
        mode: MediaMode,
        /// Since when.
        since: Duration,
    },
    /// Media flows.
    Connected {
        /// The call.
        call: CallInfo,
        /// Whether it is end-to-end encrypted.
        end_to_end: bool,
    },
}

/// The call state machine of one device (one call at a time).
#[derive(Debug)]
pub struct CallMachine {
    me: UserId,
    timers: CallTimers,
    state: State,
}

impl CallMachine {
    /// A machine for the signed-in user.
    pub fn new(me: UserId, timers: CallTimers) -> Self {
        Self {
            me,
            timers,
            state: State::Idle,
        }
    }

    /// The current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The current call id, if any.
    pub fn call_id(&self) -> Option<&CallId> {
        match &self.state {
            State::Outgoing { call, .. }
            | State::Incoming { call, .. }
            | State::Connecting { call, .. }
            | State::Connected { call, .. } => Some(&call.call_id),
            _ => None,
        }
    }

    fn end(&mut self, reason: Ended) -> Vec<Action> {
        let call_id = self.call_id().cloned();
        let media_started = matches!(
            self.state,
            State::Connecting { .. } | State::Connected { .. }
        );
        self.state = State::Idle;
        let mut out = Vec::new();
        if let (true, Some(id)) = (media_started, call_id.clone()) {
            out.push(Action::StopMedia(id));
        }
        out.push(Action::Event(CallEvent::Ended { call_id, reason }));
        out
    }

    /// A user command. Commands that make no sense in the current state are refused with
    /// [`EngineError::InvalidCommand`] and change nothing.
    pub fn command(&mut self, now: Duration, command: Command) -> Result<Vec<Action>> {
        let invalid = |what: &str, state: &State| {
            Err(EngineError::InvalidCommand(format!(
                "cannot {what} while {}",
                state_name(state)
            )))
        };
        match (command, &mut self.state) {
            (Command::Call(callee), State::Idle) => {
                self.state = State::Placing {
                    callee: callee.clone(),
                    since: now,
                    cancel_requested: false,
                };
                Ok(vec![
                    Action::Send(ClientMessage::Invite {
                        callee: callee.clone(),
                    }),
                    Action::Event(CallEvent::Placing { callee }),
                ])
            }
            (
                Command::Accept,
                State::Incoming {
                    call, accepting, ..
                },
            ) if !*accepting => {
                *accepting = true;
                Ok(vec![Action::Send(ClientMessage::Accept {
                    call_id: call.call_id.clone(),
                })])
            }
            (Command::Decline, State::Incoming { call, .. }) => {
                let msg = ClientMessage::Decline {
                    call_id: call.call_id.clone(),
                };
                let mut out = vec![Action::Send(msg)];
                out.extend(self.end(Ended::Local));
                Ok(out)
            }
            (
                Command::Cancel,
                State::Placing {
                    cancel_requested, ..
                },
            ) => {
                *cancel_requested = true;
                Ok(Vec::new())
            }
            (Command::Cancel, State::Outgoing { call, .. }) => {
                let msg = ClientMessage::Cancel {
                    call_id: call.call_id.clone(),
                };
                let mut out = vec![Action::Send(msg)];
                out.extend(self.end(Ended::Local));
                Ok(out)
            }
            (Command::Hangup, State::Connecting { call, .. } | State::Connected { call, .. }) => {
                let msg = ClientMessage::Hangup {
                    call_id: call.call_id.clone(),
                };
                let mut out = vec![Action::Send(msg)];
                out.extend(self.end(Ended::Local));
                Ok(out)
            }
            (Command::Call(_), state) => invalid("place a call", state),
            (Command::Accept, state) => invalid("accept", state),
            (Command::Decline, state) => invalid("decline", state),
            (Command::Cancel, state) => invalid("cancel", state),
            (Command::Hangup, state) => invalid("hang up", state),
        }
    }

    fn is_current(&self, id: &CallId) -> bool {
        self.call_id() == Some(id)
    }

    /// A message from the server. Messages for other calls are ignored (an incoming call while
    /// busy is answered with `Busy`).
    pub fn on_server(&mut self, now: Duration, msg: ServerMessage) -> Vec<Action> {
        match msg {
            ServerMessage::InviteSent {
                call_id,
                callee,
                ringing_devices,
                turn,
            } => {
                let State::Placing {
                    callee: placing,
                    cancel_requested,
                    ..
                } = &self.state
                else {
                    return Vec::new();
                };
                if *placing != callee {
                    return Vec::new();
                }
                if *cancel_requested {
                    self.state = State::Idle;
                    return vec![
                        Action::Send(ClientMessage::Cancel {
                            call_id: call_id.clone(),
                        }),
                        Action::Event(CallEvent::Ended {
                            call_id: Some(call_id),
                            reason: Ended::Local,
                        }),
                    ];
                }
                self.state = State::Outgoing {
                    call: CallInfo {
                        call_id: call_id.clone(),
                        peer: callee,
                        side: Side::Caller,
                        turn: Some(turn),
                    },
                    since: now,
                };
                vec![Action::Event(CallEvent::Ringing {
                    call_id,
                    devices: ringing_devices,
                })]
            }
            ServerMessage::Ringing { call_id, .. } if self.is_current(&call_id) => Vec::new(),
            ServerMessage::CallFailed {
                callee,
                reason,
                decision,
            } => match &self.state {
                State::Placing {
                    callee: placing, ..
                } if *placing == callee => {
                    let reason = match (reason, decision) {
                        (FailReason::PolicyRefused, Some(d)) => {
                            Ended::Refused(d.user_messages(Side::Caller))
                        }
                        (r, _) => Ended::Failed(r),
                    };
                    self.end(reason)
                }
                _ => Vec::new(),
            },
            ServerMessage::IncomingCall {
                call_id,
                caller,
                caller_display_name,
                decision,
                turn,
                ..
            } => self.on_incoming(now, call_id, caller, caller_display_name, decision, turn),
            ServerMessage::CallAccepted {
                call_id,
                side,
                peer,
                peer_device,
                peer_identity,
                decision,
                turn,
            } => {
                let call = match &self.state {
                    State::Outgoing { call, .. } if call.call_id == call_id => call.clone(),
                    State::Incoming {
                        call,
                        accepting: true,
                        ..
                    } if call.call_id == call_id => call.clone(),
                    _ => return Vec::new(),
                };
                if decision.outcome == Outcome::Refused {
                    let msg = ClientMessage::Hangup {
                        call_id: call_id.clone(),
                    };
                    let mut out = vec![Action::Send(msg)];
                    out.extend(self.end(Ended::Refused(decision.user_messages(side))));
                    return out;
                }
                let mode = match decision.outcome {
                    Outcome::EndToEnd => MediaMode::EndToEnd,
                    _ => MediaMode::Standard {
                        reasons: decision.user_messages(side),
                    },
                };
                let call = CallInfo { side, peer, ..call };
                self.state = State::Connecting {
                    call: call.clone(),
                    mode: mode.clone(),
                    since: now,
                };
                vec![
                    Action::Event(CallEvent::Connecting {
                        call_id: call_id.clone(),
                        mode: mode.clone(),
                    }),
                    Action::StartMedia(Box::new(MediaStart {
                        call_id,
                        side,
                        peer: call.peer,
                        peer_device,
                        peer_identity,
                        mode,
                        // Relay credentials come with the answer (older servers: the invite).
                        turn: turn.or(call.turn),
                    })),
                ]
            }
            ServerMessage::CallEnded { call_id, reason } if self.is_current(&call_id) => {
                self.end(Ended::Remote(reason))
            }
            _ => Vec::new(),
        }
    }

    fn on_incoming(
        &mut self,
        now: Duration,
        call_id: CallId,
        caller: UserId,
        display_name: String,
        decision: DecisionSummary,
        turn: TurnCredentials,
    ) -> Vec<Action> {
        let call = CallInfo {
            call_id: call_id.clone(),
            peer: caller.clone(),
            side: Side::Callee,
            turn: Some(turn),
        };
        match &self.state {
            State::Idle => {
                self.state = State::Incoming {
                    call,
                    since: now,
                    accepting: false,
                };
                vec![
                    Action::Send(ClientMessage::Ringing {
                        call_id: call_id.clone(),
                    }),
                    Action::Event(CallEvent::Incoming {
                        call_id,
                        caller,
                        display_name,
                        decision,
                    }),
                ]
            }
            // Glare: both called each other. The user whose id sorts first stays the caller; the
            // other withdraws its invite and answers the incoming call (both wanted this call).
            State::Outgoing { call: mine, .. } if mine.peer == caller => {
                if self.me.key() < caller.key() {
                    vec![Action::Send(ClientMessage::Busy { call_id })]
                } else {
                    let cancel = ClientMessage::Cancel {
                        call_id: mine.call_id.clone(),
                    };
                    self.state = State::Incoming {
                        call,
                        since: now,
                        accepting: true,
                    };
                    vec![
                        Action::Send(cancel),
                        Action::Send(ClientMessage::Accept { call_id }),
                    ]
                }
            }
            _ => vec![Action::Send(ClientMessage::Busy { call_id })],
        }
    }

    /// Progress of the call's media.
    pub fn on_media(
        &mut self,
        _now: Duration,
        call_id: &CallId,
        progress: MediaProgress,
    ) -> Vec<Action> {
        if let (State::Connected { call, .. }, MediaProgress::Failed(why)) =
            (&self.state, &progress)
        {
            if call.call_id != *call_id {
                return Vec::new();
            }
            let msg = ClientMessage::Hangup {
                call_id: call.call_id.clone(),
            };
            let mut out = vec![Action::Send(msg)];
            out.extend(self.end(Ended::MediaFailed(why.clone())));
            return out;
        }
        let State::Connecting { call, .. } = &self.state else {
            return Vec::new();
        };
        if call.call_id != *call_id {
            return Vec::new();
        }
        match progress {
            MediaProgress::Ready { end_to_end } => {
                let call = call.clone();
                let id = call.call_id.clone();
                self.state = State::Connected { call, end_to_end };
                vec![Action::Event(CallEvent::Connected {
                    call_id: id,
                    end_to_end,
                })]
            }
            MediaProgress::Failed(why) => {
                let msg = ClientMessage::Hangup {
                    call_id: call.call_id.clone(),
                };
                let mut out = vec![Action::Send(msg)];
                out.extend(self.end(Ended::MediaFailed(why)));
                out
            }
        }
    }

    /// Timers: call at least every few hundred milliseconds.
    pub fn tick(&mut self, now: Duration) -> Vec<Action> {
        let t = self.timers;
        let expired = |since: &Duration, limit: Duration| now.saturating_sub(*since) >= limit;
        let (what, msg) = match &self.state {
            State::Placing { since, .. } if expired(since, t.invite_timeout) => {
                ("the server did not confirm the invite", None)
            }
            State::Outgoing { call, since } if expired(since, t.ring_timeout) => (
                "nobody answered",
                Some(ClientMessage::Cancel {
                    call_id: call.call_id.clone(),
                }),
            ),
            State::Incoming { call, since, .. } if expired(since, t.ring_timeout) => (
                "the call was not answered",
                Some(ClientMessage::Decline {
                    call_id: call.call_id.clone(),
                }),
            ),
            State::Connecting { call, since, .. } if expired(since, t.connect_timeout) => (
                "media did not connect",
                Some(ClientMessage::Hangup {
                    call_id: call.call_id.clone(),
                }),
            ),
            _ => return Vec::new(),
        };
        let mut out: Vec<Action> = msg.into_iter().map(Action::Send).collect();
        out.extend(self.end(Ended::Timeout(what)));
        out
    }

    /// The signaling connection was lost. A connected call keeps its (peer-to-peer) media; any
    /// call still being set up ends.
    pub fn on_server_lost(&mut self, _now: Duration) -> Vec<Action> {
        match &self.state {
            State::Idle => Vec::new(),
            State::Connected { call, .. } => vec![Action::Event(CallEvent::SignalingLost {
                call_id: call.call_id.clone(),
            })],
            _ => self.end(Ended::ServerLost),
        }
    }
}

fn state_name(state: &State) -> &'static str {
    match state {
        State::Idle => "idle",
        State::Placing { .. } => "placing a call",
        State::Outgoing { .. } => "ringing out",
        State::Incoming { .. } => "ringing in",
        State::Connecting { .. } => "connecting",
        State::Connected { .. } => "in a call",
    }
}
