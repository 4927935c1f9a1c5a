//! Property tests of the cmdlet parser: arbitrary input never panics, and every valid command,
//! written in any of PowerShell's equivalent styles, parses back to itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use sealcall_policy::fuzzing::run_cmdlet_line;
use sealcall_policy::*;

fn policy_name() -> impl Strategy<Value = PolicyName> {
    prop_oneof![
        // Names the fuzz harness's organisation knows, so commands also succeed sometimes.
        Just("ContosoE2EEUserPolicy".to_owned()),
        Just("policyname".to_owned()),
        "[A-Za-z0-9_.-]{1,24}",
    ]
    .prop_filter_map("valid policy name", |s| PolicyName::new(&s).ok())
}

fn principal() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("kenmeyer@contoso.onmicrosoft.com".to_owned()),
        Just("username".to_owned()),
        Just("sales".to_owned()),
        Just("Contoso Staff".to_owned()),
        "[a-z][a-z0-9.]{0,10}@[a-z]{1,8}\\.com",
        "[A-Za-z]{1,8} [A-Za-z]{1,8}",
        "[ -~\u{a0}-\u{2fff}]{1,20}",
    ]
    .prop_filter("not the reserved identity", |s| {
        !s.eq_ignore_ascii_case("global")
    })
}

fn description() -> impl Strategy<Value = String> {
    "[ -~\t\u{a0}-\u{2fff}]{0,40}"
}

fn settings(require_one: bool) -> impl Strategy<Value = PolicySettings> {
    (
        proptest::option::of(proptest::sample::select(
            CallingEncryptionType::ALL.to_vec(),
        )),
        proptest::option::of(proptest::sample::select(
            MeetingEncryptionType::ALL.to_vec(),
        )),
        proptest::option::of(description()),
    )
        .prop_map(|(calling, meeting, description)| PolicySettings {
            calling,
            meeting,
            description,
        })
        .prop_filter("at least one setting", move |s| {
            !require_one || !s.is_empty()
        })
}

fn identity() -> impl Strategy<Value = PolicyIdentity> {
    prop_oneof![
        Just(PolicyIdentity::Global),
        policy_name().prop_map(PolicyIdentity::Tag)
    ]
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        (policy_name(), settings(false))
            .prop_map(|(name, settings)| Command::New { name, settings }),
        proptest::option::of(identity()).prop_map(|identity| Command::Get { identity }),
        (identity(), settings(true))
            .prop_map(|(identity, settings)| Command::Set { identity, settings }),
        (identity(), any::<bool>())
            .prop_map(|(identity, force)| Command::Remove { identity, force }),
        (principal(), proptest::option::of(policy_name())).prop_filter_map(
            "valid user",
            |(u, policy)| {
                UserId::new(&u)
                    .ok()
                    .map(|user| Command::Grant(GrantTarget::User { user, policy }))
            }
        ),
        (
            principal(),
            proptest::option::of((policy_name(), 1u32..=u32::MAX))
        )
            .prop_filter_map("valid group", |(g, a)| {
                let group = GroupId::new(&g).ok()?;
                let assignment = match a {
                    Some((p, r)) => Some((p, Rank::new(r)?)),
                    None => None,
                };
                Some(Command::Grant(GrantTarget::Group { group, assignment }))
            }),
        proptest::option::of(policy_name())
            .prop_map(|policy| Command::Grant(GrantTarget::TenantDefault { policy })),
        settings(true).prop_map(|s| Command::Grant(GrantTarget::GlobalSettings(s))),
    ]
}

/// How to write one command line.
#[derive(Debug, Clone)]
struct Style {
    case: u8,
    colon: bool,
    double_quotes: bool,
    quote_everything: bool,
    positional: bool,
    abbreviate: bool,
}

fn style() -> impl Strategy<Value = Style> {
    (
        0u8..3,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(case, colon, double_quotes, quote_everything, positional, abbreviate)| Style {
                case,
                colon,
                double_quotes,
                quote_everything,
                positional,
                abbreviate,
            },
        )
}

fn recase(s: &str, case: u8) -> String {
    match case {
        0 => s.to_owned(),
        1 => s.to_ascii_lowercase(),
        _ => s.to_ascii_uppercase(),
    }
}

fn is_single_quote(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{201b}')
}

fn write_value(value: &str, st: &Style) -> String {
    let bare_ok = !value.is_empty()
        && !value.starts_with(['-', '$', '#', '\u{2013}', '\u{2014}', '\u{2015}'])
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '_' | ':' | '-'));
    if bare_ok && !st.quote_everything {
        return value.to_owned();
    }
    if !st.double_quotes && !value.chars().any(is_single_quote) {
        return format!("'{value}'");
    }
    let mut out = String::from("\"");
    for c in value.chars() {
        if matches!(c, '`' | '"' | '\u{201c}' | '\u{201d}' | '\u{201e}') {
            out.push('`');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Abbreviations that are unique for each parameter.
fn abbreviation(param: &str) -> &str {
    match param {
        "Identity" => "Id",
        "CallingEndtoEndEncryptionEnabledType" => "Calling",
        "MeetingEndToEndEncryption" => "Meet",
        "Description" => "Desc",
        "PolicyName" => "Pol",
        "Group" => "Gro",
        "Rank" => "R",
        "Global" => "Glo",
        "Force" => "F",
        other => other,
    }
}

fn param(out: &mut String, name: &str, value: Option<&str>, st: &Style) {
    let name = if st.abbreviate {
        abbreviation(name)
    } else {
        name
    };
    out.push_str(" -");
    out.push_str(&recase(name, st.case));
    if let Some(v) = value {
        out.push_str(if st.colon { ":" } else { " " });
        out.push_str(v);
    }
}

fn write_settings(out: &mut String, s: &PolicySettings, st: &Style) {
    if let Some(c) = s.calling {
        param(
            out,
            "CallingEndtoEndEncryptionEnabledType",
            Some(&recase(c.as_str(), st.case)),
            st,
        );
    }
    if let Some(m) = s.meeting {
        param(
            out,
            "MeetingEndToEndEncryption",
            Some(&recase(m.as_str(), st.case)),
            st,
        );
    }
    if let Some(d) = &s.description {
        param(out, "Description", Some(&write_value(d, st)), st);
    }
}

fn null(st: &Style) -> String {
    recase("$null", st.case)
}

fn write_command(cmd: &Command, st: &Style) -> String {
    let mut out = recase(cmd.cmdlet().name(), st.case);
    let ident = |out: &mut String, id: &str| {
        if st.positional {
            out.push(' ');
            out.push_str(&write_value(id, st));
        } else {
            param(out, "Identity", Some(&write_value(id, st)), st);
        }
    };
    match cmd {
        // Not generated by this file's strategies (their round trip is in cmdlet_exec.rs).
        Command::SetComplianceRecording { .. } | Command::SetClientMinimum { .. } => {
            return cmd.to_string();
        }
        Command::New { name, settings } => {
            ident(&mut out, name.as_str());
            write_settings(&mut out, settings, st);
        }
        Command::Get { identity } => {
            if let Some(i) = identity {
                ident(&mut out, &i.to_string());
            }
        }
        Command::Set { identity, settings } => {
            ident(&mut out, &identity.to_string());
            write_settings(&mut out, settings, st);
        }
        Command::Remove { identity, force } => {
            ident(&mut out, &identity.to_string());
            if *force {
                param(&mut out, "Force", None, st);
            }
        }
        Command::Grant(GrantTarget::User { user, policy }) => {
            let p = policy
                .as_ref()
                .map_or_else(|| null(st), |p| write_value(&format!("Tag:{p}"), st));
            if st.positional {
                out.push(' ');
                out.push_str(&write_value(user.as_str(), st));
                out.push(' ');
                out.push_str(&p);
            } else {
                param(&mut out, "PolicyName", Some(&p), st);
                param(
                    &mut out,
                    "Identity",
                    Some(&write_value(user.as_str(), st)),
                    st,
                );
            }
        }
        Command::Grant(GrantTarget::Group { group, assignment }) => {
            if let Some((p, r)) = assignment {
                param(&mut out, "Rank", Some(&r.to_string()), st);
                param(
                    &mut out,
                    "PolicyName",
                    Some(&write_value(p.as_str(), st)),
                    st,
                );
            } else {
                param(&mut out, "PolicyName", Some(&null(st)), st);
            }
            param(
                &mut out,
                "Group",
                Some(&write_value(group.as_str(), st)),
                st,
            );
        }
        Command::Grant(GrantTarget::TenantDefault { policy }) => {
            let p = policy
                .as_ref()
                .map_or_else(|| null(st), |p| write_value(p.as_str(), st));
            param(&mut out, "PolicyName", Some(&p), st);
            if st.colon {
                param(&mut out, "Global", Some("$true"), st);
            } else {
                param(&mut out, "Global", None, st);
            }
        }
        Command::Grant(GrantTarget::GlobalSettings(settings)) => {
            param(&mut out, "Identity", Some(&write_value("Global", st)), st);
            write_settings(&mut out, settings, st);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_strings_never_panic(line in any::<String>()) {
        let _ = parse_command(&line);
    }

    #[test]
    fn cmdlet_shaped_noise_never_panics(
        words in proptest::collection::vec(
            prop_oneof![
                Just("Grant-CsTeamsEnhancedEncryptionPolicy".to_owned()),
                Just("Set-CsTeamsEnhancedEncryptionPolicy".to_owned()),
                Just("-Identity".to_owned()),
                Just("-PolicyName".to_owned()),
                Just("-Global".to_owned()),
                Just("-Global:".to_owned()),
                Just("-Group".to_owned()),
                Just("-Rank".to_owned()),
                Just("$null".to_owned()),
                Just("'".to_owned()),
                Just("\"".to_owned()),
                Just("`".to_owned()),
                Just("Global".to_owned()),
                "[ -~]{0,12}",
            ],
            0..10,
        )
    ) {
        let line = words.join(" ");
        if let Err(e) = parse_command(&line) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn valid_commands_in_any_style_parse_back(cmd in command(), st in style()) {
        let canonical = cmd.to_string();
        prop_assert_eq!(parse_command(&canonical), Ok(cmd.clone()), "canonical: {}", canonical);
        let styled = write_command(&cmd, &st);
        prop_assert_eq!(parse_command(&styled), Ok(cmd), "styled: {}", styled);
    }

    #[test]
    fn command_sequences_keep_the_executor_invariants(cmds in proptest::collection::vec(command(), 1..8)) {
        let script: Vec<String> = cmds.iter().map(ToString::to_string).collect();
        run_cmdlet_line(script.join("\n").as_bytes());
    }
}
