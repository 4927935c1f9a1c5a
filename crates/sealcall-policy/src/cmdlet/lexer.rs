//! Splits a PowerShell-style command line into words.
//!
//! Supported: whitespace-separated words; single quotes (literal, `''` for a quote); double
//! quotes (`""` or `` `" `` for a quote, backtick escapes, no variable expansion); the
//! typographic quotes and dashes PowerShell also accepts (so lines pasted from documents work);
//! `-Name`, `-Name:Value` and `-Name: Value`; a `#` comment at the start of a word.

use crate::error::PolicyError;

/// A value word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Value {
    /// The text with quotes and escapes removed.
    pub text: String,
    /// Whether any part of it was quoted (a quoted `'$null'` is the text `$null`, not null).
    pub quoted: bool,
}

impl Value {
    /// Unquoted `$null` (any case).
    pub fn is_null(&self) -> bool {
        !self.quoted && self.text.eq_ignore_ascii_case("$null")
    }

    /// Unquoted `$true` / `$false` (any case).
    pub fn as_bool(&self) -> Option<bool> {
        if self.quoted {
            None
        } else if self.text.eq_ignore_ascii_case("$true") {
            Some(true)
        } else if self.text.eq_ignore_ascii_case("$false") {
            Some(false)
        } else {
            None
        }
    }

    /// An unquoted `$name` other than the three constants: a variable, which isn't supported.
    pub fn is_variable(&self) -> bool {
        !self.quoted && self.text.starts_with('$') && !self.is_null() && self.as_bool().is_none()
    }
}

/// One word of a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Word {
    /// `-Name`, `-Name:Value` or `-Name:` (value in the next word).
    Param {
        /// The name as typed, without the dash.
        name: String,
        /// Whether a colon followed the name.
        colon: bool,
        /// The value after the colon in the same word.
        value: Option<Value>,
    },
    /// Anything else.
    Value(Value),
}

fn is_dash(c: char) -> bool {
    matches!(c, '-' | '\u{2013}' | '\u{2014}' | '\u{2015}')
}

fn is_single_quote(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{201b}')
}

fn is_double_quote(c: char) -> bool {
    matches!(c, '"' | '\u{201c}' | '\u{201d}' | '\u{201e}')
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn at_word_end(&self) -> bool {
        self.peek().is_none_or(char::is_whitespace)
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn escape(c: char) -> char {
        match c {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            '0' => '\0',
            other => other,
        }
    }

    /// Reads a value word from the current position to the next unquoted whitespace.
    fn value(&mut self) -> Result<Value, PolicyError> {
        let mut text = String::new();
        let mut quoted = false;
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                break;
            }
            let start = self.pos;
            self.pos += 1;
            if is_single_quote(c) {
                quoted = true;
                loop {
                    match self.peek() {
                        None => {
                            return Err(PolicyError::UnbalancedQuote {
                                quote: '\'',
                                position: start,
                            });
                        }
                        Some(q) if is_single_quote(q) => {
                            self.pos += 1;
                            if self.peek().is_some_and(is_single_quote) {
                                text.push('\'');
                                self.pos += 1;
                            } else {
                                break;
                            }
                        }
                        Some(other) => {
                            text.push(other);
                            self.pos += 1;
                        }
                    }
                }
            } else if is_double_quote(c) {
                quoted = true;
                loop {
                    match self.peek() {
                        None => {
                            return Err(PolicyError::UnbalancedQuote {
                                quote: '"',
                                position: start,
                            });
                        }
                        Some('`') => {
                            self.pos += 1;
                            if let Some(next) = self.peek() {
                                text.push(Self::escape(next));
                                self.pos += 1;
                            }
                        }
                        Some(q) if is_double_quote(q) => {
                            self.pos += 1;
                            if self.peek().is_some_and(is_double_quote) {
                                text.push('"');
                                self.pos += 1;
                            } else {
                                break;
                            }
                        }
                        Some(other) => {
                            text.push(other);
                            self.pos += 1;
                        }
                    }
                }
            } else if c == '`' {
                if let Some(next) = self.peek() {
                    text.push(Self::escape(next));
                    self.pos += 1;
                }
            } else {
                text.push(c);
            }
        }
        Ok(Value { text, quoted })
    }

    /// Reads `-Name`, `-Name:` or `-Name:Value` (the dash is at the current position).
    fn param(&mut self) -> Result<Word, PolicyError> {
        self.pos += 1;
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if c.is_whitespace() || c == ':' {
                break;
            }
            name.push(c);
            self.pos += 1;
        }
        let mut colon = false;
        let mut value = None;
        if self.peek() == Some(':') {
            colon = true;
            self.pos += 1;
            if !self.at_word_end() {
                value = Some(self.value()?);
            }
        }
        Ok(Word::Param { name, colon, value })
    }
}

/// Splits `line` into words.
pub(crate) fn lex(line: &str) -> Result<Vec<Word>, PolicyError> {
    let mut lexer = Lexer {
        chars: line.chars().collect(),
        pos: 0,
    };
    let mut words = Vec::new();
    loop {
        lexer.skip_whitespace();
        let Some(c) = lexer.peek() else { break };
        if c == '#' {
            break;
        }
        // A dash followed by a letter or underscore starts a parameter; `-1` is a value.
        let starts_param = is_dash(c)
            && lexer
                .peek_at(1)
                .is_some_and(|n| n.is_alphabetic() || n == '_');
        if starts_param {
            words.push(lexer.param()?);
        } else {
            words.push(Word::Value(lexer.value()?));
        }
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str, quoted: bool) -> Word {
        Word::Value(Value {
            text: text.to_owned(),
            quoted,
        })
    }

    #[test]
    fn words_quotes_and_params() {
        let words =
            lex(r#"Grant-X -Identity "ken meyer" -PolicyName:'It''s' -Global:$false -Rank: 2 # c"#)
                .unwrap();
        assert_eq!(
            words,
            vec![
                v("Grant-X", false),
                Word::Param {
                    name: "Identity".into(),
                    colon: false,
                    value: None
                },
                v("ken meyer", true),
                Word::Param {
                    name: "PolicyName".into(),
                    colon: true,
                    value: Some(Value {
                        text: "It's".into(),
                        quoted: true
                    })
                },
                Word::Param {
                    name: "Global".into(),
                    colon: true,
                    value: Some(Value {
                        text: "$false".into(),
                        quoted: false
                    })
                },
                Word::Param {
                    name: "Rank".into(),
                    colon: true,
                    value: None
                },
                v("2", false),
            ]
        );
    }

    #[test]
    fn escapes_and_typographic_quotes() {
        assert_eq!(lex("\"a`\"b\"\"c\"").unwrap(), vec![v("a\"b\"c", true)]);
        assert_eq!(
            lex("\u{2013}Identity \u{201c}x\u{201d}").unwrap(),
            vec![
                Word::Param {
                    name: "Identity".into(),
                    colon: false,
                    value: None
                },
                v("x", true)
            ]
        );
        assert_eq!(lex("-1").unwrap(), vec![v("-1", false)]);
        assert_eq!(lex("a'b c'd").unwrap(), vec![v("ab cd", true)]);
    }

    #[test]
    fn unbalanced_quotes_are_errors() {
        assert_eq!(
            lex("x 'abc"),
            Err(PolicyError::UnbalancedQuote {
                quote: '\'',
                position: 2
            })
        );
        assert!(matches!(
            lex("x \"abc`\""),
            Err(PolicyError::UnbalancedQuote { quote: '"', .. })
        ));
        assert!(matches!(
            lex("-Identity:\"abc"),
            Err(PolicyError::UnbalancedQuote { .. })
        ));
    }

    #[test]
    fn null_bool_and_variables() {
        let null = Value {
            text: "$NULL".into(),
            quoted: false,
        };
        assert!(null.is_null());
        let quoted_null = Value {
            text: "$null".into(),
            quoted: true,
        };
        assert!(!quoted_null.is_null());
        assert!(!quoted_null.is_variable());
        let var = Value {
            text: "$policy".into(),
            quoted: false,
        };
        assert!(var.is_variable());
    }
}
