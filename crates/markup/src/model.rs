//! The document model every codec reads into and writes from.

/// A whole rich-text document (an issue description or comment).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document {
    /// Top-level blocks in order.
    pub blocks: Vec<Block>,
}

/// A block-level node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// Running text.
    Paragraph(Vec<Inline>),
    /// A heading of level 1..=6.
    Heading { level: u8, content: Vec<Inline> },
    /// A bullet, ordered or task list.
    List(List),
    /// Preformatted code, kept verbatim.
    CodeBlock {
        language: Option<String>,
        text: String,
    },
    /// A block quote.
    Quote(Vec<Block>),
    /// A table.
    Table(Table),
    /// A horizontal rule.
    Rule,
    /// A coloured callout box (ADF panel, GitLab alert, wiki `{panel}`).
    Panel {
        kind: PanelKind,
        content: Vec<Block>,
    },
    /// A collapsible section (ADF expand, HTML `<details>`).
    Expand { title: String, content: Vec<Block> },
    /// A node a codec could not map, kept verbatim so it round-trips.
    Raw(Raw),
}

/// A list; a task list is a bullet list whose items all have a checkbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List {
    /// `Some(start)` for an ordered list, `None` for bullets.
    pub start: Option<u64>,
    /// The items.
    pub items: Vec<ListItem>,
}

impl List {
    /// True when every item has a checkbox (an ADF `taskList`).
    pub fn is_task_list(&self) -> bool {
        self.start.is_none()
            && !self.items.is_empty()
            && self.items.iter().all(|i| i.checked.is_some())
    }
}

/// One list item.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListItem {
    /// `Some(done)` for a task item.
    pub checked: Option<bool>,
    /// The item's blocks.
    pub content: Vec<Block>,
}

/// A table: rows of cells, and per column an alignment (Markdown only can say it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    /// Alignment per column; may be shorter than the widest row.
    pub alignments: Vec<Alignment>,
    /// Rows of cells.
    pub rows: Vec<Vec<Cell>>,
}

/// A table cell.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cell {
    /// A header cell (ADF `tableHeader`, wiki `||`).
    pub header: bool,
    /// The cell's blocks.
    pub content: Vec<Block>,
}

/// Column alignment of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Alignment {
    /// Not stated.
    #[default]
    None,
    /// Left.
    Left,
    /// Centre.
    Center,
    /// Right.
    Right,
}

/// Kind of a panel; the names are ADF's `panelType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanelKind {
    /// Blue.
    Info,
    /// Purple.
    Note,
    /// Yellow.
    Warning,
    /// Green.
    Success,
    /// Red.
    Error,
}

impl PanelKind {
    /// Every kind, for generators and lookups.
    pub const ALL: [PanelKind; 5] = [
        Self::Info,
        Self::Note,
        Self::Warning,
        Self::Success,
        Self::Error,
    ];

    /// ADF `panelType`.
    pub fn adf_name(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Note => "note",
            Self::Warning => "warning",
            Self::Success => "success",
            Self::Error => "error",
        }
    }

    /// From ADF `panelType`.
    pub fn from_adf_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.adf_name() == name)
    }
}

/// An inline node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    /// Text with its marks (kept sorted and without duplicates by [`Document::normalize`]).
    Text { text: String, marks: Vec<Mark> },
    /// A forced line break.
    HardBreak,
    /// A Jira user mention; `id` as Jira gives it (e.g. `accountid:…`), `text` the display name or empty.
    Mention { id: String, text: String },
    /// An emoji; `short_name` with colons (`:smile:`), `text` the character(s) if known.
    Emoji {
        short_name: String,
        id: Option<String>,
        text: Option<String>,
    },
    /// An external image, optionally a link.
    Image {
        url: String,
        alt: String,
        href: Option<String>,
    },
    /// An inline node a codec could not map, kept verbatim.
    Raw(Raw),
}

impl Inline {
    /// Plain text without marks.
    pub fn text(text: impl Into<String>) -> Self {
        Inline::Text {
            text: text.into(),
            marks: Vec::new(),
        }
    }
}

/// A mark on text. The variant order is the canonical order of a text's marks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mark {
    /// Hyperlink.
    Link(String),
    /// Text colour, `#rrggbb` lower-case.
    Color(String),
    /// Strong (bold).
    Strong,
    /// Underline.
    Underline,
    /// Emphasis (italic).
    Em,
    /// Strikethrough.
    Strike,
    /// Subscript.
    Sub,
    /// Superscript.
    Sup,
    /// Inline code.
    Code,
}

/// Content kept verbatim in the format it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raw {
    /// The ADF JSON of the node (compact).
    pub adf: String,
}

impl Document {
    /// Puts the model in canonical form: adjacent texts with equal marks merged, empty
    /// texts removed, marks sorted. Every parser returns normalised documents, so two
    /// documents that mean the same compare equal.
    pub fn normalize(&mut self) {
        normalize_blocks(&mut self.blocks);
    }
}

fn normalize_blocks(blocks: &mut [Block]) {
    for b in blocks.iter_mut() {
        match b {
            Block::Paragraph(c) | Block::Heading { content: c, .. } => {
                normalize_inlines(c);
                // A break at the very end shows nothing, and neither Markdown nor wiki markup can hold it.
                // Breaks at either end show nothing much, and neither Markdown nor wiki
                // markup can hold them alike.
                trim_breaks(c);
                // Only spaces and breaks show nothing, and no format can hold them alike.
                let blank = |i: &Inline| match i {
                    Inline::Text { text, .. } => text.trim().is_empty(),
                    Inline::HardBreak => true,
                    _ => false,
                };
                if c.iter().all(blank) {
                    c.clear();
                }
            }
            Block::List(l) => l
                .items
                .iter_mut()
                .for_each(|i| normalize_blocks(&mut i.content)),
            Block::Quote(c)
            | Block::Panel { content: c, .. }
            | Block::Expand { content: c, .. } => normalize_blocks(c),
            Block::Table(t) => t
                .rows
                .iter_mut()
                .flatten()
                .for_each(|c| normalize_blocks(&mut c.content)),
            Block::CodeBlock { .. } | Block::Rule | Block::Raw(_) => {}
        }
    }
}

/// Drops line breaks (break nodes and newlines) at both ends of a paragraph.
fn trim_breaks(c: &mut Vec<Inline>) {
    loop {
        normalize_inlines(c);
        let before = c.len();
        while matches!(c.last(), Some(Inline::HardBreak)) {
            c.pop();
        }
        while matches!(c.first(), Some(Inline::HardBreak)) {
            c.remove(0);
        }
        let mut changed = c.len() != before;
        if let Some(Inline::Text { text, .. }) = c.first_mut()
            && text.starts_with('\n')
        {
            *text = text.trim_start_matches('\n').to_owned();
            changed = true;
        }
        if let Some(Inline::Text { text, .. }) = c.last_mut()
            && text.ends_with('\n')
        {
            *text = text.trim_end_matches('\n').to_owned();
            changed = true;
        }
        if !changed {
            return;
        }
    }
}

/// Merges and cleans a run of inlines (see [`Document::normalize`]).
pub(crate) fn normalize_inlines(inlines: &mut Vec<Inline>) {
    let mut out: Vec<Inline> = Vec::with_capacity(inlines.len());
    for mut i in inlines.drain(..) {
        if let Inline::Text { text, marks } = &mut i {
            if text.is_empty() {
                continue;
            }
            marks.sort();
            // One link and one colour at most (ADF allows no more); the first wins.
            marks.dedup_by(|a, b| {
                a == b
                    || (matches!(a, Mark::Link(_)) && matches!(b, Mark::Link(_)))
                    || (matches!(a, Mark::Color(_)) && matches!(b, Mark::Color(_)))
            });
            if let Some(Inline::Text {
                text: prev,
                marks: pm,
            }) = out.last_mut()
                && pm == marks
            {
                prev.push_str(text);
                continue;
            }
        }
        out.push(i);
    }
    *inlines = out;
}

/// Text newlines as hard breaks (for contexts that are one line).
pub(crate) fn newlines_as_breaks(p: &[Inline]) -> Vec<Inline> {
    let mut out = Vec::new();
    for i in p {
        match i {
            Inline::Text { text, marks } if text.contains('\n') => {
                for (n, part) in text.split('\n').enumerate() {
                    if n > 0 {
                        out.push(Inline::HardBreak);
                    }
                    out.push(Inline::Text {
                        text: part.to_owned(),
                        marks: marks.clone(),
                    });
                }
            }
            other => out.push(other.clone()),
        }
    }
    out
}
