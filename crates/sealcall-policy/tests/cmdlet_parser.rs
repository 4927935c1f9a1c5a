//! The cmdlet parser: every example of the reference verbatim, PowerShell conventions, and
//! malformed lines that must give errors naming the problem (never a panic).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::uid;
use sealcall_policy::*;

fn name(s: &str) -> PolicyName {
    PolicyName::new(s).unwrap()
}

#[test]
fn every_reference_example_parses_verbatim() {
    assert_eq!(
        parse_command("Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride").unwrap(),
        Command::Set {
            identity: PolicyIdentity::Global,
            settings: PolicySettings {
                calling: Some(CallingEncryptionType::DisabledUserOverride),
                ..PolicySettings::default()
            }
        }
    );
    assert_eq!(
        parse_command("Grant-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType Disabled").unwrap(),
        Command::Grant(GrantTarget::GlobalSettings(PolicySettings {
            calling: Some(CallingEncryptionType::Disabled),
            ..PolicySettings::default()
        }))
    );
    assert_eq!(
        parse_command(
            r#"Grant-CsTeamsEnhancedEncryptionPolicy -Identity "username" -PolicyName "policyname""#
        )
        .unwrap(),
        Command::Grant(GrantTarget::User {
            user: uid("username"),
            policy: Some(name("policyname"))
        })
    );
    assert_eq!(
        parse_command(r#"Grant-CsTeamsEnhancedEncryptionPolicy -Identity "kenmeyer@contoso.onmicrosoft.com" -PolicyName "ContosoE2EEUserPolicy""#).unwrap(),
        Command::Grant(GrantTarget::User {
            user: uid("kenmeyer@contoso.onmicrosoft.com"),
            policy: Some(name("ContosoE2EEUserPolicy"))
        })
    );
    assert_eq!(
        parse_command(r#"Grant-CsTeamsEnhancedEncryptionPolicy -Identity "kenmeyer@contoso.onmicrosoft.com" -PolicyName $NULL"#).unwrap(),
        Command::Grant(GrantTarget::User {
            user: uid("kenmeyer@contoso.onmicrosoft.com"),
            policy: None
        })
    );
}

#[test]
fn powershell_conventions() {
    let expected = Command::Grant(GrantTarget::User {
        user: uid("ken@contoso.com"),
        policy: Some(name("P1")),
    });
    for line in [
        "grant-csteamsenhancedencryptionpolicy -identity ken@contoso.com -policyname p1",
        "GRANT-CSTEAMSENHANCEDENCRYPTIONPOLICY -IDENTITY 'ken@contoso.com' -POLICYNAME 'Tag:P1'",
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity:ken@contoso.com -PolicyName:\"P1\"",
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity: ken@contoso.com -PolicyName: P1",
        "Grant-CsTeamsEnhancedEncryptionPolicy ken@contoso.com P1",
        "Grant-CsTeamsEnhancedEncryptionPolicy -PolicyName P1 ken@contoso.com",
        "Grant-CsTeamsEnhancedEncryptionPolicy -Ident ken@contoso.com -Pol P1",
        "  Grant-CsTeamsEnhancedEncryptionPolicy\t-Identity ken@contoso.com   -PolicyName P1  # a comment",
        // Pasted from a document with typographic dashes and quotes.
        "Grant-CsTeamsEnhancedEncryptionPolicy \u{2013}Identity \u{201c}ken@contoso.com\u{201d} \u{2013}PolicyName \u{2018}P1\u{2019}",
    ] {
        assert_eq!(parse_command(line).unwrap(), expected, "{line}");
    }
    for null in ["$null", "$NULL", "$Null"] {
        assert_eq!(
            parse_command(&format!(
                "Grant-CsTeamsEnhancedEncryptionPolicy -Global -PolicyName {null}"
            ))
            .unwrap(),
            Command::Grant(GrantTarget::TenantDefault { policy: None })
        );
    }
    assert_eq!(
        parse_command("Grant-CsTeamsEnhancedEncryptionPolicy -Global:$true -PolicyName P1")
            .unwrap(),
        Command::Grant(GrantTarget::TenantDefault {
            policy: Some(name("P1"))
        })
    );
    assert_eq!(
        parse_command("Remove-CsTeamsEnhancedEncryptionPolicy P1 -Force:$false").unwrap(),
        Command::Remove {
            identity: PolicyIdentity::Tag(name("P1")),
            force: false
        }
    );
    assert_eq!(
        parse_command("Set-CsTeamsEnhancedEncryptionPolicy -Description 'It''s ours' -MeetingEndToEndEncryption disableduseroverride").unwrap(),
        Command::Set {
            identity: PolicyIdentity::Global,
            settings: PolicySettings {
                meeting: Some(MeetingEncryptionType::DisabledUserOverride),
                description: Some("It's ours".to_owned()),
                ..PolicySettings::default()
            }
        }
    );
    assert_eq!(
        parse_command("Get-CsTeamsEnhancedEncryptionPolicy").unwrap(),
        Command::Get { identity: None }
    );
    assert_eq!(
        parse_command("Get-CsTeamsEnhancedEncryptionPolicy Tag:P1").unwrap(),
        Command::Get {
            identity: Some(PolicyIdentity::Tag(name("P1")))
        }
    );
    assert_eq!(
        parse_command(
            "Grant-CsTeamsEnhancedEncryptionPolicy -Group 'Contoso Staff' -PolicyName P1 -Rank 2"
        )
        .unwrap(),
        Command::Grant(GrantTarget::Group {
            group: GroupId::new("Contoso Staff").unwrap(),
            assignment: Some((name("P1"), Rank::new(2).unwrap()))
        })
    );
    assert_eq!(
        parse_command("New-CsTeamsEnhancedEncryptionPolicy -Identity P1 -CallingEndtoEndEncryptionEnabledType Required -Description $null").unwrap(),
        Command::New {
            name: name("P1"),
            settings: PolicySettings {
                calling: Some(CallingEncryptionType::Required),
                description: Some(String::new()),
                ..PolicySettings::default()
            }
        }
    );
}

fn err(line: &str) -> PolicyError {
    parse_command(line).expect_err(line)
}

#[test]
fn unbalanced_quotes() {
    assert!(matches!(
        err(
            r#"Grant-CsTeamsEnhancedEncryptionPolicy -Identity "kenmeyer@contoso.onmicrosoft.com -PolicyName P"#
        ),
        PolicyError::UnbalancedQuote {
            quote: '"',
            position: 48
        }
    ));
    assert!(matches!(
        err("Get-CsTeamsEnhancedEncryptionPolicy -Identity 'Global"),
        PolicyError::UnbalancedQuote { quote: '\'', .. }
    ));
}

#[test]
fn unknown_cmdlet_suggests_the_nearest() {
    let e = err("Grant-CsTeamsEnhancedEncryptionPolicyy -Identity Global");
    assert_eq!(
        e,
        PolicyError::UnknownCmdlet {
            name: "Grant-CsTeamsEnhancedEncryptionPolicyy".to_owned(),
            suggestion: Some("Grant-CsTeamsEnhancedEncryptionPolicy".to_owned())
        }
    );
    assert!(
        e.to_string()
            .contains("did you mean 'Grant-CsTeamsEnhancedEncryptionPolicy'")
    );
    assert!(matches!(
        err("Get-CsTeamsMeetingPolicy"),
        PolicyError::UnknownCmdlet { .. }
    ));
    assert!(matches!(
        err("-Identity Global"),
        PolicyError::UnknownCmdlet { .. }
    ));
    assert_eq!(err(""), PolicyError::EmptyCommand);
    assert_eq!(err("   # only a comment"), PolicyError::EmptyCommand);
}

#[test]
fn unknown_parameter_names_it_and_suggests_the_nearest() {
    // A prefix of exactly one parameter is accepted (as in PowerShell); a typo isn't.
    assert!(parse_command("Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndToEndEncryptionEnabled DisabledUserOverride").is_ok());
    let e = err(
        "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabeldType Disabled",
    );
    assert_eq!(
        e,
        PolicyError::UnknownParameter {
            cmdlet: "Set-CsTeamsEnhancedEncryptionPolicy".to_owned(),
            parameter: "CallingEndtoEndEncryptionEnabeldType".to_owned(),
            suggestion: Some("CallingEndtoEndEncryptionEnabledType".to_owned())
        }
    );
    assert!(
        e.to_string()
            .contains("-CallingEndtoEndEncryptionEnabeldType")
    );
    let e = err("Get-CsTeamsEnhancedEncryptionPolicy -Filter *");
    assert!(matches!(e, PolicyError::UnknownParameter { .. }));
    // -Rank is a Grant- parameter only.
    assert!(matches!(
        err("Set-CsTeamsEnhancedEncryptionPolicy -Rank 1"),
        PolicyError::UnknownParameter { .. }
    ));
}

#[test]
fn ambiguous_abbreviation_lists_the_candidates() {
    // Unique abbreviations are accepted.
    assert_eq!(
        parse_command(
            "New-CsTeamsEnhancedEncryptionPolicy -I P -M DisabledUserOverride -C Required -D x"
        )
        .unwrap(),
        Command::New {
            name: name("P"),
            settings: PolicySettings {
                calling: Some(CallingEncryptionType::Required),
                meeting: Some(MeetingEncryptionType::DisabledUserOverride),
                description: Some("x".to_owned()),
            }
        }
    );
    let e = err("Grant-CsTeamsEnhancedEncryptionPolicy -G sales -PolicyName P -Rank 1");
    assert_eq!(
        e,
        PolicyError::AmbiguousParameter {
            parameter: "G".to_owned(),
            candidates: vec!["-Group".to_owned(), "-Global".to_owned()]
        }
    );
}

#[test]
fn missing_values() {
    assert_eq!(
        err("Grant-CsTeamsEnhancedEncryptionPolicy -Identity ken@contoso.com -PolicyName"),
        PolicyError::MissingValue {
            parameter: "PolicyName".to_owned()
        }
    );
    assert_eq!(
        err(
            "Set-CsTeamsEnhancedEncryptionPolicy -Identity -CallingEndtoEndEncryptionEnabledType Disabled"
        ),
        PolicyError::MissingValue {
            parameter: "Identity".to_owned()
        }
    );
    assert!(matches!(
        err("Grant-CsTeamsEnhancedEncryptionPolicy -Global: -PolicyName P"),
        PolicyError::MissingValue { .. }
    ));
    assert!(matches!(
        err("Grant-CsTeamsEnhancedEncryptionPolicy -Identity ken@contoso.com"),
        PolicyError::MissingParameter { .. }
    ));
    assert!(matches!(
        err("Grant-CsTeamsEnhancedEncryptionPolicy -PolicyName P"),
        PolicyError::MissingParameter { .. }
    ));
    assert!(matches!(
        err("Grant-CsTeamsEnhancedEncryptionPolicy -Group sales -PolicyName P"),
        PolicyError::MissingParameter { .. }
    ));
    assert!(matches!(
        err("New-CsTeamsEnhancedEncryptionPolicy"),
        PolicyError::MissingParameter { .. }
    ));
    assert!(matches!(
        err("Remove-CsTeamsEnhancedEncryptionPolicy"),
        PolicyError::MissingParameter { .. }
    ));
    assert!(matches!(
        err("Set-CsTeamsEnhancedEncryptionPolicy -Identity Global"),
        PolicyError::MissingParameter { .. }
    ));
    assert!(matches!(
        err("Grant-CsTeamsEnhancedEncryptionPolicy -Identity Global"),
        PolicyError::MissingParameter { .. }
    ));
}

#[test]
fn invalid_values_name_the_parameter_and_suggest() {
    let e = err(
        "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOveride",
    );
    assert_eq!(
        e,
        PolicyError::InvalidValue {
            parameter: "CallingEndtoEndEncryptionEnabledType".to_owned(),
            value: "DisabledUserOveride".to_owned(),
            expected: "one of Disabled, DisabledUserOverride, Required, RequiredPostQuantum"
                .to_owned(),
            suggestion: Some("DisabledUserOverride".to_owned())
        }
    );
    assert_eq!(
        e.to_string(),
        "invalid value 'DisabledUserOveride' for -CallingEndtoEndEncryptionEnabledType: expected one of Disabled, DisabledUserOverride, Required, RequiredPostQuantum (did you mean 'DisabledUserOverride'?)"
    );
    assert!(matches!(
        err("Set-CsTeamsEnhancedEncryptionPolicy -MeetingEndToEndEncryption Required"),
        PolicyError::InvalidValue { .. }
    ));
    // $null is refused with the same list of the four values.
    match err("Set-CsTeamsEnhancedEncryptionPolicy -CallingEndtoEndEncryptionEnabledType $null") {
        PolicyError::InvalidValue { expected, .. } => assert_eq!(
            expected,
            "one of Disabled, DisabledUserOverride, Required, RequiredPostQuantum"
        ),
        other => panic!("unexpected {other:?}"),
    }
    for rank in ["0", "-1", "one", "1.5", "99999999999"] {
        assert!(
            matches!(
                err(&format!(
                    "Grant-CsTeamsEnhancedEncryptionPolicy -Group g -PolicyName P -Rank {rank}"
                )),
                PolicyError::InvalidValue { .. }
            ),
            "{rank}"
        );
    }
    assert!(matches!(
        err("Grant-CsTeamsEnhancedEncryptionPolicy -Global:maybe -PolicyName P"),
        PolicyError::InvalidValue { .. }
    ));
    let e = err("Grant-CsTeamsEnhancedEncryptionPolicy -Identity $user -PolicyName P");
    assert!(e.to_string().contains("variables aren't supported"), "{e}");
    assert!(matches!(
        err("Get-CsTeamsEnhancedEncryptionPolicy -Identity Site:Redmond"),
        PolicyError::InvalidName {
            problem: NameProblem::UnsupportedScope,
            ..
        }
    ));
}

#[test]
fn spaces_in_a_policy_name_are_rejected() {
    for line in [
        r#"New-CsTeamsEnhancedEncryptionPolicy -Identity "Contoso E2EE""#,
        "Set-CsTeamsEnhancedEncryptionPolicy -Identity 'Tag:Contoso E2EE' -Description x",
        r#"Grant-CsTeamsEnhancedEncryptionPolicy -Identity ken@contoso.com -PolicyName "Contoso E2EE""#,
        "Grant-CsTeamsEnhancedEncryptionPolicy -Group sales -PolicyName 'a b' -Rank 1",
    ] {
        let e = err(line);
        assert!(
            matches!(
                e,
                PolicyError::InvalidName {
                    problem: NameProblem::ContainsSpace,
                    ..
                }
            ),
            "{line}: {e:?}"
        );
    }
    // Unquoted, the second word is an extra argument.
    assert!(matches!(
        err("New-CsTeamsEnhancedEncryptionPolicy -Identity Contoso E2EE"),
        PolicyError::UnexpectedArgument { .. }
    ));
}

#[test]
fn conflicting_and_duplicate_parameters() {
    for line in [
        "Grant-CsTeamsEnhancedEncryptionPolicy -Global -Identity ken@contoso.com -PolicyName P",
        "Grant-CsTeamsEnhancedEncryptionPolicy -Global -Group g -PolicyName P",
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity ken@contoso.com -Group g -PolicyName P",
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity Global -PolicyName P",
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity ken@contoso.com -PolicyName P -CallingEndtoEndEncryptionEnabledType Disabled",
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity ken@contoso.com -PolicyName P -Rank 1",
        "Grant-CsTeamsEnhancedEncryptionPolicy -Group g -PolicyName $null -Rank 1",
        "Grant-CsTeamsEnhancedEncryptionPolicy -Global -PolicyName P -Rank 1",
    ] {
        assert!(
            matches!(err(line), PolicyError::ConflictingParameters { .. }),
            "{line}"
        );
    }
    let e = err("Grant-CsTeamsEnhancedEncryptionPolicy -Identity Global -PolicyName P");
    assert!(e.to_string().contains("-Global -PolicyName"), "{e}");
    assert_eq!(
        err("Get-CsTeamsEnhancedEncryptionPolicy -Identity A -identity B"),
        PolicyError::DuplicateParameter {
            parameter: "Identity".to_owned()
        }
    );
    assert!(matches!(
        err("Get-CsTeamsEnhancedEncryptionPolicy A B"),
        PolicyError::UnexpectedArgument { .. }
    ));
    assert!(matches!(
        err("New-CsTeamsEnhancedEncryptionPolicy -Identity Global"),
        PolicyError::PolicyAlreadyExists { .. }
    ));
}

#[test]
fn hostile_inputs_give_errors_with_short_messages() {
    let long = "x".repeat(100_000);
    let lines = [
        format!("Get-CsTeamsEnhancedEncryptionPolicy -Identity {long}"),
        format!("{long} -Identity Global"),
        format!("Set-CsTeamsEnhancedEncryptionPolicy -{long} 1"),
        format!("Set-CsTeamsEnhancedEncryptionPolicy -Description '{long}'"),
    ];
    for line in &lines {
        let e = parse_command(line).unwrap_err();
        assert!(e.to_string().len() < 400, "{}", e.to_string().len());
    }
    for line in [
        "\u{0}",
        "'",
        "\"",
        "`",
        "-",
        "--",
        "-:",
        "-a:'",
        "Get-CsTeamsEnhancedEncryptionPolicy `",
        "\u{202e}",
    ] {
        let _ = parse_command(line);
    }
}

#[test]
fn canonical_rendering_parses_back() {
    for line in [
        "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride",
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType Disabled",
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity \"kenmeyer@contoso.onmicrosoft.com\" -PolicyName $NULL",
        "Grant-CsTeamsEnhancedEncryptionPolicy -Group 'Contoso Staff' -PolicyName P1 -Rank 2",
        "New-CsTeamsEnhancedEncryptionPolicy -Identity P1 -Description 'say \"hi\" `now'",
        "Remove-CsTeamsEnhancedEncryptionPolicy -Identity P1 -Force",
        "Get-CsTeamsEnhancedEncryptionPolicy",
    ] {
        let command = parse_command(line).unwrap();
        let rendered = command.to_string();
        assert_eq!(parse_command(&rendered).unwrap(), command, "{rendered}");
    }
    assert_eq!(
        parse_command("grant-csteamsenhancedencryptionpolicy 'ken@contoso.com' $null")
            .unwrap()
            .to_string(),
        "Grant-CsTeamsEnhancedEncryptionPolicy -Identity ken@contoso.com -PolicyName $null"
    );
}
