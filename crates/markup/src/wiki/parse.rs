//! Wiki markup → model.

use super::{EMOTICONS, PANEL_COLORS, ZWSP};
use crate::model::{
    Block, Cell, Document, Inline, List, ListItem, Mark, PanelKind, Raw, Table, normalize_inlines,
};

/// Parses Jira wiki markup. Any string is valid wiki markup; CRLF is read as LF.
pub fn parse(text: &str) -> Document {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut d = Document {
        blocks: blocks(&text),
    };
    d.normalize();
    d
}

/// The block macros, which span lines.
const BLOCK_MACROS: &[&str] = &["code", "noformat", "quote", "panel", "expand", "adf"];

/// `{name:params}` at the start of `s` for a block macro: (name, params, length of the tag).
fn macro_open(s: &str) -> Option<(&'static str, String, usize)> {
    let rest = s.strip_prefix('{')?;
    let close = rest.find('}')?;
    let tag = &rest[..close];
    let (name, params) = match tag.split_once(':') {
        Some((n, p)) => (n, p),
        None => (tag, ""),
    };
    let name = BLOCK_MACROS.iter().find(|m| m.eq_ignore_ascii_case(name))?;
    if params.contains('\n') {
        return None;
    }
    Some((name, params.to_owned(), close + 2))
}

/// Finds the closing `{name}` in `s`; for container macros, code bodies inside are skipped.
fn macro_close(s: &str, name: &str) -> Option<usize> {
    let closer = format!("{{{name}}}");
    let mut pos = 0;
    while pos < s.len() {
        let rest = &s[pos..];
        let next = rest.find('{')?;
        let at = pos + next;
        let here = &s[at..];
        if s[..at].ends_with('\\') {
            pos = at + 1;
            continue;
        }
        if here
            .get(..closer.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(&closer))
        {
            return Some(at);
        }
        if !matches!(name, "code" | "noformat" | "adf")
            && let Some((inner, _, len)) = macro_open(here)
            && matches!(inner, "code" | "noformat")
            && let Some(end) = macro_close(&here[len..], inner)
        {
            pos = at + len + end + inner.len() + 2;
            continue;
        }
        pos = at + 1;
    }
    None
}

fn params(p: &str) -> (Option<String>, Vec<(String, String)>) {
    let mut first = None;
    let mut kv = Vec::new();
    for (n, part) in p.split('|').enumerate() {
        match part.split_once('=') {
            Some((k, v)) => kv.push((k.trim().to_ascii_lowercase(), v.trim().to_owned())),
            None if n == 0 && !part.trim().is_empty() => first = Some(part.trim().to_owned()),
            None => {}
        }
    }
    (first, kv)
}

fn param<'a>(kv: &'a [(String, String)], key: &str) -> Option<&'a str> {
    kv.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn line_at(s: &str, pos: usize) -> &str {
    let rest = &s[pos..];
    &rest[..rest.find('\n').unwrap_or(rest.len())]
}

fn next_line(s: &str, pos: usize) -> usize {
    match s[pos..].find('\n') {
        Some(n) => pos + n + 1,
        None => s.len(),
    }
}

fn heading(line: &str) -> Option<(u8, &str)> {
    let b = line.as_bytes();
    if b.len() >= 4 && b[0] == b'h' && (b'1'..=b'6').contains(&b[1]) && b[2] == b'.' && b[3] == b' '
    {
        return Some((b[1] - b'0', &line[4..]));
    }
    None
}

/// A list item line: (marker, rest).
fn list_marker(line: &str) -> Option<(&str, &str)> {
    let n = line
        .bytes()
        .take_while(|b| *b == b'*' || *b == b'#')
        .count();
    if n > 0 && line[n..].starts_with(' ') {
        return Some((&line[..n], &line[n + 1..]));
    }
    if let Some(rest) = line.strip_prefix("- ") {
        return Some(("*", rest));
    }
    None
}

fn is_rule(line: &str) -> bool {
    line.trim() == "----"
}

/// A line that starts a block of its own (and so ends a paragraph).
fn starts_block(line: &str) -> bool {
    heading(line).is_some()
        || line.starts_with("bq. ")
        || is_rule(line)
        || list_marker(line).is_some()
        || line.starts_with('|')
        || macro_open(line).is_some()
}

fn blocks(s: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut para = String::new();
    let flush = |para: &mut String, out: &mut Vec<Block>| {
        if !para.is_empty() {
            out.push(paragraph_block(para));
            para.clear();
        }
    };
    while pos < s.len() {
        let line = line_at(s, pos);
        if line.trim().is_empty() {
            flush(&mut para, &mut out);
            pos = next_line(s, pos);
            continue;
        }
        if let Some((name, p, len)) = macro_open(line) {
            let body_start = pos + len;
            if let Some(end) = macro_close(&s[body_start..], name) {
                flush(&mut para, &mut out);
                let body = &s[body_start..body_start + end];
                out.extend(macro_block(name, &p, body));
                pos = body_start + end + name.len() + 2;
                if s[pos..].starts_with('\n') {
                    pos += 1;
                }
                continue;
            }
        }
        if !para.is_empty() && !starts_block(line) {
            para.push('\n');
            para.push_str(line);
            pos = next_line(s, pos);
            continue;
        }
        flush(&mut para, &mut out);
        if let Some((level, rest)) = heading(line) {
            out.push(Block::Heading {
                level,
                content: inlines(rest.trim()),
            });
            pos = next_line(s, pos);
        } else if let Some(rest) = line.strip_prefix("bq. ") {
            out.push(Block::Quote(vec![Block::Paragraph(inlines(rest))]));
            pos = next_line(s, pos);
        } else if is_rule(line) {
            out.push(Block::Rule);
            pos = next_line(s, pos);
        } else if list_marker(line).is_some() {
            let (list_blocks, end) = list(s, pos);
            out.extend(list_blocks);
            pos = end;
        } else if line.starts_with('|') {
            let mut rows = Vec::new();
            while pos < s.len() && line_at(s, pos).starts_with('|') {
                rows.push(row(line_at(s, pos)));
                pos = next_line(s, pos);
            }
            out.push(Block::Table(Table {
                alignments: Vec::new(),
                rows,
            }));
        } else {
            para.push_str(line);
            pos = next_line(s, pos);
        }
    }
    flush(&mut para, &mut out);
    out
}

/// A paragraph, or the block an `{adf}` macro alone on it holds.
fn paragraph_block(text: &str) -> Block {
    let inl = inlines(text);
    if let [Inline::Raw(r)] = inl.as_slice()
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(&r.adf)
        && !crate::adf::is_inline_type(&v)
        && let Some(b) = crate::adf::read_block(&v)
    {
        return b;
    }
    Block::Paragraph(inl)
}

fn trim_one_newline(s: &str) -> &str {
    let s = s.strip_prefix('\n').unwrap_or(s);
    s.strip_suffix('\n').unwrap_or(s)
}

fn macro_block(name: &str, p: &str, body: &str) -> Vec<Block> {
    let (first, kv) = params(p);
    let title = param(&kv, "title").filter(|t| !t.is_empty()).map(|t| {
        Block::Paragraph(vec![Inline::Text {
            text: t.to_owned(),
            marks: vec![Mark::Strong],
        }])
    });
    let mut out = Vec::new();
    match name {
        "code" | "noformat" => {
            out.extend(title);
            let language = if name == "noformat" {
                None
            } else {
                Some(
                    first
                        .or_else(|| param(&kv, "language").map(str::to_owned))
                        .unwrap_or_else(|| "java".to_owned()),
                )
            };
            let text = trim_one_newline(body)
                .replace(&format!("{{{ZWSP}code"), "{code")
                .replace(&format!("{{{ZWSP}noformat"), "{noformat");
            out.push(Block::CodeBlock { language, text });
        }
        "quote" => out.push(Block::Quote(blocks(body))),
        "panel" => {
            let kind = param(&kv, "bgcolor")
                .map(|c| c.to_ascii_lowercase())
                .and_then(|c| {
                    if c == "#ffffce" {
                        return Some(PanelKind::Warning);
                    }
                    PANEL_COLORS
                        .iter()
                        .find(|(_, hex)| *hex == c)
                        .map(|(k, _)| *k)
                })
                .unwrap_or(PanelKind::Info);
            let mut content: Vec<Block> = title.into_iter().collect();
            content.extend(blocks(body));
            out.push(Block::Panel { kind, content });
        }
        "expand" => out.push(Block::Expand {
            title: p.to_owned(),
            content: blocks(body),
        }),
        _ => match serde_json::from_str::<serde_json::Value>(body) {
            Ok(v) => out.extend(crate::adf::read_block(&v)),
            Err(_) => out.push(Block::Paragraph(vec![Inline::text(body)])),
        },
    }
    out
}

/// A run of list lines (with their continuation lines and block macros) from `pos`.
fn list(s: &str, mut pos: usize) -> (Vec<Block>, usize) {
    let mut items: Vec<(String, String)> = Vec::new();
    while pos < s.len() {
        let line = line_at(s, pos);
        if line.trim().is_empty() {
            break;
        }
        if let Some((marker, rest)) = list_marker(line) {
            let task = ["[ ] ", "[x] ", "[X] "].iter().any(|t| rest.starts_with(t));
            let start = pos + (line.len() - rest.len()) + if task { 4 } else { 0 };
            match take_macro(s, start) {
                Some(stop) => {
                    let from = if task { start - 4 } else { start };
                    items.push((marker.to_owned(), s[from..stop].to_owned()));
                    pos = skip_newline(s, stop);
                }
                None => {
                    items.push((marker.to_owned(), rest.to_owned()));
                    pos = next_line(s, pos);
                }
            }
            continue;
        }
        if heading(line).is_some()
            || line.starts_with("bq. ")
            || is_rule(line)
            || line.starts_with('|')
        {
            break;
        }
        let Some((_, text)) = items.last_mut() else {
            break;
        };
        if let Some(stop) = take_macro(s, pos) {
            text.push('\n');
            text.push_str(&s[pos..stop]);
            pos = skip_newline(s, stop);
            continue;
        }
        text.push('\n');
        text.push_str(line);
        pos = next_line(s, pos);
    }
    (build_lists(&items, 0), pos)
}

/// A block macro opening at `start`, taken whole: where it ends.
fn take_macro(s: &str, start: usize) -> Option<usize> {
    let (name, _, len) = macro_open(&s[start..])?;
    let end = macro_close(&s[start + len..], name)?;
    Some(start + len + end + name.len() + 2)
}

fn skip_newline(s: &str, pos: usize) -> usize {
    if s[pos..].starts_with('\n') {
        pos + 1
    } else {
        pos
    }
}

fn build_lists(items: &[(String, String)], depth: usize) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    let mut i = 0;
    while i < items.len() {
        let kind = items[i].0.as_bytes().get(depth).copied().unwrap_or(b'*');
        let mut list = List {
            start: (kind == b'#').then_some(1),
            items: Vec::new(),
        };
        while i < items.len() {
            let (marker, text) = &items[i];
            let k = marker.as_bytes().get(depth).copied().unwrap_or(b'*');
            if k != kind {
                break;
            }
            if marker.len() == depth + 1 {
                list.items.push(list_item(text));
                i += 1;
            } else {
                let start = i;
                while i < items.len()
                    && items[i].0.len() > depth + 1
                    && items[i].0.as_bytes()[depth] == kind
                {
                    i += 1;
                }
                let nested = build_lists(&items[start..i], depth + 1);
                match list.items.last_mut() {
                    Some(last) => last.content.extend(nested),
                    None => list.items.push(ListItem {
                        checked: None,
                        content: nested,
                    }),
                }
            }
        }
        out.push(Block::List(list));
    }
    out
}

fn list_item(text: &str) -> ListItem {
    for (prefix, done) in [("[ ] ", false), ("[x] ", true), ("[X] ", true)] {
        if let Some(rest) = text.strip_prefix(prefix) {
            return ListItem {
                checked: Some(done),
                content: blocks(rest),
            };
        }
    }
    let trimmed = text.trim_end();
    for (t, done) in [("[ ]", false), ("[x]", true), ("[X]", true)] {
        if trimmed == t {
            return ListItem {
                checked: Some(done),
                content: Vec::new(),
            };
        }
    }
    let mut content = blocks(text);
    if content.is_empty() {
        content.push(Block::Paragraph(Vec::new()));
    }
    ListItem {
        checked: None,
        content,
    }
}

/// One table row: cells split on `|` / `||` outside links, macros and escapes.
fn row(line: &str) -> Vec<Cell> {
    let chars: Vec<char> = line.chars().collect();
    let mut cells = Vec::new();
    let mut i = 0;
    while i < chars.len() && chars[i] == '|' {
        let header = chars.get(i + 1) == Some(&'|');
        i += if header { 2 } else { 1 };
        let start = i;
        let (mut bracket, mut brace) = (0i32, 0i32);
        while i < chars.len() {
            if chars[i] == '!'
                && let Some(close) = image_span(&chars, i, chars.len())
            {
                i = close + 1;
                continue;
            }
            match chars[i] {
                '\\' => i += 1,
                '[' => bracket += 1,
                ']' => bracket = (bracket - 1).max(0),
                '{' => brace += 1,
                '}' => brace = (brace - 1).max(0),
                '|' if bracket == 0 && brace == 0 => break,
                _ => {}
            }
            i += 1;
        }
        let end = i.min(chars.len());
        let text: String = chars[start..end].iter().collect();
        if i >= chars.len() && text.trim().is_empty() {
            break;
        }
        let inl = inlines(text.trim());
        let content = match inl.as_slice() {
            [Inline::Raw(r)] if r.adf.starts_with('[') => {
                raw_cell(&r.adf).unwrap_or_else(|| vec![Block::Paragraph(inl.clone())])
            }
            _ => vec![Block::Paragraph(inl)],
        };
        cells.push(Cell { header, content });
    }
    cells
}

fn raw_cell(json: &str) -> Option<Vec<Block>> {
    let nodes: serde_json::Value = serde_json::from_str(json).ok()?;
    crate::adf::parse(&serde_json::json!({"type": "doc", "content": nodes}))
        .ok()
        .map(|d| d.blocks)
}

/// Parses a run of inline markup.
pub(crate) fn inlines(s: &str) -> Vec<Inline> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    Inl {
        c: &chars,
        out: &mut out,
    }
    .run(0, chars.len(), &[]);
    normalize_inlines(&mut out);
    out
}

struct Inl<'a> {
    c: &'a [char],
    out: &'a mut Vec<Inline>,
}

/// The simple marks: delimiter → mark.
fn simple_mark(c: char) -> Option<Mark> {
    Some(match c {
        '*' => Mark::Strong,
        '_' => Mark::Em,
        '-' => Mark::Strike,
        '+' => Mark::Underline,
        '^' => Mark::Sup,
        '~' => Mark::Sub,
        _ => return None,
    })
}

fn starts_with(c: &[char], i: usize, pat: &str) -> bool {
    (i..).zip(pat.chars()).all(|(j, p)| c.get(j) == Some(&p))
}

/// The `}}` closing `{{monospace}}`: escapes and `{*}`-style delimiters inside are skipped.
fn code_close(c: &[char], from: usize, end: usize) -> Option<usize> {
    let mut j = from;
    while j + 1 < end {
        if c[j] == '\\' {
            j += 2;
            continue;
        }
        if c[j] == '{'
            && c.get(j + 2) == Some(&'}')
            && c.get(j + 1).is_some_and(|d| simple_mark(*d).is_some())
        {
            j += 3;
            continue;
        }
        // `{color:…}` and other macro tags inside.
        if c[j] == '{'
            && c.get(j + 1).is_some_and(char::is_ascii_alphabetic)
            && let Some(k) = (j + 1..end).find(|&k| c[k] == '}' || c[k] == '{' || c[k] == '\n')
            && c[k] == '}'
        {
            j = k + 1;
            continue;
        }
        if c[j] == '}' && c[j + 1] == '}' {
            return Some(j);
        }
        j += 1;
    }
    None
}

fn find(c: &[char], from: usize, end: usize, pat: &str) -> Option<usize> {
    (from..end).find(|&j| starts_with(c, j, pat) && (j == 0 || c[j - 1] != '\\'))
}

/// Where a simple mark opened at `i` closes (same line, the closer followed by a non-word char).
pub(crate) fn simple_span(c: &[char], i: usize, end: usize) -> Option<usize> {
    let d = c[i];
    simple_mark(d)?;
    let prev_ok = i == 0 || !c[i - 1].is_alphanumeric();
    let next = *c.get(i + 1)?;
    if !prev_ok || next.is_whitespace() || next == d || i + 1 >= end {
        return None;
    }
    let mut j = i + 2;
    while j < end {
        let ch = c[j];
        if ch == '\n' {
            return None;
        }
        if ch == '\\' {
            j += 2;
            continue;
        }
        if ch == d
            && !c[j - 1].is_whitespace()
            && c[j - 1] != d
            && c.get(j + 1).is_none_or(|n| !n.is_alphanumeric())
            && (j + 1 >= end || c[j + 1] != d)
        {
            return Some(j);
        }
        j += 1;
    }
    None
}

/// A link or mention `[…]` at `i`: (index of `]`, kind).
pub(crate) fn link_span(c: &[char], i: usize, end: usize) -> Option<(usize, LinkKind)> {
    if c.get(i) != Some(&'[') {
        return None;
    }
    let mut j = i + 1;
    let mut bar = None;
    while j < end {
        if c[j] == '!'
            && let Some(close) = image_span(c, j, end)
        {
            j = close + 1;
            continue;
        }
        match c[j] {
            '\n' | '[' => return None,
            '\\' => j += 1,
            '|' if bar.is_none() => bar = Some(j),
            ']' => break,
            _ => {}
        }
        j += 1;
    }
    if j >= end || j == i + 1 {
        return None;
    }
    let inner: String = c[i + 1..j].iter().collect();
    if let Some(id) = inner.strip_prefix('~') {
        if id.is_empty() || id.contains(char::is_whitespace) {
            return None;
        }
        return Some((j, LinkKind::Mention(id.to_owned())));
    }
    match bar {
        Some(b) => {
            let href: String = c[b + 1..j].iter().collect();
            let href = href.trim();
            if href.is_empty() || b == i + 1 {
                return None;
            }
            Some((
                j,
                LinkKind::Labelled {
                    label_end: b,
                    href: href.to_owned(),
                },
            ))
        }
        None if looks_like_url(&inner) => Some((j, LinkKind::Bare(inner.trim().to_owned()))),
        None => None,
    }
}

/// What a `[…]` holds.
pub(crate) enum LinkKind {
    /// `[~accountid:…]`
    Mention(String),
    /// `[text|href]`
    Labelled { label_end: usize, href: String },
    /// `[href]`
    Bare(String),
}

fn looks_like_url(s: &str) -> bool {
    let s = s.trim();
    !s.contains(char::is_whitespace)
        && (s.contains("://")
            || s.starts_with("mailto:")
            || (s.starts_with('#') && s.len() > 1)
            || s.starts_with("file:"))
}

/// A bare URL at `i` (Jira links them): its end.
pub(crate) fn url_span(c: &[char], i: usize, end: usize) -> Option<usize> {
    if i > 0 && (c[i - 1].is_alphanumeric() || matches!(c[i - 1], '/' | '[' | '|' | '!' | '=')) {
        return None;
    }
    let scheme = ["https://", "http://", "ftp://"]
        .into_iter()
        .find(|p| starts_with(c, i, p))?;
    let mut j = i + scheme.len();
    while j < end
        && !c[j].is_whitespace()
        && !matches!(c[j], '|' | ']' | '[' | '!' | '{' | '}' | '<' | '>' | '"')
    {
        j += 1;
    }
    while j > i + scheme.len()
        && matches!(
            c[j - 1],
            '.' | ',' | ';' | ':' | '?' | ')' | '\'' | '*' | '_' | '-' | '+' | '^' | '~'
        )
    {
        j -= 1;
    }
    (j > i + scheme.len()).then_some(j)
}

/// An image `!url|params!` at `i`: its closing `!`.
pub(crate) fn image_span(c: &[char], i: usize, end: usize) -> Option<usize> {
    if c.get(i) != Some(&'!') {
        return None;
    }
    let first = *c.get(i + 1)?;
    if first.is_whitespace() || first == '!' {
        return None;
    }
    let mut j = i + 1;
    let mut in_params = false;
    while j < end {
        match c[j] {
            '\n' => return None,
            '!' => return Some(j),
            '|' => in_params = true,
            ch if ch.is_whitespace() && !in_params => return None,
            _ => {}
        }
        j += 1;
    }
    None
}

/// The emoticon at `i`, if any: (length, index in [`EMOTICONS`]).
pub(crate) fn emoticon_at(c: &[char], i: usize) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    for (n, (wiki, ..)) in EMOTICONS.iter().enumerate() {
        if starts_with(c, i, wiki) {
            let len = wiki.chars().count();
            if wiki.starts_with([':', ';']) {
                if i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == ':') {
                    continue;
                }
                if c.get(i + len).is_some_and(|x| x.is_alphanumeric()) {
                    continue;
                }
            }
            if best.is_none_or(|(l, _)| len > l) {
                best = Some((len, n));
            }
        }
    }
    best
}

/// `--` / `---` standing between spaces at `i`: (length, dash).
pub(crate) fn dash_at(c: &[char], i: usize) -> Option<(usize, char)> {
    if i > 0 && !c[i - 1].is_whitespace() {
        return None;
    }
    for (pat, dash) in [("---", '\u{2014}'), ("--", '\u{2013}')] {
        let len = pat.len();
        if starts_with(c, i, pat) && c.get(i + len).is_none_or(|n| n.is_whitespace()) {
            return Some((len, dash));
        }
    }
    None
}

const NAMED_COLORS: &[(&str, &str)] = &[
    ("red", "#ff0000"),
    ("green", "#008000"),
    ("blue", "#0000ff"),
    ("black", "#000000"),
    ("white", "#ffffff"),
    ("yellow", "#ffff00"),
    ("orange", "#ffa500"),
    ("purple", "#800080"),
    ("gray", "#808080"),
    ("grey", "#808080"),
    ("silver", "#c0c0c0"),
    ("maroon", "#800000"),
    ("navy", "#000080"),
    ("teal", "#008080"),
    ("olive", "#808000"),
    ("lime", "#00ff00"),
    ("aqua", "#00ffff"),
    ("cyan", "#00ffff"),
    ("fuchsia", "#ff00ff"),
    ("magenta", "#ff00ff"),
    ("brown", "#a52a2a"),
    ("pink", "#ffc0cb"),
];

fn color_hex(name: &str) -> String {
    let n = name.trim().to_ascii_lowercase();
    NAMED_COLORS
        .iter()
        .find(|(k, _)| *k == n)
        .map(|(_, v)| (*v).to_owned())
        .unwrap_or(n)
}

impl Inl<'_> {
    fn text(&mut self, buf: &mut String, marks: &[Mark]) {
        if !buf.is_empty() {
            self.out.push(Inline::Text {
                text: std::mem::take(buf),
                marks: marks.to_vec(),
            });
        }
    }

    fn with(marks: &[Mark], m: Mark) -> Vec<Mark> {
        let mut v = marks.to_vec();
        v.push(m);
        v
    }

    fn run(&mut self, start: usize, end: usize, marks: &[Mark]) {
        let c = self.c;
        let mut buf = String::new();
        let mut i = start;
        while i < end {
            let ch = c[i];
            // Line breaks.
            if ch == '\\' && c.get(i + 1) == Some(&'\\') && i + 1 < end {
                self.text(&mut buf, marks);
                self.out.push(Inline::HardBreak);
                i += 2;
                continue;
            }
            if ch == '\n' {
                self.text(&mut buf, marks);
                self.out.push(Inline::HardBreak);
                i += 1;
                continue;
            }
            // Escapes and entities.
            if ch == '\\' && i + 1 < end && !c[i + 1].is_alphanumeric() && !c[i + 1].is_whitespace()
            {
                buf.push(c[i + 1]);
                i += 2;
                continue;
            }
            if ch == '&'
                && c.get(i + 1) == Some(&'#')
                && let Some(semi) = (i + 2..end.min(i + 10)).find(|&j| c[j] == ';')
                && let Ok(n) = c[i + 2..semi].iter().collect::<String>().parse::<u32>()
                && let Some(decoded) = char::from_u32(n)
            {
                buf.push(decoded);
                i = semi + 1;
                continue;
            }
            // Macros.
            if ch == '{' {
                if starts_with(c, i, "{{")
                    && let Some(close) = code_close(c, i + 2, end)
                    && close > i + 2
                {
                    self.text(&mut buf, marks);
                    self.run(i + 2, close, &Self::with(marks, Mark::Code));
                    i = close + 2;
                    continue;
                }
                if starts_with(c, i, "{color:")
                    && let Some(tag_end) = (i..end).find(|&j| c[j] == '}')
                    && let Some(close) = find(c, tag_end + 1, end, "{color}")
                {
                    self.text(&mut buf, marks);
                    let name: String = c[i + 7..tag_end].iter().collect();
                    let mut from = tag_end + 1;
                    let mut to = close;
                    if c.get(from) == Some(&'\n') {
                        from += 1;
                    }
                    if to > from && c[to - 1] == '\n' {
                        to -= 1;
                    }
                    self.run(from, to, &Self::with(marks, Mark::Color(color_hex(&name))));
                    i = close + 7;
                    continue;
                }
                if starts_with(c, i, "{adf}")
                    && let Some(close) = find(c, i + 5, end, "{adf}")
                {
                    let json: String = c[i + 5..close].iter().collect();
                    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&json) {
                        self.text(&mut buf, marks);
                        self.out.push(if v.is_array() {
                            Inline::Raw(Raw { adf: v.to_string() })
                        } else {
                            crate::adf::read_inline(&v)
                        });
                        i = close + 5;
                        continue;
                    }
                }
                if let Some(d) = c.get(i + 1).copied()
                    && c.get(i + 2) == Some(&'}')
                    && let Some(m) = simple_mark(d)
                {
                    let pat: String = ['{', d, '}'].iter().collect();
                    if let Some(close) = find(c, i + 3, end, &pat) {
                        self.text(&mut buf, marks);
                        self.run(i + 3, close, &Self::with(marks, m));
                        i = close + 3;
                        continue;
                    }
                }
            }
            // Links and mentions.
            if ch == '['
                && let Some((close, kind)) = link_span(c, i, end)
            {
                self.text(&mut buf, marks);
                match kind {
                    LinkKind::Mention(id) => self.out.push(Inline::Mention {
                        id,
                        text: String::new(),
                    }),
                    LinkKind::Bare(href) => {
                        let shown = href.strip_prefix("mailto:").unwrap_or(&href).to_owned();
                        self.out.push(Inline::Text {
                            text: shown,
                            marks: Self::with(marks, Mark::Link(href)),
                        });
                    }
                    LinkKind::Labelled { label_end, href } => {
                        let before = self.out.len();
                        self.run(
                            i + 1,
                            label_end,
                            &Self::with(marks, Mark::Link(href.clone())),
                        );
                        if self.out.len() == before + 1
                            && let Some(Inline::Image { href: h, .. }) = self.out.last_mut()
                        {
                            *h = Some(href);
                        }
                    }
                }
                i = close + 1;
                continue;
            }
            // Images.
            if ch == '!'
                && let Some(close) = image_span(c, i, end)
            {
                self.text(&mut buf, marks);
                let inner: String = c[i + 1..close].iter().collect();
                let (url, params) = inner.split_once('|').unwrap_or((&inner, ""));
                let alt = params
                    .split(',')
                    .find_map(|p| p.trim().strip_prefix("alt="))
                    .map(|a| a.trim_matches('"').to_owned())
                    .unwrap_or_default();
                self.out.push(Inline::Image {
                    url: url.trim().to_owned(),
                    alt,
                    href: None,
                });
                i = close + 1;
                continue;
            }
            // Citation: Atlassian's converter makes it emphasis prefixed with an em dash.
            if starts_with(c, i, "??")
                && (i == 0 || !c[i - 1].is_alphanumeric())
                && let Some(close) = find(c, i + 2, end, "??")
                && close > i + 2
                && !c[i + 2..close].contains(&'\n')
            {
                buf.push_str("");
                self.text(&mut buf, marks);
                let em = Self::with(marks, Mark::Em);
                self.out.push(Inline::Text {
                    text: "\u{2014} ".into(),
                    marks: em.clone(),
                });
                self.run(i + 2, close, &em);
                i = close + 2;
                continue;
            }
            if !marks.contains(&Mark::Code)
                && let Some((len, dash)) = dash_at(c, i)
            {
                buf.push(dash);
                i += len;
                continue;
            }
            if let Some(close) = simple_span(c, i, end) {
                self.text(&mut buf, marks);
                let m = simple_mark(ch).unwrap_or(Mark::Strong);
                self.run(i + 1, close, &Self::with(marks, m));
                i = close + 1;
                continue;
            }
            if let Some(stop) = url_span(c, i, end) {
                self.text(&mut buf, marks);
                let url: String = c[i..stop].iter().collect();
                self.out.push(Inline::Text {
                    text: url.clone(),
                    marks: Self::with(marks, Mark::Link(url)),
                });
                i = stop;
                continue;
            }
            if let Some((len, n)) = emoticon_at(c, i) {
                self.text(&mut buf, marks);
                let (_, short, id, text) = EMOTICONS[n];
                self.out.push(Inline::Emoji {
                    short_name: short.into(),
                    id: Some(id.into()),
                    text: Some(text.into()),
                });
                i += len;
                continue;
            }
            buf.push(ch);
            i += 1;
        }
        self.text(&mut buf, marks);
    }
}
