//! The administration language: `New-`, `Get-`, `Set-`, `Remove-` and
//! `Grant-CsTeamsEnhancedEncryptionPolicy`, parsed with PowerShell conventions and run against a
//! [`PolicyStore`](crate::PolicyStore).

mod command;
mod exec;
mod format;
mod lexer;
mod parse;

pub use command::{Cmdlet, Command, GrantTarget, PolicySettings};
pub use exec::{ExecOutput, execute, run_cmdlet};
pub use format::format_policy_list;
pub use parse::parse_command;
