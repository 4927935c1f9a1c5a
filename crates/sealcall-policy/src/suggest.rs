//! "Did you mean …?" suggestions.

/// The candidate closest to `input` (case-insensitive), if it is close enough to be a plausible
/// typo: a Jaro-Winkler similarity of at least 0.8, or `input` being a prefix of exactly one
/// candidate.
pub(crate) fn nearest<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let needle = input.to_ascii_lowercase();
    if needle.is_empty() {
        return None;
    }
    let mut best: Option<(f64, &str)> = None;
    let mut prefix_hits = Vec::new();
    for candidate in candidates {
        let hay = candidate.to_ascii_lowercase();
        if hay.starts_with(&needle) {
            prefix_hits.push(candidate);
        }
        let score = strsim::jaro_winkler(&needle, &hay);
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, candidate));
        }
    }
    if let [only] = prefix_hits.as_slice() {
        return Some((*only).to_owned());
    }
    best.filter(|(score, _)| *score >= 0.8)
        .map(|(_, c)| c.to_owned())
}

#[cfg(test)]
mod tests {
    use super::nearest;

    #[test]
    fn suggests_close_and_prefix_matches_only() {
        let values = ["Disabled", "DisabledUserOverride", "Required"];
        assert_eq!(nearest("Disabeld", values).as_deref(), Some("Disabled"));
        assert_eq!(nearest("requird", values).as_deref(), Some("Required"));
        assert_eq!(
            nearest("DisabledU", values).as_deref(),
            Some("DisabledUserOverride")
        );
        assert_eq!(nearest("zzzzzz", values), None);
        assert_eq!(nearest("", values), None);
    }
}
