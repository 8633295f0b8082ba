//! Atlassian Document Format (Jira Cloud REST v3): JSON in, JSON out, through serde_json.
//!
//! No maintained Rust crate models ADF, and the schema we need is small: the nodes Jira
//! issue text uses. Nodes we do not map (status, date, media attachments, layouts,
//! extensions …) are kept whole as [`Raw`] and written back unchanged.

use serde_json::{Map, Value, json};

use crate::Error;
use crate::model::{
    Block, Cell, Document, Inline, List, ListItem, Mark, PanelKind, Raw, Table, normalize_inlines,
};

/// Parses ADF JSON text.
pub fn parse_str(text: &str) -> Result<Document, Error> {
    let v: Value = serde_json::from_str(text).map_err(|e| Error::Json(e.to_string()))?;
    parse(&v)
}

/// Parses an ADF `doc` node. Anything that is not a `doc` with a `content` array is an error.
pub fn parse(doc: &Value) -> Result<Document, Error> {
    let obj = doc
        .as_object()
        .ok_or_else(|| Error::NotAdf("the document is not a JSON object".into()))?;
    if obj.get("type").and_then(Value::as_str) != Some("doc") {
        return Err(Error::NotAdf("the top node's type is not \"doc\"".into()));
    }
    let content = match obj.get("content") {
        None => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => {
            return Err(Error::NotAdf(
                "\"content\" of the doc is not an array".into(),
            ));
        }
    };
    let mut d = Document {
        blocks: blocks(content),
    };
    d.normalize();
    Ok(d)
}

fn ty(v: &Value) -> &str {
    v.get("type").and_then(Value::as_str).unwrap_or("")
}

fn attr<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.get("attrs").and_then(|a| a.get(name))
}

fn attr_str(v: &Value, name: &str) -> Option<String> {
    attr(v, name).and_then(Value::as_str).map(str::to_owned)
}

fn children(v: &Value) -> &[Value] {
    v.get("content")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn raw(v: &Value) -> Raw {
    Raw { adf: v.to_string() }
}

fn blocks(nodes: &[Value]) -> Vec<Block> {
    nodes.iter().filter_map(block).collect()
}

fn block(v: &Value) -> Option<Block> {
    Some(match ty(v) {
        "paragraph" => Block::Paragraph(inlines(children(v))),
        "heading" => Block::Heading {
            level: attr(v, "level")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .clamp(1, 6) as u8,
            content: inlines(children(v)),
        },
        "bulletList" | "orderedList" => Block::List(List {
            start: (ty(v) == "orderedList")
                .then(|| attr(v, "order").and_then(Value::as_u64).unwrap_or(1)),
            items: children(v)
                .iter()
                .map(|i| ListItem {
                    checked: None,
                    content: blocks(children(i)),
                })
                .collect(),
        }),
        "taskList" => Block::List(task_list(v)),
        "codeBlock" => Block::CodeBlock {
            language: attr_str(v, "language").filter(|l| !l.is_empty()),
            text: children(v)
                .iter()
                .filter_map(|t| t.get("text").and_then(Value::as_str))
                .collect(),
        },
        "blockquote" => Block::Quote(blocks(children(v))),
        "rule" => Block::Rule,
        "panel" => match attr_str(v, "panelType")
            .as_deref()
            .and_then(PanelKind::from_adf_name)
        {
            Some(kind)
                if v.get("attrs")
                    .and_then(Value::as_object)
                    .is_some_and(|a| a.len() == 1) =>
            {
                Block::Panel {
                    kind,
                    content: blocks(children(v)),
                }
            }
            _ => Block::Raw(raw(v)),
        },
        "expand" | "nestedExpand" => Block::Expand {
            title: attr_str(v, "title").unwrap_or_default(),
            content: blocks(children(v)),
        },
        "table" => Block::Table(Table {
            alignments: Vec::new(),
            rows: children(v)
                .iter()
                .map(|row| {
                    children(row)
                        .iter()
                        .map(|c| Cell {
                            header: ty(c) == "tableHeader",
                            content: blocks(children(c)),
                        })
                        .collect()
                })
                .collect(),
        }),
        "mediaSingle" => match children(v) {
            [m] if ty(m) == "media" && attr_str(m, "type").as_deref() == Some("external") => {
                let href = m.get("marks").and_then(Value::as_array).and_then(|ms| {
                    ms.iter()
                        .find(|k| ty(k) == "link")
                        .and_then(|k| attr_str(k, "href"))
                });
                match attr_str(m, "url") {
                    Some(url) => Block::Paragraph(vec![Inline::Image {
                        url,
                        alt: attr_str(m, "alt").unwrap_or_default(),
                        href,
                    }]),
                    None => Block::Raw(raw(v)),
                }
            }
            _ => Block::Raw(raw(v)),
        },
        _ => Block::Raw(raw(v)),
    })
}

fn task_list(v: &Value) -> List {
    let mut items: Vec<ListItem> = Vec::new();
    for c in children(v) {
        match ty(c) {
            "taskItem" => items.push(ListItem {
                checked: Some(attr_str(c, "state").as_deref() == Some("DONE")),
                content: vec![Block::Paragraph(inlines(children(c)))],
            }),
            "taskList" => {
                let nested = Block::List(task_list(c));
                match items.last_mut() {
                    Some(last) => last.content.push(nested),
                    None => items.push(ListItem {
                        checked: Some(false),
                        content: vec![nested],
                    }),
                }
            }
            _ => items.push(ListItem {
                checked: Some(false),
                content: blocks(std::slice::from_ref(c)),
            }),
        }
    }
    List { start: None, items }
}

fn inlines(nodes: &[Value]) -> Vec<Inline> {
    let mut out: Vec<Inline> = nodes.iter().map(inline).collect();
    normalize_inlines(&mut out);
    out
}

fn inline(v: &Value) -> Inline {
    match ty(v) {
        "text" => Inline::Text {
            text: v
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            marks: v
                .get("marks")
                .and_then(Value::as_array)
                .map(|ms| ms.iter().filter_map(mark).collect())
                .unwrap_or_default(),
        },
        "hardBreak" => Inline::HardBreak,
        "mention" => match attr_str(v, "id") {
            Some(id) => Inline::Mention {
                id,
                text: attr_str(v, "text").unwrap_or_default(),
            },
            None => Inline::Raw(raw(v)),
        },
        "emoji" => match attr_str(v, "shortName") {
            Some(short_name) => Inline::Emoji {
                short_name,
                id: attr_str(v, "id"),
                text: attr_str(v, "text"),
            },
            None => Inline::Raw(raw(v)),
        },
        "inlineCard" => match attr_str(v, "url") {
            Some(url) => Inline::Text {
                text: url.clone(),
                marks: vec![Mark::Link(url)],
            },
            None => Inline::Raw(raw(v)),
        },
        _ => Inline::Raw(raw(v)),
    }
}

/// Maps an ADF mark; marks with no meaning outside Jira (annotations, alignment …) are dropped.
fn mark(m: &Value) -> Option<Mark> {
    Some(match ty(m) {
        "strong" => Mark::Strong,
        "em" => Mark::Em,
        "strike" => Mark::Strike,
        "code" => Mark::Code,
        "underline" => Mark::Underline,
        "link" => Mark::Link(attr_str(m, "href")?),
        "subsup" => match attr_str(m, "type").as_deref() {
            Some("sub") => Mark::Sub,
            _ => Mark::Sup,
        },
        "textColor" => Mark::Color(attr_str(m, "color")?.to_ascii_lowercase()),
        _ => return None,
    })
}

/// Writes a document as an ADF `doc` node.
pub fn write(doc: &Document) -> Value {
    json!({"version": 1, "type": "doc", "content": write_blocks(&doc.blocks)})
}

fn write_blocks(blocks: &[Block]) -> Vec<Value> {
    let mut out = Vec::new();
    for b in blocks {
        write_block(b, &mut out);
    }
    out
}

/// Content of a container ADF requires to be non-empty (quote, panel, expand, list item, cell).
fn write_container(blocks: &[Block]) -> Vec<Value> {
    let mut out = write_blocks(blocks);
    if out.is_empty() {
        out.push(node("paragraph", None, vec![]));
    }
    out
}

fn node(ty: &str, attrs: Option<Value>, content: Vec<Value>) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), ty.into());
    if let Some(a) = attrs {
        m.insert("attrs".into(), a);
    }
    m.insert("content".into(), Value::Array(content));
    Value::Object(m)
}

fn write_block(b: &Block, out: &mut Vec<Value>) {
    match b {
        Block::Paragraph(c) => write_paragraph(c, out),
        Block::Heading { level, content } => out.push(node(
            "heading",
            Some(json!({"level": level})),
            write_inlines(content),
        )),
        Block::List(l) => out.push(write_list(l)),
        Block::CodeBlock { language, text } => {
            let attrs = match language {
                Some(l) => json!({"language": l}),
                None => json!({}),
            };
            let content = if text.is_empty() {
                vec![]
            } else {
                vec![json!({"type": "text", "text": text})]
            };
            out.push(node("codeBlock", Some(attrs), content));
        }
        Block::Quote(c) => out.push(node(
            "blockquote",
            None,
            write_container(&fit(c, Within::Quote)),
        )),
        Block::Rule => out.push(json!({"type": "rule"})),
        Block::Panel { kind, content } => out.push(node(
            "panel",
            Some(json!({"panelType": kind.adf_name()})),
            write_container(&fit(content, Within::Panel)),
        )),
        Block::Expand { title, content } => out.push(node(
            "expand",
            Some(json!({"title": title})),
            write_container(&fit(content, Within::Expand)),
        )),
        Block::Table(t) => out.push(write_table(t)),
        Block::Raw(r) => out.push(raw_value(r)),
    }
}

/// The container a block is written into: ADF allows different children in each.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Within {
    Quote,
    Item,
    Panel,
    Expand,
    Cell,
}

/// Reshapes blocks ADF does not allow in `w` so Jira accepts the document and no text is
/// lost: a quote, panel or expand there gives its content (an expand's title as a bold
/// line), a heading becomes a bold paragraph, a table one paragraph per row, a task list
/// a bullet list with `[ ]`/`[x]`; a rule there is dropped.
fn fit(blocks: &[Block], w: Within) -> Vec<Block> {
    use Within::*;
    let strong = |content: &[Inline]| -> Vec<Inline> {
        content
            .iter()
            .map(|i| match i {
                Inline::Text { text, marks } => {
                    let mut marks = marks.clone();
                    marks.push(Mark::Strong);
                    Inline::Text {
                        text: text.clone(),
                        marks,
                    }
                }
                other => other.clone(),
            })
            .collect()
    };
    let mut out = Vec::new();
    for b in blocks {
        match (w, b) {
            (Quote | Item | Panel, Block::Quote(c)) => out.extend(fit(c, w)),
            (Quote | Item | Panel, Block::Panel { content, .. }) => out.extend(fit(content, w)),
            (Quote | Item | Panel | Expand | Cell, Block::Expand { title, content }) => {
                if !title.is_empty() {
                    out.push(Block::Paragraph(vec![Inline::Text {
                        text: title.clone(),
                        marks: vec![Mark::Strong],
                    }]));
                }
                out.extend(fit(content, w));
            }
            (Quote | Item, Block::Heading { content, .. }) => {
                out.push(Block::Paragraph(strong(content)))
            }
            (Quote | Item, Block::Rule) => {}
            (Quote | Item | Panel | Cell, Block::Table(t)) => {
                for row in &t.rows {
                    let mut p: Vec<Inline> = Vec::new();
                    for (n, cell) in row.iter().enumerate() {
                        if n > 0 {
                            p.push(Inline::text(" | "));
                        }
                        for (k, blk) in fit(&cell.content, Quote).iter().enumerate() {
                            if k > 0 {
                                p.push(Inline::HardBreak);
                            }
                            if let Block::Paragraph(inl) = blk {
                                p.extend(if cell.header {
                                    strong(inl)
                                } else {
                                    inl.clone()
                                });
                            }
                        }
                    }
                    trim_run(&mut p, true, true, char::is_whitespace);
                    out.push(Block::Paragraph(p));
                }
            }
            (Quote | Item, Block::List(l)) if l.is_task_list() => {
                let items = l
                    .items
                    .iter()
                    .map(|i| {
                        let mut content = i.content.clone();
                        let prefix = Inline::text(if i.checked == Some(true) {
                            "[x] "
                        } else {
                            "[ ] "
                        });
                        match content.first_mut() {
                            Some(Block::Paragraph(p)) => {
                                p.insert(0, prefix);
                                normalize_inlines(p);
                            }
                            _ => content.insert(0, Block::Paragraph(vec![prefix])),
                        }
                        ListItem {
                            checked: None,
                            content,
                        }
                    })
                    .collect();
                out.push(Block::List(List { start: None, items }));
            }
            _ => out.push(b.clone()),
        }
    }
    out
}

fn raw_value(r: &Raw) -> Value {
    serde_json::from_str(&r.adf).unwrap_or_else(|_| json!({"type": "text", "text": r.adf}))
}

/// A paragraph holding images is split around them: ADF only has block-level images.
fn write_paragraph(content: &[Inline], out: &mut Vec<Value>) {
    let mut run: Vec<Inline> = Vec::new();
    // Line breaks next to an image are dropped with the split (as at a paragraph's ends).
    let flush = |run: &mut Vec<Inline>, out: &mut Vec<Value>, is_last: bool, had_image: bool| {
        trim_run(run, had_image, !is_last, |c| c == '\n');
        if !run.is_empty() || (!had_image && is_last) {
            out.push(node("paragraph", None, write_inlines(run)));
        }
        run.clear();
    };
    let mut had_image = false;
    for i in content {
        if let Inline::Image { url, alt, href } = i {
            flush(&mut run, out, false, had_image);
            had_image = true;
            let mut attrs = Map::new();
            attrs.insert("type".into(), "external".into());
            if !alt.is_empty() {
                attrs.insert("alt".into(), alt.as_str().into());
            }
            attrs.insert("url".into(), url.as_str().into());
            let mut media = json!({"type": "media", "attrs": attrs});
            if let Some(h) = href {
                media["marks"] = json!([{"type": "link", "attrs": {"href": h}}]);
            }
            out.push(node(
                "mediaSingle",
                Some(json!({"layout": "center"})),
                vec![media],
            ));
        } else {
            run.push(i.clone());
        }
    }
    flush(&mut run, out, true, had_image);
}

/// Trims whitespace at both ends of a run of inlines left between images.
fn trim_run(run: &mut Vec<Inline>, start: bool, end: bool, trim: fn(char) -> bool) {
    loop {
        normalize_inlines(run);
        let mut changed = false;
        if start {
            match run.first_mut() {
                Some(Inline::HardBreak) => {
                    run.remove(0);
                    changed = true;
                }
                Some(Inline::Text { text, .. })
                    if text.trim_start_matches(trim).len() != text.len() =>
                {
                    *text = text.trim_start_matches(trim).to_owned();
                    changed = true;
                }
                _ => {}
            }
        }
        if end {
            match run.last_mut() {
                Some(Inline::HardBreak) => {
                    run.pop();
                    changed = true;
                }
                Some(Inline::Text { text, .. })
                    if text.trim_end_matches(trim).len() != text.len() =>
                {
                    *text = text.trim_end_matches(trim).to_owned();
                    changed = true;
                }
                _ => {}
            }
        }
        if !changed {
            return;
        }
    }
}

fn write_list(l: &List) -> Value {
    if l.is_task_list() && l.items.iter().all(task_item_fits) {
        return write_task_list(l);
    }
    let items = l
        .items
        .iter()
        .map(|i| {
            let mut content = i.content.clone();
            if let Some(done) = i.checked {
                let prefix = Inline::text(if done { "[x] " } else { "[ ] " });
                match content.first_mut() {
                    Some(Block::Paragraph(p)) => {
                        p.insert(0, prefix);
                        normalize_inlines(p);
                    }
                    _ => content.insert(0, Block::Paragraph(vec![prefix])),
                }
            }
            node(
                "listItem",
                None,
                write_container(&fit(&content, Within::Item)),
            )
        })
        .collect();
    match l.start {
        Some(n) => node("orderedList", Some(json!({"order": n})), items),
        None => node("bulletList", None, items),
    }
}

/// An ADF taskItem holds inline content only, optionally followed by nested task lists.
fn task_item_fits(i: &ListItem) -> bool {
    let mut rest = i.content.iter();
    if let Some(Block::Paragraph(p)) = i.content.first() {
        if p.iter().any(|x| matches!(x, Inline::Image { .. })) {
            return false;
        }
        rest.next();
    }
    rest.all(
        |b| matches!(b, Block::List(l) if l.is_task_list() && l.items.iter().all(task_item_fits)),
    )
}

fn write_task_list(l: &List) -> Value {
    let mut content = Vec::new();
    for i in &l.items {
        let state = if i.checked == Some(true) {
            "DONE"
        } else {
            "TODO"
        };
        let inl = match i.content.first() {
            Some(Block::Paragraph(p)) => write_inlines(p),
            _ => Vec::new(),
        };
        content.push(node(
            "taskItem",
            Some(json!({"localId": "", "state": state})),
            inl,
        ));
        for b in &i.content {
            if let Block::List(nested) = b {
                content.push(write_task_list(nested));
            }
        }
    }
    node("taskList", Some(json!({"localId": ""})), content)
}

fn write_table(t: &Table) -> Value {
    let rows = t
        .rows
        .iter()
        .map(|row| {
            let cells = row
                .iter()
                .map(|c| {
                    let content = write_container(&fit(&c.content, Within::Cell));
                    node(
                        if c.header { "tableHeader" } else { "tableCell" },
                        Some(json!({})),
                        content,
                    )
                })
                .collect();
            node("tableRow", None, cells)
        })
        .collect();
    node(
        "table",
        Some(json!({"isNumberColumnEnabled": false, "layout": "default"})),
        rows,
    )
}

fn write_inlines(inlines: &[Inline]) -> Vec<Value> {
    inlines
        .iter()
        .filter_map(|i| {
            Some(match i {
                Inline::Text { text, marks } => {
                    if text.is_empty() {
                        return None;
                    }
                    let mut n = json!({"type": "text", "text": text});
                    if !marks.is_empty() {
                        n["marks"] = Value::Array(marks.iter().map(write_mark).collect());
                    }
                    n
                }
                Inline::HardBreak => json!({"type": "hardBreak"}),
                Inline::Mention { id, text } => {
                    json!({"type": "mention", "attrs": {"id": id, "text": text, "accessLevel": ""}})
                }
                Inline::Emoji { short_name, id, text } => {
                    let mut attrs = Map::new();
                    attrs.insert("shortName".into(), short_name.as_str().into());
                    if let Some(id) = id {
                        attrs.insert("id".into(), id.as_str().into());
                    }
                    if let Some(t) = text {
                        attrs.insert("text".into(), t.as_str().into());
                    }
                    json!({"type": "emoji", "attrs": attrs})
                }
                // Only reached for images inside headings: ADF has no inline image, keep the link.
                Inline::Image { url, alt, .. } => {
                    let label = if alt.is_empty() { url } else { alt };
                    json!({"type": "text", "text": label, "marks": [{"type": "link", "attrs": {"href": url}}]})
                }
                Inline::Raw(r) => raw_value(r),
            })
        })
        .collect()
}

fn write_mark(m: &Mark) -> Value {
    match m {
        Mark::Link(href) => json!({"type": "link", "attrs": {"href": href}}),
        Mark::Em => json!({"type": "em"}),
        Mark::Strong => json!({"type": "strong"}),
        Mark::Strike => json!({"type": "strike"}),
        Mark::Underline => json!({"type": "underline"}),
        Mark::Sub => json!({"type": "subsup", "attrs": {"type": "sub"}}),
        Mark::Sup => json!({"type": "subsup", "attrs": {"type": "sup"}}),
        Mark::Color(c) => json!({"type": "textColor", "attrs": {"color": c}}),
        Mark::Code => json!({"type": "code"}),
    }
}

/// Blocks as an ADF array of nodes (for codecs that carry them verbatim).
pub(crate) fn write_fragment(blocks: &[Block]) -> Value {
    Value::Array(write_blocks(blocks))
}

/// A block that is one ADF node (quote, panel, expand, table, heading, rule) as that node.
pub(crate) fn write_block_node(b: &Block) -> Value {
    write_blocks(std::slice::from_ref(b))
        .into_iter()
        .next()
        .unwrap_or(Value::Null)
}

/// One inline node as ADF (for codecs that carry it verbatim).
pub(crate) fn write_inline(i: &Inline) -> Value {
    write_inlines(std::slice::from_ref(i))
        .pop()
        .unwrap_or_else(|| json!({"type": "text", "text": ""}))
}

/// One ADF node read as an inline (unknown ones stay raw).
pub(crate) fn read_inline(v: &Value) -> Inline {
    inline(v)
}

/// ADF node types that are inline.
pub(crate) fn is_inline_type(v: &Value) -> bool {
    const INLINE: &[&str] = &[
        "text",
        "hardBreak",
        "mention",
        "emoji",
        "date",
        "status",
        "inlineCard",
        "mediaInline",
        "placeholder",
        "inlineExtension",
    ];
    INLINE.contains(&ty(v))
}

/// One ADF node read as a block (unknown ones stay raw).
pub(crate) fn read_block(v: &Value) -> Option<Block> {
    block(v)
}
