//! GitLab Flavoured Markdown: parsed with `comrak` (GFM as GitLab parses it: tables,
//! strikethrough, task lists, alerts, `>>>` quotes, emoji shortcodes), written by our own
//! writer.
//!
//! Why our own writer rather than comrak's formatter: the formatter prints comrak's AST,
//! so we would first build that AST from the model, including the constructs we add
//! for what Markdown cannot express (colour comments, mention links, raw ADF comments,
//! `<details>`); and its escaping is fixed. Our writer escapes only what would re-parse
//! differently and checks each paragraph by parsing it back (see [`write`]).

use comrak::nodes::{AlertType, ListType, NodeValue, TableAlignment};
use comrak::{Arena, Options};

use crate::model::{
    Alignment, Block, Cell, Document, Inline, List, ListItem, Mark, PanelKind, Raw, Table,
    normalize_inlines,
};

/// Prefix of the link target that carries a Jira mention through Markdown:
/// `[@Jane](#jira-mention:accountid:123)`. GitLab shows the name; it is not a GitLab mention.
const MENTION_HREF: &str = "#jira-mention:";
/// HTML comment carrying ADF blocks Markdown cannot express: `<!--adf:{json}-->`.
const RAW_OPEN: &str = "<!--adf:";
/// An inline ADF node Markdown cannot express: `<span data-adf="{json}"></span>` (a span,
/// not a comment: a comment at the start of a line would begin an HTML block).
const RAW_SPAN_OPEN: &str = "<span data-adf=\"";
/// Text colour: `<span data-color="#ff0000">text</span>` (GitLab shows the text).
const COLOR_OPEN: &str = "<span data-color=\"";
const SPAN_CLOSE: &str = "</span>";

fn options() -> Options<'static> {
    let mut o = Options::default();
    o.extension.strikethrough = true;
    o.extension.table = true;
    o.extension.tasklist = true;
    o.extension.shortcodes = true;
    o.extension.alerts = true;
    o.extension.multiline_block_quotes = true;
    o
}

/// Parses Markdown. Any string is valid Markdown; CRLF is read as LF.
pub fn parse(md: &str) -> Document {
    let md = md.replace("\r\n", "\n").replace('\r', "\n");
    let arena = Arena::new();
    let root = comrak::parse_document(&arena, &md, &options());
    let mut d = Document {
        blocks: blocks_of(root),
    };
    d.normalize();
    d
}

type Node<'a> = comrak::nodes::Node<'a>;

fn blocks_of<'a>(node: Node<'a>) -> Vec<Block> {
    // A stack of open `<details>` sections: (title, blocks so far).
    let mut frames: Vec<(Option<String>, Vec<Block>)> = vec![(None, Vec::new())];
    for child in node.children() {
        if let NodeValue::HtmlBlock(h) = &child.data().value {
            let lit = h.literal.trim();
            if let Some(title) = details_open(lit) {
                frames.push((Some(title), Vec::new()));
                continue;
            }
            if lit == "</details>" && frames.len() > 1 {
                close_details(&mut frames);
                continue;
            }
        }
        if let Some(b) = block(child)
            && let Some(top) = frames.last_mut()
        {
            top.1.push(b);
        }
    }
    while frames.len() > 1 {
        close_details(&mut frames);
    }
    frames.pop().map(|f| f.1).unwrap_or_default()
}

/// Ends the innermost open `<details>`: its blocks become an expand in the one around it.
fn close_details(frames: &mut Vec<(Option<String>, Vec<Block>)>) {
    if let Some((title, content)) = frames.pop()
        && let Some(top) = frames.last_mut()
    {
        top.1.push(Block::Expand {
            title: title.unwrap_or_default(),
            content,
        });
    }
}

/// `<details><summary>Title</summary>` (whitespace between the tags allowed) → the title.
fn details_open(lit: &str) -> Option<String> {
    let rest = lit.strip_prefix("<details>")?.trim_start();
    if rest.is_empty() {
        return Some(String::new());
    }
    let inner = rest.strip_prefix("<summary>")?.strip_suffix("</summary>")?;
    if inner.contains('<') {
        return None;
    }
    Some(html_unescape(inner))
}

fn html_unescape(s: &str) -> String {
    s.replace("&#10;", "\n")
        .replace("&#124;", "|")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn block<'a>(node: Node<'a>) -> Option<Block> {
    let value = node.data().value.clone();
    Some(match value {
        NodeValue::Paragraph => Block::Paragraph(inlines_of(node)),
        NodeValue::Heading(h) => Block::Heading {
            level: h.level.clamp(1, 6),
            content: inlines_of(node),
        },
        NodeValue::List(l) => Block::List(List {
            start: (l.list_type == ListType::Ordered).then_some(l.start as u64),
            items: node
                .children()
                .map(|item| {
                    let checked = match &item.data().value {
                        NodeValue::TaskItem(t) => Some(t.symbol.is_some()),
                        _ => None,
                    };
                    ListItem {
                        checked,
                        content: blocks_of(item),
                    }
                })
                .collect(),
        }),
        NodeValue::CodeBlock(c) => {
            let info = c.info.trim();
            let mut text = c.literal.clone();
            if text.ends_with('\n') {
                text.pop();
            }
            Block::CodeBlock {
                language: (!info.is_empty()).then(|| info.to_owned()),
                text,
            }
        }
        NodeValue::BlockQuote | NodeValue::MultilineBlockQuote(_) => Block::Quote(blocks_of(node)),
        NodeValue::Alert(a) => {
            let kind = match a.alert_type {
                AlertType::Note => PanelKind::Info,
                AlertType::Important => PanelKind::Note,
                AlertType::Tip => PanelKind::Success,
                AlertType::Warning => PanelKind::Warning,
                AlertType::Caution => PanelKind::Error,
            };
            let mut content = blocks_of(node);
            if let Some(t) = a.title.filter(|t| !t.trim().is_empty()) {
                content.insert(
                    0,
                    Block::Paragraph(vec![Inline::Text {
                        text: t.trim().to_owned(),
                        marks: vec![Mark::Strong],
                    }]),
                );
            }
            Block::Panel { kind, content }
        }
        NodeValue::ThematicBreak => Block::Rule,
        NodeValue::Table(t) => Block::Table(Table {
            alignments: t
                .alignments
                .iter()
                .map(|a| match a {
                    TableAlignment::None => Alignment::None,
                    TableAlignment::Left => Alignment::Left,
                    TableAlignment::Center => Alignment::Center,
                    TableAlignment::Right => Alignment::Right,
                })
                .collect(),
            rows: node
                .children()
                .map(|row| {
                    let header = matches!(row.data().value, NodeValue::TableRow(true));
                    row.children()
                        .map(|c| Cell {
                            header,
                            content: cell_blocks(inlines_of(c)),
                        })
                        .collect()
                })
                .collect(),
        }),
        NodeValue::HtmlBlock(h) => {
            let lit = h.literal.trim_end_matches('\n');
            match raw_comment(lit.trim()) {
                Some(v) if !crate::adf::is_inline_type(&v) => crate::adf::read_block(&v)?,
                _ => html_block_as_paragraph(lit),
            }
        }
        NodeValue::Document | NodeValue::Item(_) | NodeValue::TaskItem(_) => return None,
        _ => Block::Paragraph(inlines_of(node)),
    })
}

/// An HTML block (GitLab renders it as HTML) read as a paragraph of inline HTML, so the
/// tags and comments we map (`<ins>`, colour comments, raw ADF, `<br>`) mean the same
/// at the start of a line as inside one; other tags stay literal text.
fn html_block_as_paragraph(lit: &str) -> Block {
    let arena = Arena::new();
    // A leading letter keeps comrak from starting an HTML block again.
    let src = format!("x{lit}");
    let root = comrak::parse_document(&arena, &src, &options());
    let mut kids = root.children();
    if let (Some(p), None) = (kids.next(), kids.next())
        && matches!(p.data().value, NodeValue::Paragraph)
    {
        let mut inl = inlines_of(p);
        if let Some(Inline::Text { text, .. }) = inl.first_mut()
            && text.starts_with('x')
        {
            text.remove(0);
            normalize_inlines(&mut inl);
            return Block::Paragraph(inl);
        }
    }
    Block::Paragraph(vec![Inline::text(lit)])
}

/// A cell holding only a raw ADF comment of block nodes (what [`write`] emits for cell
/// content a Markdown table cannot hold) gets those blocks back.
fn cell_blocks(inlines: Vec<Inline>) -> Vec<Block> {
    let mut blocks = Vec::new();
    for i in &inlines {
        match i {
            Inline::Raw(r) => match serde_json::from_str::<serde_json::Value>(&r.adf) {
                Ok(serde_json::Value::Array(nodes)) => {
                    let doc = serde_json::json!({"type": "doc", "content": nodes});
                    match crate::adf::parse(&doc) {
                        Ok(d) => blocks.extend(d.blocks),
                        Err(_) => return vec![Block::Paragraph(inlines)],
                    }
                }
                _ => return vec![Block::Paragraph(inlines)],
            },
            _ => return vec![Block::Paragraph(inlines)],
        }
    }
    if blocks.is_empty() {
        vec![Block::Paragraph(inlines)]
    } else {
        blocks
    }
}

fn raw_comment(s: &str) -> Option<serde_json::Value> {
    let json = s.strip_prefix(RAW_OPEN)?.strip_suffix("-->")?;
    serde_json::from_str(json).ok()
}

struct InlineCtx {
    out: Vec<Inline>,
    /// Marks opened by inline HTML (`<ins>`, colour spans, …), which comrak does not nest.
    html_marks: Vec<Mark>,
    /// `</span>` tags still to come for raw ADF spans already read.
    skip_span_close: usize,
}

fn inlines_of<'a>(node: Node<'a>) -> Vec<Inline> {
    let mut ctx = InlineCtx {
        out: Vec::new(),
        html_marks: Vec::new(),
        skip_span_close: 0,
    };
    for c in node.children() {
        inline(c, &[], &mut ctx);
    }
    let mut out = ctx.out;
    normalize_inlines(&mut out);
    out
}

fn with_html(marks: &[Mark], ctx: &InlineCtx) -> Vec<Mark> {
    let mut m = marks.to_vec();
    m.extend(ctx.html_marks.iter().cloned());
    m
}

fn push_text(text: &str, marks: &[Mark], ctx: &mut InlineCtx) {
    let marks = with_html(marks, ctx);
    ctx.out.push(Inline::Text {
        text: text.to_owned(),
        marks,
    });
}

fn plain_text<'a>(node: Node<'a>) -> String {
    let mut s = String::new();
    for d in node.descendants() {
        match &d.data().value {
            NodeValue::Text(t) => s.push_str(t),
            NodeValue::Code(c) => s.push_str(&c.literal),
            NodeValue::SoftBreak | NodeValue::LineBreak => s.push('\n'),
            NodeValue::ShortCode(sc) => s.push_str(&sc.emoji),
            _ => {}
        }
    }
    s
}

/// The tag → mark table for inline HTML GitLab renders and we write.
fn html_mark(tag: &str) -> Option<(Mark, bool)> {
    let t = tag.trim().to_ascii_lowercase();
    if let Some(c) = t
        .strip_prefix(COLOR_OPEN)
        .and_then(|r| r.strip_suffix("\">"))
    {
        return Some((Mark::Color(c.trim().to_owned()), true));
    }
    if t == SPAN_CLOSE {
        return Some((Mark::Color(String::new()), false));
    }
    let (close, name) = match t.strip_prefix("</") {
        Some(r) => (true, r.strip_suffix('>')?),
        None => (false, t.strip_prefix('<')?.strip_suffix('>')?),
    };
    let mark = match name {
        "ins" | "u" => Mark::Underline,
        "sub" => Mark::Sub,
        "sup" => Mark::Sup,
        "em" | "i" => Mark::Em,
        "strong" | "b" => Mark::Strong,
        "del" | "s" => Mark::Strike,
        _ => return None,
    };
    Some((mark, !close))
}

fn same_kind(a: &Mark, b: &Mark) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn inline<'a>(node: Node<'a>, marks: &[Mark], ctx: &mut InlineCtx) {
    let value = node.data().value.clone();
    match value {
        NodeValue::Text(t) => push_text(&t, marks, ctx),
        NodeValue::SoftBreak => push_text("\n", marks, ctx),
        NodeValue::LineBreak => ctx.out.push(Inline::HardBreak),
        NodeValue::Code(c) => {
            let mut m = marks.to_vec();
            m.push(Mark::Code);
            push_text(&c.literal, &m, ctx);
        }
        NodeValue::HtmlInline(h) => {
            let lower = h.trim().to_ascii_lowercase();
            if matches!(lower.as_str(), "<br>" | "<br/>" | "<br />") {
                ctx.out.push(Inline::HardBreak);
            } else if let Some(json) = h
                .trim()
                .strip_prefix(RAW_SPAN_OPEN)
                .and_then(|r| r.strip_suffix("\">"))
                && let Ok(v) = serde_json::from_str::<serde_json::Value>(&html_unescape(json))
            {
                ctx.skip_span_close += 1;
                ctx.out.push(crate::adf::read_inline(&v));
            } else if lower == SPAN_CLOSE && ctx.skip_span_close > 0 {
                ctx.skip_span_close -= 1;
            } else if let Some(v) = raw_comment(h.trim()) {
                match v {
                    serde_json::Value::Array(_) => {
                        ctx.out.push(Inline::Raw(Raw { adf: v.to_string() }))
                    }
                    _ => ctx.out.push(crate::adf::read_inline(&v)),
                }
            } else if let Some((mark, open)) = html_mark(&h) {
                if open {
                    ctx.html_marks.push(mark);
                } else if let Some(pos) = ctx.html_marks.iter().rposition(|m| same_kind(m, &mark)) {
                    ctx.html_marks.remove(pos);
                } else {
                    push_text(&h, marks, ctx);
                }
            } else {
                push_text(&h, marks, ctx);
            }
        }
        NodeValue::Emph => children(node, marks, Mark::Em, ctx),
        NodeValue::Strong => children(node, marks, Mark::Strong, ctx),
        NodeValue::Strikethrough => children(node, marks, Mark::Strike, ctx),
        NodeValue::Link(l) => {
            if let Some(id) = l.url.strip_prefix(MENTION_HREF) {
                let id = percent_decode(id);
                let shown = plain_text(node);
                let text = if shown == format!("@{id}") {
                    String::new()
                } else {
                    shown
                };
                ctx.out.push(Inline::Mention { id, text });
            } else {
                children(node, marks, Mark::Link(l.url.clone()), ctx)
            }
        }
        NodeValue::Image(l) => {
            let href = marks.iter().find_map(|m| match m {
                Mark::Link(h) => Some(h.clone()),
                _ => None,
            });
            ctx.out.push(Inline::Image {
                url: l.url.clone(),
                alt: plain_text(node),
                href,
            });
        }
        NodeValue::ShortCode(sc) => {
            // GitLab only reads `:name:` standing apart from letters and digits (`a:b:c` is text).
            // Judged on the source next to it: a neighbouring text or shortcode.
            let before = node.previous_sibling().and_then(|p| match &p.data().value {
                NodeValue::Text(t) => t.chars().last(),
                NodeValue::ShortCode(_) => Some(':'),
                _ => None,
            });
            let after = node.next_sibling().and_then(|n| match &n.data().value {
                NodeValue::Text(t) => t.chars().next(),
                NodeValue::ShortCode(_) => Some(':'),
                _ => None,
            });
            if before.is_some_and(|c| c.is_alphanumeric() || c == ':')
                || after.is_some_and(|c| c.is_alphanumeric() || c == ':')
            {
                push_text(&format!(":{}:", sc.code), marks, ctx);
            } else {
                ctx.out.push(emoji_for(&sc.code, &sc.emoji));
            }
        }
        _ => {
            for c in node.children() {
                inline(c, marks, ctx);
            }
        }
    }
}

fn children<'a>(node: Node<'a>, marks: &[Mark], add: Mark, ctx: &mut InlineCtx) {
    let mut m = marks.to_vec();
    m.push(add);
    for c in node.children() {
        inline(c, &m, ctx);
    }
}

/// The emoji node a GitLab shortcode stands for (ADF's `id` is the code points in hex).
pub(crate) fn emoji_for(code: &str, emoji: &str) -> Inline {
    let id = emoji
        .chars()
        .filter(|c| *c != '\u{fe0f}')
        .map(|c| format!("{:x}", c as u32))
        .collect::<Vec<_>>()
        .join("-");
    Inline::Emoji {
        short_name: format!(":{code}:"),
        id: Some(id),
        text: Some(emoji.to_owned()),
    }
}

/// The emoji a shortcode name resolves to in GitLab's (gemoji) table.
pub(crate) fn resolve_shortcode(code: &str) -> Option<String> {
    comrak::nodes::NodeShortCode::resolve(code).map(|s| s.emoji)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(v) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn percent_encode_id(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b':' | b'.' | b'_' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

mod writer;
pub use writer::write;
