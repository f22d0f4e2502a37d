//! Parser for Java `.properties` text, the format of Kafka's `server.properties`.
//!
//! It handles what such files contain in practice: `key=value`, `key: value` and `key value`
//! separators, `#` and `!` comment lines, backslash line continuations and the common escapes.
//! It does not interpret keys or values; `config` does that.

/// A `key = value` pair with the 1-based line it started on, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// The key, unescaped.
    pub key: String,
    /// The value, unescaped, with leading white space removed.
    pub value: String,
    /// Line number (1-based) where the entry begins.
    pub line: usize,
}

/// Parses properties text. Later duplicates are kept: the caller decides (last one wins).
pub fn parse(text: &str) -> Vec<Property> {
    let mut res = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((index, first)) = lines.next() {
        let trimmed = first.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
            continue;
        }
        // Join continuation lines: an odd number of trailing backslashes continues the entry.
        let mut logical = String::from(trimmed);
        while ends_with_continuation(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start()),
                None => break,
            }
        }
        let (key, value) = split_entry(&logical);
        res.push(Property {
            key: unescape(key),
            value: unescape(value),
            line: index + 1,
        });
    }
    res
}

fn ends_with_continuation(line: &str) -> bool {
    line.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
}

/// Splits at the first unescaped `=`, `:` or white space; the separator's surrounding white
/// space belongs to neither side.
fn split_entry(line: &str) -> (&str, &str) {
    let mut escaped = false;
    for (position, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' | ':' => {
                let key = &line[..position];
                let value = &line[position + c.len_utf8()..];
                return (key.trim_end(), value.trim_start());
            }
            c if c.is_whitespace() => {
                let key = &line[..position];
                let mut rest = line[position..].trim_start();
                if let Some(stripped) = rest.strip_prefix(['=', ':']) {
                    rest = stripped.trim_start();
                }
                return (key, rest);
            }
            _ => {}
        }
    }
    (line, "")
}

fn unescape(text: &str) -> String {
    let mut res = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            res.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => res.push('\t'),
            Some('n') => res.push('\n'),
            Some('r') => res.push('\r'),
            Some('f') => res.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(decoded) => res.push(decoded),
                    // Not a valid escape: keep the text as written rather than guess.
                    None => {
                        res.push_str("\\u");
                        res.push_str(&hex);
                    }
                }
            }
            Some(other) => res.push(other),
            None => {}
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    #[track_caller]
    fn check(text: &str, expect: Expect) {
        let res: Vec<String> = super::parse(text)
            .into_iter()
            .map(|p| format!("{}:{}={:?}", p.line, p.key, p.value))
            .collect();
        expect.assert_debug_eq(&res);
    }

    #[test]
    fn separators_comments_and_blank_lines() {
        check(
            "# comment\n! also comment\n\nnode.id=1\nlog.dirs : /data\nnum.partitions 4\nempty=\nbare\n",
            expect![[r#"
                [
                    "4:node.id=\"1\"",
                    "5:log.dirs=\"/data\"",
                    "6:num.partitions=\"4\"",
                    "7:empty=\"\"",
                    "8:bare=\"\"",
                ]
            "#]],
        );
    }

    #[test]
    fn continuation_and_escapes() {
        check(
            "listeners=PLAINTEXT://a:1,\\\n    PLAINTEXT://b:2\nkey\\=with\\:seps = tab\\there \\u0041\ntrailing=backslash\\\\\nnext=1\n",
            expect![[r#"
                [
                    "1:listeners=\"PLAINTEXT://a:1,PLAINTEXT://b:2\"",
                    "3:key=with:seps=\"tab\\there A\"",
                    "4:trailing=\"backslash\\\\\"",
                    "5:next=\"1\"",
                ]
            "#]],
        );
    }
}
