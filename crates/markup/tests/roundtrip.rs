//! Property tests: a document generated from the model and rendered in one format is
//! stable after one round trip through another format (f(f(x)) == f(x)), and no input
//! string makes a parser or writer panic.

use cairn_markup::{
    Block, Cell, Document, Inline, List, ListItem, Mark, PanelKind, Table, adf, markdown, wiki,
};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

fn text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        6 => "[a-zA-Z]{1,8}",
        3 => Just(" ".to_owned()),
        1 => "[0-9]{1,4}",
        2 => prop::sample::select(vec![
            "*", "_", "-", "--", "+", "^", "~", "??", "{", "}", "{{", "}}", "[", "]", "|", "!", "#", "\\", "\\\\", "<", ">",
            "&", "&#92;", ":", ":)", "(y)", "`", "```", "well-known", "--flag", "a-b", "h1. ", "bq. ", "* ", "# ", "1. ",
            "- ", "[ ] ", ":smile:", "https://example.com/x", "@user", "#12", "!3", "~label", "é", "🎉", "\t", "{code}",
            "{noformat}", "[~accountid:1]", "<b>", "<!-- c -->", "*not bold*", "\u{2014} ",
        ])
        .prop_map(str::to_owned),
        1 => Just("\n".to_owned()),
    ];
    prop::collection::vec(pieces, 1..8).prop_map(|v| v.concat())
}

fn marks() -> impl Strategy<Value = Vec<Mark>> {
    prop::collection::vec(
        prop_oneof![
            Just(Mark::Strong),
            Just(Mark::Em),
            Just(Mark::Strike),
            Just(Mark::Code),
            Just(Mark::Underline),
            Just(Mark::Sub),
            Just(Mark::Sup),
            Just(Mark::Color("#ff0000".to_owned())),
            prop::sample::select(vec![
                "https://example.com/a",
                "https://example.com/b?x=1&y=2",
                "/relative/path"
            ])
            .prop_map(|h| Mark::Link(h.to_owned())),
        ],
        0..3,
    )
}

fn inline() -> impl Strategy<Value = Inline> {
    prop_oneof![
        8 => (text(), marks()).prop_map(|(text, marks)| Inline::Text { text, marks }),
        1 => Just(Inline::HardBreak),
        1 => prop::sample::select(vec!["accountid:5b10a2844c20165700ede21g", "accountid:557058:f58131cb-b67d", "jsmith"])
            .prop_map(|id| Inline::Mention { id: id.to_owned(), text: String::new() }),
        1 => prop::sample::select(vec![
            (":smile:", "1f604", "\u{1f604}"),
            (":wink:", "1f609", "\u{1f609}"),
            (":check_mark:", "atlassian-check_mark", ":check_mark:"),
        ])
        .prop_map(|(s, i, t)| Inline::Emoji { short_name: s.into(), id: Some(i.into()), text: Some(t.into()) }),
        1 => ("[a-z]{1,6}", prop::option::of(Just("https://example.com/target".to_owned())))
            .prop_map(|(alt, href)| Inline::Image { url: "https://example.com/i.png".into(), alt, href }),
    ]
}

fn inlines() -> impl Strategy<Value = Vec<Inline>> {
    prop::collection::vec(inline(), 1..6)
}

fn block() -> impl Strategy<Value = Block> {
    let leaf = prop_oneof![
        6 => inlines().prop_map(Block::Paragraph),
        1 => (1u8..=6, inlines()).prop_map(|(level, content)| Block::Heading { level, content }),
        1 => (
            prop::option::of(prop::sample::select(vec!["java", "python", "yaml", "rust"]).prop_map(str::to_owned)),
            prop::collection::vec(
                prop::sample::select(vec!["# not a heading", "{code}", "{noformat}", "* star", "{", "}", "```", "x = 1", "  indented", ""]),
                1..5
            )
            .prop_map(|l| l.join("\n"))
        )
            .prop_map(|(language, text)| Block::CodeBlock { language, text }),
        1 => Just(Block::Rule),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            2 => (
                prop::option::of(1u64..20),
                prop::collection::vec((prop::option::of(any::<bool>()), prop::collection::vec(inner.clone(), 1..3)), 1..4)
            )
                .prop_map(|(start, items)| {
                    let task = start.is_none() && items.iter().all(|(c, _)| c.is_some());
                    Block::List(List {
                        start,
                        items: items
                            .into_iter()
                            .map(|(c, content)| ListItem { checked: if task { c } else { None }, content })
                            .collect(),
                    })
                }),
            1 => prop::collection::vec(inner.clone(), 1..3).prop_map(Block::Quote),
            1 => (prop::sample::select(PanelKind::ALL.to_vec()), prop::collection::vec(inner.clone(), 1..3))
                .prop_map(|(kind, content)| Block::Panel { kind, content }),
            1 => ("[a-zA-Z ]{0,10}", prop::collection::vec(inner.clone(), 1..3))
                .prop_map(|(title, content)| Block::Expand { title, content }),
            1 => (1usize..4, 1usize..4, prop::collection::vec(inlines(), 16)).prop_map(|(cols, rows, cells)| {
                let mut it = cells.into_iter();
                Block::Table(Table {
                    alignments: Vec::new(),
                    rows: (0..rows)
                        .map(|r| {
                            (0..cols)
                                .map(|_| Cell { header: r == 0, content: vec![Block::Paragraph(it.next().unwrap_or_default())] })
                                .collect()
                        })
                        .collect(),
                })
            }),
        ]
    })
}

fn document() -> impl Strategy<Value = Document> {
    prop::collection::vec(block(), 0..5).prop_map(|blocks| {
        let mut d = Document { blocks };
        d.normalize();
        d
    })
}

fn md_via_adf(md: &str) -> String {
    let adf = cairn_markup::markdown_to_adf(md);
    cairn_markup::adf_to_markdown(&adf).expect("our own ADF parses")
}

fn md_via_wiki(md: &str) -> String {
    cairn_markup::wiki_to_markdown(&cairn_markup::markdown_to_wiki(md))
}

fn wiki_via_adf(w: &str) -> String {
    let adf = adf::write(&wiki::parse(w));
    wiki::write(&adf::parse(&adf).expect("our own ADF parses"))
}

/// 400 cases per property from a fixed seed by default, so CI runs the same cases every
/// time; `MARKUP_CASES=5000` runs that many from a random seed, for a longer hunt.
fn config() -> ProptestConfig {
    match std::env::var("MARKUP_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(cases) => ProptestConfig {
            cases,
            ..ProptestConfig::default()
        },
        None => ProptestConfig {
            cases: 400,
            rng_seed: RngSeed::Fixed(0x00ca_1e5a),
            ..ProptestConfig::default()
        },
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn markdown_adf_markdown_is_stable(doc in document()) {
        let once = md_via_adf(&markdown::write(&doc));
        let twice = md_via_adf(&once);
        prop_assert_eq!(&twice, &once);
    }

    #[test]
    fn markdown_wiki_markdown_is_stable(doc in document()) {
        let once = md_via_wiki(&markdown::write(&doc));
        let twice = md_via_wiki(&once);
        prop_assert_eq!(&twice, &once);
    }

    #[test]
    fn wiki_adf_wiki_is_stable(doc in document()) {
        let once = wiki_via_adf(&wiki::write(&doc));
        let twice = wiki_via_adf(&once);
        prop_assert_eq!(&twice, &once);
    }

    #[test]
    fn adf_markdown_adf_is_stable(doc in document()) {
        let adf = adf::write(&doc);
        let once = cairn_markup::markdown_to_adf(&cairn_markup::adf_to_markdown(&adf).expect("parses"));
        let twice = cairn_markup::markdown_to_adf(&cairn_markup::adf_to_markdown(&once).expect("parses"));
        prop_assert_eq!(&twice, &once);
    }

    #[test]
    fn any_string_is_read_without_panic(s in "\\PC{0,200}") {
        let _ = md_via_adf(&s);
        let _ = md_via_wiki(&s);
        let _ = wiki_via_adf(&s);
        let _ = markdown::write(&wiki::parse(&s));
        let _ = adf::parse_str(&s);
    }

    #[test]
    fn markup_heavy_strings_are_read_without_panic(s in prop::collection::vec(text(), 0..12).prop_map(|v| v.join("\n"))) {
        let _ = md_via_adf(&s);
        let _ = md_via_wiki(&s);
        let _ = wiki_via_adf(&s);
    }
}
