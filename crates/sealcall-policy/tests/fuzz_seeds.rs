//! The seed inputs of the `cmdlet_parse` fuzz target, run as a normal test (the same function
//! the fuzz target calls, with its invariant checks).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sealcall_policy::fuzzing::run_cmdlet_line;

const SEEDS: &[&str] = &[
    "Set-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType DisabledUserOverride",
    "Grant-CsTeamsEnhancedEncryptionPolicy -Identity Global -CallingEndtoEndEncryptionEnabledType Disabled",
    "Grant-CsTeamsEnhancedEncryptionPolicy -Identity \"username\" -PolicyName \"policyname\"",
    "Grant-CsTeamsEnhancedEncryptionPolicy -Identity \"kenmeyer@contoso.onmicrosoft.com\" -PolicyName \"ContosoE2EEUserPolicy\"",
    "Grant-CsTeamsEnhancedEncryptionPolicy -Identity \"kenmeyer@contoso.onmicrosoft.com\" -PolicyName $NULL",
    "Get-CsTeamsEnhancedEncryptionPolicy",
    "New-CsTeamsEnhancedEncryptionPolicy -Identity policyname -CallingEndtoEndEncryptionEnabledType Required\nGrant-CsTeamsEnhancedEncryptionPolicy -Identity username -PolicyName policyname\nRemove-CsTeamsEnhancedEncryptionPolicy -Identity policyname\nRemove-CsTeamsEnhancedEncryptionPolicy -Identity policyname -Force",
    "Remove-CsTeamsEnhancedEncryptionPolicy -Identity ContosoE2EEUserPolicy -Force\nGet-CsTeamsEnhancedEncryptionPolicy",
    "Grant-CsTeamsEnhancedEncryptionPolicy -Group 'Contoso Staff' -PolicyName ContosoE2EEUserPolicy -Rank 1",
    "Grant-CsTeamsEnhancedEncryptionPolicy -Group 'Contoso Staff' -PolicyName ContosoE2EEUserPolicy -Rank 2",
    "Grant-CsTeamsEnhancedEncryptionPolicy -Global -PolicyName ContosoE2EEUserPolicy\nSet-CsTeamsEnhancedEncryptionPolicy -Description x",
    "Grant-CsTeamsEnhancedEncryptionPolicy -Global:$false -Group sales -PolicyName $null",
    "New-CsTeamsEnhancedEncryptionPolicy -Identity \"Contoso E2EE\"",
    "Set-CsTeamsEnhancedEncryptionPolicy -Identity 'Global",
    "Set-CsTeamsEnhancedEncryptionPolicy -Identity \"Global`",
    "-Identity",
    "-",
    "- -: -:'' -x:\"\"",
    "Grant-CsTeamsEnhancedEncryptionPolicy -Rank 0 -Rank 4294967296",
    "Grant-CsTeamsEnhancedEncryptionPolicy '$null' $null",
    "Grant-CsTeamsEnhancedEncryptionPolicy \"$null\" ContosoE2EEUserPolicy",
    "Get-CsTeamsEnhancedEncryptionPolicy \u{2013}Identity \u{201c}Global\u{201d}",
    "Set-CsTeamsEnhancedEncryptionPolicy -Description '\u{2019}\u{2019}' -Desc x",
    "Set-CsTeamsEnhancedEncryptionPolicy -Description \"a`\u{201d}b\"",
    "\u{feff}Get-CsTeamsEnhancedEncryptionPolicy",
    "Get-CsTeamsEnhancedEncryptionPolicy # trailing comment 'unbalanced",
    "Tag:Global",
    "Get-CsTeamsEnhancedEncryptionPolicy -Identity Tag:",
    "Get-CsTeamsEnhancedEncryptionPolicy -Identity ::::",
    "Set-SealcallComplianceRecording -Organization -Enabled $true\nSet-SealcallComplianceRecording -Identity username -Enabled $false",
    "Set-SealcallComplianceRecording -Identity ghost -Organization:$false -Enabled $true",
    "Set-SealcallClientRequirements -MinimumVersion 2\nSet-SealcallClientRequirements -Platform ios -MinimumVersion 99999999999",
    "Set-SealcallClientRequirements -Platform Web -MinimumVersion $null -MinimumVersion 1",
];

#[test]
fn fuzz_seeds_hold_every_invariant() {
    for seed in SEEDS {
        run_cmdlet_line(seed.as_bytes());
    }
}

#[test]
fn invalid_utf8_and_odd_bytes_hold_every_invariant() {
    let inputs: [&[u8]; 6] = [
        b"",
        b"\xff\xfe\xfd",
        b"Get-CsTeamsEnhancedEncryptionPolicy -Identity \xc3\x28",
        b"\x00\x00\x00",
        b"\r\n\r\n\n",
        b"Set-CsTeamsEnhancedEncryptionPolicy -Description '\x80'",
    ];
    for input in inputs {
        run_cmdlet_line(input);
    }
    let long = "Grant-CsTeamsEnhancedEncryptionPolicy -Identity ".to_owned() + &"a".repeat(70_000);
    run_cmdlet_line(long.as_bytes());
}
