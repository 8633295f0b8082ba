//! The Markdown writer (see the module documentation of `markdown` for why it is ours).

use super::{
    COLOR_OPEN, MENTION_HREF, RAW_OPEN, RAW_SPAN_OPEN, SPAN_CLOSE, emoji_for, percent_encode_id,
    resolve_shortcode,
};
use crate::model::{
    Alignment, Block, Cell, Document, Inline, List, Mark, PanelKind, Raw, Table, normalize_inlines,
};

/// Writes a document as GitLab Markdown. Text is escaped only where it would otherwise
/// parse as markup; GitLab references (`#12`, `!3`, `@user`, `~label`) stay as written.
/// Each paragraph is parsed back: if `*`/`**`/`~~` delimiters would not read back as the
/// same marks (flanking rules), that paragraph uses `<em>`/`<strong>`/`<del>` instead.
pub fn write(doc: &Document) -> String {
    let s = blocks(&doc.blocks);
    if s.is_empty() { s } else { s + "\n" }
}

fn blocks(bs: &[Block]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut prev: Option<&Block> = None;
    for b in bs {
        let alt = match (prev, b) {
            (Some(Block::List(p)), Block::List(l)) => p.start.is_some() == l.start.is_some(),
            _ => false,
        };
        let s = block(b, alt);
        if !s.is_empty() {
            parts.push(s);
        }
        prev = Some(b);
    }
    parts.join("\n\n")
}

fn block(b: &Block, alt_marker: bool) -> String {
    match b {
        Block::Paragraph(p) => paragraph(p, Mode::Block),
        Block::Heading { level, content } => {
            let text = paragraph(content, Mode::Heading);
            let hashes = "#".repeat(usize::from(*level).clamp(1, 6));
            if text.is_empty() {
                hashes
            } else {
                format!("{hashes} {text}")
            }
        }
        Block::List(l) => list(l, alt_marker),
        Block::CodeBlock { language, text } => code_block(language.as_deref(), text),
        Block::Quote(c) => prefix_lines(&blocks(c), "> ", ">"),
        Block::Panel { kind, content } => {
            let tag = match kind {
                PanelKind::Info => "note",
                PanelKind::Note => "important",
                PanelKind::Success => "tip",
                PanelKind::Warning => "warning",
                PanelKind::Error => "caution",
            };
            let inner = blocks(content);
            let body = if inner.is_empty() {
                format!("[!{tag}]")
            } else {
                format!("[!{tag}]\n{inner}")
            };
            prefix_lines(&body, "> ", ">")
        }
        Block::Expand { title, content } => {
            let title = super::html_escape(&title.replace(['\n', '\r'], " "));
            let inner = blocks(content);
            if inner.is_empty() {
                format!("<details><summary>{title}</summary>\n\n</details>")
            } else {
                format!("<details><summary>{title}</summary>\n\n{inner}\n\n</details>")
            }
        }
        Block::Rule => "---".to_owned(),
        Block::Table(t) => table(t),
        Block::Raw(r) => raw_comment(&r.adf),
    }
}

fn raw_comment(json: &str) -> String {
    format!(
        "{RAW_OPEN}{}-->",
        json.replace('|', "\\u007c").replace("--", "-\\u002d")
    )
}

fn raw_span(json: &str) -> String {
    let attr = json
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "&#124;")
        .replace('\n', "&#10;");
    format!("{RAW_SPAN_OPEN}{attr}\">{SPAN_CLOSE}")
}

fn prefix_lines(s: &str, prefix: &str, empty: &str) -> String {
    if s.is_empty() {
        return empty.to_owned();
    }
    s.lines()
        .map(|l| {
            if l.is_empty() {
                empty.to_owned()
            } else {
                format!("{prefix}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn code_block(language: Option<&str>, text: &str) -> String {
    let lang = language.unwrap_or("").replace(['\n', '\r'], " ");
    let fence_char = if lang.contains('`') { '~' } else { '`' };
    let longest = longest_run(text, fence_char);
    let fence: String = std::iter::repeat_n(fence_char, longest.max(2) + 1).collect();
    if text.is_empty() {
        format!("{fence}{lang}\n{fence}")
    } else {
        format!("{fence}{lang}\n{text}\n{fence}")
    }
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut cur) = (0, 0);
    for ch in s.chars() {
        if ch == c {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 0;
        }
    }
    best
}

fn list(l: &List, alt_marker: bool) -> String {
    let mut out = Vec::new();
    for (n, item) in l.items.iter().enumerate() {
        let marker = match l.start {
            Some(start) => {
                let num = start.min(999_999_999 - l.items.len() as u64) + n as u64;
                format!("{num}{}", if alt_marker { ')' } else { '.' })
            }
            None => (if alt_marker { "*" } else { "-" }).to_owned(),
        };
        // Continuation lines line up with the text after the list marker (not the checkbox).
        let indent = " ".repeat(marker.len() + 1);
        let marker = match item.checked {
            Some(true) => format!("{marker} [x]"),
            Some(false) => format!("{marker} [ ]"),
            None => marker,
        };
        let mut body = String::new();
        let mut prev: Option<&Block> = None;
        let mut first: Option<&Block> = None;
        for b in &item.content {
            let alt = matches!((prev, b), (Some(Block::List(p)), Block::List(q)) if p.start.is_some() == q.start.is_some());
            // `- ---` would read as one rule, not an item holding a rule.
            let s = if matches!(b, Block::Rule) && body.is_empty() {
                "___".to_owned()
            } else {
                block(b, alt)
            };
            if s.is_empty() {
                prev = Some(b);
                continue;
            }
            if !body.is_empty() {
                // A nested list right after the item's paragraph stays tight.
                // (Not when its first item is empty: a bare `-` under text is a heading underline.)
                let tight = matches!((prev, b), (Some(Block::Paragraph(_)), Block::List(q))
                    if q.start.is_none_or(|s| s == 1))
                    && s.lines().next().is_some_and(|l| l.trim_end().contains(' '));
                body.push_str(if tight { "\n" } else { "\n\n" });
            }
            body.push_str(&s);
            prev = Some(b);
            first = first.or(Some(b));
        }
        if body.is_empty() {
            out.push(marker);
        } else {
            // A task item's checkbox must be followed by text on its line; other blocks
            // start on the next line.
            let own_line = (item.checked.is_some() && !matches!(first, Some(Block::Paragraph(_))))
                || matches!(first, Some(Block::List(_)));
            let mut lines = body.lines();
            let first = if own_line {
                ""
            } else {
                lines.next().unwrap_or("")
            };
            let mut s = if first.is_empty() {
                marker.clone()
            } else {
                format!("{marker} {first}")
            };
            if own_line && let Some(l) = lines.next() {
                s.push('\n');
                s.push_str(&indent);
                s.push_str(l);
            }
            for l in lines {
                s.push('\n');
                if !l.is_empty() {
                    s.push_str(&indent);
                    s.push_str(l);
                }
            }
            out.push(s);
        }
    }
    out.join("\n")
}

fn table(t: &Table) -> String {
    let cols = t
        .rows
        .iter()
        .map(Vec::len)
        .max()
        .unwrap_or(0)
        .max(t.alignments.len())
        .max(1);
    if t.rows.is_empty() {
        return String::new();
    }
    let row = |cells: &[Cell]| {
        let mut s = String::from("|");
        for i in 0..cols {
            let c = cells.get(i).map(cell).unwrap_or_default();
            s.push(' ');
            s.push_str(&c);
            s.push_str(" |");
        }
        s
    };
    let mut lines = vec![row(&t.rows[0])];
    let mut delim = String::from("|");
    for i in 0..cols {
        delim.push_str(match t.alignments.get(i).copied().unwrap_or_default() {
            Alignment::None => " --- |",
            Alignment::Left => " :--- |",
            Alignment::Center => " :---: |",
            Alignment::Right => " ---: |",
        });
    }
    lines.push(delim);
    for r in &t.rows[1..] {
        lines.push(row(r));
    }
    lines.join("\n")
}

/// A cell holds one line of inlines; other content travels as a raw ADF comment.
fn cell(c: &Cell) -> String {
    match c.content.as_slice() {
        [] => String::new(),
        [Block::Paragraph(p)] if !p.iter().any(|i| matches!(i, Inline::Raw(_))) => {
            paragraph(p, Mode::Cell)
        }
        other => raw_comment(&crate::adf::write_fragment(other).to_string()),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A paragraph: soft breaks as newlines.
    Block,
    /// A table cell: one line, `|` escaped, breaks as `<br>`.
    Cell,
    /// A heading: one line, `#` escaped, breaks as `<br>`.
    Heading,
}

fn paragraph(p: &[Inline], mode: Mode) -> String {
    // What the paragraph can be in this context: one-line contexts hold newlines as breaks,
    // and a break at the end is dropped when read.
    let mut p = if mode == Mode::Block {
        p.to_vec()
    } else {
        crate::model::newlines_as_breaks(p)
    };
    normalize_inlines(&mut p);
    while matches!(p.last(), Some(Inline::HardBreak)) {
        p.pop();
    }
    let p = p.as_slice();
    let delim = render_inlines(p, mode, false);
    if reads_back(&delim, p, mode) {
        return delim;
    }
    let html = render_inlines(p, mode, true);
    if reads_back(&html, p, mode) {
        html
    } else {
        delim
    }
}

fn reads_back(md: &str, expected: &[Inline], mode: Mode) -> bool {
    let src = match mode {
        Mode::Cell => format!("| {md} |\n| --- |\n"),
        Mode::Heading => format!("# {md}"),
        Mode::Block => md.to_owned(),
    };
    let doc = super::parse(&src);
    let got: &[Inline] = match (mode, doc.blocks.as_slice()) {
        (Mode::Cell, [Block::Table(t)]) => match t
            .rows
            .first()
            .and_then(|r| r.first())
            .map(|c| c.content.as_slice())
        {
            Some([Block::Paragraph(p)]) => p,
            _ => return false,
        },
        (Mode::Heading, [Block::Heading { content, .. }]) => content,
        (Mode::Block, [Block::Paragraph(p)]) => p,
        (_, []) => &[],
        _ => return false,
    };
    let mut want = expected.to_vec();
    normalize_inlines(&mut want);
    got == want.as_slice()
}

fn mark_open(m: &Mark, html: bool) -> String {
    match (m, html) {
        (Mark::Link(_), _) => "[".into(),
        (Mark::Em, false) => "*".into(),
        (Mark::Em, true) => "<em>".into(),
        (Mark::Strong, false) => "**".into(),
        (Mark::Strong, true) => "<strong>".into(),
        (Mark::Strike, false) => "~~".into(),
        (Mark::Strike, true) => "<del>".into(),
        (Mark::Underline, _) => "<ins>".into(),
        (Mark::Sub, _) => "<sub>".into(),
        (Mark::Sup, _) => "<sup>".into(),
        (Mark::Color(c), _) => {
            let c: String = c
                .chars()
                .filter(|ch| ch.is_ascii_alphanumeric() || *ch == '#')
                .collect();
            format!("{COLOR_OPEN}{c}\">")
        }
        (Mark::Code, _) => String::new(),
    }
}

fn mark_close(m: &Mark, html: bool) -> String {
    match (m, html) {
        (Mark::Link(href), _) => format!("]({})", destination(href)),
        (Mark::Em, false) => "*".into(),
        (Mark::Em, true) => "</em>".into(),
        (Mark::Strong, false) => "**".into(),
        (Mark::Strong, true) => "</strong>".into(),
        (Mark::Strike, false) => "~~".into(),
        (Mark::Strike, true) => "</del>".into(),
        (Mark::Underline, _) => "</ins>".into(),
        (Mark::Sub, _) => "</sub>".into(),
        (Mark::Sup, _) => "</sup>".into(),
        (Mark::Color(_), _) => SPAN_CLOSE.into(),
        (Mark::Code, _) => String::new(),
    }
}

/// A link destination, in `<…>` when it holds spaces or parentheses.
fn destination(url: &str) -> String {
    let mut s = String::new();
    let all: Vec<char> = url.chars().collect();
    let chars = all.iter().copied().enumerate();
    let angle = url.is_empty()
        || url
            .chars()
            .any(|c| c.is_whitespace() || c == '(' || c == ')' || c == '<' || c == '>');
    for (i, c) in chars {
        match c {
            '\\' => s.push_str("\\\\"),
            '&' if entity_at(&all, i) => s.push_str("\\&"),
            '<' | '>' if angle => {
                s.push('\\');
                s.push(c);
            }
            '\n' => s.push_str("%0A"),
            '\r' => s.push_str("%0D"),
            _ => s.push(c),
        }
    }
    if angle { format!("<{s}>") } else { s }
}

struct Out {
    s: String,
    mode: Mode,
    tildes: bool,
    in_link: bool,
}

impl Out {
    fn at_line_start(&self) -> bool {
        self.s.is_empty() || self.s.ends_with('\n')
    }
}

fn render_inlines(inl: &[Inline], mode: Mode, html: bool) -> String {
    let tildes = inl
        .iter()
        .map(|i| match i {
            Inline::Text { text, .. } => text.matches('~').count(),
            _ => 0,
        })
        .sum::<usize>()
        > 1;
    let mut out = Out {
        s: String::new(),
        mode,
        tildes,
        in_link: false,
    };
    let mut stack: Vec<Mark> = Vec::new();
    for (k, node) in inl.iter().enumerate() {
        let auto = autolink(node);
        let target: Vec<Mark> = match node {
            _ if auto.is_some() => Vec::new(),
            Inline::Text { marks, .. } => marks
                .iter()
                .filter(|m| **m != Mark::Code)
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        let keep = stack.iter().take_while(|m| target.contains(m)).count();
        while stack.len() > keep {
            if let Some(m) = stack.pop() {
                out.s.push_str(&mark_close(&m, html));
                if matches!(m, Mark::Link(_)) {
                    out.in_link = false;
                }
            }
        }
        for m in &target {
            if !stack.contains(m) {
                out.s.push_str(&mark_open(m, html));
                if matches!(m, Mark::Link(_)) {
                    out.in_link = true;
                }
                stack.push(m.clone());
            }
        }
        // The character after this node in the output, where it matters (shortcodes): a
        // following node that opens or closes a mark starts with a delimiter instead.
        let next = inl.get(k + 1).and_then(|n| match n {
            Inline::Text { text, marks } if marks.is_empty() && target.is_empty() => {
                text.chars().next()
            }
            Inline::Emoji { .. } if target.is_empty() => Some(':'),
            _ => None,
        });
        match &auto {
            Some(a) => out.s.push_str(a),
            None => emit(node, next, &mut out),
        }
    }
    while let Some(m) = stack.pop() {
        out.s.push_str(&mark_close(&m, html));
    }
    let mut s = out.s;
    // A newline at the very end would be dropped.
    if s.ends_with('\n') && mode == Mode::Block {
        s.pop();
        s.push_str("&#10;");
    }
    // Trailing whitespace of a paragraph would be stripped: keep it as an entity.
    if let Some(last) = s.chars().last()
        && (last == ' ' || last == '\t')
    {
        s.pop();
        s.push_str(if last == ' ' { "&#32;" } else { "&#9;" });
    }
    s
}

fn emit(node: &Inline, next: Option<char>, out: &mut Out) {
    let one_line = out.mode != Mode::Block;
    match node {
        Inline::Text { text, marks } if marks.contains(&Mark::Code) => code_span(text, out),
        Inline::Text { text, .. } => escape_text(text, out),
        Inline::HardBreak => out.s.push_str(if one_line { "<br>" } else { "\\\n" }),
        Inline::Mention { id, text } => {
            let shown = if text.is_empty() {
                format!("@{id}")
            } else {
                text.clone()
            };
            let was = out.in_link;
            out.s.push('[');
            out.in_link = true;
            escape_text(&shown.replace('\n', " "), out);
            out.in_link = was;
            out.s
                .push_str(&format!("]({MENTION_HREF}{})", percent_encode_id(id)));
        }
        Inline::Emoji {
            short_name, text, ..
        } => {
            let code = short_name.trim_matches(':');
            // GitLab reads `:name:` only apart from letters, digits and other colons.
            let apart = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric() && c != ':');
            let free = apart(out.s.chars().last()) && apart(next);
            match resolve_shortcode(code) {
                Some(e) if free && emoji_for(code, &e) == *node => {
                    out.s.push(':');
                    out.s.push_str(code);
                    out.s.push(':');
                }
                _ => match text {
                    // Not readable as a shortcode here: the character itself, which GitLab shows.
                    Some(t) if !t.starts_with(':') && !free => escape_text(t, out),
                    _ => out
                        .s
                        .push_str(&raw_span(&crate::adf::write_inline(node).to_string())),
                },
            }
        }
        Inline::Image { url, alt, href } => {
            if href.is_some() {
                out.s.push('[');
            }
            out.s.push_str("![");
            let was = out.in_link;
            out.in_link = true;
            escape_text(&alt.replace('\n', " "), out);
            out.in_link = was;
            out.s.push_str(&format!("]({})", destination(url)));
            if let Some(h) = href {
                out.s.push_str(&format!("]({})", destination(h)));
            }
        }
        Inline::Raw(Raw { adf }) => out.s.push_str(&raw_span(adf)),
    }
}

fn code_span(text: &str, out: &mut Out) {
    let mut t = text.replace(['\n', '\r'], " ");
    if out.mode == Mode::Cell {
        t = t.replace('|', "\\|");
    }
    if t.is_empty() {
        return;
    }
    let n = longest_run(&t, '`') + 1;
    let ticks = "`".repeat(n);
    let pad = t.starts_with('`')
        || t.ends_with('`')
        || (t.starts_with(' ') && t.ends_with(' ') && t.chars().any(|c| c != ' '));
    if pad {
        out.s.push_str(&format!("{ticks} {t} {ticks}"));
    } else {
        out.s.push_str(&format!("{ticks}{t}{ticks}"));
    }
}

fn escape_text(text: &str, out: &mut Out) {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev = if i > 0 {
            Some(chars[i - 1])
        } else {
            out.s.chars().last()
        };
        let next = chars.get(i + 1).copied();
        if out.at_line_start() {
            match c {
                ' ' => {
                    out.s.push_str("&#32;");
                    i += 1;
                    continue;
                }
                '\t' => {
                    out.s.push_str("&#9;");
                    i += 1;
                    continue;
                }
                c if line_start_markup(&chars[i..]) => {
                    out.s.push('\\');
                    out.s.push(c);
                    i += 1;
                    continue;
                }
                d if d.is_ascii_digit() => {
                    let mut j = i;
                    while j < chars.len() && chars[j].is_ascii_digit() {
                        j += 1;
                    }
                    if j - i <= 9 && matches!(chars.get(j), Some('.') | Some(')')) {
                        out.s.extend(&chars[i..j]);
                        out.s.push('\\');
                        out.s.push(chars[j]);
                        i = j + 1;
                        continue;
                    }
                }
                _ => {}
            }
        }
        match c {
            '\n' if out.mode != Mode::Block => out.s.push_str("<br>"),
            // A blank line would end the paragraph.
            '\n' if out.at_line_start() => out.s.push_str("&#10;"),
            ' ' | '\t' if next == Some('\n') && out.mode == Mode::Block => {
                out.s.push_str(if c == ' ' { "&#32;" } else { "&#9;" })
            }
            '\\' => {
                // Kept bare only before a letter or digit (an entity may follow a space).
                if next.is_none_or(|n| !n.is_alphanumeric()) {
                    out.s.push_str("\\\\");
                } else {
                    out.s.push('\\');
                }
            }
            // `!` before a link (or at a node's end, where a link may follow) would make an image.
            '!' if next.is_none_or(|n| n == '[') => out.s.push_str("\\!"),
            '`' | '*' | '|' => {
                out.s.push('\\');
                out.s.push(c);
            }
            '#' if out.mode == Mode::Heading => out.s.push_str("\\#"),
            '_' => {
                let inner = prev.is_some_and(char::is_alphanumeric)
                    && next.is_some_and(char::is_alphanumeric);
                out.s.push_str(if inner { "_" } else { "\\_" });
            }
            '~' => out.s.push_str(if out.tildes { "\\~" } else { "~" }),
            '[' => {
                let risky = out.in_link
                    || matches!(next, Some('!'))
                    || (matches!(next, Some(' ') | Some('x') | Some('X'))
                        && chars.get(i + 2) == Some(&']'));
                out.s.push_str(if risky { "\\[" } else { "[" });
            }
            ']' => {
                let risky = out.in_link || next.is_none_or(|n| matches!(n, '(' | '[' | ':'));
                out.s.push_str(if risky { "\\]" } else { "]" });
            }
            '<' if next
                .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?')) =>
            {
                out.s.push_str("\\<")
            }
            '&' if entity_at(&chars, i) => out.s.push_str("\\&"),
            ':' if shortcode_at(&chars, i) => out.s.push_str("\\:"),
            _ => out.s.push(c),
        }
        i += 1;
    }
}

/// A link whose text is its own URL (or e-mail address) as an autolink, `<https://…>`.
fn autolink(node: &Inline) -> Option<String> {
    let Inline::Text { text, marks } = node else {
        return None;
    };
    let [Mark::Link(href)] = marks.as_slice() else {
        return None;
    };
    let plain = |s: &str| {
        !s.is_empty()
            && !s
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
    };
    let (scheme, _) = href.split_once(':')?;
    let scheme_ok = (2..=32).contains(&scheme.len())
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'));
    if text == href && scheme_ok && plain(href) && !href.contains('\\') && !href.contains('&') {
        return Some(format!("<{href}>"));
    }
    let email = href.strip_prefix("mailto:")?;
    let local_ok = email.split_once('@').is_some_and(|(l, d)| {
        !l.is_empty()
            && !d.is_empty()
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c))
            && d.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    });
    (text == email && local_ok).then(|| format!("<{email}>"))
}

/// `&name;` / `&#123;` at `i`: an entity reference Markdown would decode.
fn entity_at(c: &[char], i: usize) -> bool {
    let body = c[i + 1..]
        .iter()
        .take(33)
        .take_while(|x| x.is_ascii_alphanumeric() || **x == '#')
        .count();
    body > 0 && c.get(i + 1 + body) == Some(&';')
}

/// Whether text at the start of a line would read as block markup: a heading, quote,
/// list item, rule or setext underline.
fn line_start_markup(rest: &[char]) -> bool {
    let line: Vec<char> = rest.iter().take_while(|c| **c != '\n').copied().collect();
    let after = |n: usize| line.get(n).is_none_or(|c| *c == ' ' || *c == '\t');
    match line.first() {
        Some('>') => true,
        Some('#') => {
            let n = line.iter().take_while(|c| **c == '#').count();
            n <= 6 && after(n)
        }
        Some('+') => after(1),
        Some('-') | Some('=') => {
            let ch = line[0];
            after(1) || line.iter().all(|c| *c == ch || *c == ' ' || *c == '\t')
        }
        _ => false,
    }
}

/// True when `:name:` starting at `i` is a shortcode GitLab would turn into an emoji.
fn shortcode_at(chars: &[char], i: usize) -> bool {
    let rest = &chars[i + 1..];
    let Some(end) = rest.iter().position(|c| *c == ':') else {
        return false;
    };
    let name: String = rest[..end].iter().collect();
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-'))
        && resolve_shortcode(&name).is_some()
}
