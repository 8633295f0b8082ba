//! Model → wiki markup.

use super::parse::{
    dash_at, emoticon_at, image_span, inlines as parse_inlines, link_span, simple_span, url_span,
};
use super::{CODE_LANGUAGES, EMOTICONS, PANEL_COLORS, ZWSP};
use crate::model::{Block, Cell, Document, Inline, List, Mark, Table, normalize_inlines};

/// Writes a document as Jira wiki markup. Text is escaped only where the parser would
/// read markup; a paragraph that does not parse back the same is written again with
/// every special character escaped, then with `{*}`-style delimiters.
pub fn write(doc: &Document) -> String {
    blocks(&doc.blocks)
}

fn blocks(bs: &[Block]) -> String {
    bs.iter()
        .map(block)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn block(b: &Block) -> String {
    match b {
        Block::Paragraph(p) => paragraph(p, Ctx::Block),
        Block::Heading { level, content } => format!(
            "h{}. {}",
            level.clamp(&1, &6),
            paragraph(content, Ctx::Line)
        ),
        Block::List(l) => list(l, ""),
        Block::CodeBlock { language, text } => code(language.as_deref(), text),
        Block::Quote(c) => {
            // A quote of one paragraph inside a quote is a `bq.` line; deeper ones travel as ADF.
            let is_quote = |b: &Block| matches!(b, Block::Quote(_));
            let inner: Vec<String> = c
                .iter()
                .map(|b| match b {
                    Block::Quote(q)
                        if let [Block::Paragraph(p)] = q.as_slice()
                            && !p.iter().any(|i| match i {
                                Inline::HardBreak | Inline::Raw(_) => true,
                                Inline::Text { text, .. } => text.contains('\n'),
                                Inline::Emoji { .. } => emoticon_for(i).is_none(),
                                _ => false,
                            }) =>
                    {
                        format!("bq. {}", paragraph(p, Ctx::Line))
                    }
                    other => block(&as_raw_where(other, is_quote)),
                })
                .filter(|s| !s.is_empty())
                .collect();
            format!("{{quote}}{}{{quote}}", inner.join("\n\n"))
        }
        Block::Panel { kind, content } => {
            let color = PANEL_COLORS
                .iter()
                .find(|(k, _)| k == kind)
                .map(|(_, c)| *c)
                .unwrap_or("#deebff");
            let inner = blocks_nested(content, |b| matches!(b, Block::Panel { .. }));
            format!("{{panel:bgColor={color}}}\n{inner}\n{{panel}}")
        }
        Block::Expand { title, content } => {
            let title: String = title
                .chars()
                .filter(|c| !matches!(c, '}' | '\n' | '\r'))
                .collect();
            let inner = blocks_nested(content, |b| matches!(b, Block::Expand { .. }));
            format!("{{expand:{title}}}\n{inner}\n{{expand}}")
        }
        Block::Rule => "----".into(),
        Block::Table(t) => table(t),
        Block::Raw(r) => format!("{{adf}}{}{{adf}}", quote_json(&r.adf)),
    }
}

/// Blocks inside a macro; a block that would open the same macro again travels as ADF
/// (wiki markup cannot nest a macro in itself).
fn blocks_nested(bs: &[Block], same: impl Fn(&Block) -> bool + Copy) -> String {
    let inner: Vec<Block> = bs.iter().map(|b| as_raw_where(b, same)).collect();
    blocks(&inner)
}

/// `b` with every block inside it (or itself) that matches `same` replaced by raw ADF.
fn as_raw_where(b: &Block, same: impl Fn(&Block) -> bool + Copy) -> Block {
    if same(b) {
        return Block::Raw(crate::Raw {
            adf: crate::adf::write_block_node(b).to_string(),
        });
    }
    let map = |bs: &[Block]| bs.iter().map(|x| as_raw_where(x, same)).collect::<Vec<_>>();
    match b {
        Block::List(l) => Block::List(List {
            start: l.start,
            items: l
                .items
                .iter()
                .map(|i| crate::ListItem {
                    checked: i.checked,
                    content: map(&i.content),
                })
                .collect(),
        }),
        Block::Quote(c) => Block::Quote(map(c)),
        Block::Panel { kind, content } => Block::Panel {
            kind: *kind,
            content: map(content),
        },
        Block::Expand { title, content } => Block::Expand {
            title: title.clone(),
            content: map(content),
        },
        Block::Table(t) => Block::Table(Table {
            alignments: t.alignments.clone(),
            rows: t
                .rows
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|c| Cell {
                            header: c.header,
                            content: map(&c.content),
                        })
                        .collect()
                })
                .collect(),
        }),
        other => other.clone(),
    }
}

fn raw_block(b: &Block) -> String {
    format!(
        "{{adf}}{}{{adf}}",
        quote_json(&crate::adf::write_block_node(b).to_string())
    )
}

/// Escapes wiki-special characters inside JSON strings, so a `{adf}` macro stays one token.
fn quote_json(json: &str) -> String {
    let mut out = String::new();
    let (mut in_str, mut esc) = (false, false);
    for c in json.chars() {
        if in_str {
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                in_str = false;
            } else if matches!(c, '{' | '}' | '|' | '[' | ']' | '!' | '\n') {
                out.push_str(&format!("\\u{:04x}", c as u32));
                continue;
            }
        } else if c == '"' {
            in_str = true;
        }
        out.push(c);
    }
    out
}

/// Paragraphs next to each other in a list item are one paragraph in wiki markup (a blank
/// line would end the list): merged here, with a line break, so the item reads back alike.
fn merge_paragraphs(blocks: &[Block]) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    for b in blocks {
        if let (Some(Block::Paragraph(prev)), Block::Paragraph(p)) = (out.last_mut(), b) {
            if !prev.is_empty() && !p.is_empty() {
                prev.push(Inline::HardBreak);
            }
            prev.extend(p.iter().cloned());
            continue;
        }
        out.push(b.clone());
    }
    out
}

fn code(language: Option<&str>, text: &str) -> String {
    let lang = language.filter(|l| CODE_LANGUAGES.contains(&l.to_ascii_lowercase().as_str()));
    let (open, name) = match lang {
        Some(l) => (format!("{{code:{l}}}"), "code"),
        None => ("{noformat}".to_owned(), "noformat"),
    };
    let mut body = text
        .replace("{code", &format!("{{{ZWSP}code"))
        .replace("{noformat", &format!("{{{ZWSP}noformat"));
    if body.starts_with('\n') {
        body.insert(0, '\n');
    }
    if body.ends_with('\n') {
        body.push('\n');
    }
    format!("{open}{body}{{{name}}}")
}

fn list(l: &List, prefix: &str) -> String {
    let p = format!("{prefix}{}", if l.start.is_some() { '#' } else { '*' });
    let mut lines: Vec<String> = Vec::new();
    for item in &l.items {
        let mut head = format!("{p} ");
        match item.checked {
            Some(true) => head.push_str("[x] "),
            Some(false) => head.push_str("[ ] "),
            None => {}
        }
        let body: Vec<String> = merge_paragraphs(&item.content)
            .iter()
            .filter(|b| !matches!(b, Block::List(_)))
            .map(|b| match b {
                // A list item's lines cannot hold these; they travel as ADF.
                Block::Table(_) | Block::Heading { .. } | Block::Rule => raw_block(b),
                other => block(other),
            })
            .filter(|s| !s.is_empty())
            .collect();
        let mut body = body.join("\n");
        if item.checked.is_none() && ["[ ]", "[x]", "[X]"].iter().any(|t| body.starts_with(t)) {
            body.insert(0, '\\');
        }
        lines.push(format!("{head}{body}"));
        for b in &item.content {
            if let Block::List(nested) = b {
                lines.push(list(nested, &p));
            }
        }
    }
    lines.join("\n")
}

fn table(t: &Table) -> String {
    t.rows
        .iter()
        .map(|row| {
            let mut s = String::new();
            for c in row {
                let sep = if c.header { "||" } else { "|" };
                s.push_str(sep);
                s.push_str(&cell(c));
            }
            s.push_str(if row.last().is_some_and(|c| c.header) {
                "||"
            } else {
                "|"
            });
            s
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn cell(c: &Cell) -> String {
    let s = match c.content.as_slice() {
        [] => String::new(),
        [Block::Paragraph(p)] if !p.iter().any(|i| matches!(i, Inline::Raw(_))) => {
            paragraph(p, Ctx::Cell)
        }
        other => format!(
            "{{adf}}{}{{adf}}",
            quote_json(&crate::adf::write_fragment(other).to_string())
        ),
    };
    if s.trim().is_empty() { " ".into() } else { s }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// A paragraph: line breaks as newlines.
    Block,
    /// One line (heading): breaks as `\\`.
    Line,
    /// A table cell: one line, `|` escaped.
    Cell,
}

#[derive(Clone, Copy)]
struct Style {
    full: bool,
    braced: bool,
}

fn paragraph(p: &[Inline], ctx: Ctx) -> String {
    // What wiki markup can hold: newlines are breaks, and an emoji that is not a Jira
    // emoticon is its character.
    let flat = crate::model::newlines_as_breaks(p);
    let edge = |i: Option<&Inline>, last: bool| match i {
        Some(Inline::Text { text, .. }) => {
            if last {
                text.chars().last()
            } else {
                text.chars().next()
            }
        }
        _ => None,
    };
    let mut want: Vec<Inline> = Vec::new();
    for (k, i) in flat.iter().enumerate() {
        let Inline::Emoji {
            text, short_name, ..
        } = i
        else {
            want.push(i.clone());
            continue;
        };
        // `:)` and `;)` are emoticons only apart from letters and digits (as the parser reads).
        let wiki = emoticon_for(i);
        let squeezed = wiki.is_some_and(|w| w.starts_with([':', ';']))
            && (edge(k.checked_sub(1).and_then(|n| flat.get(n)), true)
                .is_some_and(|c| c.is_alphanumeric() || c == ':')
                || edge(flat.get(k + 1), false).is_some_and(char::is_alphanumeric));
        if wiki.is_none() || squeezed {
            let t = text
                .clone()
                .filter(|t| !t.starts_with(':'))
                .unwrap_or_else(|| short_name.clone());
            want.push(Inline::Text {
                text: t,
                marks: Vec::new(),
            });
        } else {
            want.push(i.clone());
        }
    }
    normalize_inlines(&mut want);
    while matches!(want.last(), Some(Inline::HardBreak)) {
        want.pop();
    }
    let styles = [
        Style {
            full: false,
            braced: false,
        },
        Style {
            full: true,
            braced: false,
        },
        Style {
            full: true,
            braced: true,
        },
    ];
    let mut last = String::new();
    for st in styles {
        last = render(&want, ctx, st);
        if reads_back(&last, &want, ctx) {
            return last;
        }
    }
    last
}

/// Whether `s`, written in `ctx`, parses back to `want` (as a whole paragraph, heading or
/// cell, so block markup at the start of a line is caught too).
fn reads_back(s: &str, want: &[Inline], ctx: Ctx) -> bool {
    match ctx {
        Ctx::Cell => parse_inlines(s.trim()) == want,
        Ctx::Line => match crate::wiki::parse(&format!("h1. {s}")).blocks.as_slice() {
            [Block::Heading { content, .. }] => content == want,
            _ => false,
        },
        Ctx::Block => match crate::wiki::parse(s).blocks.as_slice() {
            [Block::Paragraph(p)] => p == want,
            [] => want.is_empty(),
            _ => false,
        },
    }
}

fn mark_open(m: &Mark, st: Style) -> String {
    let d = match m {
        Mark::Link(_) => return "[".into(),
        Mark::Code => return "{{".into(),
        Mark::Color(c) => {
            let c: String = c
                .chars()
                .filter(|ch| ch.is_ascii_alphanumeric() || *ch == '#')
                .collect();
            return format!("{{color:{c}}}");
        }
        Mark::Strong => '*',
        Mark::Em => '_',
        Mark::Strike => '-',
        Mark::Underline => '+',
        Mark::Sup => '^',
        Mark::Sub => '~',
    };
    if st.braced {
        format!("{{{d}}}")
    } else {
        d.to_string()
    }
}

fn mark_close(m: &Mark, st: Style) -> String {
    match m {
        Mark::Link(href) => format!("|{}]", href.replace(']', "%5D").replace('\n', "")),
        Mark::Code => "}}".into(),
        Mark::Color(_) => "{color}".into(),
        other => mark_open(other, st),
    }
}

struct Out {
    s: String,
    ctx: Ctx,
    st: Style,
    in_link: bool,
    in_code: bool,
}

/// Turns a plain opening delimiter at `at` into its `{*}` form when the close needs it.
fn brace_opening(s: &mut String, (opened_braced, at): (bool, usize), braced: bool) {
    let plain_simple = s[at..].chars().next().is_some_and(|c| "*_-+^~".contains(c));
    if braced && !opened_braced && plain_simple {
        s.insert(at + 1, '}');
        s.insert(at, '{');
    }
}

/// A link whose text is its own URL is written bare, as Jira users type it.
fn bare_link(node: &Inline) -> Option<String> {
    match node {
        Inline::Text { text, marks } => match marks.as_slice() {
            [Mark::Link(h)]
                if h == text
                    && (h.starts_with("https://")
                        || h.starts_with("http://")
                        || h.starts_with("ftp://")) =>
            {
                Some(h.clone())
            }
            [Mark::Link(h)] if h.strip_prefix("mailto:") == Some(text.as_str()) => {
                Some(format!("[{h}]"))
            }
            _ => None,
        },
        _ => None,
    }
}

/// Emphasis starting with an em dash is how Atlassian reads `??citation??`; written back so.
fn citation(node: &Inline, st: Style) -> Option<&str> {
    match node {
        Inline::Text { text, marks } if !st.full && marks == &[Mark::Em] => {
            text.strip_prefix("\u{2014} ").filter(|r| !r.is_empty())
        }
        _ => None,
    }
}

fn render(inl: &[Inline], ctx: Ctx, st: Style) -> String {
    let mut out = Out {
        s: String::new(),
        ctx,
        st,
        in_link: false,
        in_code: false,
    };
    let mut stack: Vec<Mark> = Vec::new();
    // Per open mark: opened in its `{*}` form, and where its delimiter is (a mark that must
    // close braced has its opening braced too).
    let mut braced_stack: Vec<(bool, usize)> = Vec::new();
    for node in inl {
        let bare = if st.full { None } else { bare_link(node) };
        // A delimiter touching a word character, or with a space inside, only works in
        // its `{*}` form; decided here, so a mark is written alike whatever is around.
        let first = match node {
            Inline::Text { text, .. } => text.chars().next(),
            _ => None,
        };
        let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
        let space = |c: Option<char>| c.is_some_and(char::is_whitespace);

        let target: Vec<Mark> = match (node, &bare) {
            (_, Some(_)) => Vec::new(),
            (n, None) if citation(n, st).is_some() => Vec::new(),
            (Inline::Text { marks, .. }, None) => marks.clone(),
            _ => Vec::new(),
        };
        let keep = stack.iter().take_while(|m| target.contains(m)).count();
        while stack.len() > keep {
            if let Some(m) = stack.pop() {
                let opened = braced_stack.pop().unwrap_or((true, 0));
                let braced = st.braced || word(first) || space(out.s.chars().last()) || opened.0;
                brace_opening(&mut out.s, opened, braced);
                out.s.push_str(&mark_close(&m, Style { braced, ..st }));
                match m {
                    Mark::Link(_) => out.in_link = false,
                    Mark::Code => out.in_code = false,
                    _ => {}
                }
            }
        }
        for m in &target {
            if !stack.contains(m) {
                let open_st = Style {
                    braced: st.braced || word(out.s.chars().last()) || space(first),
                    ..st
                };
                braced_stack.push((open_st.braced, out.s.len()));
                out.s.push_str(&mark_open(m, open_st));
                match m {
                    Mark::Link(_) => out.in_link = true,
                    Mark::Code => out.in_code = true,
                    _ => {}
                }
                stack.push(m.clone());
            }
        }
        match bare {
            Some(b) => out.s.push_str(&b),
            None => emit(node, &mut out),
        }
    }
    while let Some(m) = stack.pop() {
        let opened = braced_stack.pop().unwrap_or((true, 0));
        let braced = st.braced || opened.0 || out.s.ends_with(char::is_whitespace);
        brace_opening(&mut out.s, opened, braced);
        out.s.push_str(&mark_close(&m, Style { braced, ..st }));
    }
    let mut s = out.s;
    // Cells and headings are trimmed when read: keep their outer spaces as entities.
    if ctx != Ctx::Block {
        if s.ends_with(' ') {
            s.pop();
            s.push_str("&#32;");
        }
        if s.starts_with(' ') {
            s.replace_range(..1, "&#32;");
        }
    }
    s
}

fn emit(node: &Inline, out: &mut Out) {
    match node {
        Inline::Text { text, marks } => {
            if let Some(rest) = citation(node, out.st) {
                out.s.push_str("??");
                escape(rest, out);
                out.s.push_str("??");
                return;
            }
            let _ = marks;
            escape(text, out)
        }
        Inline::HardBreak => {
            // A newline at the start of a line would be a blank line, which ends the paragraph.
            let blank = out.s.is_empty() || out.s.ends_with('\n');
            let br = if out.ctx == Ctx::Block && !blank {
                "\n"
            } else {
                "\\\\"
            };
            out.s.push_str(br)
        }
        Inline::Mention { id, .. } => out.s.push_str(&format!("[~{id}]")),
        Inline::Emoji {
            short_name,
            id,
            text,
        } => {
            if let Some((wiki, ..)) = EMOTICONS.iter().find(|(_, s, i, t)| {
                s == short_name && Some(*i) == id.as_deref() && Some(*t) == text.as_deref()
            }) {
                out.s.push_str(wiki);
            } else {
                match text {
                    Some(t) if !t.starts_with(':') => escape(t, out),
                    _ => escape(short_name, out),
                }
            }
        }
        Inline::Image { url, alt, href } => {
            let url = url.replace(['!', '|', '\n'], "");
            let img = if alt.is_empty() {
                format!("!{url}!")
            } else {
                format!(
                    "!{url}|alt=\"{}\"!",
                    alt.replace(['"', '!', '|', '\n', ','], " ")
                )
            };
            match href {
                Some(h) => out
                    .s
                    .push_str(&format!("[{img}|{}]", h.replace(']', "%5D"))),
                None => out.s.push_str(&img),
            }
        }
        Inline::Raw(r) => out
            .s
            .push_str(&format!("{{adf}}{}{{adf}}", quote_json(&r.adf))),
    }
}

/// The Jira emoticon an emoji node is, if any.
fn emoticon_for(node: &Inline) -> Option<&'static str> {
    let Inline::Emoji {
        short_name,
        id,
        text,
    } = node
    else {
        return None;
    };
    EMOTICONS
        .iter()
        .find(|(_, s, i, t)| {
            s == short_name && Some(*i) == id.as_deref() && Some(*t) == text.as_deref()
        })
        .map(|(wiki, ..)| *wiki)
}

fn macro_like(c: &[char], i: usize) -> bool {
    let rest: String = c[i + 1..].iter().take(12).collect();
    let lower = rest.to_ascii_lowercase();
    rest.starts_with('{')
        || [
            "code", "noformat", "quote", "panel", "color", "expand", "adf", "anchor",
        ]
        .iter()
        .any(|m| lower.starts_with(m))
        || (c.get(i + 2) == Some(&'}') && c.get(i + 1).is_some_and(|d| "*_-+^~".contains(*d)))
}

fn escape(text: &str, out: &mut Out) {
    let c: Vec<char> = text.chars().collect();
    let full = out.st.full;
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        let prev = if i > 0 {
            Some(c[i - 1])
        } else {
            out.s.chars().last()
        };
        let next = c.get(i + 1).copied();
        let line_start = out.s.is_empty() || out.s.ends_with('\n');
        if ch == '\n' {
            out.s
                .push_str(if out.ctx == Ctx::Block { "\n" } else { "\\\\" });
            i += 1;
            continue;
        }
        if line_start && out.ctx == Ctx::Block {
            // A line of only spaces would be a blank line, which ends the paragraph.
            if (ch == ' ' || ch == '\t')
                && c[i..]
                    .iter()
                    .take_while(|x| **x != '\n')
                    .all(|x| x.is_whitespace())
            {
                out.s.push_str(if ch == ' ' { "&#32;" } else { "&#9;" });
                i += 1;
                continue;
            }
            let run = c[i..]
                .iter()
                .take_while(|x| **x == '*' || **x == '#')
                .count();
            let list_like = run > 0 && c.get(i + run).is_none_or(|x| *x == ' ');
            let dash_like = ch == '-'
                && (next.is_none_or(|x| x == ' ')
                    || c[i..].iter().collect::<String>().trim_end() == "----");
            if list_like || dash_like || ch == '|' {
                out.s.push('\\');
                out.s.push(ch);
                i += 1;
                continue;
            }
            let head: String = c[i..].iter().take(4).collect();
            let hb = head.as_bytes();
            let is_heading =
                hb.len() >= 3 && hb[0] == b'h' && (b'1'..=b'6').contains(&hb[1]) && hb[2] == b'.';
            if is_heading || head.starts_with("bq.") {
                let n = 2;
                out.s.extend(&c[i..i + n]);
                out.s.push_str("\\.");
                i += n + 1;
                continue;
            }
        }
        let esc = match ch {
            '\\' => {
                if next.is_none_or(|n| !n.is_alphanumeric() && !n.is_whitespace()) {
                    out.s.push_str("&#92;");
                    i += 1;
                    continue;
                }
                false
            }
            // A table row is split on `|` outside brackets and braces, so cells escape them all.
            '{' => full || macro_like(&c, i) || out.in_code || out.ctx == Ctx::Cell,
            '}' => full || out.in_code || out.ctx == Ctx::Cell,
            '[' if out.ctx == Ctx::Cell => true,
            '[' => {
                full || out.in_link
                    || next == Some('^')
                    || link_span(&c, i, c.len()).is_some()
                    || ["[ ]", "[x]", "[X]"]
                        .iter()
                        .any(|t| text[..].starts_with(t) && i == 0)
            }
            ']' => full || out.in_link || out.ctx == Ctx::Cell,
            '|' => full || out.in_link || out.ctx == Ctx::Cell,
            '!' => full || out.ctx == Ctx::Cell || image_span(&c, i, c.len()).is_some(),
            '*' | '_' | '-' | '+' | '^' | '~' => {
                if full {
                    !(prev.is_some_and(char::is_alphanumeric)
                        && next.is_some_and(char::is_alphanumeric))
                } else {
                    simple_span(&c, i, c.len()).is_some()
                        || (ch == '-' && !out.in_code && dash_at(&c, i).is_some())
                }
            }
            '?' => next == Some('?'),
            '&' => next == Some('#'),
            ':' | ';' | '(' => emoticon_at(&c, i).is_some(),
            'h' | 'f' => {
                if url_span(&c, i, c.len()).is_some()
                    || (full
                        && (i == 0 || !c[i - 1].is_alphanumeric())
                        && text[text.char_indices().nth(i).map(|x| x.0).unwrap_or(0)..]
                            .contains("://"))
                {
                    // Break the scheme so the URL is not linked: `https\://`.
                    let colon = (i..c.len()).find(|&j| c[j] == ':').unwrap_or(i);
                    out.s.extend(&c[i..colon]);
                    out.s.push_str("\\:");
                    i = colon + 1;
                    continue;
                }
                false
            }
            _ => false,
        };
        if esc {
            out.s.push('\\');
        }
        out.s.push(ch);
        i += 1;
    }
}
