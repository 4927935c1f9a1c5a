//! PowerShell list output (`Format-List`) of policies.

use crate::model::{EnhancedEncryptionPolicy, PolicyIdentity};

const LABELS: [&str; 4] = [
    "Identity",
    "CallingEndtoEndEncryptionEnabledType",
    "MeetingEndToEndEncryption",
    "Description",
];

/// Formats policies the way PowerShell's list view does: one `Name : Value` line per property,
/// names padded to the longest property name, one blank line between policies, no trailing
/// spaces, a final newline. Global comes first, then tag policies by name.
///
/// ```
/// use sealcall_policy::{EnhancedEncryptionPolicy, format_policy_list};
/// let text = format_policy_list(&[EnhancedEncryptionPolicy::builtin_global()]);
/// assert_eq!(
///     text,
///     "Identity                             : Global\n\
///      CallingEndtoEndEncryptionEnabledType : Disabled\n\
///      MeetingEndToEndEncryption            : Disabled\n\
///      Description                          :\n"
/// );
/// ```
pub fn format_policy_list(policies: &[EnhancedEncryptionPolicy]) -> String {
    let mut sorted: Vec<&EnhancedEncryptionPolicy> = policies.iter().collect();
    sorted.sort_by(|a, b| match (&a.identity, &b.identity) {
        (PolicyIdentity::Global, PolicyIdentity::Global) => std::cmp::Ordering::Equal,
        (PolicyIdentity::Global, _) => std::cmp::Ordering::Less,
        (_, PolicyIdentity::Global) => std::cmp::Ordering::Greater,
        (x, y) => x.cmp(y),
    });
    let width = LABELS.iter().map(|l| l.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (i, policy) in sorted.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let values = [
            policy.identity.to_string(),
            policy.calling.to_string(),
            policy.meeting.to_string(),
            policy.description.clone(),
        ];
        for (label, value) in LABELS.iter().zip(values) {
            let line = format!("{label:<width$} : {value}");
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}
